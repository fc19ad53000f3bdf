"""Reading and writing suppliers, requisitions, approvals, purchase orders and PO receipts."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Row, case, func, insert, select, update

from rxledger.adapters import tables as t
from rxledger.adapters import tables_receiving as r
from rxledger.domain.purchasing import Supplier, SupplierItem

# --- suppliers ----------------------------------------------------------------------------------


def to_supplier(row: Row[Any]) -> Supplier:
    return Supplier(
        id=row.id,
        organization_id=row.organization_id,
        code=row.code,
        name=row.name,
        gln=row.gln,
        lead_time_days=row.lead_time_days,
        minimum_order_value=Decimal(row.minimum_order_value),
        active=bool(row.active),
    )


def to_supplier_item(row: Row[Any]) -> SupplierItem:
    return SupplierItem(
        id=row.id,
        supplier_id=row.supplier_id,
        item_id=row.item_id,
        pack_units=row.pack_units,
        pack_price=Decimal(row.pack_price),
        order_multiple=row.order_multiple,
        supplier_sku=row.supplier_sku,
        gtin=row.gtin,
        active=bool(row.active),
    )


def _insert(conn: Connection, table: Any, values: Mapping[str, Any]) -> int:
    return int(conn.execute(insert(table).values(**values).returning(table.c.id)).scalar_one())


def insert_supplier(conn: Connection, values: Mapping[str, Any]) -> int:
    return _insert(conn, r.suppliers, values)


def supplier_by_id(conn: Connection, org_id: int, supplier_id: int) -> Supplier | None:
    s = r.suppliers.c
    row = conn.execute(
        select(r.suppliers).where(s.organization_id == org_id, s.id == supplier_id)
    ).first()
    return None if row is None else to_supplier(row)


def supplier_by_code(conn: Connection, org_id: int, code: str) -> Supplier | None:
    s = r.suppliers.c
    row = conn.execute(
        select(r.suppliers).where(s.organization_id == org_id, s.code == code)
    ).first()
    return None if row is None else to_supplier(row)


def suppliers_of(conn: Connection, org_id: int) -> list[Supplier]:
    s = r.suppliers.c
    rows = conn.execute(select(r.suppliers).where(s.organization_id == org_id).order_by(s.code))
    return [to_supplier(row) for row in rows]


def insert_supplier_item(conn: Connection, values: Mapping[str, Any]) -> int:
    return _insert(conn, r.supplier_items, values)


def supplier_items_of(conn: Connection, supplier_ids: Collection[int]) -> list[SupplierItem]:
    c = r.supplier_items.c
    rows = conn.execute(
        select(r.supplier_items)
        .where(c.supplier_id.in_(sorted(supplier_ids)))
        .order_by(c.supplier_id, c.item_id, c.pack_units)
    )
    return [to_supplier_item(row) for row in rows]


def supplier_items_by_id(
    conn: Connection, org_id: int, ids: Collection[int]
) -> dict[int, SupplierItem]:
    c = r.supplier_items.c
    rows = conn.execute(
        select(r.supplier_items).where(c.organization_id == org_id, c.id.in_(sorted(ids)))
    )
    return {row.id: to_supplier_item(row) for row in rows}


# --- requisitions and approvals -----------------------------------------------------------------


def insert_requisition(
    conn: Connection, values: Mapping[str, Any], lines: Sequence[Mapping[str, Any]]
) -> int:
    requisition_id = _insert(conn, r.requisitions, values)
    conn.execute(
        insert(r.requisition_lines), [{**line, "requisition_id": requisition_id} for line in lines]
    )
    return requisition_id


def requisition_by_id(conn: Connection, org_id: int, requisition_id: int) -> Row[Any] | None:
    c = r.requisitions.c
    return conn.execute(
        select(r.requisitions).where(c.organization_id == org_id, c.id == requisition_id)
    ).first()


def requisitions_of(
    conn: Connection,
    org_id: int,
    site_ids: Collection[int] | None,
    status: str | None,
    *,
    limit: int,
    offset: int,
) -> list[Row[Any]]:
    """Requisitions newest first; ``site_ids`` None: every site."""
    c = r.requisitions.c
    statement = select(r.requisitions).where(c.organization_id == org_id)
    if site_ids is not None:
        statement = statement.where(c.site_id.in_(sorted(site_ids)))
    if status is not None:
        statement = statement.where(c.status == status)
    statement = statement.order_by(c.requested_at.desc(), c.id.desc()).limit(limit).offset(offset)
    return list(conn.execute(statement))


def requisition_lines(conn: Connection, requisition_ids: Collection[int]) -> list[Row[Any]]:
    c = r.requisition_lines.c
    return list(
        conn.execute(
            select(r.requisition_lines)
            .where(c.requisition_id.in_(sorted(requisition_ids)))
            .order_by(c.requisition_id, c.line_no)
        )
    )


def update_requisition(conn: Connection, requisition_id: int, values: Mapping[str, Any]) -> None:
    conn.execute(
        update(r.requisitions).where(r.requisitions.c.id == requisition_id).values(**values)
    )


def insert_approval(conn: Connection, values: Mapping[str, Any]) -> int:
    return _insert(conn, r.approvals, values)


def approvals_of(
    conn: Connection, subject_type: str, subject_ids: Collection[int]
) -> list[Row[Any]]:
    """Every approval of the subjects, oldest first (a resubmitted subject has several)."""
    c = r.approvals.c
    return list(
        conn.execute(
            select(r.approvals)
            .where(c.subject_type == subject_type, c.subject_id.in_(sorted(subject_ids)))
            .order_by(c.subject_id, c.id)
        )
    )


def pending_approvals(
    conn: Connection, org_id: int, site_ids: Collection[int] | None, *, limit: int, offset: int
) -> list[Row[Any]]:
    c = r.approvals.c
    statement = select(r.approvals).where(c.organization_id == org_id, c.status == "pending")
    if site_ids is not None:
        statement = statement.where(c.site_id.in_(sorted(site_ids)))
    return list(conn.execute(statement.order_by(c.requested_at, c.id).limit(limit).offset(offset)))


def decide_approval(conn: Connection, approval_id: int, values: Mapping[str, Any]) -> None:
    conn.execute(update(r.approvals).where(r.approvals.c.id == approval_id).values(**values))


# --- purchase orders ----------------------------------------------------------------------------


def purchase_orders_at_site(conn: Connection, site_id: int) -> int:
    """How many purchase orders a site has ever had (none is ever deleted)."""
    c = r.purchase_orders.c
    count = conn.execute(
        select(func.count()).select_from(r.purchase_orders).where(c.site_id == site_id)
    ).scalar_one()
    return int(count)


def insert_purchase_order(
    conn: Connection, values: Mapping[str, Any], lines: Sequence[Mapping[str, Any]]
) -> int:
    order_id = _insert(conn, r.purchase_orders, values)
    conn.execute(
        insert(r.purchase_order_lines), [{**line, "purchase_order_id": order_id} for line in lines]
    )
    return order_id


def purchase_order_by_id(conn: Connection, org_id: int, order_id: int) -> Row[Any] | None:
    c = r.purchase_orders.c
    return conn.execute(
        select(r.purchase_orders).where(c.organization_id == org_id, c.id == order_id)
    ).first()


def purchase_order_by_number(conn: Connection, org_id: int, number: str) -> Row[Any] | None:
    c = r.purchase_orders.c
    return conn.execute(
        select(r.purchase_orders).where(c.organization_id == org_id, c.number == number)
    ).first()


def purchase_orders_of(
    conn: Connection,
    org_id: int,
    site_ids: Collection[int] | None,
    status: str | None,
    *,
    limit: int,
    offset: int,
) -> list[Row[Any]]:
    """Purchase orders newest first; ``site_ids`` None: every site."""
    c = r.purchase_orders.c
    statement = select(r.purchase_orders).where(c.organization_id == org_id)
    if site_ids is not None:
        statement = statement.where(c.site_id.in_(sorted(site_ids)))
    if status is not None:
        statement = statement.where(c.status == status)
    statement = statement.order_by(c.created_at.desc(), c.id.desc()).limit(limit).offset(offset)
    return list(conn.execute(statement))


def purchase_order_lines(conn: Connection, order_ids: Collection[int]) -> list[Row[Any]]:
    c = r.purchase_order_lines.c
    return list(
        conn.execute(
            select(r.purchase_order_lines)
            .where(c.purchase_order_id.in_(sorted(order_ids)))
            .order_by(c.purchase_order_id, c.line_no)
        )
    )


def update_purchase_order(conn: Connection, order_id: int, values: Mapping[str, Any]) -> None:
    conn.execute(
        update(r.purchase_orders).where(r.purchase_orders.c.id == order_id).values(**values)
    )


def received_per_line(conn: Connection, line_ids: Collection[int]) -> dict[int, tuple[int, int]]:
    """Per PO line: units received in all, and of those how many were substitutes."""
    c = r.purchase_receipts.c
    if not line_ids:
        return {}
    substituted = func.sum(case((c.substitute.is_(True), c.units), else_=0))
    rows = conn.execute(
        select(c.purchase_order_line_id, func.sum(c.units), substituted)
        .where(c.purchase_order_line_id.in_(sorted(line_ids)))
        .group_by(c.purchase_order_line_id)
    )
    return {row[0]: (int(row[1] or 0), int(row[2] or 0)) for row in rows}


def insert_purchase_receipts(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        conn.execute(insert(r.purchase_receipts), list(rows))


def receipts_of_order(conn: Connection, order_id: int) -> list[Row[Any]]:
    """The receipt documents posted against a PO, with what each brought per line."""
    pr, pol, d = r.purchase_receipts.c, r.purchase_order_lines.c, t.documents.c
    return list(
        conn.execute(
            select(
                pr.document_id,
                d.occurred_at,
                d.posted_by,
                pr.purchase_order_line_id,
                pr.item_id,
                pr.units,
                pr.substitute,
            )
            .join(r.purchase_order_lines, pol.id == pr.purchase_order_line_id)
            .join(t.documents, d.id == pr.document_id)
            .where(pol.purchase_order_id == order_id)
            .order_by(pr.document_id, pr.id)
        )
    )


def open_order_lines(
    conn: Connection, org_id: int, site_ids: Collection[int] | None, item_id: int | None
) -> list[Row[Any]]:
    """The lines of open purchase orders, with their site, expected date and units received."""
    po, pol, pr = r.purchase_orders.c, r.purchase_order_lines.c, r.purchase_receipts.c
    received = (
        select(pr.purchase_order_line_id, func.sum(pr.units).label("received"))
        .group_by(pr.purchase_order_line_id)
        .subquery()
    )
    statement = (
        select(
            po.site_id,
            po.id.label("purchase_order_id"),
            po.expected_on,
            pol.item_id,
            pol.ordered_units,
            func.coalesce(received.c.received, 0).label("received"),
        )
        .join(r.purchase_order_lines, pol.purchase_order_id == po.id)
        .outerjoin(received, received.c.purchase_order_line_id == pol.id)
        .where(po.organization_id == org_id, po.status == "open")
    )
    if site_ids is not None:
        statement = statement.where(po.site_id.in_(sorted(site_ids)))
    if item_id is not None:
        statement = statement.where(pol.item_id == item_id)
    return list(conn.execute(statement.order_by(po.site_id, pol.item_id, po.id)))
