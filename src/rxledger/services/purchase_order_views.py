"""What a purchase order looks like to its readers: lines with ordered, received and open units,
the receipts against them, and the open quantities per item and site; loaded in a few statements.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Row

from rxledger.adapters import purchasing_repository as pr
from rxledger.adapters import repository as repo
from rxledger.domain import errors
from rxledger.domain.model import Item
from rxledger.domain.purchasing import (
    ReceiptStatus,
    open_quantity,
    order_status,
    receipt_status,
)
from rxledger.services.runtime import Actor


@dataclass(frozen=True, slots=True)
class PurchaseOrderLineView:
    id: int
    line_no: int
    item_id: int
    sku: str
    item_name: str
    strength: str
    base_unit: str
    supplier_item_id: int | None
    ordered_units: int
    pack_units: int
    pack_price: Decimal
    received_units: int = 0
    substitute_units: int = 0  # of the received units, those of a substitute NDC

    @property
    def packs(self) -> int:
        return self.ordered_units // self.pack_units

    @property
    def value(self) -> Decimal:
        return self.packs * self.pack_price

    @property
    def open_units(self) -> int:
        return open_quantity(self.ordered_units, self.received_units)

    @property
    def over_units(self) -> int:
        return max(self.received_units - self.ordered_units, 0)

    @property
    def status(self) -> ReceiptStatus:
        return receipt_status(self.ordered_units, self.received_units)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "line_no": self.line_no,
            "item_id": self.item_id,
            "sku": self.sku,
            "item_name": self.item_name,
            "strength": self.strength,
            "base_unit": self.base_unit,
            "supplier_item_id": self.supplier_item_id,
            "packs": self.packs,
            "pack_units": self.pack_units,
            "pack_price": str(self.pack_price),
            "value": str(self.value),
            "ordered_units": self.ordered_units,
            "received_units": self.received_units,
            "substitute_units": self.substitute_units,
            "open_units": self.open_units,
            "over_units": self.over_units,
            "status": self.status.value,
        }


@dataclass(frozen=True, slots=True)
class PoReceiptView:
    """What one receipt document brought against one PO line."""

    document_id: int
    occurred_at: datetime
    posted_by: str
    line_id: int
    item_id: int
    units: int
    substitute: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "document_id": self.document_id,
            "occurred_at": self.occurred_at.isoformat(),
            "posted_by": self.posted_by,
            "line_id": self.line_id,
            "item_id": self.item_id,
            "units": self.units,
            "substitute": self.substitute,
        }


@dataclass(frozen=True, slots=True)
class PurchaseOrderView:
    id: int
    number: str
    site_id: int
    site_code: str
    supplier_id: int
    supplier_code: str
    supplier_name: str
    status: str
    created_by: str
    created_at: datetime
    expected_on: date | None
    closed_at: datetime | None
    note: str | None
    lines: tuple[PurchaseOrderLineView, ...]
    receipts: tuple[PoReceiptView, ...] = ()

    @property
    def receipt_status(self) -> ReceiptStatus:
        return order_status(line.status for line in self.lines)

    @property
    def value(self) -> Decimal:
        return sum((line.value for line in self.lines), Decimal(0))

    @property
    def open_units(self) -> int:
        return sum(line.open_units for line in self.lines)

    def line(self, line_id: int) -> PurchaseOrderLineView:
        for line in self.lines:
            if line.id == line_id:
                return line
        raise errors.PurchaseOrderLineNotFound(
            f"{self.number} has no line {line_id}", purchase_order_id=self.id, line_id=line_id
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "number": self.number,
            "site_id": self.site_id,
            "site_code": self.site_code,
            "supplier_id": self.supplier_id,
            "supplier_code": self.supplier_code,
            "supplier_name": self.supplier_name,
            "status": self.status,
            "receipt_status": self.receipt_status.value,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "expected_on": self.expected_on.isoformat() if self.expected_on else None,
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
            "note": self.note,
            "value": str(self.value),
            "open_units": self.open_units,
            "lines": [line.as_dict() for line in self.lines],
            "receipts": [r.as_dict() for r in self.receipts],
        }


@dataclass(frozen=True, slots=True)
class OnOrder:
    """What open purchase orders still bring of an item to a site."""

    site_id: int
    site_code: str
    item_id: int
    sku: str
    item_name: str
    base_unit: str
    open_units: int
    purchase_orders: int
    next_expected: date | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "site_id": self.site_id,
            "site_code": self.site_code,
            "item_id": self.item_id,
            "sku": self.sku,
            "item_name": self.item_name,
            "base_unit": self.base_unit,
            "open_units": self.open_units,
            "purchase_orders": self.purchase_orders,
            "next_expected": self.next_expected.isoformat() if self.next_expected else None,
        }


def on_order_rows(
    rows: Sequence[Row[Any]], items: dict[int, Item], codes: dict[int, str]
) -> list[OnOrder]:
    """Sum the open units of open PO lines per (site, item); fully received lines add nothing."""
    open_units: dict[tuple[int, int], int] = defaultdict(int)
    orders: dict[tuple[int, int], set[int]] = defaultdict(set)
    expected: dict[tuple[int, int], date] = {}
    for row in rows:
        still = open_quantity(row.ordered_units, int(row.received))
        if still <= 0:
            continue
        key = (row.site_id, row.item_id)
        open_units[key] += still
        orders[key].add(row.purchase_order_id)
        if row.expected_on is not None and (key not in expected or row.expected_on < expected[key]):
            expected[key] = row.expected_on
    return [
        OnOrder(
            site,
            codes[site],
            item,
            items[item].sku,
            items[item].name,
            items[item].base_unit,
            units,
            len(orders[(site, item)]),
            expected.get((site, item)),
        )
        for (site, item), units in sorted(open_units.items())
    ]


def site_codes(conn: Connection, actor: Actor, site_ids: Collection[int]) -> dict[int, str]:
    """The codes of the sites, by id (the reference cache holds locations, not site codes)."""
    codes = {}
    for site_id in site_ids:
        site = repo.site_by_id(conn, actor.organization_id, site_id)
        codes[site_id] = site.code if site else str(site_id)
    return codes


def load_views(
    conn: Connection, actor: Actor, rows: Sequence[Row[Any]], *, with_receipts: bool = False
) -> list[PurchaseOrderView]:
    """The views of a page of PO rows: lines with their received units in one read, suppliers and
    sites by id, and (for one PO's page) the receipts."""
    if not rows:
        return []
    org = actor.organization_id
    lines = _line_views(conn, org, [r.id for r in rows])
    suppliers = {s: pr.supplier_by_id(conn, org, s) for s in {r.supplier_id for r in rows}}
    codes = site_codes(conn, actor, {r.site_id for r in rows})
    views = []
    for row in rows:
        supplier = suppliers[row.supplier_id]
        views.append(
            PurchaseOrderView(
                row.id,
                row.number,
                row.site_id,
                codes[row.site_id],
                row.supplier_id,
                supplier.code if supplier else "",
                supplier.name if supplier else "",
                row.status,
                row.created_by,
                row.created_at,
                row.expected_on,
                row.closed_at,
                row.note,
                tuple(lines[row.id]),
                _receipts(conn, row.id) if with_receipts else (),
            )
        )
    return views


def _line_views(
    conn: Connection, org_id: int, order_ids: Sequence[int]
) -> dict[int, list[PurchaseOrderLineView]]:
    lines = pr.purchase_order_lines(conn, order_ids)
    received = pr.received_per_line(conn, [line.id for line in lines])
    items = repo.items_by_id(conn, org_id, {line.item_id for line in lines})
    by_order: dict[int, list[PurchaseOrderLineView]] = defaultdict(list)
    for line in lines:
        item = items[line.item_id]
        got, substituted = received.get(line.id, (0, 0))
        by_order[line.purchase_order_id].append(
            PurchaseOrderLineView(
                line.id,
                line.line_no,
                item.id,
                item.sku,
                item.name,
                item.strength,
                item.base_unit,
                line.supplier_item_id,
                line.ordered_units,
                line.pack_units,
                Decimal(line.pack_price),
                got,
                substituted,
            )
        )
    return by_order


def _receipts(conn: Connection, order_id: int) -> tuple[PoReceiptView, ...]:
    return tuple(
        PoReceiptView(
            r.document_id,
            r.occurred_at,
            r.posted_by,
            r.purchase_order_line_id,
            r.item_id,
            r.units,
            bool(r.substitute),
        )
        for r in pr.receipts_of_order(conn, order_id)
    )
