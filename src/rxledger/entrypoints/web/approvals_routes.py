"""The approvals inbox of a site: every pending request the signed-in user may decide (held
adjustments, requisitions, item proposals), with Approve and Reject (with a reason) buttons."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from rxledger.domain import errors
from rxledger.domain.approvals import KNOWN_ACTIONS
from rxledger.domain.permissions import Role
from rxledger.entrypoints.web.fields import Fields
from rxledger.entrypoints.web.render import WebRoute, handling_form, render, see_other
from rxledger.entrypoints.web.session import Ctx, FormDep, PostCtx, WebContext
from rxledger.entrypoints.web.stock_forms import witness
from rxledger.services import approvals

router = APIRouter(route_class=WebRoute, include_in_schema=False)
INDEX = "approvals/index.html"
POLICIES = "approvals/policies.html"


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


@router.get("/approvals/policies", response_class=HTMLResponse)
def policies_page(request: Request, ctx: Ctx) -> Response:
    """Which actions wait for whose approval, and the form to add or change a policy."""
    return render(request, POLICIES, policies_context(ctx, request.query_params))


def policies_context(ctx: WebContext, query: Mapping[str, str]) -> dict[str, Any]:
    return {
        "policies": approvals.list_policies(ctx.rt, ctx.actor),
        "actions": sorted(KNOWN_ACTIONS),
        "roles": [r.value for r in Role],
        "done": query.get("done", "")[:20],
        "policy": query.get("policy", "")[:20],
    }


@router.post("/approvals/policies", response_class=HTMLResponse)
def add_policy(request: Request, ctx: PostCtx, data: FormDep) -> Response:
    """Add a policy for every site or for one."""
    handling_form(request, POLICIES, lambda: policies_context(ctx, {}))
    fields = Fields(data)
    site = fields.optional_integer("site_id", "site")
    policy = approvals.create_policy(
        ctx.rt,
        ctx.actor,
        action=fields.required_text("action", "action", max_length=60),
        approver_roles=",".join(
            str(v) for v in data.getlist("approver_roles") if isinstance(v, str)
        ),
        min_value=fields.optional_money("min_value", "value threshold"),
        min_quantity=fields.optional_integer("min_quantity", "unit threshold"),
        site_id=site or None,
    )
    return see_other(f"/approvals/policies?done=added&policy={policy.id}")


@router.post("/approvals/policies/{policy_id}", response_class=HTMLResponse)
def change_policy(policy_id: int, request: Request, ctx: PostCtx, data: FormDep) -> Response:
    """Change a policy's approvers and thresholds (empty removes one), or retire it."""
    handling_form(request, POLICIES, lambda: policies_context(ctx, {}))
    fields = Fields(data)
    approvals.update_policy(
        ctx.rt,
        ctx.actor,
        policy_id,
        approver_roles=",".join(
            str(v) for v in data.getlist("approver_roles") if isinstance(v, str)
        ),
        min_value=fields.optional_money("min_value", "value threshold"),
        min_quantity=fields.optional_integer("min_quantity", "unit threshold"),
        active=fields.flag("active"),
    )
    return see_other(f"/approvals/policies?done=changed&policy={policy_id}")


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
