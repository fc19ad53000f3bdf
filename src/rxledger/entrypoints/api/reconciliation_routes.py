"""Reconciliation with external systems: on-hand exports uploaded as the raw file, the comparison
with the ledger, settling the differences (with the METRC adjustments to send), and the end-of-day
check of POS sales against dispenses."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from rxledger.domain.errors import FileTooLarge
from rxledger.entrypoints.api.deps import MAX_ID, NO_NUL, ActorDep, IdPath, RuntimeDep
from rxledger.entrypoints.api.errors import ERROR_RESPONSES
from rxledger.entrypoints.api.schemas import WitnessIn
from rxledger.services import reconciliation
from rxledger.services.controlled import Witness
from rxledger.services.imports import MAX_FILE_BYTES

router = APIRouter(responses=ERROR_RESPONSES, tags=["reconciliation"])

_BODY = {
    "content": {
        "application/json": {"schema": {"type": "object"}},
        "text/csv": {"schema": {"type": "string"}},
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
    },
    "required": True,
    "description": "The export exactly as the other system wrote it.",
}


class SnapshotOut(BaseModel):
    snapshot_id: int
    site_id: int
    source: str
    sha256: str
    lines: int
    duplicate: bool


class AdjustIn(BaseModel):
    reason_code: str = Field(min_length=1, max_length=40)
    keys: list[Annotated[str, Field(max_length=160)]] | None = Field(
        default=None, max_length=10_000
    )
    trust: Literal["external", "ledger", "count"] = "external"
    count_session_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    external_reason: str | None = Field(default=None, max_length=100)
    note: str | None = Field(default=None, max_length=500)
    witness: WitnessIn | None = Field(
        default=None,
        description="Required to adjust schedule II (CII, CIIN) stock: another user who may "
        "adjust stock at the site (pharmacist, manager or administrator), with their password.",
    )


class SalesIn(BaseModel):
    site_id: int = Field(ge=1, le=MAX_ID)
    day: date
    csv: str = Field(max_length=MAX_FILE_BYTES, description="The POS export: date,sku,quantity.")


class SalesRowOut(BaseModel):
    sku: str
    item_id: int | None
    name: str | None
    pos_units: int
    ledger_units: int
    difference: int
    status: str


@router.post(
    "/reconciliation/snapshots",
    response_model=SnapshotOut,
    status_code=201,
    openapi_extra={"requestBody": _BODY},
    responses={200: {"description": "The same file was imported before."}},
)
async def import_snapshot(
    request: Request,
    response: Response,
    rt: RuntimeDep,
    actor: ActorDep,
    site_id: Annotated[int, Query(ge=1, le=MAX_ID)],
    source: Annotated[Literal["metrc", "pos", "csv"], Query(description="metrc, pos or csv")],
    filename: Annotated[str, Query(max_length=255, pattern=NO_NUL)] = "upload",
) -> dict[str, Any]:
    """Store an on-hand export of another system for a site (METRC packages JSON, or a CSV of
    sku/ndc/gtin/barcode, lot, quantity). The same bytes again create nothing (200)."""
    content = await _read_limited(request, MAX_FILE_BYTES)
    result = await run_in_threadpool(
        reconciliation.import_snapshot, rt, actor, site_id, source, filename, content
    )
    if result.duplicate:
        response.status_code = 200
    return result.as_dict()


@router.get("/reconciliation/snapshots/{snapshot_id}")
def comparison(
    snapshot_id: IdPath,
    rt: RuntimeDep,
    actor: ActorDep,
    count_session_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> dict[str, Any]:
    """Ledger against the export (and a count session's latest counts), row by row."""
    return reconciliation.compare(rt, actor, snapshot_id, count_session_id).as_dict()


@router.post(
    "/reconciliation/snapshots/{snapshot_id}/adjust",
    responses={
        202: {
            "description": "The ledger adjustment is held for approval (`approval_id`); "
            "nothing posted and no METRC records yet."
        }
    },
)
def adjust(snapshot_id: IdPath, body: AdjustIn, rt: RuntimeDep, actor: ActorDep) -> Any:
    """Adjust the ledger to the trusted figure of the chosen rows (every differing row without
    keys); `metrc` is the body of METRC's POST /packages/v2/adjust that brings its figures there.

    The adjustment follows the approval policies: above its policy (by default worth 250.00 or
    more at standard cost) nothing is posted, the answer is 202 with `held`, `approval_id` and
    `held_adjustment_id`, and `metrc` stays empty until it is approved (settle again then). Rows
    awaiting a held settlement are left alone (`skipped`). Schedule II stock needs `witness`."""
    witness = Witness(body.witness.username, body.witness.password) if body.witness else None
    proposal = reconciliation.propose(
        rt,
        actor,
        snapshot_id,
        body.reason_code,
        keys=body.keys,
        trust=body.trust,
        count_session_id=body.count_session_id,
        external_reason=body.external_reason,
        note=body.note,
        witness=witness,
    )
    if proposal.held:
        return JSONResponse(proposal.as_dict(), status_code=202)
    return proposal.as_dict()


@router.post("/reconciliation/sales", response_model=list[SalesRowOut])
def sales(body: SalesIn, rt: RuntimeDep, actor: ActorDep) -> list[dict[str, Any]]:
    """Units sold per SKU on a day in a POS export against the ledger's net dispenses."""
    rows = reconciliation.sales_reconciliation(rt, actor, body.site_id, body.csv.encode(), body.day)
    return [vars(r) for r in rows]


async def _read_limited(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it grows past ``limit``."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise FileTooLarge(f"the file is larger than {limit:,} bytes", limit=limit)
        chunks.append(chunk)
    return b"".join(chunks)
