"""Controlled substances: witnesses of schedule II postings, the perpetual inventory log, the
biennial inventory count sheet and the discrepancies the dashboard flags.

The witness rule itself is the domain's (``domain/controlled.py``); this module verifies the
witness's password (as a sign-in does: throttled, every attempt recorded) before the posting's
transaction, checks the rule against the lines' items inside it, and writes the
``document_witnesses`` row through ``Draft.on_posted`` so that it commits with the document.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, case, func, insert, literal, or_, select
from sqlalchemy.orm import aliased

from rxledger.adapters import repository as repo
from rxledger.adapters import tables as t
from rxledger.adapters import tables_control as tc
from rxledger.domain import controlled as rules
from rxledger.domain import errors
from rxledger.domain.clock import as_utc
from rxledger.domain.ledger import PlannedMovement
from rxledger.domain.model import DeaSchedule, DocumentType, Item, Site
from rxledger.domain.permissions import Actor, Permission
from rxledger.services import identity
from rxledger.services.posting import AfterPosting
from rxledger.services.runtime import Runtime

# --- witnesses ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Witness:
    """A second signed-in user who saw the posting happen, re-entering their password."""

    username: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class VerifiedWitness:
    """A witness whose password was checked; their roles are judged against the document's site."""

    username: str
    actor: Actor


def verify_witness(rt: Runtime, actor: Actor, witness: Witness | None) -> VerifiedWitness | None:
    """Check the witness's password like a sign-in (throttled per witness name and per poster,
    each attempt recorded), before the posting's transaction, so that no password is hashed while
    balances are locked and a failure is recorded even though the posting rolls back.

    The poster cannot witness their own posting (``WITNESS_NOT_ALLOWED``, judged first, without
    hashing); a wrong password or an unknown or inactive user is ``WITNESS_CREDENTIALS_INVALID``
    (403: the poster's own session is fine, so it is no ``UNAUTHENTICATED``), the attempt recorded
    by ``identity.authenticate`` as a failed sign-in of the witness.
    """
    if witness is None:
        return None
    rules.refuse_self_witness(actor.username, witness.username)
    try:
        witness_actor = identity.authenticate(
            rt,
            actor.organization_id,
            witness.username,
            witness.password,
            f"witness:{actor.username}",
        )
    except errors.Unauthenticated:
        raise errors.WitnessCredentialsInvalid(
            f"witness {witness.username}: user name or password is wrong, or the user is inactive",
            witness=witness.username,
        ) from None
    return VerifiedWitness(witness_actor.username, witness_actor)


def witness_hook(
    rt: Runtime,
    conn: Connection,
    actor: Actor,
    doc_type: DocumentType,
    site_id: int,
    item_ids: Collection[int],
    witness: VerifiedWitness | None,
    then: AfterPosting | None = None,
) -> AfterPosting | None:
    """Inside the posting's transaction: refuse a witnessed posting of schedule II stock without
    a witness (``WITNESS_REQUIRED``) or with one who may not witness at the site
    (``WITNESS_NOT_ALLOWED``); return the hook that records the witness with the document.

    An actor without a user account (the console operator of an organization that has no accounts
    yet, the demo generator) has nobody who could be a second signed-in user: the rule binds
    once people sign in. A witness given where none is needed is checked and recorded all the same.
    """
    if witness is None:
        if actor.user_id is not None and doc_type in rules.WITNESSED_DOCUMENTS:
            rules.require_witness(doc_type, _schedules(conn, actor.organization_id, item_ids), None)
        return then
    rules.check_witness(actor.username, witness.actor, site_id)
    return _record_witness(rt, actor.organization_id, witness.username, then)


def _schedules(conn: Connection, org_id: int, item_ids: Collection[int]) -> list[DeaSchedule]:
    """The schedule II lines' schedules, read by primary key (none for most postings)."""
    rows = conn.execute(
        select(t.items.c.dea_schedule).where(
            t.items.c.organization_id == org_id,
            t.items.c.id.in_(sorted(set(item_ids))),
            t.items.c.dea_schedule.in_([s.value for s in rules.WITNESSED_SCHEDULES]),
        )
    ).scalars()
    return [DeaSchedule(s) for s in rows]


def _record_witness(
    rt: Runtime, org_id: int, username: str, then: AfterPosting | None
) -> AfterPosting:
    def record(conn: Connection, doc_id: int, movements: Sequence[PlannedMovement]) -> None:
        conn.execute(
            insert(tc.document_witnesses).values(
                organization_id=org_id,
                document_id=doc_id,
                witness=username,
                witnessed_at=rt.clock.now(),
            )
        )
        if then is not None:
            then(conn, doc_id, movements)

    return record


def witnesses_of(conn: Connection, document_ids: Collection[int]) -> dict[int, list[str]]:
    """The witnesses recorded for each document, in the order they were recorded."""
    if not document_ids:
        return {}
    w = tc.document_witnesses.c
    found: dict[int, list[str]] = defaultdict(list)
    for row in conn.execute(
        select(w.document_id, w.witness)
        .where(w.document_id.in_(sorted(set(document_ids))))
        .order_by(w.id)
    ):
        found[row.document_id].append(row.witness)
    return found


# --- the perpetual inventory log ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LogRow:
    movement_id: int
    occurred_at: datetime
    document_id: int
    doc_type: str
    reference: str | None
    reason_code: str | None
    lot_number: str
    from_location: str
    to_location: str
    quantity_in: int
    quantity_out: int
    balance: int  # the site's physical stock of the item after this movement
    posted_by: str
    witness: str | None


@dataclass(frozen=True, slots=True)
class PerpetualLog:
    site: Site
    item: Item
    since: datetime | None
    until: datetime | None
    opening: int
    closing: int
    rows: tuple[LogRow, ...]


@dataclass(frozen=True, slots=True)
class ControlledItem:
    item_id: int
    sku: str
    name: str
    strength: str
    base_unit: str
    dea_schedule: str | None
    cannabis_category: str | None
    on_hand: int


def _is_controlled() -> Any:
    return or_(t.items.c.dea_schedule.is_not(None), t.items.c.cannabis_category.is_not(None))


def _site_scope(org_id: int, site_id: int) -> Any:
    loc = t.locations.c
    return select(loc.id).where(
        loc.organization_id == org_id, loc.site_id == site_id, loc.is_virtual.is_(False)
    )


def _site(conn: Connection, actor: Actor, site_id: int) -> Site:
    actor.require(Permission.VIEW, site_id)
    site = repo.site_by_id(conn, actor.organization_id, site_id)
    if site is None:
        raise errors.SiteNotFound(f"no site {site_id}", site_id=site_id)
    return site


def controlled_items(rt: Runtime, actor: Actor, site_id: int) -> list[ControlledItem]:
    """The controlled items (DEA schedule or cannabis category) ever stocked at the site, with
    their physical on-hand there now, by name."""
    with rt.uow(read_only=True) as uow:
        _site(uow.connection, actor, site_id)
        b, i = t.balances.c, t.items.c
        on_hand = func.coalesce(
            func.sum(case((b.is_virtual.is_(False), b.on_hand), else_=literal(0))), 0
        )
        rows = uow.connection.execute(
            select(
                i.id,
                i.sku,
                i.name,
                i.strength,
                i.base_unit,
                i.dea_schedule,
                i.cannabis_category,
                on_hand.label("on_hand"),
            )
            .join(t.balances, b.item_id == i.id)
            .where(b.organization_id == actor.organization_id, b.site_id == site_id)
            .where(_is_controlled())
            .group_by(
                i.id, i.sku, i.name, i.strength, i.base_unit, i.dea_schedule, i.cannabis_category
            )
            .order_by(i.name, i.id)
        ).all()
    return [
        ControlledItem(
            r.id,
            r.sku,
            r.name,
            r.strength,
            r.base_unit,
            r.dea_schedule,
            r.cannabis_category,
            int(r.on_hand),
        )
        for r in rows
    ]


def perpetual_log(
    rt: Runtime,
    actor: Actor,
    site_id: int,
    item_id: int,
    since: datetime | None = None,
    until: datetime | None = None,
) -> PerpetualLog:
    """Every movement of a controlled item into or out of the site's physical stock, oldest first
    by business time, with the running balance of that stock and who posted and witnessed it.

    ``since`` is inclusive and ``until`` exclusive; the opening balance sums everything before
    ``since``. Moves between the site's own locations change no balance and are left out.
    """
    start, end = (as_utc(since) if since else None), (as_utc(until) if until else None)
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        site = _site(conn, actor, site_id)
        item = repo.items_by_id(conn, actor.organization_id, [item_id]).get(item_id)
        if item is None:
            raise errors.ItemNotFound(f"no item {item_id}", item_id=item_id)
        if not rules.is_controlled(item):
            raise errors.ValidationFailed(
                f"{item.name} is not a controlled substance", item_id=item_id
            )
        rows, opening = _log_rows(conn, actor.organization_id, site_id, item_id, start, end)
    return PerpetualLog(
        site, item, start, end, opening, rows[-1].balance if rows else opening, tuple(rows)
    )


def _log_rows(
    conn: Connection,
    org_id: int,
    site_id: int,
    item_id: int,
    since: datetime | None,
    until: datetime | None,
) -> tuple[list[LogRow], int]:
    m = t.movements
    scope = _site_scope(org_id, site_id)
    inside_to, inside_from = m.c.to_location_id.in_(scope), m.c.from_location_id.in_(scope)
    change = case(
        (and_(inside_to, ~inside_from), m.c.quantity),
        (and_(inside_from, ~inside_to), -m.c.quantity),
        else_=literal(0),
    )
    where = [m.c.organization_id == org_id, m.c.item_id == item_id, or_(inside_to, inside_from)]
    opening = 0
    if since is not None:
        opening = int(
            conn.execute(
                select(func.coalesce(func.sum(change), 0)).where(*where, m.c.occurred_at < since)
            ).scalar_one()
        )
        where.append(m.c.occurred_at >= since)
    if until is not None:
        where.append(m.c.occurred_at < until)
    source, target = aliased(t.locations), aliased(t.locations)
    found = conn.execute(
        select(
            m.c.id,
            m.c.occurred_at,
            m.c.document_id,
            t.documents.c.doc_type,
            t.documents.c.reference,
            t.documents.c.posted_by,
            m.c.reason_code,
            t.lots.c.lot_number,
            source.c.code.label("from_code"),
            target.c.code.label("to_code"),
            change.label("change"),
        )
        .join(t.documents, t.documents.c.id == m.c.document_id)
        .join(t.lots, t.lots.c.id == m.c.lot_id)
        .join(source, source.c.id == m.c.from_location_id)
        .join(target, target.c.id == m.c.to_location_id)
        .where(*where)
        .order_by(m.c.occurred_at, m.c.id)
    ).all()
    moved = [r for r in found if int(r.change) != 0]
    witnesses = witnesses_of(conn, {r.document_id for r in moved})
    rows: list[LogRow] = []
    balance = opening
    for r in moved:
        balance += int(r.change)
        rows.append(
            LogRow(
                r.id,
                r.occurred_at,
                r.document_id,
                r.doc_type,
                r.reference,
                r.reason_code,
                r.lot_number,
                r.from_code,
                r.to_code,
                max(int(r.change), 0),
                max(-int(r.change), 0),
                balance,
                r.posted_by,
                ", ".join(witnesses.get(r.document_id, ())) or None,
            )
        )
    return rows, opening


# --- the biennial inventory count sheet ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SheetLine:
    item_id: int
    sku: str
    name: str
    strength: str
    base_unit: str
    dea_schedule: str | None
    cannabis_category: str | None
    lot_id: int | None
    lot_number: str
    expiry: str | None
    system_on_hand: int  # the site's physical stock at ``as_of``
    counted: int | None = None  # blank on a sheet to count with
    counted_by: str | None = None

    @property
    def difference(self) -> int | None:
        return None if self.counted is None else self.counted - self.system_on_hand


@dataclass(frozen=True, slots=True)
class SignedResult:
    """What a count session recorded: who counted, its status, the posted adjustment with the
    user who posted it and its witnesses."""

    session_id: int
    title: str
    status: str
    created_by: str
    closed_at: datetime | None
    document_id: int | None
    posted_by: str | None
    witnesses: tuple[str, ...]
    counted_by: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class BiennialSheet:
    site: Site
    as_of: datetime
    lines: tuple[SheetLine, ...]
    result: SignedResult | None = None


def biennial_sheet(
    rt: Runtime,
    actor: Actor,
    site_id: int,
    as_of: datetime | None = None,
    *,
    count_session_id: int | None = None,
) -> BiennialSheet:
    """The site's controlled stock per item and lot at ``as_of`` (default now; with a count
    session, the instant of its last count), with a blank counted column — or, for a count session
    of the site, each lot's counted quantity (the latest round of its lines) and the signed
    result: the counters, the adjustment posted, who posted and who witnessed it."""
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        site = _site(conn, actor, site_id)
        session = None
        if count_session_id is not None:
            session = _session(conn, actor, site_id, count_session_id)
        if as_of is None:
            as_of = _counted_at(conn, session) if session is not None else rt.clock.now()
        as_of = as_utc(as_of)
        lines = _system_lines(conn, actor.organization_id, site_id, as_of)
        result = None
        if session is not None:
            counted = _latest_counts(conn, session.id)
            lines = _with_counts(conn, actor.organization_id, lines, counted)
            result = _signed_result(conn, session, counted)
    return BiennialSheet(site, as_of, tuple(lines), result)


def _session(conn: Connection, actor: Actor, site_id: int, session_id: int) -> Any:
    s = tc.count_sessions.c
    row = conn.execute(
        select(tc.count_sessions).where(
            s.id == session_id, s.organization_id == actor.organization_id, s.site_id == site_id
        )
    ).first()
    if row is None:
        raise errors.NotFound(
            f"no count session {session_id} at site {site_id}", count_session_id=session_id
        )
    return row


def _counted_at(conn: Connection, session: Any) -> datetime:
    e, cl = tc.count_entries.c, tc.count_lines.c
    last = conn.execute(
        select(func.max(e.counted_at))
        .join(tc.count_lines, cl.id == e.line_id)
        .where(cl.session_id == session.id)
    ).scalar_one_or_none()
    return last or session.closed_at or session.created_at  # type: ignore[no-any-return]


_Key = tuple[int, int | None]


def _system_lines(conn: Connection, org_id: int, site_id: int, as_of: datetime) -> list[SheetLine]:
    m, i, _lots = t.movements.c, t.items.c, t.lots.c
    scope = _site_scope(org_id, site_id)
    inside_to, inside_from = m.to_location_id.in_(scope), m.from_location_id.in_(scope)
    change = case(
        (and_(inside_to, ~inside_from), m.quantity),
        (and_(inside_from, ~inside_to), -m.quantity),
        else_=literal(0),
    )
    total = func.sum(change)
    rows = conn.execute(
        select(m.item_id, m.lot_id, total.label("on_hand"))
        .join(t.items, i.id == m.item_id)
        .where(m.organization_id == org_id, or_(inside_to, inside_from), m.occurred_at <= as_of)
        .where(_is_controlled())
        .group_by(m.item_id, m.lot_id)
        .having(total != 0)
    ).all()
    on_hand: dict[_Key, int] = {(r.item_id, r.lot_id): int(r.on_hand) for r in rows}
    return _describe(conn, org_id, on_hand)


def _describe(conn: Connection, org_id: int, on_hand: dict[_Key, int]) -> list[SheetLine]:
    items = repo.items_by_id(conn, org_id, {k[0] for k in on_hand})
    lot_ids = sorted({k[1] for k in on_hand if k[1] is not None})
    lots = {
        r.id: r
        for r in conn.execute(
            select(t.lots.c.id, t.lots.c.lot_number, t.lots.c.expiry).where(
                t.lots.c.id.in_(lot_ids)
            )
        )
    }
    lines = []
    for (item_id, lot_id), quantity in on_hand.items():
        item, lot = items[item_id], lots.get(lot_id) if lot_id is not None else None
        lines.append(
            SheetLine(
                item.id,
                item.sku,
                item.name,
                item.strength,
                item.base_unit,
                item.dea_schedule.value if item.dea_schedule else None,
                item.cannabis_category,
                lot_id,
                lot.lot_number if lot else "",
                str(lot.expiry) if lot is not None and lot.expiry else None,
                quantity,
            )
        )
    return sorted(lines, key=lambda ln: (ln.name.lower(), ln.item_id, ln.lot_number))


def _latest_counts(conn: Connection, session_id: int) -> dict[_Key, tuple[int, set[str]]]:
    """Per (item, lot): the sum over the session's lines of each line's latest round, and who
    counted those rounds."""
    e, cl = tc.count_entries.c, tc.count_lines.c
    rows = conn.execute(
        select(cl.id, cl.item_id, cl.lot_id, e.round, e.counted, e.counted_by)
        .join(tc.count_entries, e.line_id == cl.id)
        .where(cl.session_id == session_id)
        .order_by(cl.id, e.round)
    ).all()
    latest: dict[int, Any] = {}
    for r in rows:
        latest[r.id] = r  # ordered by round: the last one wins
    counted: dict[_Key, tuple[int, set[str]]] = {}
    for r in latest.values():
        quantity, who = counted.get((r.item_id, r.lot_id), (0, set()))
        counted[(r.item_id, r.lot_id)] = (quantity + int(r.counted), who | {r.counted_by})
    return counted


def _with_counts(
    conn: Connection,
    org_id: int,
    lines: list[SheetLine],
    counted: dict[_Key, tuple[int, set[str]]],
) -> list[SheetLine]:
    known = {(ln.item_id, ln.lot_id) for ln in lines}
    extra = _describe(conn, org_id, {k: 0 for k in counted if k not in known})
    result = []
    for line in [*lines, *extra]:
        found = counted.get((line.item_id, line.lot_id))
        if found is None:
            result.append(line)
            continue
        quantity, who = found
        result.append(_counted(line, quantity, ", ".join(sorted(who))))
    return result


def _counted(line: SheetLine, quantity: int, who: str) -> SheetLine:
    return replace(line, counted=quantity, counted_by=who)


def _signed_result(
    conn: Connection, session: Any, counted: dict[_Key, tuple[int, set[str]]]
) -> SignedResult:
    posted_by = None
    witnesses: list[str] = []
    if session.document_id is not None:
        posted_by = conn.execute(
            select(t.documents.c.posted_by).where(t.documents.c.id == session.document_id)
        ).scalar_one_or_none()
        witnesses = witnesses_of(conn, [session.document_id]).get(session.document_id, [])
    counters = sorted({name for _, who in counted.values() for name in who})
    return SignedResult(
        session.id, session.title, session.status, session.created_by, session.closed_at,
        session.document_id, posted_by, tuple(witnesses), tuple(counters),
    )  # fmt: skip


# --- discrepancies for the dashboard ------------------------------------------------------------

OPEN_COUNT_STATUSES = ("recount", "investigating", "approval")
DISCREPANCY_DAYS = 30


@dataclass(frozen=True, slots=True)
class Discrepancy:
    kind: str  # loss (an adjustment or destruction) | count (a count line still open)
    occurred_at: datetime | None
    item_id: int
    item_name: str
    lot_number: str
    quantity: int | None  # units lost; None for a count line
    detail: str  # reason code, or the count line's status
    document_id: int | None = None
    count_session_id: int | None = None


def discrepancies(rt: Runtime, actor: Actor, site_id: int, *, limit: int = 20) -> list[Discrepancy]:
    """Losses of controlled items at the site in the last 30 days (adjustments and destructions
    out of its physical stock) and count lines of controlled items still in recount,
    investigation or approval, newest first."""
    actor.require(Permission.VIEW, site_id)
    since = rt.clock.now() - timedelta(days=DISCREPANCY_DAYS)
    with rt.uow(read_only=True) as uow:
        losses = _losses(uow.connection, actor.organization_id, site_id, since, limit)
        counts = _open_counts(uow.connection, actor.organization_id, site_id, limit)
    return [*counts, *losses][:limit]


def _losses(
    conn: Connection, org_id: int, site_id: int, since: datetime, limit: int
) -> list[Discrepancy]:
    m, d, i = t.movements.c, t.documents.c, t.items.c
    rows = conn.execute(
        select(
            m.document_id,
            m.occurred_at,
            m.item_id,
            i.name,
            t.lots.c.lot_number,
            m.quantity,
            func.coalesce(m.reason_code, d.reason_code, d.doc_type).label("why"),
        )
        .join(t.documents, d.id == m.document_id)
        .join(t.items, i.id == m.item_id)
        .join(t.lots, t.lots.c.id == m.lot_id)
        .where(
            d.organization_id == org_id,
            d.site_id == site_id,
            d.doc_type.in_([DocumentType.ADJUSTMENT.value, DocumentType.DESTRUCTION.value]),
            m.occurred_at >= since,
            m.from_location_id.in_(_site_scope(org_id, site_id)),
            _is_controlled(),
        )
        .order_by(m.occurred_at.desc(), m.id.desc())
        .limit(limit)
    ).all()
    return [
        Discrepancy(
            "loss",
            r.occurred_at,
            r.item_id,
            r.name,
            r.lot_number,
            int(r.quantity),
            r.why,
            document_id=r.document_id,
        )
        for r in rows
    ]


def _open_counts(conn: Connection, org_id: int, site_id: int, limit: int) -> list[Discrepancy]:
    cl, s, i = tc.count_lines.c, tc.count_sessions.c, t.items.c
    lot = aliased(t.lots)
    rows = conn.execute(
        select(cl.session_id, cl.item_id, i.name, lot.c.lot_number, cl.status, s.created_at)
        .join(tc.count_sessions, s.id == cl.session_id)
        .join(t.items, i.id == cl.item_id)
        .outerjoin(lot, lot.c.id == cl.lot_id)
        .where(
            s.organization_id == org_id,
            s.site_id == site_id,
            cl.status.in_(OPEN_COUNT_STATUSES),
            _is_controlled(),
        )
        .order_by(s.created_at.desc(), cl.id)
        .limit(limit)
    ).all()
    return [
        Discrepancy(
            "count",
            r.created_at,
            r.item_id,
            r.name,
            r.lot_number or "",
            None,
            r.status,
            count_session_id=r.session_id,
        )
        for r in rows
    ]
