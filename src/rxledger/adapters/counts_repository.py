"""Reading and writing count sessions, their lines and count entries, and the balances a count is
judged against."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Row,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)

from rxledger.adapters import tables as t
from rxledger.adapters import tables_control as c
from rxledger.adapters import tables_receiving as r


def insert_session(conn: Connection, values: Mapping[str, Any]) -> int:
    key = conn.execute(insert(c.count_sessions).values(**values)).inserted_primary_key
    assert key is not None
    return int(key[0])


def insert_lines(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        conn.execute(insert(c.count_lines), list(rows))


def session(
    conn: Connection, org_id: int, session_id: int, *, lock: bool = False
) -> Row[Any] | None:
    statement = select(c.count_sessions).where(
        c.count_sessions.c.organization_id == org_id, c.count_sessions.c.id == session_id
    )
    if lock and conn.dialect.name == "postgresql":
        statement = statement.with_for_update()
    return conn.execute(statement).first()


def sessions(
    conn: Connection, org_id: int, site_ids: Collection[int] | None, status: str | None, limit: int
) -> list[Row[Any]]:
    s = c.count_sessions.c
    statement = select(c.count_sessions).where(s.organization_id == org_id)
    if site_ids is not None:
        statement = statement.where(s.site_id.in_(sorted(site_ids)))
    if status is not None:
        statement = statement.where(s.status == status)
    return list(conn.execute(statement.order_by(s.id.desc()).limit(limit)))


def update_session(conn: Connection, session_id: int, values: Mapping[str, Any]) -> None:
    conn.execute(
        update(c.count_sessions).where(c.count_sessions.c.id == session_id).values(**values)
    )


def lines(conn: Connection, session_id: int) -> list[Row[Any]]:
    """The session's lines with their item, lot and location, in walking order (line number)."""
    cl, i, lo, loc = c.count_lines.c, t.items.c, t.lots.c, t.locations.c
    statement = (
        select(
            c.count_lines,
            i.sku,
            i.name.label("item_name"),
            i.strength,
            i.base_unit,
            i.dea_schedule,
            i.cannabis_category,
            i.standard_cost,
            i.generic_name,
            lo.lot_number,
            lo.expiry,
            loc.code.label("location_code"),
        )
        .join(t.items, i.id == cl.item_id)
        .outerjoin(t.lots, lo.id == cl.lot_id)
        .join(t.locations, loc.id == cl.location_id)
        .where(cl.session_id == session_id)
        .order_by(cl.line_no)
    )
    return list(conn.execute(statement))


def line(conn: Connection, org_id: int, line_id: int, *, lock: bool = False) -> Row[Any] | None:
    statement = select(c.count_lines).where(
        c.count_lines.c.organization_id == org_id, c.count_lines.c.id == line_id
    )
    if lock and conn.dialect.name == "postgresql":
        statement = statement.with_for_update()
    return conn.execute(statement).first()


def update_line(conn: Connection, line_id: int, values: Mapping[str, Any]) -> None:
    conn.execute(update(c.count_lines).where(c.count_lines.c.id == line_id).values(**values))


def entries(conn: Connection, line_ids: Collection[int]) -> list[Row[Any]]:
    if not line_ids:
        return []
    e = c.count_entries.c
    return list(
        conn.execute(
            select(c.count_entries)
            .where(e.line_id.in_(sorted(line_ids)))
            .order_by(e.line_id, e.round)
        )
    )


def insert_entry(conn: Connection, values: Mapping[str, Any]) -> None:
    conn.execute(insert(c.count_entries).values(**values))


def stock_rows(
    conn: Connection,
    org_id: int,
    site_id: int,
    *,
    location_ids: Collection[int] = (),
    item_ids: Collection[int] = (),
) -> list[Row[Any]]:
    """Physical balances of a site with stock, in walking order: location code, item, expiry."""
    b, i, lo, loc = t.balances.c, t.items.c, t.lots.c, t.locations.c
    statement = (
        select(
            b.location_id,
            b.item_id,
            b.lot_id,
            b.on_hand,
            i.name,
            i.dosage_form,
            i.dea_schedule,
            i.cannabis_category,
            i.standard_cost,
            loc.code,
            lo.expiry,
        )
        .join(t.items, i.id == b.item_id)
        .join(t.lots, lo.id == b.lot_id)
        .join(t.locations, loc.id == b.location_id)
        .where(
            b.organization_id == org_id,
            b.site_id == site_id,
            b.is_virtual.is_(False),
            b.on_hand > 0,
        )
        .order_by(loc.code, i.name, lo.expiry, b.lot_id)
    )
    if location_ids:
        statement = statement.where(b.location_id.in_(sorted(location_ids)))
    if item_ids:
        statement = statement.where(b.item_id.in_(sorted(item_ids)))
    return list(conn.execute(statement))


def balance_as_of(
    conn: Connection, org_id: int, location_id: int, item_id: int, lot_id: int, at: datetime
) -> int:
    """The on-hand of one (location, item, lot) from the movements that occurred up to ``at``."""
    m = t.movements.c
    signed = func.sum(
        case(
            (m.to_location_id == location_id, m.quantity),
            else_=-m.quantity,
        )
    )
    value = conn.execute(
        select(signed).where(
            m.organization_id == org_id,
            m.item_id == item_id,
            m.lot_id == lot_id,
            m.occurred_at <= at,
            or_(m.to_location_id == location_id, m.from_location_id == location_id),
        )
    ).scalar()
    return int(value or 0)


def last_movement_id(conn: Connection, org_id: int) -> int:
    m = t.movements.c
    return int(
        conn.execute(select(func.max(m.id)).where(m.organization_id == org_id)).scalar() or 0
    )


def last_settled_count(
    conn: Connection, location_id: int, item_id: int, lot_id: int | None, before_line: int
) -> datetime | None:
    """When this item (and lot) at this location was last counted and settled, before a line."""
    cl, e = c.count_lines.c, c.count_entries.c
    where = [
        cl.location_id == location_id,
        cl.item_id == item_id,
        cl.id != before_line,
        cl.status.in_(("accepted", "adjusted")),
    ]
    if lot_id is not None:
        where.append(cl.lot_id == lot_id)
    value = conn.execute(
        select(func.max(e.counted_at)).join(c.count_lines, cl.id == e.line_id).where(and_(*where))
    ).scalar()
    return value if isinstance(value, datetime) else None


def on_hand_now(conn: Connection, line_ids: Collection[int]) -> dict[int, int]:
    """The projection's on-hand of each line's (location, item, lot), by line id."""
    if not line_ids:
        return {}
    cl, b = c.count_lines.c, t.balances.c
    rows = conn.execute(
        select(cl.id, func.coalesce(b.on_hand, 0))
        .outerjoin(
            t.balances,
            and_(b.location_id == cl.location_id, b.item_id == cl.item_id, b.lot_id == cl.lot_id),
        )
        .where(cl.id.in_(sorted(line_ids)))
    ).all()
    return {int(r[0]): int(r[1]) for r in rows}


def look_alike_dispenses(
    conn: Connection, org_id: int, site_id: int, item_id: int, start: datetime, end: datetime
) -> list[Row[Any]]:
    """Dispenses at the site between ``start`` and ``end`` of other items sharing the counted
    item's generic name (another strength or form) or the first word of its name."""
    i, m, d, loc = t.items.c, t.movements.c, t.documents.c, t.locations.c
    counted = conn.execute(select(i.generic_name, i.name).where(i.id == item_id)).one()
    first_word = (counted.name or "").split(" ")[0]
    similar = or_(
        and_(i.generic_name != "", i.generic_name == counted.generic_name),
        i.name.like(f"{first_word}%") if first_word else i.id < 0,
    )
    return list(
        conn.execute(
            select(
                m.quantity,
                i.name,
                i.strength,
                m.occurred_at,
                d.posted_by,
                d.id.label("document_id"),
            )
            .join(t.items, i.id == m.item_id)
            .join(t.documents, d.id == m.document_id)
            .join(t.locations, loc.id == m.to_location_id)
            .where(
                m.organization_id == org_id,
                d.site_id == site_id,
                d.doc_type == "dispense",
                loc.type == "patient",
                m.item_id != item_id,
                similar,
                m.occurred_at >= start,
                m.occurred_at <= end,
            )
            .order_by(m.occurred_at)
            .limit(20)
        )
    )


def other_lot_receipts(
    conn: Connection, org_id: int, site_id: int, item_id: int, lot_id: int | None, since: datetime
) -> list[Row[Any]]:
    m, d, lo = t.movements.c, t.documents.c, t.lots.c
    statement = (
        select(m.quantity, lo.lot_number, m.occurred_at, d.id.label("document_id"))
        .join(t.documents, d.id == m.document_id)
        .join(t.lots, lo.id == m.lot_id)
        .where(
            m.organization_id == org_id,
            d.site_id == site_id,
            d.doc_type.in_(("receipt", "transfer_receive")),
            m.item_id == item_id,
            m.occurred_at >= since,
        )
        .order_by(m.occurred_at)
        .limit(20)
    )
    if lot_id is not None:
        statement = statement.where(m.lot_id != lot_id)
    return list(conn.execute(statement))


def transfers_in_transit(
    conn: Connection, org_id: int, site_id: int, item_id: int, since: datetime
) -> list[Row[Any]]:
    """Shipments of the item to the site since ``since`` of which nothing was received yet."""
    m, d = t.movements.c, t.documents.c
    received = select(d.related_id).where(
        d.organization_id == org_id, d.doc_type == "transfer_receive", d.related_id.is_not(None)
    )
    return list(
        conn.execute(
            select(m.quantity, m.occurred_at, d.id.label("document_id"))
            .join(t.documents, d.id == m.document_id)
            .where(
                m.organization_id == org_id,
                d.doc_type == "transfer_ship",
                d.counterpart_site_id == site_id,
                m.item_id == item_id,
                m.occurred_at >= since,
                d.id.not_in(received),
                d.reverses_id.is_(None),
            )
            .limit(20)
        )
    )


def first_rounds(
    conn: Connection, org_id: int, site_ids: Collection[int] | None, since: datetime | None
) -> list[Row[Any]]:
    """Per counted line: its first round, its last round, and whether it was settled."""
    cl, s, e, i = c.count_lines.c, c.count_sessions.c, c.count_entries.c, t.items.c
    last = c.count_entries.alias("last")
    latest = (
        select(func.max(last.c.round))
        .where(last.c.line_id == cl.id)
        .correlate(c.count_lines)
        .scalar_subquery()
    )
    final = c.count_entries.alias("final")
    statement = (
        select(
            s.site_id,
            e.counted_at,
            e.counted,
            e.system_at_count,
            final.c.counted.label("final_counted"),
            final.c.system_at_count.label("final_system"),
            cl.status.in_(("accepted", "adjusted")).label("settled"),
            i.dosage_form,
            i.standard_cost,
        )
        .join(c.count_sessions, s.id == cl.session_id)
        .join(c.count_entries, and_(e.line_id == cl.id, e.round == 1))
        .join(final, and_(final.c.line_id == cl.id, final.c.round == latest))
        .join(t.items, i.id == cl.item_id)
        .where(cl.organization_id == org_id)
    )
    if site_ids is not None:
        statement = statement.where(s.site_id.in_(sorted(site_ids)))
    if since is not None:
        statement = statement.where(e.counted_at >= since)
    return list(conn.execute(statement))


def items_with_recent_variance(
    conn: Connection, item_ids: Collection[int], since: datetime
) -> set[int]:
    """Items of ``item_ids`` whose count entries since ``since`` found a difference."""
    if not item_ids:
        return set()
    cl, e = c.count_lines.c, c.count_entries.c
    rows = conn.execute(
        select(cl.item_id)
        .join(c.count_entries, e.line_id == cl.id)
        .where(
            cl.item_id.in_(sorted(item_ids)),
            e.counted_at >= since,
            e.counted != e.system_at_count,
        )
        .distinct()
    )
    return {int(r[0]) for r in rows}


# Built once: every posting asks it (its values bound at each call).
_FREEZING = select(c.count_sessions.c.id).where(
    c.count_sessions.c.organization_id == bindparam("org_id"),
    c.count_sessions.c.site_id == bindparam("site_id"),
    c.count_sessions.c.status == "open",
    c.count_sessions.c.freeze.is_(True),
)


def frozen_locations(
    conn: Connection, org_id: int, site_id: int, location_ids: Collection[int]
) -> dict[int, int]:
    """Of ``location_ids``, those on an open count of the site that freezes them, with the count;
    one probe of the (site, status) index when no freezing count is open."""
    cl = c.count_lines.c
    freezing = conn.execute(_FREEZING, {"org_id": org_id, "site_id": site_id}).scalars().all()
    if not freezing or not location_ids:
        return {}
    rows = conn.execute(
        select(cl.location_id, cl.session_id)
        .where(cl.session_id.in_(freezing), cl.location_id.in_(sorted(location_ids)))
        .distinct()
    )
    return {int(r[0]): int(r[1]) for r in rows}


# --- tolerances ---------------------------------------------------------------------------------


def tolerances(conn: Connection, org_id: int) -> list[Row[Any]]:
    """The organization's count tolerances, by program and class."""
    t_ = c.count_tolerances.c
    return list(
        conn.execute(
            select(c.count_tolerances)
            .where(t_.organization_id == org_id)
            .order_by(t_.program, t_.item_class)
        )
    )


def tolerance(conn: Connection, org_id: int, program: str, item_class: str) -> Row[Any] | None:
    t_ = c.count_tolerances.c
    statement = select(c.count_tolerances).where(
        t_.organization_id == org_id, t_.program == program, t_.item_class == item_class
    )
    if conn.dialect.name == "postgresql":
        statement = statement.with_for_update()
    return conn.execute(statement).first()


def save_tolerance(conn: Connection, existing: Row[Any] | None, values: Mapping[str, Any]) -> None:
    """Insert the tolerance, or update the row kept for its (organization, program, class)."""
    if existing is None:
        conn.execute(insert(c.count_tolerances).values(**values))
    else:
        conn.execute(
            update(c.count_tolerances)
            .where(c.count_tolerances.c.id == existing.id)
            .values(**{k: values[k] for k in ("units", "value", "set_by", "set_at")})
        )


def delete_tolerance(conn: Connection, tolerance_id: int) -> None:
    conn.execute(delete(c.count_tolerances).where(c.count_tolerances.c.id == tolerance_id))


# --- the approvals row of a line awaiting approval ------------------------------------------------

COUNT_LINE_SUBJECT = "count_line"


def pending_line_approval(conn: Connection, org_id: int, line_id: int) -> Row[Any] | None:
    a = r.approvals.c
    return conn.execute(
        select(r.approvals)
        .where(
            a.organization_id == org_id,
            a.subject_type == COUNT_LINE_SUBJECT,
            a.subject_id == line_id,
            a.status == "pending",
        )
        .order_by(a.id.desc())
    ).first()


def decide_line_approval(conn: Connection, approval_id: int, values: Mapping[str, Any]) -> bool:
    """Decide a pending approvals row; False when it was decided meanwhile (the conditional
    update lets only one decider win)."""
    a = r.approvals.c
    result = conn.execute(
        update(r.approvals).where(a.id == approval_id, a.status == "pending").values(**values)
    )
    return result.rowcount == 1


def move_line(conn: Connection, line_id: int, status: str, values: Mapping[str, Any]) -> bool:
    """Move a line on from ``status``; False when it is no longer in it."""
    cl = c.count_lines.c
    result = conn.execute(
        update(c.count_lines).where(cl.id == line_id, cl.status == status).values(**values)
    )
    return result.rowcount == 1


def insert_line_approval(conn: Connection, values: Mapping[str, Any]) -> int:
    key = conn.execute(insert(r.approvals).values(**values)).inserted_primary_key
    assert key is not None
    return int(key[0])


def approval_subjects(conn: Connection, org_id: int, line_ids: Collection[int]) -> list[Row[Any]]:
    """Lines (with their counters, one row per entry) for the approvals inbox."""
    if not line_ids:
        return []
    cl, e = c.count_lines.c, c.count_entries.c
    return list(
        conn.execute(
            select(cl.id, cl.investigated_by, cl.status, e.counted_by)
            .outerjoin(c.count_entries, e.line_id == cl.id)
            .where(cl.organization_id == org_id, cl.id.in_(sorted(line_ids)))
        )
    )
