"""Purchase orders: placed from approved requisitions, read with what each line has received and
what is still open, closed (short lines and all) or cancelled, and the open quantities per item
and site that replenishment will count as on order.

Receipt progress is never stored: it is the sum of the PO's ``purchase_receipts`` rows, which are
written in the same transaction as the receipt documents themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Row

from rxledger.adapters import locking
from rxledger.adapters import purchasing_repository as pr
from rxledger.adapters import repository as repo
from rxledger.domain import errors
from rxledger.domain.permissions import Permission
from rxledger.domain.purchasing import (
    PurchaseOrderStatus,
    Supplier,
    expected_on,
    purchase_order_number,
    require_status,
)
from rxledger.services.purchase_order_views import (
    OnOrder,
    PoReceiptView,
    PurchaseOrderLineView,
    PurchaseOrderView,
    load_views,
    on_order_rows,
    site_codes,
)
from rxledger.services.queries import visible_site_ids
from rxledger.services.runtime import Actor, Runtime

__all__ = [
    "OnOrder",
    "PoReceiptView",
    "PurchaseOrderLineView",
    "PurchaseOrderView",
    "cancel_purchase_order",
    "close_purchase_order",
    "get_purchase_order",
    "known_status",
    "list_purchase_orders",
    "load_view",
    "on_order",
    "order_row",
    "place_order",
    "purchase_order_by_number",
]

OPEN = PurchaseOrderStatus.OPEN.value


# --- placing an order (inside the approving transaction) ----------------------------------------


def place_order(
    rt: Runtime,
    conn: Connection,
    *,
    requisition: Row[Any],
    lines: Sequence[Row[Any]],
    supplier: Supplier,
    created_by: str,
) -> int:
    """Write the purchase order of an approved requisition, numbered ``PO-<site>-<sequence>``;
    the site's numbering is serialized on its row, so two approvals never take one number."""
    locking.lock_site_numbering(conn, requisition.site_id)
    site = repo.site_by_id(conn, requisition.organization_id, requisition.site_id)
    if site is None:
        raise errors.SiteNotFound(f"no site {requisition.site_id}", site_id=requisition.site_id)
    now = rt.clock.now()
    values = {
        "organization_id": requisition.organization_id,
        "site_id": site.id,
        "supplier_id": supplier.id,
        "number": purchase_order_number(site.code, pr.purchase_orders_at_site(conn, site.id) + 1),
        "status": OPEN,
        "created_by": created_by,
        "created_at": now,
        "expected_on": expected_on(now, supplier.lead_time_days),
        "note": requisition.note,
    }
    rows = [
        {
            "organization_id": requisition.organization_id,
            "line_no": line.line_no,
            "item_id": line.item_id,
            "supplier_item_id": line.supplier_item_id,
            "ordered_units": line.packs * line.pack_units,
            "pack_units": line.pack_units,
            "pack_price": line.pack_price,
        }
        for line in lines
    ]
    return pr.insert_purchase_order(conn, values, rows)


# --- reading ------------------------------------------------------------------------------------


def get_purchase_order(rt: Runtime, actor: Actor, order_id: int) -> PurchaseOrderView:
    """A purchase order with its lines (ordered, received, open, status) and its receipts."""
    with rt.uow(read_only=True) as uow:
        row = order_row(uow.connection, actor, order_id, Permission.VIEW)
        return load_views(uow.connection, actor, [row], with_receipts=True)[0]


def purchase_order_by_number(rt: Runtime, actor: Actor, number: str) -> PurchaseOrderView:
    """A purchase order by its number (``PO-CENTRAL-000012``) or, for all digits, by its id."""
    text = number.strip()
    if text.isdigit():
        return get_purchase_order(rt, actor, int(text))
    with rt.uow(read_only=True) as uow:
        row = pr.purchase_order_by_number(uow.connection, actor.organization_id, text)
        if row is None:
            raise errors.PurchaseOrderNotFound(f"no purchase order {text!r}", number=text)
        actor.require(Permission.VIEW, row.site_id)
        return load_views(uow.connection, actor, [row], with_receipts=True)[0]


def list_purchase_orders(
    rt: Runtime,
    actor: Actor,
    *,
    site_id: int | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[PurchaseOrderView]:
    """Purchase orders of the visible sites (or one site), newest first, with line progress."""
    if site_id is not None:
        actor.require(Permission.VIEW, site_id)
    known_status(status, PurchaseOrderStatus)
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        sites = _sites(conn, actor, site_id)
        rows = pr.purchase_orders_of(
            conn, actor.organization_id, sites, status, limit=limit, offset=offset
        )
        return load_views(conn, actor, rows)


def on_order(
    rt: Runtime, actor: Actor, *, site_id: int | None = None, item_id: int | None = None
) -> list[OnOrder]:
    """Open quantities per item and site: ordered − received of every line of every open PO
    (a closed or cancelled PO brings nothing more)."""
    if site_id is not None:
        actor.require(Permission.VIEW, site_id)
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        rows = pr.open_order_lines(
            conn, actor.organization_id, _sites(conn, actor, site_id), item_id
        )
        items = repo.items_by_id(conn, actor.organization_id, {r.item_id for r in rows})
        codes = site_codes(conn, actor, {r.site_id for r in rows})
    return on_order_rows(rows, items, codes)


# --- closing and cancelling ---------------------------------------------------------------------


def close_purchase_order(
    rt: Runtime, actor: Actor, order_id: int, note: str | None = None
) -> PurchaseOrderView:
    """Close an open PO: nothing more is expected, whatever its short lines still had open."""
    return _finish(rt, actor, order_id, PurchaseOrderStatus.CLOSED, note)


def cancel_purchase_order(
    rt: Runtime, actor: Actor, order_id: int, note: str | None = None
) -> PurchaseOrderView:
    """Cancel an open PO that has received nothing (one with receipts is closed instead)."""
    return _finish(rt, actor, order_id, PurchaseOrderStatus.CANCELLED, note)


def _finish(
    rt: Runtime, actor: Actor, order_id: int, status: PurchaseOrderStatus, note: str | None
) -> PurchaseOrderView:
    with rt.uow() as uow:
        conn = uow.connection
        row = order_row(conn, actor, order_id, Permission.ORDER)
        current = locking.lock_purchase_order(conn, order_id) or row.status
        require_status(f"purchase order {row.number}", current, OPEN)
        lines = pr.purchase_order_lines(conn, [order_id])
        received = pr.received_per_line(conn, [line.id for line in lines])
        if status is PurchaseOrderStatus.CANCELLED and received:
            raise errors.StatusConflict(
                f"purchase order {row.number} has receipts: close it instead of cancelling it",
                status=current,
            )
        text = (note or "").strip()
        values: dict[str, Any] = {"status": status.value, "closed_at": rt.clock.now()}
        if text:
            prefix = f"{row.note}\n" if row.note else ""
            values["note"] = f"{prefix}{status.value} by {actor.username}: {text}"[:2000]
        pr.update_purchase_order(conn, order_id, values)
        uow.commit()
    return get_purchase_order(rt, actor, order_id)


# --- helpers ------------------------------------------------------------------------------------


def known_status(value: str | None, kind: type[StrEnum]) -> None:
    """Refuse a status filter that names no status of its kind."""
    if value is not None and value not in {s.value for s in kind}:
        raise errors.ValidationFailed(
            f"unknown status {value!r}", status=value, known=[s.value for s in kind]
        )


def order_row(conn: Connection, actor: Actor, order_id: int, permission: Permission) -> Row[Any]:
    """The PO's row, once the actor holds the permission at its site (before its content is
    judged, so another site's PO tells nothing)."""
    row = pr.purchase_order_by_id(conn, actor.organization_id, order_id)
    if row is None:
        raise errors.PurchaseOrderNotFound(
            f"no purchase order {order_id}", purchase_order_id=order_id
        )
    actor.require(permission, row.site_id)
    return row


def load_view(conn: Connection, actor: Actor, row: Row[Any]) -> PurchaseOrderView:
    """The view of one PO row, read on the caller's connection."""
    return load_views(conn, actor, [row], with_receipts=True)[0]


def _sites(conn: Connection, actor: Actor, site_id: int | None) -> set[int] | None:
    return {site_id} if site_id is not None else visible_site_ids(conn, actor)
