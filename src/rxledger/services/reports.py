"""Read models for the screens: a site's dashboard figures, weekly dispensing, a document with its
lines described, shipments still in transit to a site, and the preview of a posting.

Every function takes the acting user and checks that they may view the site it reads. Queries are
bounded (a site, an item, a window of weeks, a page) and follow the schema's indexes.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Connection, and_, case, func, literal, or_, select, union_all
from sqlalchemy.orm import aliased

from rxledger.adapters import repository as repo
from rxledger.adapters import tables as t
from rxledger.domain import errors
from rxledger.domain.model import DocumentType, LocationType, Site
from rxledger.domain.permissions import Permission
from rxledger.services import controlled, queries, stock
from rxledger.services.posting import PostedDocument
from rxledger.services.runtime import Actor, Runtime

EXPIRY_HORIZONS = (30, 60, 90)


# --- the site dashboard -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ItemAtZero:
    item_id: int
    name: str
    strength: str


@dataclass(frozen=True, slots=True)
class ExpiringLot:
    item_id: int
    item_name: str
    lot_id: int
    lot_number: str
    expiry: date
    days_left: int
    on_hand: int
    locations: str


@dataclass(frozen=True, slots=True)
class Dashboard:
    site_id: int
    stock_value: Decimal
    units: int
    items_in_stock: int
    items_at_zero: int
    zero_sample: tuple[ItemAtZero, ...]
    expired_lots: int
    expiring: dict[int, int]  # horizon in days -> lots with stock expiring within it
    expiring_sample: tuple[ExpiringLot, ...]
    # Losses of controlled items in the last 30 days and their count lines still open.
    controlled_discrepancies: tuple[controlled.Discrepancy, ...] = ()


def site_dashboard(rt: Runtime, actor: Actor, site_id: int, *, sample: int = 12) -> Dashboard:
    """A site's stock value at standard cost, items stocked before and now at zero, and lots with
    stock that expired or expire within 30, 60 and 90 days."""
    actor.require(Permission.VIEW, site_id)
    today = rt.clock.now().date()
    with rt.uow(read_only=True) as uow:
        stocked = _stock_on_hand(uow.connection, actor, site_id)
        ever = _items_ever_stocked(uow.connection, site_id)
    per_item: dict[int, list[Any]] = defaultdict(list)
    for r in stocked:
        per_item[r.item_id].append(r)
    value = sum((Decimal(r.standard_cost) * int(r.on_hand) for r in stocked), Decimal("0"))
    lots = _expiring_lots(stocked, today)
    expiring = [lot for lot in lots if lot.days_left >= 0]
    zero = sorted(set(ever) - set(per_item), key=lambda item_id: (ever[item_id][0], item_id))
    return Dashboard(
        site_id=site_id,
        stock_value=value.quantize(Decimal("0.01")),
        units=sum(int(r.on_hand) for r in stocked),
        items_in_stock=len(per_item),
        items_at_zero=len(zero),
        zero_sample=tuple(ItemAtZero(i, *ever[i]) for i in zero[:sample]),
        expired_lots=sum(1 for lot in lots if lot.days_left < 0),
        expiring={h: sum(1 for lot in expiring if lot.days_left <= h) for h in EXPIRY_HORIZONS},
        expiring_sample=tuple(expiring[:sample]),
        controlled_discrepancies=tuple(controlled.discrepancies(rt, actor, site_id)),
    )


def _stock_on_hand(conn: Connection, actor: Actor, site_id: int) -> Sequence[Any]:
    """Every (physical location, lot) of the site with stock, described; one pass of the site's
    balances by the (site, item) index."""
    b, items, lots, loc = t.balances, t.items, t.lots, t.locations
    return conn.execute(
        select(
            b.c.item_id,
            items.c.name,
            items.c.standard_cost,
            b.c.lot_id,
            lots.c.lot_number,
            lots.c.expiry,
            loc.c.code,
            b.c.on_hand,
        )
        .join(items, items.c.id == b.c.item_id)
        .join(lots, lots.c.id == b.c.lot_id)
        .join(loc, loc.c.id == b.c.location_id)
        .where(
            b.c.organization_id == actor.organization_id,
            b.c.site_id == site_id,
            b.c.is_virtual.is_(False),
            b.c.on_hand > 0,
        )
    ).all()


def _items_ever_stocked(conn: Connection, site_id: int) -> dict[int, tuple[str, str]]:
    """Items with any balance at the site (name, strength). Virtual balances count too: stock
    only reaches a site's outside-world locations through one of its physical locations."""
    b, items = t.balances, t.items
    ids = select(b.c.item_id).where(b.c.site_id == site_id).distinct().subquery()
    rows = conn.execute(
        select(items.c.id, items.c.name, items.c.strength).join(ids, ids.c.item_id == items.c.id)
    ).all()
    return {r.id: (r.name, r.strength) for r in rows}


def _expiring_lots(stocked: Sequence[Any], today: date) -> list[ExpiringLot]:
    horizon = today + timedelta(days=max(EXPIRY_HORIZONS))
    grouped: dict[int, list[Any]] = defaultdict(list)
    for r in stocked:
        if r.expiry is not None and r.expiry <= horizon:
            grouped[r.lot_id].append(r)
    lots = [
        ExpiringLot(
            item_id=g[0].item_id,
            item_name=g[0].name,
            lot_id=lot_id,
            lot_number=g[0].lot_number,
            expiry=g[0].expiry,
            days_left=(g[0].expiry - today).days,
            on_hand=sum(int(r.on_hand) for r in g),
            locations=", ".join(sorted(r.code for r in g)),
        )
        for lot_id, g in grouped.items()
    ]
    return sorted(lots, key=lambda lot: (lot.expiry, lot.item_name, lot.lot_id))


# --- dispensing per week ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WeekPoint:
    week_start: date
    units: int


def weekly_dispensed(
    rt: Runtime, actor: Actor, site_id: int, *, weeks: int = 12, item_id: int | None = None
) -> list[WeekPoint]:
    """Units dispensed at a site per week (returns to stock subtracted), for the ``weeks`` weeks
    ending today, oldest first; one aggregate over the window, per day, folded into weeks."""
    actor.require(Permission.VIEW, site_id)
    if not 1 <= weeks <= 104:
        raise errors.ValidationFailed("weeks is 1 to 104", weeks=weeks)
    today = rt.clock.now().date()
    first = today - timedelta(days=7 * weeks - 1)
    since = datetime.combine(first, time(0), tzinfo=UTC)
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        patient = _patient_location(conn, actor, site_id)
        per_day = _dispensed_per_day(conn, rt.dialect, actor, (site_id, patient), since, item_id)
    totals = [0] * weeks
    for day, units in per_day:
        index = (day - first).days // 7
        if 0 <= index < weeks:
            totals[index] += units
    return [WeekPoint(first + timedelta(days=7 * i), u) for i, u in enumerate(totals)]


def _patient_location(conn: Connection, actor: Actor, site_id: int) -> int:
    loc = t.locations
    found = conn.execute(
        select(loc.c.id).where(
            loc.c.organization_id == actor.organization_id,
            loc.c.site_id == site_id,
            loc.c.type == LocationType.PATIENT.value,
        )
    ).scalar_one_or_none()
    if found is None:
        raise errors.SiteNotFound(f"no site {site_id}", site_id=site_id)
    return int(found)


def _dispensed_per_day(
    conn: Connection,
    dialect: str,
    actor: Actor,
    site_and_patient: tuple[int, int],
    since: datetime,
    item_id: int | None,
) -> list[tuple[date, int]]:
    """Net units into the patient location per UTC day: dispenses less returns and reversals."""
    d, m = t.documents, t.movements
    site_id, patient = site_and_patient
    day = _utc_day(m.c.occurred_at, dialect)
    units = func.sum(
        case(
            (m.c.to_location_id == patient, m.c.quantity),
            (m.c.from_location_id == patient, -m.c.quantity),
            else_=literal(0),
        )
    )
    statement = select(day.label("day"), units.label("units")).where(
        m.c.organization_id == actor.organization_id, m.c.occurred_at >= since
    )
    if item_id is not None:
        # (item_id, occurred_at) is indexed: one item's year is a short range scan.
        statement = statement.where(
            m.c.item_id == item_id,
            or_(m.c.to_location_id == patient, m.c.from_location_id == patient),
        )
    else:
        # The site's documents of the window by (site_id, occurred_at), then their movements by
        # document: bounded by the window, however long the history.
        statement = statement.join(d, d.c.id == m.c.document_id).where(
            d.c.site_id == site_id,
            d.c.occurred_at >= since,
            d.c.doc_type.in_(_DISPENSING),
        )
    rows = conn.execute(statement.group_by(day)).all()
    return [(_as_date(r.day), int(r.units or 0)) for r in rows]


_DISPENSING = (
    DocumentType.DISPENSE.value,
    DocumentType.DISPENSE_REVERSAL.value,
    DocumentType.REVERSAL.value,
)


def _utc_day(column: Any, dialect: str) -> ColumnElement[Any]:
    if dialect == "sqlite":
        return func.substr(column, 1, 10)  # stored as naive UTC text, 'YYYY-MM-DD HH:MM:SS'
    return func.date(func.timezone("UTC", column))


def _as_date(value: object) -> date:
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


# --- a site's documents -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DocumentRow:
    id: int
    doc_type: str
    occurred_at: datetime
    posted_by: str
    reference: str | None
    reason_code: str | None
    reverses_id: int | None
    related_id: int | None
    lines: int


def site_documents(
    rt: Runtime,
    actor: Actor,
    site_id: int,
    *,
    doc_type: str | None = None,
    before_id: int | None = None,
    limit: int = 30,
) -> list[DocumentRow]:
    """A site's documents, newest business time first, a page at a time: the page after
    ``before_id`` follows the (site, occurred_at) index, however long the history."""
    actor.require(Permission.VIEW, site_id)
    if not 1 <= limit <= 500:
        raise errors.ValidationFailed("limit is 1 to 500", limit=limit)
    d, m = t.documents, t.movements
    lines = select(func.count()).where(m.c.document_id == d.c.id).scalar_subquery()
    statement = (
        select(d, lines.label("lines"))
        .where(d.c.organization_id == actor.organization_id, d.c.site_id == site_id)
        .order_by(d.c.occurred_at.desc(), d.c.id.desc())
        .limit(limit)
    )
    if doc_type is not None:
        statement = statement.where(d.c.doc_type == doc_type)
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        if before_id is not None:
            anchor = conn.execute(
                select(d.c.occurred_at).where(d.c.id == before_id, d.c.site_id == site_id)
            ).scalar_one_or_none()
            if anchor is None:
                raise errors.DocumentNotFound(f"no document {before_id}", document_id=before_id)
            statement = statement.where(
                or_(d.c.occurred_at < anchor, and_(d.c.occurred_at == anchor, d.c.id < before_id))
            )
        rows = conn.execute(statement).all()
    return [
        DocumentRow(
            r.id,
            r.doc_type,
            r.occurred_at,
            r.posted_by,
            r.reference,
            r.reason_code,
            r.reverses_id,
            r.related_id,
            int(r.lines),
        )
        for r in rows
    ]


# --- a document with its lines described --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DescribedLine:
    line_no: int
    item_id: int
    item_name: str
    strength: str
    base_unit: str
    lot_id: int
    lot_number: str
    expiry: date | None
    from_code: str
    from_virtual: bool
    to_code: str
    to_virtual: bool
    quantity: int
    reason_code: str | None
    note: str | None


@dataclass(frozen=True, slots=True)
class DocumentView:
    document: PostedDocument
    site_code: str
    counterpart_code: str | None
    lines: tuple[DescribedLine, ...]
    reversed_by: int | None
    followers: tuple[tuple[int, str], ...]  # (document id, type) of returns and receipts


def describe_document(rt: Runtime, actor: Actor, document_id: int) -> DocumentView:
    """A posted document with item names, lot numbers and location codes on its lines, the
    reversal that undid it and the documents that follow it (returns, shipment receipts)."""
    document = queries.get_document(rt, actor, document_id)
    d = t.documents
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        lines = _described_lines(conn, actor, document_id)
        reversed_by = conn.execute(
            select(d.c.id).where(d.c.reverses_id == document_id)
        ).scalar_one_or_none()
        followers = conn.execute(
            select(d.c.id, d.c.doc_type).where(d.c.related_id == document_id).order_by(d.c.id)
        ).all()
        codes = dict(
            conn.execute(
                select(t.sites.c.id, t.sites.c.code).where(
                    t.sites.c.organization_id == actor.organization_id
                )
            ).all()
        )
    return DocumentView(
        document=document,
        site_code=codes.get(document.site_id, str(document.site_id)),
        counterpart_code=(
            codes.get(document.counterpart_site_id) if document.counterpart_site_id else None
        ),
        lines=tuple(lines),
        reversed_by=reversed_by,
        followers=tuple((r.id, r.doc_type) for r in followers),
    )


def _described_lines(
    conn: Connection, actor: Actor, document_id: int | None, key: str | None = None
) -> list[DescribedLine]:
    m, items, lots, d = t.movements, t.items, t.lots, t.documents
    src, dst = aliased(t.locations), aliased(t.locations)
    statement = (
        select(
            m.c.line_no,
            m.c.item_id,
            items.c.name,
            items.c.strength,
            items.c.base_unit,
            m.c.lot_id,
            lots.c.lot_number,
            lots.c.expiry,
            src.c.code.label("from_code"),
            src.c.is_virtual.label("from_virtual"),
            dst.c.code.label("to_code"),
            dst.c.is_virtual.label("to_virtual"),
            m.c.quantity,
            m.c.reason_code,
            m.c.note,
        )
        .join(items, items.c.id == m.c.item_id)
        .join(lots, lots.c.id == m.c.lot_id)
        .join(src, src.c.id == m.c.from_location_id)
        .join(dst, dst.c.id == m.c.to_location_id)
        .where(m.c.organization_id == actor.organization_id)
        .order_by(m.c.line_no, m.c.id)
    )
    if key is not None:
        statement = statement.join(d, d.c.id == m.c.document_id).where(
            d.c.organization_id == actor.organization_id, d.c.idempotency_key == key
        )
    else:
        statement = statement.where(m.c.document_id == document_id)
    return [
        DescribedLine(
            r.line_no,
            r.item_id,
            r.name,
            r.strength,
            r.base_unit,
            r.lot_id,
            r.lot_number,
            r.expiry,
            r.from_code,
            bool(r.from_virtual),
            r.to_code,
            bool(r.to_virtual),
            int(r.quantity),
            r.reason_code,
            r.note,
        )
        for r in conn.execute(statement)
    ]


# --- shipments in transit to a site -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InboundShipment:
    document_id: int
    from_site_code: str
    occurred_at: datetime
    reference: str | None
    posted_by: str
    outstanding: tuple[tuple[str, int], ...]  # (item name, units still in transit)


def inbound_shipments(
    rt: Runtime, actor: Actor, site_id: int, *, limit: int = 20
) -> list[InboundShipment]:
    """The newest shipments to a site that still have units in transit."""
    actor.require(Permission.VIEW, site_id)
    d = t.documents
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        shipments = conn.execute(
            select(d.c.id, d.c.site_id, d.c.occurred_at, d.c.reference, d.c.posted_by)
            .where(
                d.c.organization_id == actor.organization_id,
                d.c.doc_type == DocumentType.TRANSFER_SHIP.value,
                d.c.counterpart_site_id == site_id,
            )
            .order_by(d.c.id.desc())
            .limit(limit)
        ).all()
        outstanding = _in_transit(conn, [s.id for s in shipments])
        codes = dict(conn.execute(select(t.sites.c.id, t.sites.c.code)).all())
    return [
        InboundShipment(
            s.id,
            codes.get(s.site_id, str(s.site_id)),
            s.occurred_at,
            s.reference,
            s.posted_by,
            tuple(outstanding[s.id]),
        )
        for s in shipments
        if outstanding.get(s.id)
    ]


def _in_transit(conn: Connection, shipment_ids: list[int]) -> dict[int, list[tuple[str, int]]]:
    """Per shipment, what its chain (receipts, and reversals of either) left in transit."""
    if not shipment_ids:
        return {}
    d, m, loc, items = t.documents, t.movements, t.locations, t.items
    base = aliased(t.documents)
    chain = union_all(
        select(d.c.id.label("doc_id"), func.coalesce(d.c.related_id, d.c.id).label("shipment"))
        .where(or_(d.c.id.in_(shipment_ids), d.c.related_id.in_(shipment_ids)))
        .where(d.c.reverses_id.is_(None)),
        select(d.c.id, func.coalesce(base.c.related_id, base.c.id))
        .join(base, base.c.id == d.c.reverses_id)
        .where(or_(base.c.id.in_(shipment_ids), base.c.related_id.in_(shipment_ids))),
    ).subquery()
    transit = select(loc.c.id).where(loc.c.type == LocationType.IN_TRANSIT.value)
    change = case(
        (m.c.to_location_id.in_(transit), m.c.quantity),
        (m.c.from_location_id.in_(transit), -m.c.quantity),
        else_=literal(0),
    )
    rows = conn.execute(
        select(chain.c.shipment, items.c.name, func.sum(change).label("qty"))
        .join(m, m.c.document_id == chain.c.doc_id)
        .join(items, items.c.id == m.c.item_id)
        .group_by(chain.c.shipment, items.c.name)
        .order_by(chain.c.shipment, items.c.name)
    ).all()
    found: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for r in rows:
        if int(r.qty) > 0:
            found[r.shipment].append((r.name, int(r.qty)))
    return found


# --- where a site may ship to -------------------------------------------------------------------


def transfer_destinations(rt: Runtime, actor: Actor, site_id: int) -> list[Site]:
    """The organization's other sites: whoever may ship from a site may name where it goes,
    even a site they have no role at (they see its code and name, not its stock)."""
    actor.require(Permission.TRANSFER, site_id)
    with rt.uow(read_only=True) as uow:
        rows = uow.connection.execute(
            select(t.sites)
            .where(t.sites.c.organization_id == actor.organization_id, t.sites.c.id != site_id)
            .order_by(t.sites.c.code)
        ).all()
    return [repo.to_site(r) for r in rows]


# --- previewing a posting -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BalanceChange:
    location_code: str
    item_name: str
    before: int
    after: int


@dataclass(frozen=True, slots=True)
class Preview:
    doc_type: DocumentType
    site_id: int
    lines: tuple[DescribedLine, ...]
    changes: tuple[BalanceChange, ...]


StockCommand = (
    stock.Receive
    | stock.Move
    | stock.ShipTransfer
    | stock.ReceiveTransfer
    | stock.Dispense
    | stock.ReverseDispense
    | stock.Adjust
    | stock.Reverse
)
C = TypeVar("C", bound=StockCommand)
UseCase = Callable[[Runtime, Actor, C], PostedDocument]


def preview(rt: Runtime, actor: Actor, use_case: UseCase[C], command: C) -> Preview:
    """What posting ``command`` would do now: the real use case runs as a dry run (permissions,
    lot choice, stock checks and all, under the same locks) and writes nothing.

    The confirm screens show this before the user posts; the later post checks everything again.
    """
    header = replace(command.header, idempotency_key=f"preview:{uuid.uuid4()}", dry_run=True)
    return describe_plan(rt, actor, use_case(rt, actor, replace(command, header=header)))


def describe_plan(rt: Runtime, actor: Actor, document: PostedDocument) -> Preview:
    """A dry run's document as a preview: its lines described, and the balances before and after
    (for use cases whose commands are not stock commands, such as a receipt against a PO)."""
    with rt.uow(read_only=True) as uow:
        lines = _lines_of(uow.connection, actor, document)
        changes = _balance_changes(uow.connection, actor, document)
    return Preview(document.doc_type, document.site_id, tuple(lines), tuple(changes))


def _lines_of(conn: Connection, actor: Actor, document: PostedDocument) -> list[DescribedLine]:
    """Describe planned movements with item names, lot numbers and location codes."""
    moves = document.movements
    items = repo.items_by_id(conn, actor.organization_id, {m.item_id for m in moves})
    lots = {lot.id: lot for lot in document.planned_lots} or repo.lots_by_id(
        conn, actor.organization_id, {m.lot_id for m in moves}
    )
    places = repo.locations_by_id(
        conn,
        actor.organization_id,
        {m.from_location_id for m in moves} | {m.to_location_id for m in moves},
    )
    described = []
    for m in moves:
        item, lot = items[m.item_id], lots.get(m.lot_id)
        source, target = places[m.from_location_id], places[m.to_location_id]
        described.append(
            DescribedLine(
                m.line_no,
                m.item_id,
                item.name,
                item.strength,
                item.base_unit,
                m.lot_id,
                lot.lot_number if lot else "",
                lot.expiry if lot else None,
                source.code,
                source.is_virtual,
                target.code,
                target.is_virtual,
                m.quantity,
                m.reason_code,
                m.note,
            )
        )
    return described


def _balance_changes(
    conn: Connection, actor: Actor, document: PostedDocument
) -> list[BalanceChange]:
    """Before and after on-hand of each (physical location, item) the document would touch."""
    b, loc, items = t.balances, t.locations, t.items
    delta: dict[tuple[int, int], int] = defaultdict(int)
    for m in document.movements:
        delta[(m.from_location_id, m.item_id)] -= m.quantity
        delta[(m.to_location_id, m.item_id)] += m.quantity
    touched = sorted(k for k, v in delta.items() if v != 0)
    if not touched:
        return []
    names = conn.execute(
        select(loc.c.id, loc.c.code, loc.c.is_virtual).where(
            loc.c.id.in_(sorted({k[0] for k in touched}))
        )
    ).all()
    codes = {r.id: (r.code, bool(r.is_virtual)) for r in names}
    item_names = {
        r.id: r.name
        for r in conn.execute(
            select(items.c.id, items.c.name).where(items.c.id.in_(sorted({k[1] for k in touched})))
        )
    }
    on_hand = {
        (r.location_id, r.item_id): int(r.total)
        for r in conn.execute(
            select(b.c.location_id, b.c.item_id, func.sum(b.c.on_hand).label("total"))
            .where(or_(*[and_(b.c.location_id == lo, b.c.item_id == it) for lo, it in touched]))
            .group_by(b.c.location_id, b.c.item_id)
        )
    }
    changes = [
        BalanceChange(
            codes[lo][0],
            item_names[it],
            on_hand.get((lo, it), 0),
            on_hand.get((lo, it), 0) + delta[(lo, it)],
        )
        for lo, it in touched
        if not codes[lo][1]
    ]
    return sorted(changes, key=lambda c: (c.item_name, c.location_code))
