"""Cycle counts: programs that choose what to count, blind and scanned counting, and the variance
workflow (recount by another user, investigation, approval by a third) ending in an adjustment.

Who may do what:

- planning a count and approving its adjustments needs the right to adjust (pharmacist, manager,
  admin); counting needs the right to move stock (whoever handles the shelves); investigating a
  variance needs the right to investigate;
- a recount is made by someone who did not count the line before, and the approver is neither a
  counter of the line nor its investigator (``domain.counts``);
- variances within tolerance are settled at once by a ``COUNT`` adjustment posted for the
  organization (``system`` as poster, the counter named in the note): the tolerance policy is the
  approval.

The variance of a round is judged when the round is submitted, against the balance of the line's
location, item and lot as of the moment it was counted (``domain.counts``). A blind count shows
the system quantity to nobody until the count is submitted, and never to the counter while a
recount is pending.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Row
from sqlalchemy.exc import IntegrityError

from rxledger.adapters import approvals_repository as ar
from rxledger.adapters import counts_repository as cr
from rxledger.adapters import repository as repo
from rxledger.domain import errors
from rxledger.domain import scanning as scanning_rules
from rxledger.domain.approvals import ADJUSTMENT, ApprovalPolicy, check_decider, required
from rxledger.domain.counts import (
    ANY_PROGRAM,
    PROGRAMS,
    CountPolicy,
    CountStatus,
    LineStatus,
    Tolerance,
    after_count,
    check_approver,
    check_recounter,
    check_tolerance,
    require_line_status,
    variance,
    with_defaults,
)
from rxledger.domain.permissions import ALL_SITES, ROLE_PERMISSIONS, Actor, Permission
from rxledger.services import audit, replenishment, stock
from rxledger.services.controlled import Witness
from rxledger.services.posting import AfterPosting, Header
from rxledger.services.queries import HistoryRow, item_history, visible_site_ids
from rxledger.services.runtime import Runtime
from rxledger.services.scanning import match_scan, require_item

MAX_LINES = 2000
COUNT_REASON = "COUNT"
COUNT_LINE = cr.COUNT_LINE_SUBJECT  # the approvals row of a line awaiting approval
APPROVE_COUNT_ADJUSTMENT = "approve_count_adjustment"


@dataclass(frozen=True, slots=True)
class NewCount:
    site_id: int
    title: str
    program: str = "manual"
    location_ids: Sequence[int] = ()
    item_ids: Sequence[int] = ()
    category: str | None = None  # program "category": a DEA schedule, cannabis category or form
    blind: bool = True
    freeze: bool = False
    assigned_to: str | None = None


@dataclass(frozen=True, slots=True)
class EntryView:
    round: int
    counted: int
    counted_by: str
    counted_at: datetime
    system_at_count: int | None  # hidden while blind
    variance: int | None


@dataclass(frozen=True, slots=True)
class LineView:
    id: int
    line_no: int
    location_id: int
    location_code: str
    item_id: int
    sku: str
    item_name: str
    strength: str
    base_unit: str
    lot_id: int | None
    lot_number: str | None
    expiry: date | None
    controlled: bool
    status: str
    tally: int | None
    tally_by: str | None
    system_quantity: int | None  # the ledger's on-hand now; hidden while blind
    entries: tuple[EntryView, ...]
    reason_code: str | None
    findings: str | None
    investigated_by: str | None
    approved_by: str | None
    document_id: int | None

    @property
    def counters(self) -> set[str]:
        return {e.counted_by for e in self.entries}

    @property
    def variance(self) -> int | None:
        return self.entries[-1].variance if self.entries else None


@dataclass(frozen=True, slots=True)
class CountView:
    id: int
    site_id: int
    program: str
    title: str
    blind: bool
    freeze: bool
    status: str
    created_by: str
    created_at: datetime
    assigned_to: str | None
    lines: tuple[LineView, ...] = field(default_factory=tuple)
    shows_system: bool = False

    @property
    def counted(self) -> int:
        return sum(1 for line in self.lines if line.tally is not None or line.entries)


# --- planning -----------------------------------------------------------------------------------


def create_count(rt: Runtime, actor: Actor, spec: NewCount) -> CountView:
    """A count of the site's stock chosen by the program, in walking order (location, item,
    expiry): ``manual`` (locations and/or items), ``category`` (a DEA schedule, cannabis category
    or dosage form), ``abc`` (the items due by class: A monthly, B quarterly, C twice a year),
    ``risk`` (low stock, recent variances and high value first) or ``biennial`` (every
    controlled substance)."""
    actor.require(Permission.ADJUST, spec.site_id)
    if spec.program not in PROGRAMS:
        raise errors.ValidationFailed(f"the program is one of {', '.join(PROGRAMS)}")
    if not spec.title.strip():
        raise errors.ValidationFailed("a count has a title", field="title")
    with rt.uow(read_only=True) as uow:
        if not rt.references.site_exists(uow.connection, actor.organization_id, spec.site_id):
            raise errors.SiteNotFound(f"no site {spec.site_id}", site_id=spec.site_id)
    classes = _computed_classes(rt, actor, spec.site_id)
    with rt.uow(read_only=True) as uow:
        rows = _chosen(
            uow.connection, actor, spec, rt.clock.now(), classes if spec.program == "abc" else None
        )
        if spec.freeze and rows:
            frozen = cr.frozen_locations(
                uow.connection,
                actor.organization_id,
                spec.site_id,
                {r.location_id for r in rows},
            )
            if frozen:
                location, count_id = next(iter(sorted(frozen.items())))
                raise errors.LocationFrozen(
                    f"location {location} is already frozen by count {count_id}",
                    location_id=location,
                    count_id=count_id,
                )
        if not rows:
            raise errors.ValidationFailed("nothing to count: no stock matches the program")
    return _create_from_rows(
        rt,
        actor,
        spec.site_id,
        spec.title.strip(),
        rows,
        spec.assigned_to,
        spec.blind,
        program=spec.program,
        freeze=spec.freeze,
        classes=classes,
    )


def _chosen(
    conn: Connection,
    actor: Actor,
    spec: NewCount,
    now: datetime,
    classes: dict[int, str] | None = None,
) -> list[Row[Any]]:
    rows = cr.stock_rows(
        conn,
        actor.organization_id,
        spec.site_id,
        location_ids=spec.location_ids,
        item_ids=spec.item_ids,
    )
    if spec.program == "category":
        wanted = (spec.category or "").strip().lower()
        if not wanted:
            raise errors.ValidationFailed("a category count names its category", field="category")
        rows = [
            r
            for r in rows
            if wanted
            in {
                (r.dea_schedule or "").lower(),
                (r.cannabis_category or "").lower(),
                (r.dosage_form or "").lower(),
            }
        ]
    elif spec.program == "biennial":
        rows = [r for r in rows if r.dea_schedule or r.cannabis_category]
    elif spec.program == "risk":
        rows = _by_risk(conn, rows, now)
    elif spec.program == "abc":
        rows = _due_by_class(conn, rows, now, classes or {})
    return rows[:MAX_LINES]


def _by_risk(conn: Connection, rows: list[Row[Any]], now: datetime) -> list[Row[Any]]:
    """The lines where a miscount costs most, at most 50: items with a count variance in the last
    90 days first, then low on-hand (10 or fewer), then the highest stock value."""
    varied = cr.items_with_recent_variance(conn, {r.item_id for r in rows}, now - LOOK_BACK)
    ranked = sorted(
        rows,
        key=lambda r: (
            r.item_id not in varied,
            r.on_hand > 10,
            -(Decimal(r.standard_cost) * r.on_hand),
        ),
    )
    chosen = {(r.location_id, r.item_id, r.lot_id) for r in ranked[:50]}
    return [r for r in rows if (r.location_id, r.item_id, r.lot_id) in chosen]


FREQUENCY_DAYS = {"A": 30, "B": 91, "C": 182}


def _due_by_class(
    conn: Connection, rows: list[Row[Any]], now: datetime, classes: dict[int, str]
) -> list[Row[Any]]:
    """A is counted monthly, B quarterly, C twice a year, since its last settled count. The class
    is the item's computed ABC class at the site (consumption value over the last 52 weeks); an
    item without one is ranked by its stock value at cost (80/15/5 of the site's value)."""
    value = {r.item_id: Decimal(0) for r in rows}
    for r in rows:
        value[r.item_id] += Decimal(r.standard_cost) * r.on_hand
    total = sum(value.values()) or Decimal(1)
    running, by_value = Decimal(0), {}
    for item, v in sorted(value.items(), key=lambda kv: -kv[1]):
        share = running / total
        by_value[item] = "A" if share < Decimal("0.8") else "B" if share < Decimal("0.95") else "C"
        running += v
    due = []
    for r in rows:
        grade = classes.get(r.item_id) or by_value[r.item_id]
        last = cr.last_settled_count(conn, r.location_id, r.item_id, r.lot_id, before_line=0)
        if last is None or now - last >= timedelta(days=FREQUENCY_DAYS[grade]):
            due.append(r)
    return due


def _computed_classes(rt: Runtime, actor: Actor, site_id: int) -> dict[int, str]:
    """The site's ABC classes by consumption value over the last 52 weeks."""
    frame = replenishment.classify_items(rt, actor, site_id=site_id, weeks=52)
    return {int(i): str(c) for i, c in zip(frame["item_id"], frame["abc"], strict=True)}


# --- reading ------------------------------------------------------------------------------------


def get_count(rt: Runtime, actor: Actor, count_id: int) -> CountView:
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        row = _session(conn, actor, count_id)
        return _view(conn, actor, row)


def list_counts(
    rt: Runtime, actor: Actor, *, site_id: int | None = None, status: str | None = None
) -> list[CountView]:
    if site_id is not None:
        actor.require(Permission.VIEW, site_id)
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        sites = {site_id} if site_id is not None else visible_site_ids(conn, actor)
        rows = cr.sessions(conn, actor.organization_id, sites, status, 100)
        return [_summary(r) for r in rows]


def _session(conn: Connection, actor: Actor, count_id: int, *, lock: bool = False) -> Row[Any]:
    row = cr.session(conn, actor.organization_id, count_id, lock=lock)
    if row is None:
        raise errors.NotFound(f"no count {count_id}", count_id=count_id)
    actor.require(Permission.VIEW, row.site_id)
    return row


def _summary(row: Row[Any]) -> CountView:
    return CountView(
        id=row.id,
        site_id=row.site_id,
        program=row.program,
        title=row.title,
        blind=bool(row.blind),
        freeze=bool(row.freeze),
        status=row.status,
        created_by=row.created_by,
        created_at=row.created_at,
        assigned_to=row.assigned_to,
    )


def _view(conn: Connection, actor: Actor, row: Row[Any]) -> CountView:
    lines = cr.lines(conn, row.id)
    entries: dict[int, list[Row[Any]]] = {}
    for e in cr.entries(conn, [line.id for line in lines]):
        entries.setdefault(e.line_id, []).append(e)
    shows = _shows_system(actor, row)
    system = cr.on_hand_now(conn, [line.id for line in lines]) if shows else {}
    views = tuple(
        LineView(
            id=line.id,
            line_no=line.line_no,
            location_id=line.location_id,
            location_code=line.location_code,
            item_id=line.item_id,
            sku=line.sku,
            item_name=line.item_name,
            strength=line.strength,
            base_unit=line.base_unit,
            lot_id=line.lot_id,
            lot_number=line.lot_number,
            expiry=line.expiry,
            controlled=bool(line.dea_schedule or line.cannabis_category),
            status=line.status,
            tally=line.tally,
            tally_by=line.tally_by,
            system_quantity=system.get(line.id),
            entries=tuple(
                EntryView(
                    e.round,
                    e.counted,
                    e.counted_by,
                    e.counted_at,
                    e.system_at_count if shows else None,
                    variance(e.counted, e.system_at_count) if shows else None,
                )
                for e in entries.get(line.id, [])
            ),
            reason_code=line.reason_code,
            findings=line.findings,
            investigated_by=line.investigated_by,
            approved_by=line.approved_by,
            document_id=line.document_id,
        )
        for line in lines
    )
    return replace(_summary(row), lines=views, shows_system=shows)


def _shows_system(actor: Actor, row: Row[Any]) -> bool:
    """System quantities are shown once a count is submitted, and then only to those who plan and
    settle counts; a count that is not blind shows them to everyone."""
    if not row.blind:
        return True
    return row.status != CountStatus.OPEN.value and actor.can(Permission.ADJUST, row.site_id)


# --- counting -----------------------------------------------------------------------------------


def set_tally(
    rt: Runtime, actor: Actor, line_id: int, quantity: int, *, add: bool = False
) -> CountView:
    """Type a line's count (``add``: add to it, as a scan does); 0 confirms an empty bin."""
    if quantity < 0 or (add and quantity == 0):
        raise errors.InvalidQuantity("a count is a whole number of base units, at least 0")
    with rt.uow() as uow:
        conn = uow.connection
        line = _line(conn, actor, line_id, lock=True)
        session = _session(conn, actor, line.session_id, lock=True)
        _may_count(conn, actor, session, line)
        tally = (line.tally or 0) + quantity if add else quantity
        values: dict[str, Any] = {
            "tally": tally,
            "tally_by": actor.username,
            "tally_at": rt.clock.now(),
        }
        if not add:
            values["tally_serials"] = None  # a typed count replaces what was scanned
        cr.update_line(conn, line_id, values)
        uow.commit()
    return get_count(rt, actor, session.id)


def scan(
    rt: Runtime,
    actor: Actor,
    count_id: int,
    code: str,
    *,
    location_id: int | None = None,
    quantity: int | None = None,
) -> CountView:
    """A scanned package adds its base units (or ``quantity``) to the line of its item and lot
    (at ``location_id`` when the item is on the list in several places); a lot or item found that
    the list lacks gets a line of its own."""
    parsed = scanning_rules.parse_scan(code, rt.clock.now().date())
    with rt.uow() as uow:
        conn = uow.connection
        session = _session(conn, actor, count_id, lock=True)
        found = match_scan(conn, actor.organization_id, parsed)
        item = require_item(found)
        units = (
            quantity if quantity is not None else (found.package.base_units if found.package else 1)
        )
        lot_id = _lot_of(conn, item.id, parsed.lot)
        lines = cr.lines(conn, count_id)
        matches = [
            line
            for line in lines
            if line.item_id == item.id
            and (lot_id is None or line.lot_id == lot_id)
            and (location_id is None or line.location_id == location_id)
        ]
        if matches:
            line = matches[0]
        else:
            line = _new_line(conn, actor, session, lines, item.id, lot_id, location_id)
        _may_count(conn, actor, session, line)
        serials = (line.tally_serials or "").split()
        if parsed.serial:
            if parsed.serial in serials:
                raise errors.ValidationFailed(
                    f"serial {parsed.serial} is already counted on this line",
                    serial=parsed.serial,
                )
            serials.append(parsed.serial)
        cr.update_line(
            conn,
            line.id,
            {
                "tally": (line.tally or 0) + units,
                "tally_by": actor.username,
                "tally_at": rt.clock.now(),
                "tally_serials": "\n".join(serials) or None,
            },
        )
        uow.commit()
    return get_count(rt, actor, count_id)


def _lot_of(conn: Connection, item_id: int, lot_number: str | None) -> int | None:
    if not lot_number:
        return None
    lot = repo.lot_by_number(conn, item_id, lot_number)
    if lot is None:
        raise errors.LotNotFound(
            f"lot {lot_number} of this item is not in the ledger: count it under the lot on file "
            "or investigate",
            lot=lot_number,
        )
    return lot.id


def _new_line(
    conn: Connection,
    actor: Actor,
    session: Row[Any],
    lines: list[Row[Any]],
    item_id: int,
    lot_id: int | None,
    location_id: int | None,
) -> Row[Any]:
    if lot_id is None or location_id is None:
        raise errors.ValidationFailed(
            "this product is not on the count list: scan its lot and name the location"
        )
    cr.insert_lines(
        conn,
        [
            {
                "organization_id": actor.organization_id,
                "session_id": session.id,
                "line_no": max((line.line_no for line in lines), default=0) + 1,
                "location_id": location_id,
                "item_id": item_id,
                "lot_id": lot_id,
                "status": LineStatus.OPEN.value,
                # another lot of a listed item keeps its class; a product found that was not on
                # the list is judged by the strictest class (its class is not computed per scan)
                "item_class": next((x.item_class for x in lines if x.item_id == item_id), "A"),
            }
        ],
    )
    return cr.lines(conn, session.id)[-1]


def _line(conn: Connection, actor: Actor, line_id: int, *, lock: bool = False) -> Row[Any]:
    line = cr.line(conn, actor.organization_id, line_id, lock=lock)
    if line is None:
        raise errors.NotFound(f"no count line {line_id}", line_id=line_id)
    return line


def _may_count(conn: Connection, actor: Actor, session: Row[Any], line: Row[Any]) -> None:
    actor.require(Permission.MOVE, session.site_id)
    status = LineStatus(line.status)
    if status is LineStatus.RECOUNT:
        check_recounter({e.counted_by for e in cr.entries(conn, [line.id])}, actor.username)
        return
    if session.status != CountStatus.OPEN.value:
        raise errors.StatusConflict(f"count {session.id} is {session.status}")
    require_line_status(status, LineStatus.OPEN)


# --- submitting and judging ---------------------------------------------------------------------


def submit(
    rt: Runtime, actor: Actor, count_id: int, policy: CountPolicy | None = None
) -> CountView:
    """Freeze round 1 of every line (each must have a count; 0 confirms an empty bin) and judge
    each variance against the balance when it was counted, under the organization's tolerances
    (``policy`` replaces them)."""
    settle: list[tuple[Row[Any], int]] = []
    with rt.uow() as uow:
        conn = uow.connection
        session = _session(conn, actor, count_id, lock=True)
        actor.require(Permission.MOVE, session.site_id)
        if session.status != CountStatus.OPEN.value:
            raise errors.StatusConflict(f"count {count_id} is {session.status}")
        lines = cr.lines(conn, count_id)
        missing = [line.line_no for line in lines if line.tally is None]
        if missing:
            raise errors.ValidationFailed(
                f"lines {', '.join(map(str, missing[:20]))} are not counted: count them, or "
                "confirm 0 for an empty bin",
                lines=missing,
            )
        watermark = cr.last_movement_id(conn, actor.organization_id)
        rules = policy or _policy(conn, actor.organization_id)
        held_from = _Review(ar.policies(conn, actor.organization_id), session.site_id)
        for line in lines:
            found = _judge(conn, actor, line, 1, watermark, rules, session.program, held_from)
            if found is not None:
                settle.append((line, found))
        cr.update_session(conn, count_id, {"status": CountStatus.SUBMITTED.value})
        uow.commit()
    for line, delta in settle:
        _post_accepted(rt, actor, count_id, line, delta)
    _close_when_settled(rt, actor, count_id)
    return get_count(rt, actor, count_id)


def submit_recount(
    rt: Runtime, actor: Actor, line_id: int, policy: CountPolicy | None = None
) -> CountView:
    """Freeze the recount (round 2) of a line; it is judged like the first."""
    with rt.uow() as uow:
        conn = uow.connection
        line = _line(conn, actor, line_id, lock=True)
        session = _session(conn, actor, line.session_id, lock=True)
        require_line_status(LineStatus(line.status), LineStatus.RECOUNT)
        actor.require(Permission.MOVE, session.site_id)
        if line.tally is None or line.tally_by is None:
            raise errors.ValidationFailed("count the line again before submitting the recount")
        check_recounter({e.counted_by for e in cr.entries(conn, [line.id])}, line.tally_by)
        full = next(x for x in cr.lines(conn, session.id) if x.id == line_id)
        watermark = cr.last_movement_id(conn, actor.organization_id)
        rules = policy or _policy(conn, actor.organization_id)
        held_from = _Review(ar.policies(conn, actor.organization_id), session.site_id)
        delta = _judge(conn, actor, full, 2, watermark, rules, session.program, held_from)
        uow.commit()
    if delta is not None:
        _post_accepted(rt, actor, session.id, full, delta)
    _close_when_settled(rt, actor, session.id)
    return get_count(rt, actor, session.id)


@dataclass(frozen=True, slots=True)
class _Review:
    """The organization's approval policies at a site: a difference the adjustment policy would
    hold for approval is never accepted by tolerance alone (it would post as the system)."""

    policies: Sequence[ApprovalPolicy]
    site_id: int

    def needed(self, difference: int, unit_cost: Decimal) -> bool:
        units = abs(difference)
        value = (units * unit_cost).quantize(Decimal("0.0001"))
        return required(ADJUSTMENT, value, units, self.policies, site_id=self.site_id) is not None


def _judge(
    conn: Connection,
    actor: Actor,
    line: Row[Any],
    round_no: int,
    watermark: int,
    rules: CountPolicy,
    program: str = ANY_PROGRAM,
    review: _Review | None = None,
) -> int | None:
    """Record the round's entry and move the line on; the delta to post when it is accepted with
    a difference, else None."""
    counted_at = line.tally_at
    system = cr.balance_as_of(
        conn, actor.organization_id, line.location_id, line.item_id, line.lot_id, counted_at
    )
    cr.insert_entry(
        conn,
        {
            "organization_id": actor.organization_id,
            "line_id": line.id,
            "round": round_no,
            "counted": line.tally,
            "counted_by": line.tally_by,
            "counted_at": counted_at,
            "system_at_count": system,
            "movement_watermark": watermark,
            "serials": line.tally_serials,
        },
    )
    diff = variance(int(line.tally), system)
    # the class kept when the count was planned; a line without one is judged as C
    rule = rules.rule_for(
        controlled=bool(line.dea_schedule or line.cannabis_category),
        abc=line.item_class,
        program=program,
    )
    status = after_count(round_no, diff, Decimal(line.standard_cost), rule)
    accepted = status is LineStatus.ACCEPTED and diff != 0
    if accepted and review is not None and review.needed(diff, Decimal(line.standard_cost)):
        status = LineStatus.RECOUNT if round_no == 1 else LineStatus.INVESTIGATING
    cr.update_line(
        conn,
        line.id,
        {"status": status.value, "tally": None, "tally_by": None, "tally_serials": None},
    )
    if status is LineStatus.ACCEPTED and diff != 0:
        return diff
    return None


def _post_accepted(rt: Runtime, actor: Actor, count_id: int, line: Row[Any], delta: int) -> None:
    """A variance within tolerance: the organization's COUNT adjustment, naming the counter."""
    system = Actor.system(actor.organization_id)
    document = _adjust(
        rt,
        system,
        line,
        delta,
        COUNT_REASON,
        f"count {count_id} line {line.line_no}, within tolerance; counted by {actor.username}",
        key=f"count-line:{line.id}:accepted",
        count_id=count_id,
    )
    with rt.uow() as uow:
        cr.update_line(uow.connection, line.id, {"document_id": document})
        uow.commit()


def _adjust(
    rt: Runtime,
    actor: Actor,
    line: Row[Any],
    delta: int,
    reason: str,
    note: str,
    *,
    key: str,
    count_id: int,
    witness: Witness | None = None,
    on_posted: AfterPosting | None = None,
) -> int:
    session_site = _site_of(rt, actor, count_id)
    command = stock.Adjust(
        session_site,
        [
            stock.AdjustLine(
                line.item_id, line.location_id, line.lot_id, reason, delta=delta, note=note[:500]
            )
        ],
        Header(reference=f"COUNT-{count_id}", reason_code=reason, idempotency_key=key),
        witness=witness,
        on_posted=on_posted,
    )
    return stock.adjust(rt, actor, command).id


def _site_of(rt: Runtime, actor: Actor, count_id: int) -> int:
    with rt.uow(read_only=True) as uow:
        return int(_session(uow.connection, Actor.system(actor.organization_id), count_id).site_id)


def _close_when_settled(rt: Runtime, actor: Actor, count_id: int) -> None:
    with rt.uow() as uow:
        conn = uow.connection
        lines = cr.lines(conn, count_id)
        if lines and all(LineStatus(line.status).settled for line in lines):
            cr.update_session(
                conn,
                count_id,
                {"status": CountStatus.CLOSED.value, "closed_at": rt.clock.now()},
            )
            uow.commit()


# --- investigating and approving ----------------------------------------------------------------


def investigate(
    rt: Runtime, actor: Actor, line_id: int, *, findings: str, reason_code: str
) -> CountView:
    """The investigator's findings and reason code: the line waits for approval, and an
    ``approvals`` row (subject ``count_line``) puts it in the approvals inbox."""
    if not findings.strip():
        raise errors.ValidationFailed("write what the investigation found", field="findings")
    now = rt.clock.now()
    with rt.uow() as uow:
        conn = uow.connection
        line = _line(conn, actor, line_id, lock=True)
        session = _session(conn, actor, line.session_id)
        actor.require(Permission.INVESTIGATE, session.site_id)
        require_line_status(LineStatus(line.status), LineStatus.INVESTIGATING)
        if reason_code not in repo.active_reason_codes(conn, actor.organization_id):
            raise errors.UnknownReasonCode(f"no reason code {reason_code}", code=reason_code)
        cr.update_line(
            conn,
            line_id,
            {
                "status": LineStatus.APPROVAL.value,
                "findings": findings.strip()[:4000],
                "reason_code": reason_code,
                "investigated_by": actor.username,
            },
        )
        full = next(x for x in cr.lines(conn, session.id) if x.id == line_id)
        last = cr.entries(conn, [line_id])[-1]
        diff = variance(last.counted, last.system_at_count)
        value = (abs(diff) * Decimal(full.standard_cost)).quantize(Decimal("0.0001"))
        note = (
            f"count {session.id} line {full.line_no}: {full.item_name} {full.strength}"
            f"{f' lot {full.lot_number}' if full.lot_number else ''} at {full.location_code}, "
            f"variance {diff:+d} {full.base_unit} (counted {last.counted}, ledger "
            f"{last.system_at_count}); {reason_code}: {findings.strip()}"
        )
        approval_id = cr.insert_line_approval(
            conn,
            {
                "organization_id": actor.organization_id,
                "site_id": session.site_id,
                "subject_type": COUNT_LINE,
                "subject_id": line_id,
                "action": APPROVE_COUNT_ADJUSTMENT,
                "value": value,
                "quantity": abs(diff),
                "requested_by": actor.username,
                "requested_at": now,
                "status": "pending",
                "note": note[:2000],
            },
        )
        audit.record(
            conn,
            actor,
            action="investigate count line",
            subject_type=COUNT_LINE,
            subject_id=line_id,
            site_id=session.site_id,
            before={"status": LineStatus.INVESTIGATING.value},
            after={
                "status": LineStatus.APPROVAL.value,
                "reason_code": reason_code,
                "variance": diff,
                "value": value,
                "approval": approval_id,
            },
            at=now,
        )
        uow.commit()
    return get_count(rt, actor, session.id)


def approve(
    rt: Runtime, actor: Actor, line_id: int, *, witness: Any = None, note: str | None = None
) -> CountView:
    """Approve the investigated variance: the adjustment posts with the reason and findings. The
    approver may adjust, and is neither a counter of the line nor its investigator. The line, its
    approvals row and the audit row are settled in the posting's own transaction, under
    conditional updates: of two deciders racing, one wins and the other gets STATUS_CONFLICT."""
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        line, session, entries = _awaiting_approval(conn, actor, line_id)
        full = next(x for x in cr.lines(conn, session.id) if x.id == line_id)
        approval = cr.pending_line_approval(conn, actor.organization_id, line_id)
    last = entries[-1]
    delta = variance(last.counted, last.system_at_count)
    text = (note or "").strip()
    now = rt.clock.now()

    def settle(conn: Connection, document_id: int | None) -> None:
        values = {
            "status": LineStatus.ADJUSTED.value,
            "approved_by": actor.username,
            "document_id": document_id,
        }
        if not cr.move_line(conn, line_id, LineStatus.APPROVAL.value, values):
            raise errors.StatusConflict(f"count line {line_id} was decided meanwhile")
        _decide_approval(conn, actor, approval, True, text, now)
        audit.record(
            conn,
            actor,
            action="approve count adjustment",
            subject_type=COUNT_LINE,
            subject_id=line_id,
            site_id=session.site_id,
            before={"status": LineStatus.APPROVAL.value},
            after={
                "status": LineStatus.ADJUSTED.value,
                "variance": delta,
                "document": document_id,
                "approval": None if approval is None else approval.id,
                "note": text or None,
            },
            at=now,
        )

    if delta != 0:
        _adjust(
            rt,
            actor,
            full,
            delta,
            line.reason_code,
            f"count {session.id} line {line.line_no}: {line.findings}",
            key=f"count-line:{line.id}:approved",
            count_id=session.id,
            witness=witness,
            on_posted=lambda conn, document_id, _movements: settle(conn, document_id),
        )
    else:
        with rt.uow() as uow:
            settle(uow.connection, None)
            uow.commit()
    _close_when_settled(rt, actor, session.id)
    return get_count(rt, actor, session.id)


def reject_adjustment(rt: Runtime, actor: Actor, line_id: int, note: str) -> CountView:
    """Refuse the investigated adjustment (a reason is required): nothing posts and the line goes
    back to ``investigating`` for new findings; its counts stand (a third round is not a thing).
    The rejecter is held to the approver's rules."""
    text = (note or "").strip()
    if not text:
        raise errors.ValidationFailed("a rejection needs a reason", field="note")
    now = rt.clock.now()
    with rt.uow() as uow:
        conn = uow.connection
        _line(conn, actor, line_id, lock=True)
        _, session, _ = _awaiting_approval(conn, actor, line_id)
        approval = cr.pending_line_approval(conn, actor.organization_id, line_id)
        if not cr.move_line(
            conn, line_id, LineStatus.APPROVAL.value, {"status": LineStatus.INVESTIGATING.value}
        ):
            raise errors.StatusConflict(f"count line {line_id} was decided meanwhile")
        _decide_approval(conn, actor, approval, False, text, now)
        audit.record(
            conn,
            actor,
            action="reject count adjustment",
            subject_type=COUNT_LINE,
            subject_id=line_id,
            site_id=session.site_id,
            before={"status": LineStatus.APPROVAL.value},
            after={
                "status": LineStatus.INVESTIGATING.value,
                "approval": None if approval is None else approval.id,
                "note": text,
            },
            at=now,
        )
        uow.commit()
    return get_count(rt, actor, session.id)


def _awaiting_approval(
    conn: Connection, actor: Actor, line_id: int
) -> tuple[Row[Any], Row[Any], list[Row[Any]]]:
    """The line, its count and its entries, once the actor may decide it: they may adjust at the
    site, the line waits for approval, and they neither counted nor investigated it."""
    line = _line(conn, actor, line_id)
    session = _session(conn, actor, line.session_id)
    actor.require(Permission.ADJUST, session.site_id)
    require_line_status(LineStatus(line.status), LineStatus.APPROVAL)
    entries = cr.entries(conn, [line.id])
    check_approver({e.counted_by for e in entries}, line.investigated_by, actor.username)
    _check_adjustment_policy(conn, actor, session, line, entries)
    return line, session, entries


def _check_adjustment_policy(
    conn: Connection, actor: Actor, session: Row[Any], line: Row[Any], entries: list[Row[Any]]
) -> None:
    """A count adjustment is an adjustment: at or above the organization's adjustment policy its
    approver also holds a role the policy names (by default a pharmacist from 250.00 at cost)."""
    last = max(entries, key=lambda e: e.round)
    units = abs(variance(last.counted, last.system_at_count))
    if not units:
        return
    # valued as its approvals row was when investigated (what the inbox judged), else at cost now
    asked = cr.pending_line_approval(conn, actor.organization_id, line.id)
    if asked is not None and asked.value is not None:
        value = Decimal(asked.value)
    else:
        item = repo.items_by_id(conn, actor.organization_id, {line.item_id})[line.item_id]
        value = (Decimal(units) * item.standard_cost).quantize(Decimal("0.0001"))
    policies = ar.policies(conn, actor.organization_id)
    policy = required(ADJUSTMENT, value, units, policies, site_id=session.site_id)
    if policy is not None:
        check_decider((), actor.username, actor.roles_at(session.site_id), policy)


def _decide_approval(
    conn: Connection,
    actor: Actor,
    approval: Row[Any] | None,
    approve: bool,
    text: str,
    now: datetime,
) -> None:
    """Mark the line's pending approvals row decided (a line sent for approval before approvals
    rows were kept has none)."""
    if approval is None:
        return
    said = f"{actor.username}: {text}" if text else None
    values = {
        "status": "approved" if approve else "rejected",
        "decided_by": actor.username,
        "decided_at": now,
        "note": (f"{approval.note}\n{said}" if approval.note else said)[:2000]
        if said
        else approval.note,
    }
    if not cr.decide_line_approval(conn, approval.id, values):
        raise errors.StatusConflict(f"approval {approval.id} was decided meanwhile")


@dataclass(frozen=True, slots=True)
class ApprovalSubject:
    """Who may not decide a count line's approval: its counters and its investigator."""

    line_id: int
    counters: frozenset[str]
    investigator: str | None


def approval_subjects(
    conn: Connection, organization_id: int, line_ids: Sequence[int]
) -> dict[int, ApprovalSubject]:
    """For the approvals inbox, in its transaction: the counters and investigator of lines."""
    found: dict[int, tuple[set[str], str | None]] = {}
    for r in cr.approval_subjects(conn, organization_id, line_ids):
        counters, _ = found.setdefault(r.id, (set(), r.investigated_by))
        if r.counted_by:
            counters.add(r.counted_by)
    return {k: ApprovalSubject(k, frozenset(v[0]), v[1]) for k, v in found.items()}


# --- tolerances ---------------------------------------------------------------------------------


def list_tolerances(rt: Runtime, actor: Actor) -> list[Tolerance]:
    """The organization's tolerances, and the code default of each class it keeps none for (any
    program), marked ``default``."""
    actor.require_anywhere(Permission.VIEW)
    with rt.uow(read_only=True) as uow:
        kept = _kept(uow.connection, actor.organization_id)
    return with_defaults(kept)


def set_tolerance(
    rt: Runtime,
    actor: Actor,
    program: str,
    item_class: str,
    units: int,
    value: Decimal,
) -> Tolerance:
    """Keep a tolerance for a class of items in a count program (``*``: any program), replacing
    the one kept before; organization-wide, so it needs ``manage_sites`` at every site."""
    _require_settings(actor)
    units, amount = check_tolerance(program, item_class, units, value)
    try:
        return _save_tolerance(rt, actor, program, item_class, units, amount)
    except IntegrityError:
        # another administrator kept the first rule of this (program, class) meanwhile: replace it
        return _save_tolerance(rt, actor, program, item_class, units, amount)


def _save_tolerance(
    rt: Runtime, actor: Actor, program: str, item_class: str, units: int, amount: Decimal
) -> Tolerance:
    now = rt.clock.now()
    with rt.uow() as uow:
        conn = uow.connection
        existing = cr.tolerance(conn, actor.organization_id, program, item_class)
        values = {
            "organization_id": actor.organization_id,
            "program": program,
            "item_class": item_class,
            "units": units,
            "value": amount,
            "set_by": actor.username,
            "set_at": now,
        }
        cr.save_tolerance(conn, existing, values)
        audit.record(
            conn,
            actor,
            action="set count tolerance",
            subject_type="count_tolerance",
            subject_id=f"{program}/{item_class}",
            site_id=None,
            before=_tolerance_audit(existing),
            after={"program": program, "item_class": item_class, "units": units, "value": amount},
            at=now,
        )
        uow.commit()
    return Tolerance(program, item_class, units, amount, actor.username, now)


def remove_tolerance(rt: Runtime, actor: Actor, program: str, item_class: str) -> Tolerance:
    """Forget a kept tolerance: the class falls back to the organization's rule for any program,
    else the code default (returned as it applies now)."""
    _require_settings(actor)
    check_tolerance(program, item_class, 0, Decimal(0))
    now = rt.clock.now()
    with rt.uow() as uow:
        conn = uow.connection
        existing = cr.tolerance(conn, actor.organization_id, program, item_class)
        if existing is None:
            raise errors.NotFound(
                f"no tolerance kept for class {item_class} in program {program}",
                program=program,
                item_class=item_class,
            )
        cr.delete_tolerance(conn, existing.id)
        audit.record(
            conn,
            actor,
            action="remove count tolerance",
            subject_type="count_tolerance",
            subject_id=f"{program}/{item_class}",
            site_id=None,
            before=_tolerance_audit(existing),
            after=None,
            at=now,
        )
        rule = _policy(conn, actor.organization_id).kept.get((ANY_PROGRAM, item_class))
        uow.commit()
    if rule is not None:
        return Tolerance(ANY_PROGRAM, item_class, rule.units, rule.value)
    default = CountPolicy().rules[item_class]
    return Tolerance(ANY_PROGRAM, item_class, default.units, default.value, default=True)


def may_keep_tolerances(actor: Actor) -> bool:
    """Tolerances are organization-wide settings: ``manage_sites`` through a grant at every site."""
    return any(
        g.site_id is ALL_SITES and Permission.MANAGE_SITES in ROLE_PERMISSIONS[g.role]
        for g in actor.grants
    )


def _require_settings(actor: Actor) -> None:
    if not may_keep_tolerances(actor):
        raise errors.Forbidden(
            f"{actor.username} may not manage the organization's count tolerances",
            permission=Permission.MANAGE_SITES.value,
        )


def _kept(conn: Connection, organization_id: int) -> list[Tolerance]:
    return [
        Tolerance(
            r.program,
            r.item_class,
            int(r.units),
            Decimal(r.value),
            r.set_by,
            r.set_at,
        )
        for r in cr.tolerances(conn, organization_id)
    ]


def _policy(conn: Connection, organization_id: int) -> CountPolicy:
    """The organization's tolerances over the code defaults, read in the caller's transaction."""
    return CountPolicy.of(_kept(conn, organization_id))


def _tolerance_audit(row: Row[Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "program": row.program,
        "item_class": row.item_class,
        "units": int(row.units),
        "value": Decimal(row.value),
    }


def cancel(rt: Runtime, actor: Actor, count_id: int) -> CountView:
    with rt.uow() as uow:
        conn = uow.connection
        session = _session(conn, actor, count_id, lock=True)
        actor.require(Permission.ADJUST, session.site_id)
        if session.status != CountStatus.OPEN.value:
            raise errors.StatusConflict(f"count {count_id} is {session.status}: too late to cancel")
        cr.update_session(
            conn, count_id, {"status": CountStatus.CANCELLED.value, "closed_at": rt.clock.now()}
        )
        uow.commit()
    return get_count(rt, actor, count_id)


# --- the investigation screen and the accuracy report -------------------------------------------

LOOK_BACK = timedelta(days=90)
NEAR = timedelta(days=3)


@dataclass(frozen=True, slots=True)
class InvestigationView:
    """Every movement of the item (and lot) at the line's location since its last settled count,
    and what might explain the difference."""

    count: CountView
    line: LineView
    since: datetime
    movements: tuple[HistoryRow, ...]
    explanations: tuple[str, ...]


def investigation(rt: Runtime, actor: Actor, line_id: int) -> InvestigationView:
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        row = _line(conn, actor, line_id)
        session = _session(conn, actor, row.session_id)
        actor.require(Permission.INVESTIGATE, session.site_id)
        last = cr.last_settled_count(conn, row.location_id, row.item_id, row.lot_id, row.id)
        since = last or session.created_at - LOOK_BACK
    count = get_count(rt, Actor.system(actor.organization_id), session.id)
    line = next(x for x in count.lines if x.id == line_id)
    history = item_history(
        rt,
        actor,
        row.item_id,
        location_id=row.location_id,
        lot_id=row.lot_id,
        limit=1000,
    )
    movements = tuple(h for h in history if h.occurred_at >= since)
    return InvestigationView(
        count=count,
        line=line,
        since=since,
        movements=movements,
        explanations=tuple(_explanations(rt, actor, session, line, since)),
    )


def _explanations(
    rt: Runtime, actor: Actor, session: Row[Any], line: LineView, since: datetime
) -> list[str]:
    """Look-alike dispenses near the count, transfers to the site not yet received, and receipts
    of the item keyed to another lot."""
    found: list[str] = []
    counted_at = line.entries[-1].counted_at if line.entries else session.created_at
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        for r in cr.look_alike_dispenses(
            conn,
            actor.organization_id,
            session.site_id,
            line.item_id,
            counted_at - NEAR,
            counted_at + NEAR,
        ):
            found.append(
                f"{r.quantity} of {r.name} {r.strength} (a look-alike) dispensed "
                f"{r.occurred_at:%Y-%m-%d %H:%M} by {r.posted_by}, document {r.document_id}"
            )
        for r in cr.other_lot_receipts(
            conn, actor.organization_id, session.site_id, line.item_id, line.lot_id, since
        ):
            found.append(
                f"{r.quantity} received as lot {r.lot_number} on {r.occurred_at:%Y-%m-%d} "
                f"(document {r.document_id}): was it keyed to the wrong lot?"
            )
        for r in cr.transfers_in_transit(
            conn, actor.organization_id, session.site_id, line.item_id, since
        ):
            found.append(
                f"{r.quantity} shipped to this site on {r.occurred_at:%Y-%m-%d} (document "
                f"{r.document_id}) not yet received"
            )
    return found


@dataclass(frozen=True, slots=True)
class AccuracyRow:
    site_id: int
    period: str  # YYYY-MM, YYYY-Qn or YYYY
    category: str
    lines_counted: int
    lines_accurate: int  # first count equal to the ledger
    shrinkage_units: int  # units adjusted down by counts
    shrinkage_value: Decimal

    @property
    def accuracy(self) -> float | None:
        return self.lines_accurate / self.lines_counted if self.lines_counted else None


ACCURACY_PERIODS = ("M", "Q", "Y")


def _period_label(instant: datetime, period: str) -> str:
    if period == "Y":
        return f"{instant:%Y}"
    if period == "Q":
        return f"{instant:%Y}-Q{(instant.month - 1) // 3 + 1}"
    return f"{instant:%Y-%m}"


def accuracy(
    rt: Runtime,
    actor: Actor,
    *,
    site_id: int | None = None,
    since: datetime | None = None,
    period: str = "M",
) -> list[AccuracyRow]:
    """Inventory accuracy (share of lines whose first count matched the ledger) and shrinkage
    (units and value adjusted down by counts) per site, period (``M`` month ``2026-11``, ``Q``
    quarter ``2026-Q4``, ``Y`` year, by the first count's UTC date) and dosage form."""
    if period not in ACCURACY_PERIODS:
        raise errors.ValidationFailed(
            "the period is M (month), Q (quarter) or Y (year)", field="period", period=period
        )
    if site_id is not None:
        actor.require(Permission.VIEW, site_id)
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        sites = {site_id} if site_id is not None else visible_site_ids(conn, actor)
        rows = cr.first_rounds(conn, actor.organization_id, sites, since)
    table: dict[tuple[int, str, str], list[Any]] = {}
    for r in rows:
        key = (r.site_id, _period_label(r.counted_at, period), r.dosage_form or "")
        acc = table.setdefault(key, [0, 0, 0, Decimal(0)])
        acc[0] += 1
        acc[1] += int(r.counted == r.system_at_count)
        final = variance(r.final_counted, r.final_system) if r.settled else 0
        if final < 0:
            acc[2] += -final
            acc[3] += -final * Decimal(r.standard_cost)
    return [
        AccuracyRow(s, p, c, a[0], a[1], a[2], a[3].quantize(Decimal("0.01")))
        for (s, p, c), a in sorted(table.items())
    ]


def daily_counts(
    rt: Runtime,
    actor: Actor,
    site_id: int,
    counters: Sequence[str],
    *,
    lines_per_counter: int = 40,
    blind: bool = True,
) -> list[CountView]:
    """Today's partial counts: the lines due by ABC class, split across ``counters`` in walking
    order (each takes a run of neighbouring locations), one blind count each."""
    actor.require(Permission.ADJUST, site_id)
    if not counters or lines_per_counter < 1:
        raise errors.ValidationFailed("name at least one counter and a positive number of lines")
    classes = _computed_classes(rt, actor, site_id)
    with rt.uow(read_only=True) as uow:
        spec = NewCount(site_id, "due", program="abc")
        due = _chosen(uow.connection, actor, spec, rt.clock.now(), classes)
    today = rt.clock.now().date().isoformat()
    made = []
    for n, counter in enumerate(counters):
        part = due[n * lines_per_counter : (n + 1) * lines_per_counter]
        if not part:
            break
        made.append(
            _create_from_rows(
                rt,
                actor,
                site_id,
                f"Daily count {today} · {counter}",
                part,
                counter,
                blind,
                classes=classes,
            )
        )
    return made


def _create_from_rows(
    rt: Runtime,
    actor: Actor,
    site_id: int,
    title: str,
    rows: Sequence[Row[Any]],
    counter: str | None,
    blind: bool,
    *,
    program: str = "abc",
    freeze: bool = False,
    classes: Mapping[int, str] | None = None,
) -> CountView:
    """Open the count with its lines, each keeping its item's ABC class at the site (``classes``;
    an item without one is judged as C)."""
    known = classes or {}
    with rt.uow() as uow:
        conn = uow.connection
        session_id = cr.insert_session(
            conn,
            {
                "organization_id": actor.organization_id,
                "site_id": site_id,
                "program": program,
                "title": title[:200],
                "blind": blind,
                "freeze": freeze,
                "status": CountStatus.OPEN.value,
                "created_by": actor.username,
                "created_at": rt.clock.now(),
                "assigned_to": counter,
            },
        )
        cr.insert_lines(
            conn,
            [
                {
                    "organization_id": actor.organization_id,
                    "session_id": session_id,
                    "line_no": n,
                    "location_id": r.location_id,
                    "item_id": r.item_id,
                    "lot_id": r.lot_id,
                    "status": LineStatus.OPEN.value,
                    "item_class": known.get(r.item_id),
                }
                for n, r in enumerate(rows, start=1)
            ],
        )
        uow.commit()
    return get_count(rt, actor, session_id)
