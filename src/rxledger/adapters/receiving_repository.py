"""Reading and writing receiving sessions, their scanned lines, discrepancies and investigations."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, delete, func, insert, or_, select, update

from rxledger.adapters import tables as t
from rxledger.adapters import tables_receiving as r


def insert_session(conn: Connection, values: Mapping[str, Any]) -> int:
    statement = insert(r.receiving_sessions).values(**values).returning(r.receiving_sessions.c.id)
    return int(conn.execute(statement).scalar_one())


def session_by_id(conn: Connection, org_id: int, session_id: int) -> Row[Any] | None:
    s = r.receiving_sessions.c
    return conn.execute(
        select(r.receiving_sessions).where(s.organization_id == org_id, s.id == session_id)
    ).first()


def sessions_of_site(
    conn: Connection,
    site_id: int,
    *,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Row[Any]]:
    s = r.receiving_sessions.c
    statement = select(r.receiving_sessions).where(s.site_id == site_id)
    if status is not None:
        statement = statement.where(s.status == status)
    return list(
        conn.execute(
            statement.order_by(s.opened_at.desc(), s.id.desc()).limit(limit).offset(offset)
        )
    )


def lines_of(conn: Connection, session_id: int) -> list[Row[Any]]:
    c = r.receiving_lines.c
    return list(
        conn.execute(
            select(r.receiving_lines).where(c.session_id == session_id).order_by(c.line_no)
        )
    )


def next_line_no(conn: Connection, session_id: int) -> int:
    c = r.receiving_lines.c
    last = conn.execute(
        select(func.coalesce(func.max(c.line_no), 0)).where(c.session_id == session_id)
    ).scalar_one()
    return int(last) + 1


def insert_lines(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    ids = conn.execute(insert(r.receiving_lines).returning(r.receiving_lines.c.id), list(rows))
    return [int(i) for i in ids.scalars()]


def serials_in_session(conn: Connection, session_id: int) -> set[tuple[str, str]]:
    c = r.receiving_lines.c
    rows = conn.execute(
        select(c.gtin, c.serial).where(c.session_id == session_id, c.serial.is_not(None))
    )
    return {(row.gtin, row.serial) for row in rows}


def set_line_quantity(conn: Connection, line_id: int, quantity: int) -> None:
    conn.execute(
        update(r.receiving_lines).where(r.receiving_lines.c.id == line_id).values(quantity=quantity)
    )


def mark_available(conn: Connection, line_ids: Sequence[int], at: datetime) -> int:
    c = r.receiving_lines.c
    result = conn.execute(
        update(r.receiving_lines)
        .where(c.id.in_(list(line_ids)), c.available_at.is_(None))
        .values(available_at=at)
    )
    return result.rowcount


def close_session(conn: Connection, session_id: int, values: Mapping[str, Any]) -> bool:
    """Mark an open session posted; False when it was no longer open."""
    c = r.receiving_sessions.c
    result = conn.execute(
        update(r.receiving_sessions).where(c.id == session_id, c.status == "open").values(**values)
    )
    return result.rowcount == 1


def insert_discrepancy(conn: Connection, values: Mapping[str, Any]) -> int:
    statement = insert(r.discrepancies).values(**values).returning(r.discrepancies.c.id)
    return int(conn.execute(statement).scalar_one())


def discrepancies_of(conn: Connection, session_id: int) -> list[Row[Any]]:
    c = r.discrepancies.c
    return list(
        conn.execute(select(r.discrepancies).where(c.session_id == session_id).order_by(c.id))
    )


def insert_investigation(conn: Connection, values: Mapping[str, Any]) -> int:
    statement = insert(r.investigations).values(**values).returning(r.investigations.c.id)
    return int(conn.execute(statement).scalar_one())


def investigations_of_site(
    conn: Connection, org_id: int, site_id: int | None, status: str | None
) -> list[Row[Any]]:
    c = r.investigations.c
    statement = select(r.investigations).where(c.organization_id == org_id)
    if site_id is not None:
        statement = statement.where(c.site_id == site_id)
    if status is not None:
        statement = statement.where(c.status == status)
    return list(conn.execute(statement.order_by(c.opened_at.desc(), c.id.desc())))


# --- the shipment a session receives ------------------------------------------------------------


def shipment_by_id(conn: Connection, org_id: int, shipment_id: int) -> Row[Any] | None:
    c = r.shipments.c
    return conn.execute(
        select(r.shipments).where(c.organization_id == org_id, c.id == shipment_id)
    ).first()


def shipment_lines(conn: Connection, shipment_id: int) -> list[Row[Any]]:
    c = r.shipment_lines.c
    return list(
        conn.execute(
            select(r.shipment_lines).where(c.shipment_id == shipment_id).order_by(c.line_no)
        )
    )


def shipment_packages(conn: Connection, shipment_id: int) -> list[Row[Any]]:
    c = r.shipment_packages.c
    return list(conn.execute(select(r.shipment_packages).where(c.shipment_id == shipment_id)))


def purchase_order_site(conn: Connection, org_id: int, purchase_order_id: int) -> int | None:
    """The site of an organization's purchase order; None when there is no such order."""
    c = r.purchase_orders.c
    site = conn.execute(
        select(c.site_id).where(c.organization_id == org_id, c.id == purchase_order_id)
    ).scalar_one_or_none()
    return None if site is None else int(site)


def set_shipment_status(conn: Connection, shipment_id: int, status: str) -> None:
    conn.execute(update(r.shipments).where(r.shipments.c.id == shipment_id).values(status=status))


def package_units(
    conn: Connection, org_id: int, gtins: Sequence[str]
) -> dict[str, tuple[int, int]]:
    """(item, base units) of each known GTIN's package level."""
    if not gtins:
        return {}
    p = t.item_packages.c
    rows = conn.execute(
        select(p.gtin, p.item_id, p.base_units).where(
            p.organization_id == org_id, p.gtin.in_(sorted(set(gtins)))
        )
    )
    return {row.gtin: (row.item_id, row.base_units) for row in rows}


def location_of_type(conn: Connection, site_id: int, type_: str) -> Row[Any] | None:
    """A site's first physical location of a type (by code): its receiving dock, its quarantine."""
    c = t.locations.c
    return conn.execute(
        select(t.locations).where(c.site_id == site_id, c.type == type_).order_by(c.code).limit(1)
    ).first()


def location_by_code(conn: Connection, site_id: int, code: str) -> Row[Any] | None:
    c = t.locations.c
    return conn.execute(select(t.locations).where(c.site_id == site_id, c.code == code)).first()


def packages_of_items(
    conn: Connection, org_id: int, item_ids: Sequence[int]
) -> dict[int, list[tuple[str | None, int]]]:
    """Each item's package levels as (NDC-10 as labelled, base units)."""
    if not item_ids:
        return {}
    p = t.item_packages.c
    rows = conn.execute(
        select(p.item_id, p.ndc10, p.base_units).where(
            p.organization_id == org_id, p.item_id.in_(sorted(set(item_ids)))
        )
    )
    found: dict[int, list[tuple[str | None, int]]] = {}
    for row in rows:
        found.setdefault(row.item_id, []).append((row.ndc10, row.base_units))
    return found


# --- what one scan needs to know, without reading the whole shipment ----------------------------


def has_children(conn: Connection, shipment_id: int, key: str) -> bool:
    """Whether the shipment's data packs anything inside this package (a case, a pallet)."""
    c = r.shipment_packages.c
    found = conn.execute(
        select(c.id).where(c.shipment_id == shipment_id, c.parent_key == key).limit(1)
    ).first()
    return found is not None


def lists_lots(conn: Connection, shipment_id: int) -> bool:
    """Whether the shipment's data names any lot at all (then a lot it does not name is foreign)."""
    for table in (r.shipment_lines, r.shipment_packages):
        found = conn.execute(
            select(table.c.id)
            .where(table.c.shipment_id == shipment_id, table.c.lot_number.is_not(None))
            .limit(1)
        ).first()
        if found is not None:
            return True
    return False


def declared_lots(
    conn: Connection, shipment_id: int, wanted: Collection[tuple[str, int | None, str]]
) -> set[tuple[str, str]]:
    """Which of these (GTIN, item, lot) the shipment's lines or packages name, by the GTIN or by
    the item the import matched (an 856 line names an NDC, not a GTIN): as (GTIN, lot) pairs."""
    found: set[tuple[str, str]] = set()
    for table in (r.shipment_lines, r.shipment_packages):
        c = table.c
        ordered = sorted(wanted, key=lambda w: (w[0], w[1] or 0, w[2]))
        for start in range(0, len(ordered), 400):
            chunk = ordered[start : start + 400]
            conditions = [
                and_(
                    c.lot_number == lot,
                    or_(c.gtin == gtin, c.item_id == item) if item is not None else c.gtin == gtin,
                )
                for gtin, item, lot in chunk
            ]
            rows = conn.execute(
                select(c.gtin, c.item_id, c.lot_number).where(
                    c.shipment_id == shipment_id, or_(*conditions)
                )
            )
            named = [(row.gtin, row.item_id, row.lot_number) for row in rows]
            for gtin, item, lot in chunk:
                if any(n[2] == lot and (n[0] == gtin or (item and n[1] == item)) for n in named):
                    found.add((gtin, lot))
    return found


def declared_serials(
    conn: Connection, shipment_id: int, keys: Collection[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Which of these (GTIN, serial) product identifiers the shipment's packages name."""
    c = r.shipment_packages.c
    found: set[tuple[str, str]] = set()
    for chunk in _chunked(sorted(keys)):
        rows = conn.execute(
            select(c.gtin, c.serial).where(
                c.shipment_id == shipment_id,
                or_(*[and_(c.gtin == g, c.serial == s) for g, s in chunk]),
            )
        )
        found |= {(row.gtin, row.serial) for row in rows}
    return found


def serials_scanned(
    conn: Connection, session_id: int, keys: Collection[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Which of these (GTIN, serial) identifiers this session has already scanned."""
    c = r.receiving_lines.c
    found: set[tuple[str, str]] = set()
    for chunk in _chunked(sorted(keys)):
        rows = conn.execute(
            select(c.gtin, c.serial).where(
                c.session_id == session_id,
                or_(*[and_(c.gtin == g, c.serial == s) for g, s in chunk]),
            )
        )
        found |= {(row.gtin, row.serial) for row in rows}
    return found


def _chunked(values: list[tuple[str, str]], size: int = 400) -> list[list[tuple[str, str]]]:
    return [values[start : start + size] for start in range(0, len(values), size)]


def line_opened_investigation(conn: Connection, line_id: int) -> bool:
    d, i = r.discrepancies.c, r.investigations.c
    found = conn.execute(
        select(i.id)
        .select_from(r.investigations.join(r.discrepancies, i.discrepancy_id == d.id))
        .where(d.line_id == line_id)
        .limit(1)
    ).first()
    return found is not None


def session_opened_investigation(conn: Connection, session_id: int) -> bool:
    d, i = r.discrepancies.c, r.investigations.c
    found = conn.execute(
        select(i.id)
        .select_from(r.investigations.join(r.discrepancies, i.discrepancy_id == d.id))
        .where(d.session_id == session_id)
        .limit(1)
    ).first()
    return found is not None


def delete_line(conn: Connection, line_id: int) -> None:
    """Take back an open session's line and the discrepancy its scan opened."""
    conn.execute(delete(r.discrepancies).where(r.discrepancies.c.line_id == line_id))
    conn.execute(delete(r.receiving_lines).where(r.receiving_lines.c.id == line_id))


def cancel_session(conn: Connection, session_id: int, by: str, at: datetime) -> None:
    c = r.receiving_sessions.c
    conn.execute(
        update(r.receiving_sessions)
        .where(c.id == session_id, c.status == "open")
        .values(status="cancelled", closed_by=by, closed_at=at)
    )
    d = r.discrepancies.c
    conn.execute(
        update(r.discrepancies)
        .where(d.session_id == session_id, d.status == "open")
        .values(status="resolved", resolved_by=by, resolved_at=at, resolution="session cancelled")
    )


def open_sessions_of_shipment(conn: Connection, shipment_id: int) -> int:
    c = r.receiving_sessions.c
    return int(
        conn.execute(
            select(func.count()).where(c.shipment_id == shipment_id, c.status == "open")
        ).scalar_one()
    )


def lines_with_key(conn: Connection, session_id: int, key: str) -> list[Row[Any]]:
    """The lines a scan sent with this idempotency key added, in line order."""
    c = r.receiving_lines.c
    return list(
        conn.execute(
            select(r.receiving_lines)
            .where(c.session_id == session_id, c.idempotency_key == key)
            .order_by(c.line_no)
        )
    )
