"""Reads and writes of reconciliation: external snapshots and their lines, and the ledger figures
they are compared with (stock of a site's physical locations, its tagged packages, a count
session's latest counts, the day's net dispenses)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, func, insert, select

from rxledger.adapters import tables as t
from rxledger.adapters import tables_control as tc
from rxledger.domain.model import LocationType

_snap, _lines = tc.external_snapshots, tc.external_lines


def snapshot_by_sha256(conn: Connection, org_id: int, site_id: int, sha256: str) -> Row[Any] | None:
    return conn.execute(
        select(_snap).where(
            _snap.c.organization_id == org_id,
            _snap.c.site_id == site_id,
            _snap.c.sha256 == sha256,
        )
    ).first()


def snapshot_by_id(conn: Connection, org_id: int, snapshot_id: int) -> Row[Any] | None:
    return conn.execute(
        select(_snap).where(_snap.c.organization_id == org_id, _snap.c.id == snapshot_id)
    ).first()


def insert_snapshot(conn: Connection, values: Mapping[str, Any]) -> int:
    return int(conn.execute(insert(_snap).values(**values).returning(_snap.c.id)).scalar_one())


def insert_lines(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        conn.execute(insert(_lines), list(rows))


def lines_of(conn: Connection, snapshot_id: int) -> list[Any]:
    return list(
        conn.execute(
            select(_lines).where(_lines.c.snapshot_id == snapshot_id).order_by(_lines.c.line_no)
        ).all()
    )


def site_stock(conn: Connection, org_id: int, site_id: int) -> list[Any]:
    """Non-zero on-hand per (location, item, lot) at the site's physical locations."""
    b, lots = t.balances, t.lots
    return list(
        conn.execute(
            select(b.c.location_id, b.c.item_id, b.c.lot_id, b.c.on_hand, lots.c.lot_number)
            .join(lots, lots.c.id == b.c.lot_id)
            .where(
                b.c.organization_id == org_id,
                b.c.site_id == site_id,
                b.c.is_virtual.is_(False),
                b.c.on_hand != 0,
            )
            .order_by(b.c.item_id, b.c.lot_id, b.c.location_id)
        ).all()
    )


def items_by_id(conn: Connection, org_id: int, ids: Collection[int]) -> dict[int, Any]:
    if not ids:
        return {}
    i = t.items
    rows = conn.execute(
        select(i.c.id, i.c.sku, i.c.name, i.c.base_unit, i.c.cannabis_category).where(
            i.c.organization_id == org_id, i.c.id.in_(sorted(ids))
        )
    ).all()
    return {r.id: r for r in rows}


def items_by_sku(conn: Connection, org_id: int, skus: Collection[str]) -> dict[str, Any]:
    if not skus:
        return {}
    i = t.items
    rows = conn.execute(
        select(i.c.id, i.c.sku, i.c.name, i.c.base_unit).where(
            i.c.organization_id == org_id, i.c.sku.in_(sorted(skus))
        )
    ).all()
    return {r.sku: r for r in rows}


def _package_columns() -> list[Any]:
    s, lots, loc = t.serials, t.lots, t.locations
    return [
        s.c.id.label("serial_id"),
        s.c.serial,
        s.c.item_id,
        s.c.lot_id,
        s.c.base_units,
        s.c.location_id,
        lots.c.lot_number,
        loc.c.site_id,
        loc.c.is_virtual,
    ]


def site_packages(conn: Connection, org_id: int, site_id: int) -> list[Any]:
    """The tagged packages of cannabis items now at a physical location of the site."""
    s, lots, loc, items = t.serials, t.lots, t.locations, t.items
    return list(
        conn.execute(
            select(*_package_columns())
            .join(lots, lots.c.id == s.c.lot_id)
            .join(loc, loc.c.id == s.c.location_id)
            .join(items, items.c.id == s.c.item_id)
            .where(
                s.c.organization_id == org_id,
                loc.c.site_id == site_id,
                loc.c.is_virtual.is_(False),
                items.c.cannabis_category.is_not(None),
            )
            .order_by(s.c.serial)
        ).all()
    )


def packages_by_label(conn: Connection, org_id: int, labels: Collection[str]) -> dict[str, Any]:
    """Packages by their tag wherever they are (or were); a tag is a serial under some GTIN."""
    if not labels:
        return {}
    s, lots, loc = t.serials, t.lots, t.locations
    rows = conn.execute(
        select(*_package_columns())
        .join(lots, lots.c.id == s.c.lot_id)
        .outerjoin(loc, loc.c.id == s.c.location_id)
        .where(s.c.organization_id == org_id, s.c.serial.in_(sorted(labels)))
        .order_by(s.c.id)
    ).all()
    return {r.serial: r for r in rows}


def count_session(conn: Connection, org_id: int, session_id: int) -> Any:
    cs = tc.count_sessions
    return conn.execute(
        select(cs.c.id, cs.c.site_id, cs.c.status).where(
            cs.c.organization_id == org_id, cs.c.id == session_id
        )
    ).first()


def latest_counts(conn: Connection, session_id: int) -> list[Any]:
    """Each counted line of the session with its latest round: location, item, lot, counted."""
    cl, ce = tc.count_lines, tc.count_entries
    latest = (
        select(ce.c.line_id, func.max(ce.c.round).label("round")).group_by(ce.c.line_id).subquery()
    )
    return list(
        conn.execute(
            select(cl.c.location_id, cl.c.item_id, cl.c.lot_id, ce.c.counted, ce.c.serials)
            .join(latest, latest.c.line_id == cl.c.id)
            .join(ce, and_(ce.c.line_id == cl.c.id, ce.c.round == latest.c.round))
            .where(cl.c.session_id == session_id)
            .order_by(cl.c.line_no)
        ).all()
    )


def net_dispensed(
    conn: Connection, org_id: int, site_id: int, start: datetime, end: datetime
) -> dict[int, int]:
    """Per item: units into the site's patient location less units back out of it, in
    ``[start, end)`` of business time (dispenses net of returns and reversals)."""
    m, loc = t.movements, t.locations
    patient = conn.execute(
        select(loc.c.id).where(
            loc.c.organization_id == org_id,
            loc.c.site_id == site_id,
            loc.c.type == LocationType.PATIENT.value,
        )
    ).scalar_one_or_none()
    if patient is None:
        return {}
    net: dict[int, int] = {}
    for column, sign in ((m.c.to_location_id, 1), (m.c.from_location_id, -1)):
        rows = conn.execute(
            select(m.c.item_id, func.sum(m.c.quantity).label("units"))
            .where(column == patient, m.c.occurred_at >= start, m.c.occurred_at < end)
            .group_by(m.c.item_id)
        ).all()
        for r in rows:
            net[r.item_id] = net.get(r.item_id, 0) + sign * int(r.units)
    return net


def snapshots_of(conn: Connection, org_id: int, site_id: int, limit: int) -> list[Row[Any]]:
    """A site's imported snapshots, newest first."""
    return list(
        conn.execute(
            select(_snap)
            .where(_snap.c.organization_id == org_id, _snap.c.site_id == site_id)
            .order_by(_snap.c.id.desc())
            .limit(limit)
        )
    )


def pending_holds(conn: Connection, org_id: int, site_id: int) -> list[Any]:
    """The site's adjustments held for approval and not decided yet (``id, approval_id,
    payload``): few at a time, read through the (site, status) index."""
    h = tc.held_adjustments
    return list(
        conn.execute(
            select(h.c.id, h.c.approval_id, h.c.payload)
            .where(
                h.c.organization_id == org_id,
                h.c.site_id == site_id,
                h.c.status == "pending",
            )
            .order_by(h.c.id)
        ).all()
    )


def hold_by_key(conn: Connection, org_id: int, key: str) -> Any:
    """The held adjustment a request with this idempotency key made, if any (``id, status``)."""
    h = tc.held_adjustments
    return conn.execute(
        select(h.c.id, h.c.status).where(h.c.organization_id == org_id, h.c.idempotency_key == key)
    ).first()
