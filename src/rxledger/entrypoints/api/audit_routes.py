"""The audit trail: search it, export it as CSV, and seal and verify its hash chain."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel

from rxledger.entrypoints.api import schemas as s
from rxledger.entrypoints.api.deps import NO_NUL, ActorDep, IdQuery, PagingDep, RuntimeDep
from rxledger.entrypoints.api.errors import ERROR_RESPONSES
from rxledger.services import audit

router = APIRouter(responses=ERROR_RESPONSES, tags=["audit"])
Instant = Annotated[AwareDatetime | None, Query(description="An instant with timezone.")]


class AuditEntryOut(BaseModel):
    id: int
    occurred_at: AwareDatetime
    actor: str
    origin: str
    action: str
    subject_type: str
    subject_id: str
    site_id: int | None
    before: Any
    after: Any


class BrokenLinkOut(BaseModel):
    seq: int
    kind: str
    row_id: int
    reason: str
    message: str


class ChainReportOut(BaseModel):
    organization_id: int
    ok: bool
    links: int
    movements: int
    audit_rows: int
    unsealed_movements: int
    unsealed_audit_rows: int
    head_seq: int
    head_hash: str
    broken: BrokenLinkOut | None


async def _filters(
    actor: Annotated[str | None, Query(max_length=120, pattern=NO_NUL, description="User.")] = None,
    action: Annotated[
        str | None, Query(max_length=80, pattern=NO_NUL, description="Action, by prefix.")
    ] = None,
    subject_type: Annotated[str | None, Query(max_length=40, pattern=NO_NUL)] = None,
    subject_id: Annotated[str | None, Query(max_length=80, pattern=NO_NUL)] = None,
    site_id: IdQuery = None,
    since: Instant = None,
    until: Annotated[AwareDatetime | None, Query(description="Before this instant.")] = None,
) -> audit.AuditQuery:
    return audit.AuditQuery(actor, action, subject_type, subject_id, site_id, since, until)


FiltersDep = Annotated[audit.AuditQuery, Depends(_filters)]


@router.get("/audit", response_model=s.Page[AuditEntryOut])
def list_audit(
    rt: RuntimeDep, actor: ActorDep, paging: PagingDep, filters: FiltersDep
) -> dict[str, Any]:
    """Who did what, when, from where, newest first: every posting and every change of people,
    roles, tokens, the item master, sites and approvals. Rows of sites the user has no role at
    are left out."""
    rows = audit.search(rt, actor, filters, limit=paging.limit + 1, offset=paging.offset)
    items = [r.as_dict() for r in rows[: paging.limit]]
    return s.page(items, paging.limit, paging.offset, len(rows) > paging.limit)


@router.get("/audit.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def export_audit(rt: RuntimeDep, actor: ActorDep, filters: FiltersDep) -> Response:
    """The same rows, all of them, as a CSV file (before and after as JSON text)."""
    return Response(
        audit.export_csv(rt, actor, filters),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )


@router.post("/audit/verify", response_model=ChainReportOut)
def verify_chain(rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    """Seal what is not yet in the organization's hash chain, then recompute every link; the
    first broken link is named (an organization-wide administrator or auditor)."""
    return audit.seal_and_verify(rt, actor).as_dict()
