"""Requisitions and their approval: draft, submit, approve or reject by another user, cancel.

A requisition is drafted at a site for one supplier (packs of its supplier items, priced when
drafted), then submitted: when it reaches no approval policy (``domain.approvals``: by default
orders worth 1,000.00 or more, and any order with a non-formulary line) it becomes a purchase
order at once; otherwise an ``approvals`` row asks another user with a role the policies name to
approve it — by default a pharmacist when a line is non-formulary. Approving places the purchase
order; rejecting ends the requisition; it may be cancelled while it is a draft or waiting.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Row

from rxledger.adapters import approvals_repository as ar
from rxledger.adapters import locking
from rxledger.adapters import purchasing_repository as pr
from rxledger.adapters import repository as repo
from rxledger.domain import errors
from rxledger.domain.approvals import ApprovalPolicy
from rxledger.domain.permissions import Permission
from rxledger.domain.purchasing import (
    ApprovalStatus,
    OrderLine,
    RequisitionStatus,
    Supplier,
    SupplierItem,
    approval_need,
    check_approver,
    check_minimum_order,
    check_order_size,
    check_packs,
    deciding_policies,
    require_status,
    requisition_value,
)
from rxledger.services import audit
from rxledger.services.purchase_orders import known_status, place_order
from rxledger.services.queries import visible_site_ids
from rxledger.services.requisition_views import (
    SUBJECT,
    ApprovalView,
    RequisitionView,
    approval_view,
    load_views,
)
from rxledger.services.runtime import Actor, Runtime

MAX_LINES = 500


@dataclass(frozen=True, slots=True)
class RequisitionLineSpec:
    supplier_item_id: int
    packs: int


@dataclass(frozen=True, slots=True)
class NewRequisition:
    site_id: int
    supplier_id: int
    lines: Sequence[RequisitionLineSpec]
    note: str | None = None


# --- drafting and submitting --------------------------------------------------------------------


def create_requisition(rt: Runtime, actor: Actor, spec: NewRequisition) -> RequisitionView:
    """Draft a requisition for one supplier: packs of its active supplier items, in its order
    multiples, priced at today's pack prices."""
    actor.require(Permission.ORDER, spec.site_id)
    if not spec.lines or len(spec.lines) > MAX_LINES:
        raise errors.ValidationFailed(f"a requisition has 1 to {MAX_LINES} lines")
    with rt.uow() as uow:
        conn = uow.connection
        if not rt.references.site_exists(conn, actor.organization_id, spec.site_id):
            raise errors.SiteNotFound(f"no site {spec.site_id}", site_id=spec.site_id)
        supplier = _active_supplier(conn, actor, spec.supplier_id)
        offers = _offers(conn, actor, supplier, spec.lines)
        items = repo.items_by_id(conn, actor.organization_id, {o.item_id for o in offers})
        lines = [
            OrderLine(items[o.item_id], line.packs, o.pack_units, o.pack_price)
            for o, line in zip(offers, spec.lines, strict=True)
        ]
        check_order_size(lines)
        values = {
            "organization_id": actor.organization_id,
            "site_id": spec.site_id,
            "supplier_id": supplier.id,
            "status": RequisitionStatus.DRAFT.value,
            "requested_by": actor.username,
            "requested_at": rt.clock.now(),
            "note": (spec.note or "").strip()[:2000] or None,
            "total_value": requisition_value(lines),
        }
        rows = [
            {
                "organization_id": actor.organization_id,
                "line_no": number,
                "item_id": o.item_id,
                "supplier_item_id": o.id,
                "packs": line.packs,
                "pack_units": o.pack_units,
                "pack_price": o.pack_price,
            }
            for number, (o, line) in enumerate(zip(offers, spec.lines, strict=True), start=1)
        ]
        requisition_id = pr.insert_requisition(conn, values, rows)
        uow.commit()
    return get_requisition(rt, actor, requisition_id)


def submit_requisition(rt: Runtime, actor: Actor, requisition_id: int) -> RequisitionView:
    """Submit a draft: refused below the supplier's minimum order value; ordered at once when no
    approval is needed, else waiting for one (recorded in ``approvals``)."""
    with rt.uow() as uow:
        conn = uow.connection
        row = _locked(conn, actor, requisition_id, Permission.ORDER, RequisitionStatus.DRAFT)
        supplier = _supplier(conn, actor, row.supplier_id)
        lines = pr.requisition_lines(conn, [row.id])
        priced = _priced(conn, actor, lines)
        check_minimum_order(requisition_value(priced), supplier)
        need = approval_need(priced, ar.policies(conn, actor.organization_id), row.site_id)
        if need.required:
            _ask_approval(rt, conn, actor, row, priced, need.action, "; ".join(need.reasons))
            pr.update_requisition(conn, row.id, {"status": RequisitionStatus.SUBMITTED.value})
        else:
            _order(rt, conn, row, lines, supplier, actor.username)
        uow.commit()
    return get_requisition(rt, actor, requisition_id)


# --- deciding -----------------------------------------------------------------------------------


def approve_requisition(
    rt: Runtime, actor: Actor, requisition_id: int, note: str | None = None
) -> RequisitionView:
    """Approve a waiting requisition and place its purchase order. The approver holds
    ``approve_orders`` at the site, is neither its requester nor its submitter, and is a
    pharmacist when the order has a non-formulary line."""
    with rt.uow() as uow:
        conn = uow.connection
        row = _locked(
            conn, actor, requisition_id, Permission.APPROVE_ORDERS, RequisitionStatus.SUBMITTED
        )
        approval = _pending(conn, row)
        check_decider(ar.policies(conn, actor.organization_id), actor, approval, row.requested_by)
        _decide(rt, conn, actor, approval, ApprovalStatus.APPROVED, note)
        supplier = _supplier(conn, actor, row.supplier_id)
        lines = pr.requisition_lines(conn, [row.id])
        _order(rt, conn, row, lines, supplier, actor.username)
        uow.commit()
    return get_requisition(rt, actor, requisition_id)


def reject_requisition(
    rt: Runtime, actor: Actor, requisition_id: int, note: str
) -> RequisitionView:
    """Reject a waiting requisition, with a reason; as for approval, not by its requester."""
    reason = (note or "").strip()
    if not reason:
        raise errors.ValidationFailed("a rejection needs a reason", field="note")
    with rt.uow() as uow:
        conn = uow.connection
        row = _locked(
            conn, actor, requisition_id, Permission.APPROVE_ORDERS, RequisitionStatus.SUBMITTED
        )
        approval = _pending(conn, row)
        check_decider(ar.policies(conn, actor.organization_id), actor, approval, row.requested_by)
        _decide(rt, conn, actor, approval, ApprovalStatus.REJECTED, reason)
        pr.update_requisition(conn, row.id, {"status": RequisitionStatus.REJECTED.value})
        uow.commit()
    return get_requisition(rt, actor, requisition_id)


def cancel_requisition(rt: Runtime, actor: Actor, requisition_id: int) -> RequisitionView:
    """Cancel a draft or a waiting requisition; its pending approval is withdrawn."""
    with rt.uow() as uow:
        conn = uow.connection
        row = _locked(
            conn,
            actor,
            requisition_id,
            Permission.ORDER,
            RequisitionStatus.DRAFT,
            RequisitionStatus.SUBMITTED,
        )
        for approval in pr.approvals_of(conn, SUBJECT, [row.id]):
            if approval.status == ApprovalStatus.PENDING.value:
                pr.decide_approval(
                    conn,
                    approval.id,
                    {
                        "status": ApprovalStatus.WITHDRAWN.value,
                        "decided_at": rt.clock.now(),
                        "note": _with_note(approval.note, f"withdrawn by {actor.username}"),
                    },
                )
        pr.update_requisition(conn, row.id, {"status": RequisitionStatus.CANCELLED.value})
        uow.commit()
    return get_requisition(rt, actor, requisition_id)


# --- reading ------------------------------------------------------------------------------------


def get_requisition(rt: Runtime, actor: Actor, requisition_id: int) -> RequisitionView:
    """A requisition with its priced lines and its approvals."""
    with rt.uow(read_only=True) as uow:
        row = _row(uow.connection, actor, requisition_id, Permission.VIEW)
        return load_views(uow.connection, actor, [row])[0]


def list_requisitions(
    rt: Runtime,
    actor: Actor,
    *,
    site_id: int | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[RequisitionView]:
    """Requisitions of the visible sites (or one site), newest first."""
    if site_id is not None:
        actor.require(Permission.VIEW, site_id)
    known_status(status, RequisitionStatus)
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        sites = {site_id} if site_id is not None else visible_site_ids(conn, actor)
        rows = pr.requisitions_of(
            conn, actor.organization_id, sites, status, limit=limit, offset=offset
        )
        return load_views(conn, actor, rows)


def list_approvals(
    rt: Runtime, actor: Actor, *, site_id: int | None = None, limit: int = 50, offset: int = 0
) -> list[ApprovalView]:
    """Approvals still pending at the visible sites (or one site), oldest first: the inbox."""
    if site_id is not None:
        actor.require(Permission.VIEW, site_id)
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        sites = {site_id} if site_id is not None else visible_site_ids(conn, actor)
        rows = pr.pending_approvals(conn, actor.organization_id, sites, limit=limit, offset=offset)
    return [approval_view(r) for r in rows]


# --- helpers ------------------------------------------------------------------------------------


def _row(conn: Connection, actor: Actor, requisition_id: int, permission: Permission) -> Row[Any]:
    row = pr.requisition_by_id(conn, actor.organization_id, requisition_id)
    if row is None:
        raise errors.RequisitionNotFound(
            f"no requisition {requisition_id}", requisition_id=requisition_id
        )
    actor.require(permission, row.site_id)
    return row


def _locked(
    conn: Connection,
    actor: Actor,
    requisition_id: int,
    permission: Permission,
    *allowed: RequisitionStatus,
) -> Row[Any]:
    """The requisition's row, locked, once the actor may act at its site and its status allows."""
    row = _row(conn, actor, requisition_id, permission)
    status = locking.lock_requisition(conn, requisition_id) or row.status
    require_status(f"requisition {requisition_id}", status, *(s.value for s in allowed))
    return row


def _supplier(conn: Connection, actor: Actor, supplier_id: int) -> Supplier:
    supplier = pr.supplier_by_id(conn, actor.organization_id, supplier_id)
    if supplier is None:
        raise errors.SupplierNotFound(f"no supplier {supplier_id}", supplier_id=supplier_id)
    return supplier


def _active_supplier(conn: Connection, actor: Actor, supplier_id: int) -> Supplier:
    supplier = _supplier(conn, actor, supplier_id)
    if not supplier.active:
        raise errors.StatusConflict(f"supplier {supplier.code} is inactive", status="inactive")
    return supplier


def _offers(
    conn: Connection, actor: Actor, supplier: Supplier, lines: Sequence[RequisitionLineSpec]
) -> list[SupplierItem]:
    """Each line's supplier item: active, of this supplier, and ordered in its multiples."""
    found = pr.supplier_items_by_id(
        conn, actor.organization_id, {line.supplier_item_id for line in lines}
    )
    offers = []
    for number, line in enumerate(lines, start=1):
        offer = found.get(line.supplier_item_id)
        if offer is None or offer.supplier_id != supplier.id or not offer.active:
            raise errors.SupplierItemNotFound(
                f"line {number}: {supplier.name} offers no supplier item {line.supplier_item_id}",
                line=number,
                supplier_item_id=line.supplier_item_id,
            )
        check_packs(number, line.packs, offer.order_multiple)
        offers.append(offer)
    return offers


def _priced(conn: Connection, actor: Actor, lines: Sequence[Row[Any]]) -> list[OrderLine]:
    items = repo.items_by_id(conn, actor.organization_id, {line.item_id for line in lines})
    return [
        OrderLine(items[line.item_id], line.packs, line.pack_units, Decimal(line.pack_price))
        for line in lines
    ]


def _ask_approval(
    rt: Runtime,
    conn: Connection,
    actor: Actor,
    row: Row[Any],
    priced: Sequence[OrderLine],
    action: str,
    reasons: str,
) -> None:
    pr.insert_approval(
        conn,
        {
            "organization_id": actor.organization_id,
            "site_id": row.site_id,
            "subject_type": SUBJECT,
            "subject_id": row.id,
            "action": action,
            "value": requisition_value(priced),
            "quantity": sum(line.units for line in priced),
            "requested_by": actor.username,
            "requested_at": rt.clock.now(),
            "status": ApprovalStatus.PENDING.value,
            "note": reasons[:2000],
        },
    )


def check_decider(
    policies: Sequence[ApprovalPolicy],
    actor: Actor,
    approval: Row[Any],
    drafted_by: str | None = None,
) -> None:
    """Who may approve or reject a waiting order: not its requester or submitter, with a role
    every approval policy (of the organization's ``policies``) it reaches now names."""
    reached = deciding_policies(
        approval.action,
        Decimal(approval.value or 0),
        int(approval.quantity or 0),
        policies,
        approval.site_id,
    )
    makers = [approval.requested_by] + ([drafted_by] if drafted_by else [])
    check_approver(actor, approval.site_id, makers, reached)


def _pending(conn: Connection, row: Row[Any]) -> Row[Any]:
    pending: list[Row[Any]] = [
        a for a in pr.approvals_of(conn, SUBJECT, [row.id]) if a.status == "pending"
    ]
    if pending:
        return pending[-1]
    raise errors.StatusConflict(f"requisition {row.id} has no pending approval", status=row.status)


def _decide(
    rt: Runtime,
    conn: Connection,
    actor: Actor,
    approval: Row[Any],
    status: ApprovalStatus,
    note: str | None,
) -> None:
    text = (note or "").strip()
    pr.decide_approval(
        conn,
        approval.id,
        {
            "status": status.value,
            "decided_by": actor.username,
            "decided_at": rt.clock.now(),
            "note": _with_note(approval.note, f"{actor.username}: {text}")
            if text
            else approval.note,
        },
    )
    audit.record(
        conn,
        actor,
        action=f"{'approve' if status is ApprovalStatus.APPROVED else 'reject'} requisition",
        subject_type=SUBJECT,
        subject_id=approval.subject_id,
        site_id=approval.site_id,
        before={"approval": approval.id, "status": approval.status},
        after={"approval": approval.id, "status": status.value, "note": text or None},
        at=rt.clock.now(),
    )


def _with_note(existing: str | None, addition: str) -> str:
    return (f"{existing}\n{addition}" if existing else addition)[:2000]


def _order(
    rt: Runtime,
    conn: Connection,
    row: Row[Any],
    lines: Sequence[Row[Any]],
    supplier: Supplier,
    created_by: str,
) -> None:
    order_id = place_order(
        rt, conn, requisition=row, lines=lines, supplier=supplier, created_by=created_by
    )
    pr.update_requisition(
        conn, row.id, {"status": RequisitionStatus.ORDERED.value, "purchase_order_id": order_id}
    )
