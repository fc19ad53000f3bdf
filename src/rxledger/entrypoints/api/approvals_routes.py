"""Approvals as one mechanism: the inbox of what this user may decide (requisitions, item
proposals, held adjustments), the decision, and the approval policies (kept by administrators:
the ``manage_sites`` permission)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from rxledger.domain.approvals import ApprovalPolicy
from rxledger.entrypoints.api import purchasing_schemas as ps
from rxledger.entrypoints.api import schemas as s
from rxledger.entrypoints.api.deps import ActorDep, IdPath, IdQuery, RuntimeDep
from rxledger.entrypoints.api.errors import ERROR_RESPONSES
from rxledger.services import approvals
from rxledger.services.approvals import Decision, InboxEntry
from rxledger.services.controlled import Witness

router = APIRouter(responses=ERROR_RESPONSES, tags=["approvals"])


class HeldAdjustmentOut(BaseModel):
    """An adjustment above its approval policy: nothing posted yet, waiting in the inbox."""

    held: bool = Field(examples=[True])
    approval_id: int
    held_adjustment_id: int
    value: str = Field(description="At standard cost, a decimal string.", examples=["300.0000"])


class InboxEntryOut(BaseModel):
    id: int
    site_id: int
    subject_type: str = Field(examples=["adjustment", "requisition", "item_proposal"])
    subject_id: int
    action: str
    value: str | None
    quantity: int | None
    requested_by: str
    requested_at: datetime
    summary: str


class ApproveIn(s.Strict):
    note: str | None = Field(default=None, max_length=2000)
    witness: s.WitnessIn | None = Field(
        default=None, description="For a held adjustment of schedule II stock."
    )


class DecisionOut(BaseModel):
    approval: ps.ApprovalOut
    document_id: int | None = Field(description="The adjustment posted by an approval.")


class PolicyIn(s.Strict):
    action: str = Field(min_length=1, max_length=60, examples=["adjustment"])
    approver_roles: str = Field(min_length=1, max_length=200, examples=["pharmacist"])
    min_value: ps.MoneyIn | None = None
    min_quantity: int | None = Field(default=None, ge=0, le=10**12)
    site_id: int | None = Field(default=None, ge=1, le=2**53)
    active: bool = True


class PolicyChangeIn(s.Strict):
    """Only the fields sent change; ``null`` removes a threshold."""

    approver_roles: str | None = Field(
        default=None, min_length=1, max_length=200, examples=["pharmacist,manager"]
    )
    min_value: ps.MoneyIn | None = None
    min_quantity: int | None = Field(default=None, ge=0, le=10**12)
    active: bool | None = Field(default=None, description="false retires the policy.")


class PolicyOut(BaseModel):
    id: int | None = Field(description="None: the built-in default of the action.")
    action: str
    approver_roles: list[str]
    min_value: str | None
    min_quantity: int | None
    site_id: int | None
    active: bool


def held_out(outcome: approvals.AdjustmentOutcome) -> dict[str, Any]:
    return {
        "held": True,
        "approval_id": outcome.approval_id,
        "held_adjustment_id": outcome.held_id,
        "value": str(outcome.value),
    }


def _entry(x: InboxEntry) -> dict[str, Any]:
    return {
        "id": x.id,
        "site_id": x.site_id,
        "subject_type": x.subject_type,
        "subject_id": x.subject_id,
        "action": x.action,
        "value": None if x.value is None else str(x.value),
        "quantity": x.quantity,
        "requested_by": x.requested_by,
        "requested_at": x.requested_at,
        "summary": x.summary,
    }


def _decision(d: Decision) -> dict[str, Any]:
    return {"approval": d.approval.as_dict(), "document_id": d.document_id}


def _policy(p: ApprovalPolicy) -> dict[str, Any]:
    return {
        "id": p.id,
        "action": p.action,
        "approver_roles": [r.value for r in p.approver_roles],
        "min_value": None if p.min_value is None else str(p.min_value.quantize(Decimal("0.0001"))),
        "min_quantity": p.min_quantity,
        "site_id": p.site_id,
        "active": p.active,
    }


@router.get("/approvals/inbox", response_model=list[InboxEntryOut])
def inbox(rt: RuntimeDep, actor: ActorDep, site_id: IdQuery = None) -> list[dict[str, Any]]:
    """Pending approvals this user could decide, oldest first: not their own requests, and with
    the role each needs (a pharmacist for large adjustments and non-formulary orders)."""
    return [_entry(x) for x in approvals.inbox(rt, actor, site_id)]


@router.post("/approvals/{approval_id}/approve", response_model=DecisionOut)
def approve(
    approval_id: IdPath, body: ApproveIn, rt: RuntimeDep, actor: ActorDep
) -> dict[str, Any]:
    """Approve: a held adjustment is posted by the approver, a requisition is ordered, an item
    proposal creates its item. ``SELF_APPROVAL_FORBIDDEN`` for the requester,
    ``PHARMACIST_APPROVAL_REQUIRED`` when the policy asks for a pharmacist,
    ``STATUS_CONFLICT`` once decided."""
    witness = Witness(body.witness.username, body.witness.password) if body.witness else None
    return _decision(approvals.decide(rt, actor, approval_id, True, body.note, witness=witness))


@router.post("/approvals/{approval_id}/reject", response_model=DecisionOut)
def reject(
    approval_id: IdPath, body: ps.RejectionIn, rt: RuntimeDep, actor: ActorDep
) -> dict[str, Any]:
    """Reject with a reason, under the same rules as approving; nothing is posted."""
    return _decision(approvals.decide(rt, actor, approval_id, False, body.note))


@router.get("/approval-policies", response_model=list[PolicyOut])
def list_policies(rt: RuntimeDep, actor: ActorDep) -> list[dict[str, Any]]:
    """The organization's approval policies, with the default of each action it keeps none for."""
    return [_policy(p) for p in approvals.list_policies(rt, actor)]


@router.post("/approval-policies", response_model=PolicyOut, status_code=201)
def create_policy(body: PolicyIn, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    """Add a policy (``manage_sites`` at its site; at every site for an organization-wide one).
    Site policies of an action replace the organization-wide ones at that site."""
    policy = approvals.create_policy(
        rt,
        actor,
        action=body.action,
        approver_roles=body.approver_roles,
        min_value=None if body.min_value is None else Decimal(body.min_value),
        min_quantity=body.min_quantity,
        site_id=body.site_id,
        active=body.active,
    )
    return _policy(policy)


@router.patch("/approval-policies/{policy_id}", response_model=PolicyOut)
def update_policy(
    policy_id: IdPath, body: PolicyChangeIn, rt: RuntimeDep, actor: ActorDep
) -> dict[str, Any]:
    """Change a kept policy's approver roles or thresholds (``null`` removes one), or retire it
    with ``active: false``; its action and site stay. Requests already waiting are judged by the
    policies in force when they are decided. A built-in default has no id: add a policy of its
    action to replace it."""
    sent = body.model_fields_set
    changes: dict[str, Any] = {}
    if "min_value" in sent:
        changes["min_value"] = None if body.min_value is None else Decimal(body.min_value)
    if "min_quantity" in sent:
        changes["min_quantity"] = body.min_quantity
    policy = approvals.update_policy(
        rt,
        actor,
        policy_id,
        approver_roles=body.approver_roles,
        active=body.active,
        **changes,
    )
    return _policy(policy)
