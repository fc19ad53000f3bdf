"""The approvals inbox of a site: every pending request the signed-in user may decide (held
adjustments, requisitions, item proposals), with Approve and Reject (with a reason) buttons."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from rxledger.domain import errors
from rxledger.entrypoints.web.fields import Fields
from rxledger.entrypoints.web.render import WebRoute, handling_form, render, see_other
from rxledger.entrypoints.web.session import Ctx, FormDep, PostCtx, WebContext
from rxledger.entrypoints.web.stock_forms import witness
from rxledger.services import approvals

router = APIRouter(route_class=WebRoute, include_in_schema=False)
INDEX = "approvals/index.html"


@router.get("/approvals", response_class=HTMLResponse)
def approvals_page(request: Request, ctx: Ctx) -> Response:
    """What waits for this user's decision at the current site, oldest first."""
    return render(request, INDEX, index_context(ctx, request.query_params))


def index_context(ctx: WebContext, query: Mapping[str, str]) -> dict[str, Any]:
    return {
        "entries": approvals.inbox(ctx.rt, ctx.actor, ctx.site_id),
        "done": query.get("done", "")[:20],
        "approval": query.get("approval", "")[:20],
    }


@router.post("/approvals/{approval_id}/{action}", response_class=HTMLResponse)
def decide(
    approval_id: int, action: str, request: Request, ctx: PostCtx, data: FormDep
) -> Response:
    """Approve or reject (with a reason); a refusal shows the inbox with the error."""
    handling_form(request, INDEX, lambda: index_context(ctx, {}))
    fields = Fields(data)
    note = fields.text("note", max_length=2000)
    if action not in ("approve", "reject"):
        raise errors.NotFound(f"no approval action {action!r}", action=action)
    decision = approvals.decide(
        ctx.rt, ctx.actor, approval_id, action == "approve", note, witness=witness(fields)
    )
    return see_other(f"/approvals?done={decision.approval.status}&approval={approval_id}")
