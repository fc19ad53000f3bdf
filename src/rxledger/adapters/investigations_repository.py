"""Reading and closing discrepancies and DSCSA investigations, and their notes.

A discrepancy or investigation is closed by a conditional update (``status = 'open'``): of two
racing closes, exactly one changes the row, and the other is told so.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import Connection, Row, Select, insert, select, update

from rxledger.adapters import tables as t
from rxledger.adapters import tables_receiving as r

OPEN = "open"


def _discrepancy_select() -> Select[Any]:
    d, ln, s = r.discrepancies.c, r.receiving_lines.c, r.receiving_sessions.c
    return (
        select(
            r.discrepancies,
            ln.line_no,
            ln.item_id,
            ln.gtin,
            ln.lot_number,
            ln.expiry,
            ln.serial,
            ln.quantity,
            ln.scanned_by,
            ln.scanned_at,
            s.status.label("session_status"),
            s.location_id.label("dock_location_id"),
            s.quarantine_location_id,
            s.receipt_document_id,
            s.shipment_id,
            t.items.c.name.label("item_name"),
        )
        .select_from(r.discrepancies)
        .outerjoin(r.receiving_lines, ln.id == d.line_id)
        .outerjoin(r.receiving_sessions, s.id == d.session_id)
        .outerjoin(t.items, t.items.c.id == ln.item_id)
    )


def discrepancies(
    conn: Connection,
    org_id: int,
    site_ids: Collection[int] | None,
    status: str | None,
    *,
    limit: int = 200,
) -> list[Row[Any]]:
    """Discrepancies with their scanned line and session, newest first; ``site_ids`` None is
    every site of the organization."""
    d = r.discrepancies.c
    statement = _discrepancy_select().where(d.organization_id == org_id)
    if site_ids is not None:
        statement = statement.where(d.site_id.in_(sorted(site_ids)))
    if status is not None:
        statement = statement.where(d.status == status)
    return list(conn.execute(statement.order_by(d.opened_at.desc(), d.id.desc()).limit(limit)))


def discrepancy_by_id(conn: Connection, org_id: int, discrepancy_id: int) -> Row[Any] | None:
    d = r.discrepancies.c
    return conn.execute(
        _discrepancy_select().where(d.organization_id == org_id, d.id == discrepancy_id)
    ).first()


def session_lines(conn: Connection, session_id: int) -> list[Row[Any]]:
    c = r.receiving_lines.c
    return list(
        conn.execute(
            select(r.receiving_lines).where(c.session_id == session_id).order_by(c.line_no)
        )
    )


def resolve_discrepancy(conn: Connection, discrepancy_id: int, values: Mapping[str, Any]) -> bool:
    """Record a resolution; False when the discrepancy was no longer open."""
    d = r.discrepancies.c
    result = conn.execute(
        update(r.discrepancies)
        .where(d.id == discrepancy_id, d.status == OPEN)
        .values(status="resolved", **values)
    )
    return result.rowcount == 1


def investigation_by_id(conn: Connection, org_id: int, investigation_id: int) -> Row[Any] | None:
    i = r.investigations.c
    return conn.execute(
        _investigation_select().where(i.organization_id == org_id, i.id == investigation_id)
    ).first()


def investigations(
    conn: Connection,
    org_id: int,
    site_ids: Collection[int] | None,
    status: str | None,
    *,
    limit: int = 200,
) -> list[Row[Any]]:
    i = r.investigations.c
    statement = _investigation_select().where(i.organization_id == org_id)
    if site_ids is not None:
        statement = statement.where(i.site_id.in_(sorted(site_ids)))
    if status is not None:
        statement = statement.where(i.status == status)
    return list(conn.execute(statement.order_by(i.opened_at.desc(), i.id.desc()).limit(limit)))


def _investigation_select() -> Select[Any]:
    i = r.investigations.c
    return (
        select(r.investigations, t.items.c.name.label("item_name"))
        .select_from(r.investigations)
        .outerjoin(t.items, t.items.c.id == i.item_id)
    )


def open_investigations_of(conn: Connection, discrepancy_id: int) -> list[int]:
    i = r.investigations.c
    rows = conn.execute(
        select(i.id).where(i.discrepancy_id == discrepancy_id, i.status == OPEN).order_by(i.id)
    )
    return [int(row.id) for row in rows]


def investigations_of_discrepancies(
    conn: Connection, discrepancy_ids: Collection[int]
) -> dict[int, int]:
    """The investigation opened for each of these discrepancies (at most one each)."""
    if not discrepancy_ids:
        return {}
    i = r.investigations.c
    rows = conn.execute(
        select(i.id, i.discrepancy_id).where(i.discrepancy_id.in_(sorted(discrepancy_ids)))
    )
    return {int(row.discrepancy_id): int(row.id) for row in rows}


def close_investigation(conn: Connection, investigation_id: int, values: Mapping[str, Any]) -> bool:
    """Record the outcome; False when the investigation was no longer open."""
    i = r.investigations.c
    result = conn.execute(
        update(r.investigations).where(i.id == investigation_id, i.status == OPEN).values(**values)
    )
    return result.rowcount == 1


def notes_of(conn: Connection, investigation_id: int) -> list[Row[Any]]:
    n = r.investigation_notes.c
    return list(
        conn.execute(
            select(r.investigation_notes)
            .where(n.investigation_id == investigation_id)
            .order_by(n.written_at, n.id)
        )
    )


def insert_note(conn: Connection, values: Mapping[str, Any]) -> int:
    statement = insert(r.investigation_notes).values(**values).returning(r.investigation_notes.c.id)
    return int(conn.execute(statement).scalar_one())
