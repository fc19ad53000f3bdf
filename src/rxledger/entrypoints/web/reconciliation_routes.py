"""The reconciliation screens of a site: import an on-hand export (METRC packages JSON, a POS or
on-hand CSV), see the ledger against it per package or item and lot, and settle chosen rows: the
ledger adjusted to the trusted figure and the METRC adjustments to send, shown to copy. A
settlement above the adjustment approval policy is held for approval (the rows show the approval
they await); schedule II stock needs a witness, whose password is typed on the form and never
carried in a page."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from rxledger.domain import errors
from rxledger.domain.ledger import check_client_key
from rxledger.entrypoints.web.fields import Fields
from rxledger.entrypoints.web.render import WebRoute, handling_form, render, see_other
from rxledger.entrypoints.web.session import Ctx, FormDep, PostCtx, WebContext
from rxledger.entrypoints.web.stock_forms import WITNESS_PASSWORD, witness
from rxledger.services import catalog, reconciliation

router = APIRouter(route_class=WebRoute, include_in_schema=False)
INDEX = "reconciliation/index.html"
SNAPSHOT = "reconciliation/snapshot.html"
MAX_BYTES = 25 * 1024 * 1024


@router.get("/reconciliation", response_class=HTMLResponse)
def index(request: Request, ctx: Ctx) -> Response:
    return render(request, INDEX, index_context(ctx))


def index_context(ctx: WebContext) -> dict[str, Any]:
    return {
        "snapshots": reconciliation.list_snapshots(ctx.rt, ctx.actor, ctx.site_id),
        "sources": reconciliation.SOURCES,
    }


@router.post("/reconciliation", response_class=HTMLResponse)
def upload(request: Request, ctx: PostCtx, data: FormDep) -> Response:
    handling_form(request, INDEX, lambda: index_context(ctx))
    file = data.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        raise errors.ValidationFailed("choose the export file", field="file")
    content = file.file.read(MAX_BYTES + 1)
    source = Fields(data).text("source", max_length=20) or ""
    done = reconciliation.import_snapshot(
        ctx.rt, ctx.actor, ctx.site_id, source, file.filename, content
    )
    return see_other(f"/reconciliation/{done.snapshot_id}")


@router.get("/reconciliation/{snapshot_id}", response_class=HTMLResponse)
def snapshot(snapshot_id: int, request: Request, ctx: Ctx) -> Response:
    return render(request, SNAPSHOT, snapshot_context(ctx, snapshot_id, None))


def snapshot_context(
    ctx: WebContext,
    snapshot_id: int,
    proposal: reconciliation.Proposal | None,
    values: dict[str, str] | None = None,
) -> dict[str, Any]:
    comparison = reconciliation.compare(ctx.rt, ctx.actor, snapshot_id)
    kept = {k: v for k, v in (values or {}).items() if k != WITNESS_PASSWORD}
    return {
        "comparison": comparison,
        "totals": comparison.totals(),
        "reasons": catalog.list_reason_codes(ctx.rt, ctx.actor),
        "proposal": proposal,
        "metrc": json.dumps(proposal.as_dict()["metrc"], indent=2) if proposal else "",
        "values": kept,  # the form again after a refusal: the witness's name, never the password
    }


@router.post("/reconciliation/{snapshot_id}/settle", response_class=HTMLResponse)
def settle(snapshot_id: int, request: Request, ctx: PostCtx, data: FormDep) -> Response:
    """Adjust the ledger to the trusted figure of the ticked rows; show the METRC records."""
    fields = Fields(data)
    handling_form(
        request, SNAPSHOT, lambda: snapshot_context(ctx, snapshot_id, None, fields.values())
    )
    keys = [k.removeprefix("row:") for k in fields.values() if k.startswith("row:")]
    if not keys:
        raise errors.ValidationFailed("tick the rows to settle")
    trust = fields.text("trust", max_length=20) or "external"
    if trust not in ("external", "ledger"):
        raise errors.ValidationFailed("trust the external figure or the ledger", trust=trust)
    proposal = reconciliation.propose(
        ctx.rt,
        ctx.actor,
        snapshot_id,
        fields.text("reason_code", max_length=40) or "COUNT",
        keys=keys,
        trust=trust,  # type: ignore[arg-type]
        idempotency_key=check_client_key(fields.text("idempotency_key", max_length=200)),
        witness=witness(fields),
    )
    return render(request, SNAPSHOT, snapshot_context(ctx, snapshot_id, proposal))
