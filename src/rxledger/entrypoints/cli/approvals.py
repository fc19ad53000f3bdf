"""``rxledger approvals``: the inbox of what the user may decide (held adjustments, orders, item
proposals, count adjustments), approve or reject, and the approval policies that decide what
waits for whom."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import typer
from rich.table import Table

from rxledger.domain.approvals import ApprovalPolicy
from rxledger.domain.errors import InvalidQuantity
from rxledger.entrypoints.cli.context import console, emit_json, handles_errors, state
from rxledger.entrypoints.cli.controlled import WitnessOption, witness
from rxledger.entrypoints.cli.purchasing import money
from rxledger.services import approvals, catalog
from rxledger.services.approvals import UNCHANGED

approvals_app = typer.Typer(help="Approvals: the inbox, decisions, and the approval policies.")
policy_app = typer.Typer(help="Approval policies: which action waits for whose approval.")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
NONE_WORDS = ("none", "-")


def register(app: typer.Typer) -> None:
    app.add_typer(approvals_app, name="approvals", no_args_is_help=True)
    approvals_app.add_typer(policy_app, name="policy", no_args_is_help=True)


@approvals_app.command("inbox")
@handles_errors
def inbox(
    site: Annotated[str | None, typer.Option("--site", help="Only this site (code).")] = None,
    json_output: JsonOption = False,
) -> None:
    """What waits for your decision, oldest first: not your own requests, and only what your
    roles may decide."""
    rt, actor = state.runtime(), state.actor()
    site_id = catalog.site_by_code(rt, actor, site).id if site else None
    entries = approvals.inbox(rt, actor, site_id)
    if json_output:
        emit_json(
            [
                {
                    "id": e.id,
                    "site_id": e.site_id,
                    "subject_type": e.subject_type,
                    "subject_id": e.subject_id,
                    "value": None if e.value is None else str(e.value),
                    "quantity": e.quantity,
                    "requested_by": e.requested_by,
                    "requested_at": e.requested_at.isoformat(),
                    "summary": e.summary,
                }
                for e in entries
            ]
        )
        return
    if not entries:
        console.print("Nothing waits for your decision.")
        return
    table = Table("#", "what", "requested by", "value", "units", "summary")
    for e in entries:
        table.add_row(
            str(e.id),
            e.subject_type.replace("_", " "),
            e.requested_by,
            "" if e.value is None else f"{e.value:,.2f}",
            "" if e.quantity is None else f"{e.quantity:,}",
            e.summary,
        )
    console.print(table)


@approvals_app.command("approve")
@handles_errors
def approve(
    approval_id: Annotated[int, typer.Argument(help="The approval's number (see inbox).")],
    note: Annotated[str | None, typer.Option("--note", help="A note kept with it.")] = None,
    witness_name: WitnessOption = None,
    json_output: JsonOption = False,
) -> None:
    """Approve: a held adjustment posts as you, an order is placed, a proposal creates its item."""
    rt, actor = state.runtime(), state.actor()
    decision = approvals.decide(rt, actor, approval_id, True, note, witness=witness(witness_name))
    _decided(decision, json_output)


@approvals_app.command("reject")
@handles_errors
def reject(
    approval_id: Annotated[int, typer.Argument(help="The approval's number (see inbox).")],
    note: Annotated[str, typer.Option("--note", help="Why (required).")],
    json_output: JsonOption = False,
) -> None:
    """Reject, with a reason; nothing is posted or ordered."""
    rt, actor = state.runtime(), state.actor()
    _decided(approvals.decide(rt, actor, approval_id, False, note), json_output)


def _decided(decision: approvals.Decision, json_output: bool) -> None:
    if json_output:
        emit_json({"approval": decision.approval.as_dict(), "document_id": decision.document_id})
        return
    posted = f"; document {decision.document_id} posted" if decision.document_id else ""
    console.print(f"Approval {decision.approval.id} {decision.approval.status}{posted}")


# --- policies -----------------------------------------------------------------------------------


@policy_app.command("list")
@handles_errors
def policy_list(json_output: JsonOption = False) -> None:
    """The organization's policies, and the built-in default of each action it keeps none for."""
    policies = approvals.list_policies(state.runtime(), state.actor())
    if json_output:
        emit_json([_policy_dict(p) for p in policies])
        return
    table = Table("#", "action", "site", "worth at least", "units at least", "approved by", "")
    for p in policies:
        table.add_row(
            "default" if p.id is None else str(p.id),
            p.action,
            "every site" if p.site_id is None else str(p.site_id),
            "" if p.min_value is None else f"{p.min_value:,.2f}",
            "" if p.min_quantity is None else f"{p.min_quantity:,}",
            ", ".join(r.value for r in p.approver_roles),
            "" if p.active else "retired",
        )
    console.print(table)


@policy_app.command("add")
@handles_errors
def policy_add(
    action: Annotated[str, typer.Argument(help="adjustment, order or non_formulary_order.")],
    roles: Annotated[str, typer.Option("--roles", help="Who approves: roles, comma-separated.")],
    min_value: Annotated[
        str | None, typer.Option("--min-value", help="Applies from this value up.")
    ] = None,
    min_units: Annotated[
        int | None, typer.Option("--min-units", help="Applies from this many base units up.")
    ] = None,
    site: Annotated[
        str | None, typer.Option("--site", help="Only at this site (code); else every site.")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Add a policy. A site's policies of an action replace the organization-wide ones there."""
    rt, actor = state.runtime(), state.actor()
    policy = approvals.create_policy(
        rt,
        actor,
        action=action,
        approver_roles=roles,
        min_value=None if min_value is None else money(min_value, "min_value"),
        min_quantity=min_units,
        site_id=catalog.site_by_code(rt, actor, site).id if site else None,
    )
    _show(policy, "added", json_output)


@policy_app.command("change")
@handles_errors
def policy_change(
    policy_id: Annotated[int, typer.Argument(help="The policy's number (see list).")],
    roles: Annotated[str | None, typer.Option("--roles", help="Who approves.")] = None,
    min_value: Annotated[
        str | None, typer.Option("--min-value", help="A value threshold, or 'none'.")
    ] = None,
    min_units: Annotated[
        str | None, typer.Option("--min-units", help="A unit threshold, or 'none'.")
    ] = None,
    active: Annotated[
        bool | None, typer.Option("--active/--retired", help="Bring back or retire it.")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Change a policy's approvers or thresholds, or retire it; every change is audited."""
    changes: dict[str, Any] = {}
    if min_value is not None:
        changes["min_value"] = (
            None if min_value.lower() in NONE_WORDS else money(min_value, "min_value")
        )
    if min_units is not None:
        changes["min_quantity"] = None if min_units.lower() in NONE_WORDS else _units(min_units)
    policy = approvals.update_policy(
        state.runtime(),
        state.actor(),
        policy_id,
        approver_roles=roles,
        active=active,
        min_value=changes.get("min_value", UNCHANGED),
        min_quantity=changes.get("min_quantity", UNCHANGED),
    )
    _show(policy, "changed", json_output)


def _units(text: str) -> int:
    try:
        return int(text.replace(",", ""))
    except ValueError:
        raise InvalidQuantity(
            "the unit threshold is a whole number of base units", field="min_quantity"
        ) from None


def _show(policy: ApprovalPolicy, what: str, json_output: bool) -> None:
    if json_output:
        emit_json(_policy_dict(policy))
        return
    state_word = "" if policy.active else " (retired)"
    console.print(f"Policy {policy.id} {what}: {policy.describe()}{state_word}")


def _policy_dict(p: ApprovalPolicy) -> dict[str, Any]:
    return {
        "id": p.id,
        "action": p.action,
        "site_id": p.site_id,
        "min_value": None if p.min_value is None else str(p.min_value.quantize(Decimal("0.0001"))),
        "min_quantity": p.min_quantity,
        "approver_roles": [r.value for r in p.approver_roles],
        "active": p.active,
    }
