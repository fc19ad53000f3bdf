"""What a requisition looks like to its readers: priced lines, approvals, and the purchase order
it became, loaded in a few statements for a page of requisitions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Row

from rxledger.adapters import purchasing_repository as pr
from rxledger.adapters import repository as repo
from rxledger.domain.model import Item
from rxledger.domain.purchasing import APPROVE_NON_FORMULARY_ORDER
from rxledger.services.runtime import Actor

SUBJECT = "requisition"  # the approvals' subject type of a requisition


@dataclass(frozen=True, slots=True)
class RequisitionLineView:
    line_no: int
    item_id: int
    sku: str
    item_name: str
    strength: str
    base_unit: str
    formulary_status: str
    supplier_item_id: int
    packs: int
    pack_units: int
    pack_price: Decimal

    @property
    def units(self) -> int:
        return self.packs * self.pack_units

    @property
    def value(self) -> Decimal:
        return self.packs * self.pack_price

    def as_dict(self) -> dict[str, Any]:
        return {
            "line_no": self.line_no,
            "item_id": self.item_id,
            "sku": self.sku,
            "item_name": self.item_name,
            "strength": self.strength,
            "base_unit": self.base_unit,
            "formulary_status": self.formulary_status,
            "supplier_item_id": self.supplier_item_id,
            "packs": self.packs,
            "pack_units": self.pack_units,
            "units": self.units,
            "pack_price": str(self.pack_price),
            "value": str(self.value),
        }


@dataclass(frozen=True, slots=True)
class ApprovalView:
    """One request for approval (the generic ``approvals`` record) and its decision."""

    id: int
    site_id: int
    subject_type: str
    subject_id: int
    action: str
    value: Decimal | None
    quantity: int | None
    requested_by: str
    requested_at: datetime
    status: str
    decided_by: str | None
    decided_at: datetime | None
    note: str | None

    @property
    def pharmacist_required(self) -> bool:
        return self.action == APPROVE_NON_FORMULARY_ORDER

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "site_id": self.site_id,
            "subject_type": self.subject_type,
            "subject_id": self.subject_id,
            "action": self.action,
            "pharmacist_required": self.pharmacist_required,
            "value": None if self.value is None else str(self.value),
            "quantity": self.quantity,
            "requested_by": self.requested_by,
            "requested_at": self.requested_at.isoformat(),
            "status": self.status,
            "decided_by": self.decided_by,
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class RequisitionView:
    id: int
    site_id: int
    site_code: str
    supplier_id: int
    supplier_code: str
    supplier_name: str
    status: str
    requested_by: str
    requested_at: datetime
    note: str | None
    total_value: Decimal
    purchase_order_id: int | None
    purchase_order_number: str | None
    lines: tuple[RequisitionLineView, ...]
    approvals: tuple[ApprovalView, ...] = ()

    @property
    def approval(self) -> ApprovalView | None:
        """The latest request for approval, if it ever needed one."""
        return self.approvals[-1] if self.approvals else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "site_id": self.site_id,
            "site_code": self.site_code,
            "supplier_id": self.supplier_id,
            "supplier_code": self.supplier_code,
            "supplier_name": self.supplier_name,
            "status": self.status,
            "requested_by": self.requested_by,
            "requested_at": self.requested_at.isoformat(),
            "note": self.note,
            "total_value": str(self.total_value),
            "purchase_order_id": self.purchase_order_id,
            "purchase_order_number": self.purchase_order_number,
            "lines": [line.as_dict() for line in self.lines],
            "approval": self.approval.as_dict() if self.approval else None,
        }


def approval_view(row: Row[Any]) -> ApprovalView:
    """An ``approvals`` row as read by the inbox and the requisition pages."""
    return ApprovalView(
        row.id,
        row.site_id,
        row.subject_type,
        row.subject_id,
        row.action,
        None if row.value is None else Decimal(row.value),
        row.quantity,
        row.requested_by,
        row.requested_at,
        row.status,
        row.decided_by,
        row.decided_at,
        row.note,
    )


def load_views(conn: Connection, actor: Actor, rows: Sequence[Row[Any]]) -> list[RequisitionView]:
    """The views of a page of requisition rows, their lines and approvals read once per page."""
    if not rows:
        return []
    org = actor.organization_id
    ids = [r.id for r in rows]
    lines = pr.requisition_lines(conn, ids)
    items = repo.items_by_id(conn, org, {line.item_id for line in lines})
    approvals: dict[int, list[ApprovalView]] = defaultdict(list)
    for a in pr.approvals_of(conn, SUBJECT, ids):
        approvals[a.subject_id].append(approval_view(a))
    by_requisition: dict[int, list[RequisitionLineView]] = defaultdict(list)
    for line in lines:
        by_requisition[line.requisition_id].append(_line_view(line, items[line.item_id]))
    suppliers = {s: pr.supplier_by_id(conn, org, s) for s in {r.supplier_id for r in rows}}
    sites = {s: repo.site_by_id(conn, org, s) for s in {r.site_id for r in rows}}
    numbers = {
        r.purchase_order_id: _po_number(conn, org, r.purchase_order_id)
        for r in rows
        if r.purchase_order_id is not None
    }
    views = []
    for r in rows:
        supplier, site = suppliers[r.supplier_id], sites[r.site_id]
        views.append(
            RequisitionView(
                r.id,
                r.site_id,
                site.code if site else str(r.site_id),
                r.supplier_id,
                supplier.code if supplier else "",
                supplier.name if supplier else "",
                r.status,
                r.requested_by,
                r.requested_at,
                r.note,
                Decimal(r.total_value),
                r.purchase_order_id,
                numbers.get(r.purchase_order_id),
                tuple(by_requisition[r.id]),
                tuple(approvals[r.id]),
            )
        )
    return views


def _line_view(line: Row[Any], item: Item) -> RequisitionLineView:
    return RequisitionLineView(
        line.line_no,
        item.id,
        item.sku,
        item.name,
        item.strength,
        item.base_unit,
        item.formulary_status.value,
        line.supplier_item_id,
        line.packs,
        line.pack_units,
        Decimal(line.pack_price),
    )


def _po_number(conn: Connection, org_id: int, order_id: int) -> str | None:
    row = pr.purchase_order_by_id(conn, org_id, order_id)
    return None if row is None else str(row.number)
