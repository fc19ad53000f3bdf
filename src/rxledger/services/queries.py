"""Reading the ledger: balances now and as of any instant, an item's history with its running
balance, documents, and the stock position of each site."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Select, and_, case, func, literal, or_, select, union_all

from rxledger.adapters import repository as repo
from rxledger.adapters import tables as t
from rxledger.domain import errors
from rxledger.domain.clock import as_utc
from rxledger.domain.model import AVAILABLE_TYPES, LocationType
from rxledger.domain.permissions import Permission
from rxledger.services.posting import PostedDocument, load_document
from rxledger.services.runtime import Actor, Runtime


@dataclass(frozen=True, slots=True)
class BalanceRow:
    site_id: int
    location_id: int
    location_code: str
    item_id: int
    sku: str
    item_name: str
    lot_id: int
    lot_number: str
    expiry: date | None
    lot_status: str
    on_hand: int
    is_virtual: bool


@dataclass(frozen=True, slots=True)
class HistoryRow:
    movement_id: int
    document_id: int
    doc_type: str
    occurred_at: datetime
    recorded_at: datetime
    posted_by: str
    reference: str | None
    lot_id: int
    lot_number: str
    from_location_id: int
    to_location_id: int
    quantity: int
    change: int  # signed effect on the scope of the history
    balance: int  # running balance of the scope after this movement
    reason_code: str | None


@dataclass(frozen=True, slots=True)
class PositionRow:
    site_id: int
    site_code: str
    item_id: int
    sku: str
    item_name: str
    strength: str
    dosage_form: str
    base_unit: str
    dea_schedule: str | None
    on_hand: int
    available: int
    value: Decimal
    lots: int
    nearest_expiry: date | None


def visible_site_ids(conn: Connection, actor: Actor) -> set[int] | None:
    """The sites the actor may read, or ``None`` when every site of the organization."""
    if actor.sees_all_sites:
        return None
    rows = conn.execute(
        select(t.sites.c.id).where(t.sites.c.organization_id == actor.organization_id)
    )
    return actor.visible_sites(r.id for r in rows)


def _require_site(actor: Actor, site_id: int | None) -> None:
    if site_id is not None:
        actor.require(Permission.VIEW, site_id)


def balances(
    rt: Runtime,
    actor: Actor,
    *,
    site_id: int | None = None,
    location_id: int | None = None,
    item_id: int | None = None,
    lot_id: int | None = None,
    as_of: datetime | None = None,
    include_virtual: bool = False,
    include_zero: bool = False,
) -> list[BalanceRow]:
    """On-hand per (location, item, lot), now from the projection or as of an instant from the
    movements themselves."""
    _require_site(actor, site_id)
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        visible = visible_site_ids(conn, actor)
        if as_of is None:
            qty = _current(actor, site_id, location_id, item_id, lot_id, include_virtual)
        else:
            qty = _as_of(
                conn, actor, site_id, location_id, item_id, lot_id, as_utc(as_of), include_virtual
            )
        return _describe(conn, qty, include_zero, visible)


def balance(
    rt: Runtime,
    actor: Actor,
    *,
    item_id: int,
    lot_id: int | None = None,
    location_id: int | None = None,
    site_id: int | None = None,
    as_of: datetime | None = None,
) -> int:
    """One number: the on-hand of an item (optionally one lot) in one location, one site's
    physical locations, or every physical location of the organization."""
    rows = balances(
        rt,
        actor,
        site_id=site_id,
        location_id=location_id,
        item_id=item_id,
        lot_id=lot_id,
        as_of=as_of,
        include_virtual=location_id is not None,
        include_zero=True,
    )
    return sum(r.on_hand for r in rows)


def _current(
    actor: Actor,
    site_id: int | None,
    location_id: int | None,
    item_id: int | None,
    lot_id: int | None,
    include_virtual: bool,
) -> Select[Any]:
    b = t.balances
    statement = select(b.c.location_id, b.c.item_id, b.c.lot_id, b.c.on_hand.label("qty")).where(
        b.c.organization_id == actor.organization_id
    )
    for column, value in (
        (b.c.site_id, site_id),
        (b.c.location_id, location_id),
        (b.c.item_id, item_id),
        (b.c.lot_id, lot_id),
    ):
        if value is not None:
            statement = statement.where(column == value)
    if not include_virtual and location_id is None:
        statement = statement.where(b.c.is_virtual.is_(False))
    return statement


def _as_of(
    conn: Connection,
    actor: Actor,
    site_id: int | None,
    location_id: int | None,
    item_id: int | None,
    lot_id: int | None,
    as_of: datetime,
    include_virtual: bool,
) -> Select[Any]:
    """Sum the movements up to the instant, in and out, over the covering indexes."""
    m = t.movements
    legs = []
    for column, sign in ((m.c.to_location_id, 1), (m.c.from_location_id, -1)):
        leg = select(
            column.label("location_id"),
            m.c.item_id,
            m.c.lot_id,
            (m.c.quantity * sign).label("qty"),
        ).where(m.c.organization_id == actor.organization_id, m.c.occurred_at <= as_of)
        if location_id is not None:
            leg = leg.where(column == location_id)
        else:
            scope = select(t.locations.c.id).where(
                t.locations.c.organization_id == actor.organization_id
            )
            if site_id is not None:
                scope = scope.where(t.locations.c.site_id == site_id)
            if not include_virtual:
                scope = scope.where(t.locations.c.is_virtual.is_(False))
            leg = leg.where(column.in_(scope))
        if item_id is not None:
            leg = leg.where(m.c.item_id == item_id)
        if lot_id is not None:
            leg = leg.where(m.c.lot_id == lot_id)
        legs.append(leg)
    flows = union_all(*legs).subquery()
    return select(
        flows.c.location_id, flows.c.item_id, flows.c.lot_id, func.sum(flows.c.qty).label("qty")
    ).group_by(flows.c.location_id, flows.c.item_id, flows.c.lot_id)


def _describe(
    conn: Connection, quantities: Select[Any], include_zero: bool, visible: set[int] | None
) -> list[BalanceRow]:
    q = quantities.subquery()
    statement = (
        select(
            t.locations.c.site_id,
            q.c.location_id,
            t.locations.c.code.label("location_code"),
            t.locations.c.is_virtual,
            q.c.item_id,
            t.items.c.sku,
            t.items.c.name,
            q.c.lot_id,
            t.lots.c.lot_number,
            t.lots.c.expiry,
            t.lots.c.status,
            q.c.qty,
        )
        .join(t.locations, t.locations.c.id == q.c.location_id)
        .join(t.items, t.items.c.id == q.c.item_id)
        .join(t.lots, t.lots.c.id == q.c.lot_id)
        .order_by(
            t.locations.c.site_id, t.locations.c.code, t.items.c.name, t.lots.c.expiry, q.c.lot_id
        )
    )
    if not include_zero:
        statement = statement.where(q.c.qty != 0)
    if visible is not None:
        statement = statement.where(t.locations.c.site_id.in_(sorted(visible)))
    return [
        BalanceRow(
            r.site_id,
            r.location_id,
            r.location_code,
            r.item_id,
            r.sku,
            r.name,
            r.lot_id,
            r.lot_number,
            r.expiry,
            r.status,
            int(r.qty),
            bool(r.is_virtual),
        )
        for r in conn.execute(statement)
    ]


def item_history(
    rt: Runtime,
    actor: Actor,
    item_id: int,
    *,
    site_id: int | None = None,
    location_id: int | None = None,
    lot_id: int | None = None,
    limit: int = 100,
    before_movement_id: int | None = None,
) -> list[HistoryRow]:
    """An item's movements into or out of a scope (a location, a site's physical locations, or all
    physical locations), newest first, each with the scope's running balance after it.

    The running balance of the newest movement is the current on-hand; older ones subtract the
    later movements, so the page costs one indexed read plus one sum, however long the history.
    """
    if not 1 <= limit <= 1000:
        raise errors.ValidationFailed("limit must be between 1 and 1000", limit=limit)
    _require_site(actor, site_id)
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        scope = _scope(actor, site_id, location_id, visible_site_ids(conn, actor))
        m = t.movements
        inside_to = m.c.to_location_id.in_(scope)
        inside_from = m.c.from_location_id.in_(scope)
        change = case(
            (and_(inside_to, ~inside_from), m.c.quantity),
            (and_(inside_from, ~inside_to), -m.c.quantity),
            else_=literal(0),
        )
        where = [
            m.c.organization_id == actor.organization_id,
            m.c.item_id == item_id,
            or_(inside_to, inside_from),
        ]
        if lot_id is not None:
            where.append(m.c.lot_id == lot_id)
        page_where = list(where)
        after_page = 0
        if before_movement_id is not None:
            anchor = _history_anchor(conn, before_movement_id)
            later = or_(
                m.c.occurred_at > anchor,
                and_(m.c.occurred_at == anchor, m.c.id >= before_movement_id),
            )
            page_where.append(~later)
            after_page = int(
                conn.execute(
                    select(func.coalesce(func.sum(change), 0)).where(*where, later)
                ).scalar_one()
            )
        # The newest running balance is the scope's on-hand now, read from the balance projection
        # in the same snapshot (rxledger check proves the projection equals the movements' sum).
        current = _on_hand_now(conn, actor.organization_id, item_id, lot_id, scope)
        # The page is chosen from the movements alone, then joined to its documents and lots.
        page = (
            select(m.c.id)
            .where(*page_where)
            .order_by(m.c.occurred_at.desc(), m.c.id.desc())
            .limit(limit)
            .subquery()
        )
        rows = conn.execute(
            select(
                m.c.id,
                m.c.document_id,
                t.documents.c.doc_type,
                m.c.occurred_at,
                m.c.recorded_at,
                t.documents.c.posted_by,
                t.documents.c.reference,
                m.c.lot_id,
                t.lots.c.lot_number,
                m.c.from_location_id,
                m.c.to_location_id,
                m.c.quantity,
                change.label("change"),
                m.c.reason_code,
            )
            .select_from(page)
            .join(m, m.c.id == page.c.id)
            .join(t.documents, t.documents.c.id == m.c.document_id)
            .join(t.lots, t.lots.c.id == m.c.lot_id)
            .order_by(m.c.occurred_at.desc(), m.c.id.desc())
        ).all()
        if not rows and item_id not in repo.items_by_id(conn, actor.organization_id, [item_id]):
            raise errors.ItemNotFound(f"no item {item_id}", item_id=item_id)
    running = current - after_page
    history: list[HistoryRow] = []
    for r in rows:
        history.append(
            HistoryRow(
                r.id,
                r.document_id,
                r.doc_type,
                r.occurred_at,
                r.recorded_at,
                r.posted_by,
                r.reference,
                r.lot_id,
                r.lot_number,
                r.from_location_id,
                r.to_location_id,
                r.quantity,
                int(r.change),
                running,
                r.reason_code,
            )
        )
        running -= int(r.change)
    return history


def _history_anchor(conn: Connection, movement_id: int) -> datetime:
    anchor = conn.execute(
        select(t.movements.c.occurred_at).where(t.movements.c.id == movement_id)
    ).scalar_one_or_none()
    if anchor is None:
        raise errors.ValidationFailed(f"no movement {movement_id}", movement=movement_id)
    return anchor  # type: ignore[no-any-return]


def _on_hand_now(
    conn: Connection, org_id: int, item_id: int, lot_id: int | None, scope: Select[Any]
) -> int:
    b = t.balances.c
    statement = select(func.coalesce(func.sum(b.on_hand), 0)).where(
        b.organization_id == org_id, b.item_id == item_id, b.location_id.in_(scope)
    )
    if lot_id is not None:
        statement = statement.where(b.lot_id == lot_id)
    return int(conn.execute(statement).scalar_one())


def _scope(
    actor: Actor, site_id: int | None, location_id: int | None, visible: set[int] | None
) -> Select[Any]:
    loc = t.locations
    scope = select(loc.c.id).where(loc.c.organization_id == actor.organization_id)
    if location_id is not None:
        scope = scope.where(loc.c.id == location_id)
    else:
        scope = scope.where(loc.c.is_virtual.is_(False))
    if site_id is not None:
        scope = scope.where(loc.c.site_id == site_id)
    if visible is not None:
        scope = scope.where(loc.c.site_id.in_(sorted(visible)))
    return scope


def stock_position(
    rt: Runtime, actor: Actor, *, site_id: int | None = None, item_id: int | None = None
) -> list[PositionRow]:
    """Per site and item: on-hand in physical locations, what of it is available (usable lots in
    stocking locations), its value at standard cost, lot count and nearest expiry."""
    b, items, lots, sites, loc = t.balances, t.items, t.lots, t.sites, t.locations
    _require_site(actor, site_id)
    with rt.uow(read_only=True) as uow:
        statement = (
            select(
                b.c.site_id,
                sites.c.code.label("site_code"),
                b.c.item_id,
                items.c.sku,
                items.c.name,
                items.c.strength,
                items.c.dosage_form,
                items.c.base_unit,
                items.c.dea_schedule,
                items.c.standard_cost,
                b.c.lot_id,
                lots.c.expiry,
                lots.c.status,
                loc.c.type,
                b.c.on_hand,
            )
            .join(items, items.c.id == b.c.item_id)
            .join(lots, lots.c.id == b.c.lot_id)
            .join(sites, sites.c.id == b.c.site_id)
            .join(loc, loc.c.id == b.c.location_id)
            .where(
                b.c.organization_id == actor.organization_id,
                b.c.is_virtual.is_(False),
                b.c.on_hand > 0,
            )
        )
        if site_id is not None:
            statement = statement.where(b.c.site_id == site_id)
        if item_id is not None:
            statement = statement.where(b.c.item_id == item_id)
        visible = visible_site_ids(uow.connection, actor)
        if visible is not None:
            statement = statement.where(b.c.site_id.in_(sorted(visible)))
        rows = uow.connection.execute(statement).all()
        today = rt.clock.now().date()
    grouped: dict[tuple[int, int], list[Any]] = defaultdict(list)
    for r in rows:
        grouped[(r.site_id, r.item_id)].append(r)
    position: list[PositionRow] = []
    for (site, item), group in grouped.items():
        first = group[0]
        on_hand = sum(r.on_hand for r in group)
        available = sum(
            r.on_hand
            for r in group
            if LocationType(r.type) in AVAILABLE_TYPES
            and r.status == "available"
            and (r.expiry is None or r.expiry >= today)
        )
        expiries = [r.expiry for r in group if r.expiry is not None]
        position.append(
            PositionRow(
                site,
                first.site_code,
                item,
                first.sku,
                first.name,
                first.strength,
                first.dosage_form,
                first.base_unit,
                first.dea_schedule,
                on_hand,
                available,
                (Decimal(first.standard_cost) * on_hand).quantize(Decimal("0.01")),
                len({r.lot_id for r in group}),
                min(expiries) if expiries else None,
            )
        )
    position.sort(key=lambda p: (p.site_code, p.item_name))
    return position


def get_document(rt: Runtime, actor: Actor, document_id: int) -> PostedDocument:
    with rt.uow(read_only=True) as uow:
        row = repo.document_by_id(uow.connection, actor.organization_id, document_id)
        if row is None:
            raise errors.DocumentNotFound(f"no document {document_id}", document_id=document_id)
        sites = {row.site_id, row.counterpart_site_id} - {None}
        if not any(actor.can(Permission.VIEW, s) for s in sites):
            actor.require(Permission.VIEW, row.site_id)
        return load_document(uow.connection, row)


def list_documents(
    rt: Runtime,
    actor: Actor,
    *,
    site_id: int | None = None,
    doc_type: str | None = None,
    limit: int = 50,
    offset: int = 0,
    before_id: int | None = None,
) -> list[dict[str, Any]]:
    """Document headers, newest first, with their line count."""
    d = t.documents
    statement = (
        select(
            d,
            select(func.count())
            .where(t.movements.c.document_id == d.c.id)
            .scalar_subquery()
            .label("lines"),
        )
        .where(d.c.organization_id == actor.organization_id)
        .order_by(d.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    if site_id is not None:
        statement = statement.where(d.c.site_id == site_id)
    if doc_type is not None:
        statement = statement.where(d.c.doc_type == doc_type)
    if before_id is not None:
        statement = statement.where(d.c.id < before_id)
    _require_site(actor, site_id)
    with rt.uow(read_only=True) as uow:
        visible = visible_site_ids(uow.connection, actor)
        if visible is not None:
            ids = sorted(visible)
            statement = statement.where(d.c.site_id.in_(ids) | d.c.counterpart_site_id.in_(ids))
        return [dict(r._mapping) for r in uow.connection.execute(statement)]


@dataclass(frozen=True, slots=True)
class SiteSummary:
    site_id: int
    site_code: str
    site_name: str
    items_in_stock: int
    items_at_zero: int
    units: int
    value: Decimal
    expired_lots: int
    lots_expiring_30d: int
    controlled_items: int


def site_summaries(rt: Runtime, actor: Actor) -> list[SiteSummary]:
    """Per site: what is in stock and its value, items stocked before and now at zero, expired lots
    still on the shelf and lots expiring within 30 days."""
    today = rt.clock.now().date()
    position = stock_position(rt, actor)
    b = t.balances
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        sites = conn.execute(
            select(t.sites.c.id, t.sites.c.code, t.sites.c.name)
            .where(t.sites.c.organization_id == actor.organization_id)
            .order_by(t.sites.c.code)
        ).all()
        stocked_ever = conn.execute(
            select(b.c.site_id, b.c.item_id)
            .where(b.c.organization_id == actor.organization_id, b.c.is_virtual.is_(False))
            .group_by(b.c.site_id, b.c.item_id)
        ).all()
        lots = conn.execute(
            select(b.c.site_id, b.c.lot_id, t.lots.c.expiry)
            .join(t.lots, t.lots.c.id == b.c.lot_id)
            .where(
                b.c.organization_id == actor.organization_id,
                b.c.is_virtual.is_(False),
                b.c.on_hand > 0,
                t.lots.c.expiry.is_not(None),
            )
            .distinct()
        ).all()
    in_stock: dict[int, set[int]] = defaultdict(set)
    for p in position:
        in_stock[p.site_id].add(p.item_id)
    ever: dict[int, set[int]] = defaultdict(set)
    for r in stocked_ever:
        ever[r.site_id].add(r.item_id)
    summaries = []
    visible = actor.visible_sites(s.id for s in sites)
    for site in (s for s in sites if s.id in visible):
        rows = [p for p in position if p.site_id == site.id]
        site_lots = [r for r in lots if r.site_id == site.id]
        summaries.append(
            SiteSummary(
                site.id,
                site.code,
                site.name,
                len(in_stock[site.id]),
                len(ever[site.id] - in_stock[site.id]),
                sum(p.on_hand for p in rows),
                sum((p.value for p in rows), Decimal("0.00")),
                sum(1 for r in site_lots if r.expiry < today),
                sum(1 for r in site_lots if today <= r.expiry <= today + timedelta(days=30)),
                sum(1 for p in rows if p.dea_schedule),
            )
        )
    return summaries
