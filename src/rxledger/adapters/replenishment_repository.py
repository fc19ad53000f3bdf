"""Reads for replenishment: daily flows per item and location pair, stock per lot, what is on order
and in transit, and the supplier offers. Each returns a pandas frame: the analytics take frames, and
tens of thousands of item-site series do not fit through per-row Python objects.

Days are UTC calendar days of ``occurred_at``.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, Connection, and_, case, func, literal, select

from rxledger.adapters import tables as t
from rxledger.adapters import tables_receiving as r
from rxledger.domain.model import DocumentType, LocationType


def utc_day(column: Any, dialect: str) -> ColumnElement[Any]:
    if dialect == "sqlite":
        return func.substr(column, 1, 10)  # stored as naive UTC text, 'YYYY-MM-DD HH:MM:SS'
    return func.date(func.timezone("UTC", column))


def locations_frame(conn: Connection, org_id: int) -> pd.DataFrame:
    """Every location of the organization: ``location_id, site_id, type, is_virtual``."""
    loc = t.locations.c
    rows = conn.execute(
        select(loc.id, loc.site_id, loc.type, loc.is_virtual).where(loc.organization_id == org_id)
    ).all()
    return pd.DataFrame(rows, columns=["location_id", "site_id", "type", "is_virtual"])


def daily_flows(
    conn: Connection, org_id: int, since: datetime, item_ids: Collection[int] | None = None
) -> pd.DataFrame:
    """Units moved per item, day and (from, to) location pair since ``since``: ``item_id, day,
    from_location_id, to_location_id, quantity``. One scan of the window's movements."""
    m = t.movements.c
    day = utc_day(m.occurred_at, conn.dialect.name).label("day")
    statement = (
        select(m.item_id, day, m.from_location_id, m.to_location_id, func.sum(m.quantity))
        .where(m.organization_id == org_id, m.occurred_at >= since)
        .group_by(m.item_id, day, m.from_location_id, m.to_location_id)
    )
    if item_ids is not None:
        statement = statement.where(m.item_id.in_(sorted(item_ids)))
    frame = pd.DataFrame(
        conn.execute(statement).all(),
        columns=["item_id", "day", "from_location_id", "to_location_id", "quantity"],
    )
    frame["day"] = pd.to_datetime(frame["day"].astype(str))
    frame["quantity"] = frame["quantity"].astype("int64")
    return frame


def lot_stock(
    conn: Connection, org_id: int, site_ids: Collection[int] | None = None
) -> pd.DataFrame:
    """Physical stock per site, item, lot and location type: ``site_id, item_id, lot_id,
    lot_number, expiry, status, type, on_hand, reserved``."""
    b, lots, loc = t.balances.c, t.lots.c, t.locations.c
    statement = (
        select(
            b.site_id,
            b.item_id,
            b.lot_id,
            lots.lot_number,
            lots.expiry,
            lots.status,
            loc.type,
            func.sum(b.on_hand),
            func.sum(b.reserved),
        )
        .join(t.lots, lots.id == b.lot_id)
        .join(t.locations, loc.id == b.location_id)
        .where(b.organization_id == org_id, b.is_virtual.is_(False), b.on_hand > 0)
        .group_by(
            b.site_id, b.item_id, b.lot_id, lots.lot_number, lots.expiry, lots.status, loc.type
        )
    )
    if site_ids is not None:
        statement = statement.where(b.site_id.in_(sorted(site_ids)))
    columns = [
        "site_id",
        "item_id",
        "lot_id",
        "lot_number",
        "expiry",
        "status",
        "type",
        "on_hand",
        "reserved",
    ]
    frame = pd.DataFrame(conn.execute(statement).all(), columns=columns)
    frame["on_hand"] = frame["on_hand"].astype("int64")
    frame["reserved"] = frame["reserved"].astype("int64")
    return frame


def items_frame(conn: Connection, org_id: int) -> pd.DataFrame:
    """``item_id, sku, name, strength, dosage_form, base_unit, formulary_status, standard_cost``."""
    i = t.items.c
    rows = conn.execute(
        select(
            i.id,
            i.sku,
            i.name,
            i.strength,
            i.dosage_form,
            i.base_unit,
            i.formulary_status,
            i.standard_cost,
        ).where(i.organization_id == org_id)
    ).all()
    frame = pd.DataFrame(
        rows,
        columns=[
            "item_id",
            "sku",
            "name",
            "strength",
            "dosage_form",
            "base_unit",
            "formulary_status",
            "standard_cost",
        ],
    )
    frame["standard_cost"] = frame["standard_cost"].astype("float64")
    return frame


def on_order(conn: Connection, org_id: int, site_ids: Collection[int] | None) -> pd.DataFrame:
    """Units still due on open purchase orders per site and item: ``site_id, item_id, units``."""
    po, pol, pr = r.purchase_orders.c, r.purchase_order_lines.c, r.purchase_receipts.c
    received = (
        select(pr.purchase_order_line_id, func.sum(pr.units).label("received"))
        .group_by(pr.purchase_order_line_id)
        .subquery()
    )
    due = pol.ordered_units - func.coalesce(received.c.received, 0)
    statement = (
        select(po.site_id, pol.item_id, func.sum(case((due > 0, due), else_=literal(0))))
        .join(r.purchase_order_lines, pol.purchase_order_id == po.id)
        .outerjoin(received, received.c.purchase_order_line_id == pol.id)
        .where(po.organization_id == org_id, po.status == "open")
        .group_by(po.site_id, pol.item_id)
    )
    if site_ids is not None:
        statement = statement.where(po.site_id.in_(sorted(site_ids)))
    frame = pd.DataFrame(conn.execute(statement).all(), columns=["site_id", "item_id", "units"])
    frame["units"] = frame["units"].astype("int64")
    return frame


def in_transit(conn: Connection, org_id: int, since: datetime) -> pd.DataFrame:
    """Units shipped between sites and not yet received (nor the shipment reversed), per
    destination site and item: ``site_id, item_id, units``. Shipments since ``since`` only."""
    d, m, loc = t.documents.c, t.movements.c, t.locations.c
    base = t.documents.alias("base")
    shipment = func.coalesce(d.related_id, d.id)
    transit = select(loc.id).where(
        loc.organization_id == org_id, loc.type == LocationType.IN_TRANSIT.value
    )
    change = case(
        (m.to_location_id.in_(transit), m.quantity),
        (m.from_location_id.in_(transit), -m.quantity),
        else_=literal(0),
    )
    ships = (
        select(d.id, d.counterpart_site_id)
        .where(
            d.organization_id == org_id,
            d.doc_type == DocumentType.TRANSFER_SHIP.value,
            d.occurred_at >= since,
        )
        .subquery()
    )
    # The shipment, its receipts, and reversals of either.
    chain = (
        select(t.documents.c.id.label("doc_id"), shipment.label("shipment"))
        .where(d.organization_id == org_id, d.occurred_at >= since, d.reverses_id.is_(None))
        .union_all(
            select(d.id, func.coalesce(base.c.related_id, base.c.id))
            .join(base, base.c.id == d.reverses_id)
            .where(d.organization_id == org_id, d.occurred_at >= since)
        )
        .subquery()
    )
    statement = (
        select(ships.c.counterpart_site_id, m.item_id, func.sum(change))
        .join(chain, chain.c.shipment == ships.c.id)
        .join(t.movements, and_(m.document_id == chain.c.doc_id))
        .group_by(ships.c.counterpart_site_id, m.item_id, ships.c.id)
    )
    frame = pd.DataFrame(conn.execute(statement).all(), columns=["site_id", "item_id", "units"])
    frame["units"] = frame["units"].astype("int64")
    frame = frame[frame["units"] > 0]
    return frame.groupby(["site_id", "item_id"], as_index=False)["units"].sum()


def supplier_offers(conn: Connection, org_id: int) -> pd.DataFrame:
    """Active supplier items of active suppliers: ``supplier_item_id, supplier_id, supplier_code,
    item_id, pack_units, pack_price, order_multiple, lead_time_days, minimum_order_value``."""
    s, si = r.suppliers.c, r.supplier_items.c
    rows = conn.execute(
        select(
            si.id,
            si.supplier_id,
            s.code,
            si.item_id,
            si.pack_units,
            si.pack_price,
            si.order_multiple,
            s.lead_time_days,
            s.minimum_order_value,
        )
        .join(r.suppliers, s.id == si.supplier_id)
        .where(s.organization_id == org_id, s.active.is_(True), si.active.is_(True))
    ).all()
    frame = pd.DataFrame(
        rows,
        columns=[
            "supplier_item_id",
            "supplier_id",
            "supplier_code",
            "item_id",
            "pack_units",
            "pack_price",
            "order_multiple",
            "lead_time_days",
            "minimum_order_value",
        ],
    )
    for column in ("pack_price", "minimum_order_value"):
        frame[column] = frame[column].astype("float64")
    return frame


def shelf_life_at_receipt(conn: Connection, org_id: int, since: datetime) -> pd.DataFrame:
    """Per item, the median days its lots created since ``since`` had left before expiry when
    they arrived: ``item_id, usable_days``."""
    lots = t.lots.c
    rows = conn.execute(
        select(lots.item_id, lots.expiry, lots.created_at).where(
            lots.organization_id == org_id, lots.created_at >= since, lots.expiry.is_not(None)
        )
    ).all()
    frame = pd.DataFrame(rows, columns=["item_id", "expiry", "created_at"])
    if frame.empty:
        return pd.DataFrame({"item_id": pd.Series(dtype="int64"), "usable_days": []})
    arrived = pd.to_datetime(frame["created_at"], utc=True).dt.tz_localize(None).dt.normalize()
    frame["usable_days"] = (pd.to_datetime(frame["expiry"]) - arrived).dt.days.clip(lower=0)
    return frame.groupby("item_id", as_index=False)["usable_days"].median()


def site_codes(conn: Connection, org_id: int) -> pd.DataFrame:
    """``site_id, site_code``."""
    s = t.sites.c
    rows = conn.execute(select(s.id, s.code).where(s.organization_id == org_id)).all()
    return pd.DataFrame(rows, columns=["site_id", "site_code"])


def expired_per_day(conn: Connection, org_id: int, since: datetime) -> pd.DataFrame:
    """Units written off as expired (reason ``EXPIRED``) per item, site and day: ``item_id,
    site_id, day, expired_units``."""
    m, loc = t.movements.c, t.locations.c
    day = utc_day(m.occurred_at, conn.dialect.name).label("day")
    rows = conn.execute(
        select(m.item_id, loc.site_id, day, func.sum(m.quantity))
        .join(t.locations, loc.id == m.from_location_id)
        .where(
            m.organization_id == org_id,
            m.occurred_at >= since,
            m.reason_code == "EXPIRED",
            loc.is_virtual.is_(False),
        )
        .group_by(m.item_id, loc.site_id, day)
    ).all()
    frame = pd.DataFrame(rows, columns=["item_id", "site_id", "day", "expired_units"])
    frame["day"] = pd.to_datetime(frame["day"].astype(str))
    frame["expired_units"] = frame["expired_units"].astype("int64")
    return frame
