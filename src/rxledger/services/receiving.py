"""Receiving sessions: open a receipt, scan each package, confirm counts, post, put away.

A session receives against a shipment's data (an imported EPCIS file, ASN or manifest), a
purchase order, or blind. Each scan is parsed (GS1 DataMatrix, GTIN, NDC, SSCC), matched to the
item master and judged by ``domain.receiving``: accepted packages will land in the site's
receiving location, every other one in its quarantine location with a discrepancy (and, for a
serial the sender never declared, a DSCSA investigation). Scanning a case or pallet SSCC from the
shipment's data receives every unit inside it. Closing the session posts one receipt document,
all lines or none; putting away moves the accepted stock to a shelf and records when it became
available.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from rxledger.adapters import locking
from rxledger.adapters import receiving_repository as rr
from rxledger.adapters import repository as repo
from rxledger.domain import errors
from rxledger.domain import scanning as scan_rules
from rxledger.domain.identifiers import Ndc
from rxledger.domain.model import Item, LocationType
from rxledger.domain.permissions import Permission
from rxledger.domain.receiving import (
    CountDiscrepancy,
    Disposition,
    ExpectedContent,
    Reason,
    ReceivedUnit,
    ReceivingPolicy,
    count_discrepancies,
    judge,
)
from rxledger.services import receiving_orders, scanning, stock
from rxledger.services.posting import Header, PostedDocument
from rxledger.services.runtime import Actor, Runtime

OPEN = "open"


@dataclass(frozen=True, slots=True)
class ReceivingLine:
    id: int
    line_no: int
    item_id: int | None
    gtin: str | None
    lot_number: str | None
    expiry: date | None
    serial: str | None
    quantity: int
    disposition: str
    reason: str | None
    note: str | None
    scanned_by: str
    scanned_at: datetime
    available_at: datetime | None
    package_units: int | None = None  # base units per package of the scanned level

    @property
    def packages(self) -> int | None:
        """The count in packages of the scanned level, when the package's size is known."""
        return self.quantity // self.package_units if self.package_units else None

    @property
    def available_after(self) -> timedelta | None:
        """Receiving-to-available time: from the scan to the put-away onto a shelf."""
        return None if self.available_at is None else self.available_at - self.scanned_at


@dataclass(frozen=True, slots=True)
class ExpectedLine:
    """What the shipment's data lists for one (item, lot), and how much has been accepted."""

    item_id: int | None
    gtin: str | None
    lot_number: str | None
    expiry: date | None
    expected: int  # base units, when the GTIN's package level is known; else the sender's count
    received: int
    description: str | None

    @property
    def outstanding(self) -> int:
        """What the shipment lists and was not accepted (yet); never negative."""
        return max(self.expected - self.received, 0)


@dataclass(frozen=True)
class ReceivingSession:
    id: int
    site_id: int
    location_id: int
    quarantine_location_id: int
    purchase_order_id: int | None
    shipment_id: int | None
    status: str
    opened_by: str
    opened_at: datetime
    closed_at: datetime | None
    receipt_document_id: int | None
    lines: tuple[ReceivingLine, ...] = ()
    expected: tuple[ExpectedLine, ...] = ()
    discrepancies: tuple[dict[str, Any], ...] = field(default=())


@dataclass(frozen=True)
class ScanOutcome:
    """What one scan did: the lines it added (one per unit for a case), and the verdict."""

    lines: tuple[ReceivingLine, ...]
    item_name: str | None
    quarantined: int
    message: str
    replayed: bool = False  # a retry with the same Idempotency-Key: these lines, not new ones

    @property
    def verdict(self) -> str:
        """``accepted``, ``quarantined``, or ``partly_quarantined`` (some units of a case)."""
        if self.quarantined == 0:
            return "accepted"
        return "quarantined" if self.quarantined == len(self.lines) else "partly_quarantined"


def open_session(
    rt: Runtime,
    actor: Actor,
    site_id: int,
    *,
    shipment_id: int | None = None,
    purchase_order_id: int | None = None,
) -> ReceivingSession:
    """Open a receipt at a site's receiving dock, against a shipment's data, a PO, or blind."""
    actor.require(Permission.RECEIVE, site_id)
    with rt.uow() as uow:
        conn = uow.connection
        if not rt.references.site_exists(conn, actor.organization_id, site_id):
            raise errors.SiteNotFound(f"no site {site_id}", site_id=site_id)
        dock = _location(conn, site_id, LocationType.RECEIVING)
        quarantine = _location(conn, site_id, LocationType.QUARANTINE)
        if shipment_id is not None:
            shipment = rr.shipment_by_id(conn, actor.organization_id, shipment_id)
            if shipment is None or shipment.site_id not in (None, site_id):
                raise errors.NotFound(
                    f"no shipment {shipment_id} for this site", shipment=shipment_id
                )
            if purchase_order_id is None:
                purchase_order_id = receiving_orders.order_for_shipment(
                    conn, actor, site_id, shipment.purchase_order_number
                )
        if purchase_order_id is not None:
            order_site = rr.purchase_order_site(conn, actor.organization_id, purchase_order_id)
            if order_site != site_id:
                raise errors.PurchaseOrderNotFound(
                    f"no purchase order {purchase_order_id} for this site",
                    purchase_order_id=purchase_order_id,
                )
        session_id = rr.insert_session(
            conn,
            {
                "organization_id": actor.organization_id,
                "site_id": site_id,
                "location_id": dock,
                "quarantine_location_id": quarantine,
                "purchase_order_id": purchase_order_id,
                "shipment_id": shipment_id,
                "status": OPEN,
                "opened_by": actor.username,
                "opened_at": rt.clock.now(),
            },
        )
        if shipment_id is not None:
            rr.set_shipment_status(conn, shipment_id, "receiving")
        uow.commit()
    return get_session(rt, actor, session_id)


def get_session(rt: Runtime, actor: Actor, session_id: int) -> ReceivingSession:
    """A session with its lines, what its shipment lists against what was accepted, and its
    discrepancies."""
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        row = _session_row(conn, actor, session_id, Permission.VIEW)
        lines = tuple(_line(r) for r in rr.lines_of(conn, session_id))
        expected = _expected_lines(conn, actor, row.shipment_id, lines)
        found = tuple(
            {
                "id": d.id,
                "reason": d.reason,
                "details": d.details,
                "status": d.status,
                "line_id": d.line_id,
            }
            for d in rr.discrepancies_of(conn, session_id)
        )
    return _session(row, lines, expected, found)


def list_sessions(
    rt: Runtime,
    actor: Actor,
    site_id: int,
    *,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[ReceivingSession]:
    """A site's sessions (headers only), newest first, optionally of one status."""
    actor.require(Permission.VIEW, site_id)
    with rt.uow(read_only=True) as uow:
        rows = rr.sessions_of_site(
            uow.connection, site_id, status=status, limit=limit, offset=offset
        )
        return [_session(row) for row in rows]


def scan(
    rt: Runtime,
    actor: Actor,
    session_id: int,
    text: str,
    *,
    packages: int = 1,
    damaged: bool = False,
    policy: ReceivingPolicy | None = None,
    idempotency_key: str | None = None,
) -> ScanOutcome:
    """Record one scanned package (or every unit of a scanned case), judged for quarantine. A
    retry with the same idempotency key returns the lines of the first scan and adds none."""
    if not 1 <= packages <= 100_000:
        raise errors.InvalidQuantity("packages must be between 1 and 100000", packages=packages)
    today = rt.clock.now().date()
    parsed = scan_rules.parse_scan(text, today)
    with rt.uow() as uow:
        conn = uow.connection
        row = _session_row(conn, actor, session_id, Permission.RECEIVE)
        if locking.lock_receiving_session(conn, session_id) != OPEN:
            raise errors.ValidationFailed(f"receiving session {session_id} is closed")
        if idempotency_key is not None:
            earlier = rr.lines_with_key(conn, session_id, idempotency_key)
            if earlier:
                return _replayed_scan(earlier, text, idempotency_key)
        units = _units(conn, actor, row, parsed, packages)
        expected = _expected_for(conn, row.shipment_id, units)
        identifiers = {(u.gtin or "", u.serial) for u in units if u.serial is not None}
        seen = rr.serials_scanned(conn, session_id, identifiers) if identifiers else set()
        for unit in units:
            if unit.serial is not None and (unit.gtin or "", unit.serial) in seen:
                raise errors.ValidationFailed(
                    f"serial {unit.serial} of GTIN {unit.gtin} was already scanned in this session",
                    serial=unit.serial,
                )
        rules = policy or rt.receiving_policy
        verdicts = [judge(u, expected, rules, today, damaged=damaged) for u in units]
        ids = _record(rt, conn, actor, row, text, units, verdicts, packages, idempotency_key)
        lines = tuple(_line(r) for r in rr.lines_of(conn, session_id) if r.id in set(ids))
        uow.commit()
    held = sum(1 for v in verdicts if v.quarantine)
    name = units[0].item.name if units and units[0].item else None
    return ScanOutcome(lines, name, held, _message(units, verdicts))


def set_count(rt: Runtime, actor: Actor, session_id: int, line_id: int, packages: int) -> None:
    """Confirm a line's count in packages of the scanned level (a serialized unit stays one)."""
    if not 1 <= packages <= 100_000:
        raise errors.InvalidQuantity("packages must be between 1 and 100000", packages=packages)
    with rt.uow() as uow:
        conn = uow.connection
        _session_row(conn, actor, session_id, Permission.RECEIVE)
        if locking.lock_receiving_session(conn, session_id) != OPEN:
            raise errors.ValidationFailed(f"receiving session {session_id} is closed")
        line = next((r for r in rr.lines_of(conn, session_id) if r.id == line_id), None)
        if line is None:
            raise errors.NotFound(f"no line {line_id} in session {session_id}", line_id=line_id)
        if line.serial is not None and packages != 1:
            raise errors.InvalidQuantity("a serialized package is counted once")
        rr.set_line_quantity(conn, line_id, packages * (line.package_units or 1))
        uow.commit()


def remove_line(rt: Runtime, actor: Actor, session_id: int, line_id: int) -> None:
    """Take back a mis-scan while the session is open (with the discrepancy it opened). A scan
    that made a package suspect stays: a suspect product is investigated, never scanned away."""
    with rt.uow() as uow:
        conn = uow.connection
        _session_row(conn, actor, session_id, Permission.RECEIVE)
        if locking.lock_receiving_session(conn, session_id) != OPEN:
            raise errors.ValidationFailed(f"receiving session {session_id} is closed")
        if not any(r.id == line_id for r in rr.lines_of(conn, session_id)):
            raise errors.NotFound(f"no line {line_id} in session {session_id}", line_id=line_id)
        if rr.line_opened_investigation(conn, line_id):
            raise errors.UnderInvestigation(
                f"line {line_id} made its package suspect: close the session so it is "
                "quarantined and investigated",
                line_id=line_id,
            )
        rr.delete_line(conn, line_id)
        uow.commit()


def cancel(rt: Runtime, actor: Actor, session_id: int) -> ReceivingSession:
    """Give up an open session: nothing is posted, its lines stay on record and its
    discrepancies are closed as cancelled. Refused when a scan made a package suspect."""
    with rt.uow() as uow:
        conn = uow.connection
        row = _session_row(conn, actor, session_id, Permission.RECEIVE)
        if locking.lock_receiving_session(conn, session_id) != OPEN:
            raise errors.ValidationFailed(f"receiving session {session_id} is not open")
        if rr.session_opened_investigation(conn, session_id):
            raise errors.UnderInvestigation(
                "a package of this session is suspect: close the session so it is quarantined "
                "and investigated",
                session_id=session_id,
            )
        rr.cancel_session(conn, session_id, actor.username, rt.clock.now())
        if row.shipment_id is not None and not rr.open_sessions_of_shipment(conn, row.shipment_id):
            rr.set_shipment_status(conn, row.shipment_id, "expected")
        uow.commit()
    return get_session(rt, actor, session_id)


def close(rt: Runtime, actor: Actor, session_id: int) -> PostedDocument:
    """Post the session as one receipt: accepted lines into the receiving location, the rest,
    and any count above the shipment's data, into quarantine. A second close replays."""
    session = get_session(rt, actor, session_id)
    actor.require(Permission.RECEIVE, session.site_id)
    if session.status != OPEN and session.receipt_document_id is None:
        raise errors.ValidationFailed(f"receiving session {session_id} is {session.status}")
    line_count = len(session.lines)
    if not session.lines and session.status == OPEN:
        raise errors.ValidationFailed("nothing was scanned in this session")
    counted = _count_check(session)
    over = [d for d in counted if d.excess > 0]
    short = [d for d in counted if d.received < d.expected]
    excess = {(d.item_id, d.lot): d.excess for d in over}
    accepted, splittable = _accepted(session, excess)
    order = receiving_orders.plan(rt, actor, session.purchase_order_id, accepted, splittable)
    for key, units in order.quarantine.items():
        excess[key] = excess.get(key, 0) + units
    lines = _receipt_lines(session, excess)
    now = rt.clock.now()

    def on_posted(conn: Connection, document_id: int, _movements: Sequence[Any]) -> None:
        if locking.lock_receiving_session(conn, session_id) != OPEN:
            raise errors.ValidationFailed(f"receiving session {session_id} is already closed")
        if len(rr.lines_of(conn, session_id)) != line_count:
            raise errors.ValidationFailed("a scan arrived while closing; close the session again")
        receiving_orders.record(conn, actor, order, document_id)
        for d in [*over, *short]:
            rr.insert_discrepancy(conn, _count_discrepancy(actor, session, d, now))
        for details in receiving_orders.excess_discrepancies(order, accepted):
            rr.insert_discrepancy(conn, _discrepancy(actor, session, details, now))
        rr.close_session(
            conn,
            session_id,
            {
                "status": "posted",
                "closed_by": actor.username,
                "closed_at": now,
                "receipt_document_id": document_id,
            },
        )
        if session.shipment_id is not None:
            rr.set_shipment_status(conn, session.shipment_id, "received")

    return stock.receive(
        rt,
        actor,
        stock.Receive(
            session.site_id,
            session.location_id,
            lines,
            Header(
                reference=order.number or f"RCV-{session_id}",
                idempotency_key=f"receiving-session:{session_id}:close",
            ),
        ),
        on_posted=on_posted,
    )


def put_away(rt: Runtime, actor: Actor, session_id: int, shelf: str) -> PostedDocument:
    """Move the session's accepted stock from the dock to the shelf whose label was scanned, and
    record the moment each line became available."""
    session = get_session(rt, actor, session_id)
    actor.require(Permission.MOVE, session.site_id)
    if session.status != "posted":
        raise errors.ValidationFailed("put away after the session is posted")
    pending = [ln for ln in session.lines if ln.disposition == "accept" and ln.available_at is None]
    if not pending:
        raise errors.ValidationFailed("everything accepted in this session is already put away")
    with rt.uow(read_only=True) as uow:
        target = rr.location_by_code(uow.connection, session.site_id, shelf.strip())
        lots = repo.lots_by_number(
            uow.connection, {(ln.item_id or 0, ln.lot_number or "") for ln in pending}
        )
        serials = _serial_ids(uow.connection, actor, pending)
    if target is None:
        raise errors.LocationNotFound(f"no location {shelf.strip()!r} at this site", code=shelf)
    now = rt.clock.now()

    def on_posted(conn: Connection, _document_id: int, _movements: Sequence[Any]) -> None:
        if rr.mark_available(conn, [ln.id for ln in pending], now) != len(pending):
            raise errors.ValidationFailed("these lines were put away meanwhile")

    lines = _put_away_lines(pending, lots, serials)
    return stock.move(
        rt,
        actor,
        stock.Move(
            session.site_id,
            session.location_id,
            target.id,
            lines,
            put_away=True,
            header=Header(reference=f"RCV-{session_id}"),
        ),
        on_posted=on_posted,
    )


# --- scanning -----------------------------------------------------------------------------------


def _units(
    conn: Connection, actor: Actor, row: Any, parsed: scan_rules.Scan, packages: int
) -> list[ReceivedUnit]:
    """The packages a scan stands for: the units inside a declared case or pallet, or the one
    package scanned."""
    key = parsed.sscc or (f"{parsed.gtin}:{parsed.serial}" if parsed.serial else None)
    if (
        key is not None
        and row.shipment_id is not None
        and rr.has_children(conn, row.shipment_id, key)
    ):
        declared = _declared_content(conn, row.shipment_id)
        return _units_in_container(conn, actor, declared, key)
    if parsed.sscc is not None:
        raise errors.ValidationFailed(
            f"SSCC {parsed.sscc} is not in this session's shipment data: scan the packages "
            "inside it",
            sscc=parsed.sscc,
        )
    if not parsed.names_product:
        raise errors.InvalidScan("the scan names no product: scan the package's barcode")
    if parsed.serial is not None and packages != 1:
        raise errors.InvalidQuantity("a serialized package is counted once")
    match = scanning.match_scan(conn, actor.organization_id, parsed)
    item = _item(conn, actor, match.item.id) if match.item else None
    if item is not None:
        _require_lot(item, parsed)
    per_package = match.package.base_units if match.package else 1
    gtin = parsed.gtin or (match.package.gtin if match.package else None)
    unit = ReceivedUnit(
        item, gtin, parsed.lot, parsed.expiry, parsed.serial, per_package * packages
    )
    return [unit]


def _require_lot(item: Item, parsed: scan_rules.Scan) -> None:
    """A package of a lot-tracked product is received with its lot (and its expiry, when that is
    tracked): a scan without them could never be posted, so it is refused at the dock, not at
    the close."""
    if item.lot_tracked and not parsed.lot:
        raise errors.LotRequired(
            f"{item.name} is lot-tracked: scan the barcode that carries the lot (the GS1 "
            "DataMatrix), not the GTIN alone",
            gtin=parsed.gtin,
        )
    if item.lot_tracked and item.expiry_tracked and parsed.expiry is None:
        raise errors.LotRequired(
            f"{item.name} tracks expiry: scan the barcode that carries the expiry date",
            gtin=parsed.gtin,
        )


def _declared_content(conn: Connection, shipment_id: int | None) -> dict[str, list[Any]]:
    """The shipment's containers, each with the packages directly inside it."""
    if shipment_id is None:
        return {}
    children: dict[str, list[Any]] = defaultdict(list)
    for p in rr.shipment_packages(conn, shipment_id):
        if p.parent_key is not None:
            children[p.parent_key].append(p)
    return dict(children)


def _units_in_container(
    conn: Connection, actor: Actor, declared: dict[str, list[Any]], key: str
) -> list[ReceivedUnit]:
    """Every saleable unit below a container, however deep the aggregation (pallet, case, unit)."""
    units: list[Any] = []
    stack = [key]
    while stack:
        for child in declared.get(stack.pop(), []):
            if child.package_key in declared:
                stack.append(child.package_key)
            elif child.serial is not None:
                units.append(child)
    sizes = rr.package_units(conn, actor.organization_id, [u.gtin for u in units if u.gtin])
    items = repo.items_by_id(conn, actor.organization_id, {s[0] for s in sizes.values()})
    return [
        ReceivedUnit(
            items.get(sizes[u.gtin][0]) if u.gtin in sizes else None,
            u.gtin,
            u.lot_number,
            u.expiry,
            u.serial,
            sizes[u.gtin][1] if u.gtin in sizes else 1,
        )
        for u in sorted(units, key=lambda p: (p.gtin or "", p.serial or ""))
    ]


def _replayed_scan(earlier: Sequence[Any], text: str, key: str) -> ScanOutcome:
    if any(row.scan != text[:2000] for row in earlier):
        raise errors.IdempotencyConflict(
            f"idempotency key {key!r} was already used for another scan in this session", key=key
        )
    lines = tuple(_line(r) for r in earlier)
    held = sum(1 for ln in lines if ln.disposition != "accept")
    message = f"Already recorded: {len(lines)} line(s) of this scan (replayed)"
    return ScanOutcome(lines, None, held, message, replayed=True)


def _record(
    rt: Runtime,
    conn: Connection,
    actor: Actor,
    row: Any,
    text: str,
    units: list[ReceivedUnit],
    verdicts: list[Disposition],
    packages: int,
    idempotency_key: str | None = None,
) -> list[int]:
    """Insert one line per unit with its verdict, and a discrepancy for each one held. A line
    keeps the base units of one package, so its count can later be confirmed in packages: the
    units of a case are serialized packages of their own; one scanned package is ``packages``
    of the same size."""
    now = rt.clock.now()
    first = rr.next_line_no(conn, row.id)
    ids = rr.insert_lines(
        conn,
        [
            {
                "organization_id": actor.organization_id,
                "session_id": row.id,
                "line_no": first + n,
                "scan": text[:2000],
                "idempotency_key": idempotency_key,
                "gtin": unit.gtin,
                "item_id": unit.item.id if unit.item else None,
                "package_units": unit.quantity if unit.serial else unit.quantity // packages,
                "lot_number": unit.lot,
                "expiry": unit.expiry,
                "serial": unit.serial,
                "quantity": unit.quantity,
                "disposition": "quarantine" if verdict.quarantine else "accept",
                "reason": verdict.reason.value if verdict.reason else None,
                "note": verdict.detail or None,
                "scanned_by": actor.username,
                "scanned_at": now,
            }
            for n, (unit, verdict) in enumerate(zip(units, verdicts, strict=True))
        ],
    )
    for line_id, unit, verdict in zip(ids, units, verdicts, strict=True):
        if verdict.quarantine and verdict.reason is not None:
            _open_discrepancy(conn, actor, row, line_id, unit, verdict, now)
    return ids


def _open_discrepancy(
    conn: Connection,
    actor: Actor,
    row: Any,
    line_id: int,
    unit: ReceivedUnit,
    verdict: Disposition,
    now: datetime,
) -> None:
    assert verdict.reason is not None
    discrepancy = rr.insert_discrepancy(
        conn,
        {
            "organization_id": actor.organization_id,
            "site_id": row.site_id,
            "session_id": row.id,
            "line_id": line_id,
            "reason": verdict.reason.value,
            "details": verdict.detail,
            "status": "open",
            "opened_by": actor.username,
            "opened_at": now,
        },
    )
    if verdict.suspect:
        rr.insert_investigation(
            conn,
            {
                "organization_id": actor.organization_id,
                "site_id": row.site_id,
                "kind": "dscsa_suspect",
                "gtin": unit.gtin,
                "serial": unit.serial,
                "lot_number": unit.lot,
                "item_id": unit.item.id if unit.item else None,
                "discrepancy_id": discrepancy,
                "status": "open",
                "opened_by": actor.username,
                "opened_at": now,
            },
        )


def _message(units: list[ReceivedUnit], verdicts: list[Disposition]) -> str:
    held = [v for v in verdicts if v.quarantine]
    name = units[0].item.name if units and units[0].item else "unknown product"
    count = f"{len(units)} units" if len(units) > 1 else name
    if not held:
        return f"Accepted: {count}"
    return f"To quarantine: {count} — {held[0].detail}"


# --- what the shipment says -----------------------------------------------------------------------


def _expected_content(conn: Connection, shipment_id: int | None) -> ExpectedContent:
    if shipment_id is None:
        return ExpectedContent.none()
    lines = rr.shipment_lines(conn, shipment_id)
    packages = rr.shipment_packages(conn, shipment_id)
    return ExpectedContent(
        lots={(ln.gtin, ln.lot_number) for ln in lines if ln.gtin and ln.lot_number}
        | {(p.gtin, p.lot_number) for p in packages if p.gtin and p.lot_number},
        serials={(p.gtin, p.serial) for p in packages if p.gtin and p.serial},
        has_data=True,
    )


def _expected_for(
    conn: Connection, shipment_id: int | None, units: Sequence[ReceivedUnit]
) -> ExpectedContent:
    """What the shipment's data says about these units only: a scan costs the same on a pallet of
    ten thousand units as on a box of ten."""
    if shipment_id is None:
        return ExpectedContent.none()
    pairs = {(u.gtin, u.item.id if u.item else None, u.lot) for u in units if u.gtin and u.lot}
    serials = {(u.gtin, u.serial) for u in units if u.gtin and u.serial}
    lots = rr.declared_lots(conn, shipment_id, pairs) if pairs else set()
    return ExpectedContent(
        lots=lots,
        serials=rr.declared_serials(conn, shipment_id, serials) if serials else set(),
        has_data=True,
        names_lots=bool(lots) or rr.lists_lots(conn, shipment_id),
    )


def _expected_lines(
    conn: Connection, actor: Actor, shipment_id: int | None, lines: Sequence[ReceivingLine]
) -> tuple[ExpectedLine, ...]:
    if shipment_id is None:
        return ()
    rows = rr.shipment_lines(conn, shipment_id)
    sizes = rr.package_units(conn, actor.organization_id, [r.gtin for r in rows if r.gtin])
    received: dict[tuple[int | None, str | None], int] = defaultdict(int)
    for ln in lines:
        if ln.disposition == "accept":
            received[(ln.item_id, ln.lot_number)] += ln.quantity
    levels = rr.packages_of_items(
        conn, actor.organization_id, [r.item_id for r in rows if r.item_id is not None]
    )
    merged: dict[tuple[int | None, str | None, str | None], list[Any]] = {}
    for r in rows:
        item_id = sizes[r.gtin][0] if r.gtin in sizes else r.item_id
        per_package = (
            sizes[r.gtin][1] if r.gtin in sizes else _package_of_ndc(levels.get(r.item_id), r.ndc)
        )
        units = r.quantity * per_package if r.unit == "EA" else r.quantity
        key = (item_id, r.gtin, r.lot_number)
        if key in merged:
            merged[key][0] += units
        else:
            merged[key] = [units, r.expiry, r.description]
    return tuple(
        ExpectedLine(
            item_id, gtin, lot, expiry, units, received.get((item_id, lot), 0), description
        )
        for (item_id, gtin, lot), (units, expiry, description) in merged.items()
    )


def _package_of_ndc(levels: list[tuple[str | None, int]] | None, ndc: str | None) -> int:
    """Base units in the package an NDC names (the sender counts packages, ``EA``): the level
    labelled with that NDC, else the item's only level, else one."""
    if not levels:
        return 1
    digits = (ndc or "").replace("-", "")
    for labelled, units in levels:
        if labelled and digits and _ndc11(labelled) == digits.zfill(11):
            return units
    return levels[0][1] if len(levels) == 1 else 1


def _ndc11(labelled: str) -> str:
    try:
        return Ndc.parse(labelled).ndc11
    except errors.InvalidIdentifier:
        return ""


def _count_check(session: ReceivingSession) -> list[CountDiscrepancy]:
    """Accepted units per (item, lot) against the shipment's data; none without data."""
    if session.shipment_id is None or not session.expected:
        return []
    expected: dict[tuple[int, str | None], int] = defaultdict(int)
    for e in session.expected:
        if e.item_id is not None:
            expected[(e.item_id, e.lot_number)] += e.expected
    received: dict[tuple[int, str | None], int] = defaultdict(int)
    for ln in session.lines:
        if ln.disposition == "accept" and ln.item_id is not None:
            received[(ln.item_id, ln.lot_number)] += ln.quantity
    return [d for d in count_discrepancies(expected, received) if d.received > 0 or d.expected > 0]


def _count_discrepancy(
    actor: Actor, session: ReceivingSession, d: CountDiscrepancy, now: datetime
) -> dict[str, Any]:
    kind = "more" if d.excess else "less"
    return {
        "organization_id": actor.organization_id,
        "site_id": session.site_id,
        "session_id": session.id,
        "line_id": None,
        "reason": Reason.COUNT_MISMATCH.value,
        "details": json.dumps(
            {
                "item_id": d.item_id,
                "lot": d.lot,
                "expected": d.expected,
                "received": d.received,
                "note": f"received {kind} than the shipment's data lists",
            }
        ),
        "status": "open",
        "opened_by": actor.username,
        "opened_at": now,
    }


# --- posting ------------------------------------------------------------------------------------


def _accepted(
    session: ReceivingSession, excess: dict[tuple[int, str | None], int]
) -> tuple[dict[tuple[int, str | None], int], set[tuple[int, str | None]]]:
    """Accepted units per (item, lot) once the count's excess is held back, and which of those
    keys can be split (not serialized packages)."""
    accepted: dict[tuple[int, str | None], int] = defaultdict(int)
    splittable: set[tuple[int, str | None]] = set()
    for ln in session.lines:
        if ln.item_id is not None and ln.disposition == "accept":
            accepted[(ln.item_id, ln.lot_number)] += ln.quantity
            if ln.serial is None:
                splittable.add((ln.item_id, ln.lot_number))
    for key, units in excess.items():
        if key in accepted:
            accepted[key] = max(accepted[key] - units, 0)
    return dict(accepted), splittable


def _discrepancy(
    actor: Actor, session: ReceivingSession, details: dict[str, Any], now: datetime
) -> dict[str, Any]:
    return {
        "organization_id": actor.organization_id,
        "site_id": session.site_id,
        "session_id": session.id,
        "line_id": None,
        "reason": Reason.COUNT_MISMATCH.value,
        "details": json.dumps(details),
        "status": "open",
        "opened_by": actor.username,
        "opened_at": now,
    }


def _receipt_lines(
    session: ReceivingSession, excess: dict[tuple[int, str | None], int]
) -> list[stock.ReceiptLine]:
    """One receipt line per serialized package; other packages summed per (item, lot, place),
    with the units held back (above the shipment's data or the PO) split off into quarantine."""
    lines: list[stock.ReceiptLine] = []
    sums: dict[tuple[int, str | None, date | None, int], int] = defaultdict(int)
    for ln in session.lines:
        if ln.item_id is None:
            continue  # an unknown product cannot be stocked at all: it stays a discrepancy
        place = (
            session.location_id if ln.disposition == "accept" else session.quarantine_location_id
        )
        if ln.serial is not None:
            lines.append(
                stock.ReceiptLine(
                    ln.item_id,
                    ln.quantity,
                    ln.lot_number,
                    ln.expiry,
                    serial=ln.serial,
                    gtin=ln.gtin,
                    location_id=place,
                )
            )
            continue
        sums[(ln.item_id, ln.lot_number, ln.expiry, place)] += ln.quantity
    for (item_id, lot, expiry, place), quantity in sums.items():
        extra = excess.get((item_id, lot), 0) if place == session.location_id else 0
        if quantity - extra > 0:
            lines.append(
                stock.ReceiptLine(item_id, quantity - extra, lot, expiry, location_id=place)
            )
        if extra > 0:
            lines.append(
                stock.ReceiptLine(
                    item_id, extra, lot, expiry, location_id=session.quarantine_location_id
                )
            )
    if not lines:
        raise errors.ValidationFailed("nothing in this session can be stocked: no known product")
    return lines


def _put_away_lines(
    pending: Sequence[ReceivingLine],
    lots: dict[tuple[int, str], Any],
    serials: dict[tuple[str, str], int],
) -> list[stock.StockLine]:
    sums: dict[tuple[int, int], int] = defaultdict(int)
    lines: list[stock.StockLine] = []
    for ln in pending:
        assert ln.item_id is not None
        lot = lots[(ln.item_id, ln.lot_number or "")]
        if ln.serial is not None and ln.gtin is not None:
            lines.append(
                stock.StockLine(ln.item_id, ln.quantity, lot.id, serials[(ln.gtin, ln.serial)])
            )
        else:
            sums[(ln.item_id, lot.id)] += ln.quantity
    lines += [stock.StockLine(item, qty, lot) for (item, lot), qty in sums.items()]
    return lines


def _serial_ids(
    conn: Connection, actor: Actor, lines: Sequence[ReceivingLine]
) -> dict[tuple[str, str], int]:
    found: dict[tuple[str, str], int] = {}
    for ln in lines:
        if ln.serial is not None and ln.gtin is not None:
            serial = repo.serial_by_key(conn, actor.organization_id, ln.gtin, ln.serial)
            if serial is not None:
                found[(ln.gtin, ln.serial)] = serial.id
    return found


# --- rows to views ------------------------------------------------------------------------------


def _session_row(conn: Connection, actor: Actor, session_id: int, permission: Permission) -> Any:
    row = rr.session_by_id(conn, actor.organization_id, session_id)
    if row is None:
        raise errors.NotFound(f"no receiving session {session_id}", session_id=session_id)
    actor.require(permission, row.site_id)
    return row


def _location(conn: Connection, site_id: int, type_: LocationType) -> int:
    row = rr.location_of_type(conn, site_id, type_.value)
    if row is None:
        raise errors.LocationNotFound(
            f"site {site_id} has no {type_.value} location; add one before receiving",
            site_id=site_id,
        )
    return int(row.id)


def _item(conn: Connection, actor: Actor, item_id: int) -> Item | None:
    return repo.items_by_id(conn, actor.organization_id, [item_id]).get(item_id)


def _line(r: Any) -> ReceivingLine:
    return ReceivingLine(
        r.id,
        r.line_no,
        r.item_id,
        r.gtin,
        r.lot_number,
        r.expiry,
        r.serial,
        r.quantity,
        r.disposition,
        r.reason,
        r.note,
        r.scanned_by,
        r.scanned_at,
        r.available_at,
        r.package_units,
    )


def _session(
    row: Any,
    lines: tuple[ReceivingLine, ...] = (),
    expected: tuple[ExpectedLine, ...] = (),
    discrepancies: tuple[dict[str, Any], ...] = (),
) -> ReceivingSession:
    return ReceivingSession(
        row.id,
        row.site_id,
        row.location_id,
        row.quarantine_location_id,
        row.purchase_order_id,
        row.shipment_id,
        row.status,
        row.opened_by,
        row.opened_at,
        row.closed_at,
        row.receipt_document_id,
        lines,
        expected,
        discrepancies,
    )


# --- for judging unknown products again (services/rejudging.py) ---------------------------------


def expected_content(conn: Connection, shipment_id: int | None) -> ExpectedContent:
    """What a session's shipment data lists (nothing for a blind receipt)."""
    return _expected_content(conn, shipment_id)


def open_discrepancy(
    conn: Connection,
    actor: Actor,
    session_row: Any,
    line_id: int,
    unit: ReceivedUnit,
    verdict: Disposition,
    now: datetime,
) -> None:
    """Open a held package's discrepancy, and the investigation of a suspect one."""
    _open_discrepancy(conn, actor, session_row, line_id, unit, verdict, now)
