"""The stock use cases: receive, put away and move, transfer between sites, dispense, return,
adjust, and reverse any document. Each resolves its command to ledger lines inside the posting
transaction and posts one document.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date

from sqlalchemy import Connection

from rxledger.adapters import repository as repo
from rxledger.domain import errors
from rxledger.domain.identifiers import normalize_gtin
from rxledger.domain.ledger import (
    Line,
    MoveLine,
    PlannedMovement,
    SetLine,
    net_flow,
    require_quantity,
    reversal_lines,
)
from rxledger.domain.model import NO_LOT, DocumentType, Item, Location, LocationType, Lot
from rxledger.domain.permissions import Permission
from rxledger.services import certificates, controlled
from rxledger.services.controlled import Witness
from rxledger.services.posting import AfterPosting, Draft, Header, PostedDocument, post
from rxledger.services.runtime import Actor, Runtime

# --- commands -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    item_id: int
    quantity: int
    lot_number: str | None = None
    expiry: date | None = None
    manufacturer: str | None = None
    serial: str | None = None
    gtin: str | None = None
    # Where this line lands when not the receipt's location (receiving routes a package to
    # quarantine in the same receipt).
    location_id: int | None = None


@dataclass(frozen=True, slots=True)
class Receive:
    """Goods arrive from a supplier into a physical location of a site (no purchase order yet)."""

    site_id: int
    location_id: int
    lines: Sequence[ReceiptLine]
    header: Header = field(default_factory=Header)


@dataclass(frozen=True, slots=True)
class StockLine:
    item_id: int
    quantity: int
    lot_id: int | None = None
    serial_id: int | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Move:
    """Put away or move stock between physical locations of one site."""

    site_id: int
    from_location_id: int
    to_location_id: int
    lines: Sequence[StockLine]
    header: Header = field(default_factory=Header)
    put_away: bool = False


@dataclass(frozen=True, slots=True)
class ShipTransfer:
    """Ship stock to another site: it leaves for the shipping site's in-transit location."""

    site_id: int
    from_location_id: int
    to_site_id: int
    lines: Sequence[StockLine]
    header: Header = field(default_factory=Header)
    witness: Witness | None = None  # schedule II stock: a second user (domain/controlled.py)


@dataclass(frozen=True, slots=True)
class ReceiveTransfer:
    """Receive a shipment from another site; without lines, everything still in transit."""

    shipment_id: int
    location_id: int
    lines: Sequence[StockLine] = ()
    header: Header = field(default_factory=Header)
    witness: Witness | None = None  # schedule II stock: a second user (domain/controlled.py)


@dataclass(frozen=True, slots=True)
class Dispense:
    """Dispense to a patient or customer; lots are chosen first-expiry-first-out unless named."""

    site_id: int
    location_id: int
    lines: Sequence[StockLine]
    header: Header = field(default_factory=Header)


@dataclass(frozen=True, slots=True)
class ReverseDispense:
    """Return dispensed stock to a location; without lines, everything not yet returned."""

    dispense_id: int
    location_id: int
    lines: Sequence[StockLine] = ()
    header: Header = field(default_factory=Header)


@dataclass(frozen=True, slots=True)
class AdjustLine:
    item_id: int
    location_id: int
    lot_id: int
    reason_code: str
    delta: int | None = None
    counted: int | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Adjust:
    """Adjust on-hand by a signed delta, or set it to a counted quantity, with a reason code."""

    site_id: int
    lines: Sequence[AdjustLine]
    header: Header = field(default_factory=Header)
    witness: Witness | None = None  # schedule II stock: a second user (domain/controlled.py)
    # records written in the posting's own transaction (an approval decided, a count settled)
    on_posted: AfterPosting | None = None


@dataclass(frozen=True, slots=True)
class Reverse:
    """Undo a posted document with a reversing document that points at it."""

    document_id: int
    header: Header = field(default_factory=Header)


@dataclass(frozen=True, slots=True)
class Destroy:
    """Destroy stock (to the site's waste location) or hand it to a reverse distributor, with a
    reason code on the document and on every line."""

    site_id: int
    from_location_id: int
    lines: Sequence[StockLine]
    reason_code: str
    to: LocationType = LocationType.WASTE
    header: Header = field(default_factory=Header)
    witness: Witness | None = None  # schedule II stock: a second user (domain/controlled.py)


# --- use cases ----------------------------------------------------------------------------------


def receive(
    rt: Runtime, actor: Actor, cmd: Receive, *, on_posted: AfterPosting | None = None
) -> PostedDocument:
    """Receive from the site's supplier location; lots and serials are created on first sight.

    ``on_posted`` lets another service (purchasing, receiving sessions) write its own records of
    this receipt in the same transaction.
    """
    actor.require(Permission.RECEIVE, cmd.site_id)

    def resolve(conn: Connection) -> Draft:
        supplier = _virtual(rt, conn, cmd.site_id, LocationType.SUPPLIER)
        for line in cmd.lines:
            require_quantity(line.quantity)
        items = repo.items_by_id(conn, actor.organization_id, {ln.item_id for ln in cmd.lines})
        lots = _receipt_lots(rt, actor, conn, cmd.lines, items)
        lines: list[Line] = []
        for line, lot in zip(cmd.lines, lots, strict=True):
            serial_id = None
            if line.serial is not None:
                serial_id = _receipt_serial(actor, conn, line, lot)
            lines.append(
                MoveLine(
                    line.item_id,
                    supplier.id,
                    line.location_id or cmd.location_id,
                    line.quantity,
                    lot.id,
                    serial_id,
                )
            )
        # Cannabis lots without a passed certificate of analysis go on hold once posted.
        hook = certificates.hold_on_receipt(lots, items, on_posted)
        return Draft(cmd.site_id, lines, on_posted=hook)

    _require_lines(cmd.lines)
    payload = {"site_id": cmd.site_id, "location_id": cmd.location_id, "lines": _dicts(cmd.lines)}
    return post(
        rt, actor, DocumentType.RECEIPT, cmd.header, _with_header(payload, cmd.header), resolve
    )


def move(
    rt: Runtime, actor: Actor, cmd: Move, *, on_posted: AfterPosting | None = None
) -> PostedDocument:
    """Move stock within a site, keeping its lot; FEFO picks the lot when none is named."""
    actor.require(Permission.MOVE, cmd.site_id)
    _require_lines(cmd.lines)
    lines = _move_lines(cmd.lines, cmd.from_location_id, cmd.to_location_id)
    doc_type = DocumentType.PUT_AWAY if cmd.put_away else DocumentType.MOVE
    payload = {
        "site_id": cmd.site_id,
        "from": cmd.from_location_id,
        "to": cmd.to_location_id,
        "lines": _dicts(cmd.lines),
    }

    def resolve(conn: Connection) -> Draft:
        _require_release_right(rt, conn, actor, cmd.site_id, cmd.from_location_id)
        return Draft(cmd.site_id, lines, on_posted=on_posted)

    return post(rt, actor, doc_type, cmd.header, _with_header(payload, cmd.header), resolve)


def ship_transfer(rt: Runtime, actor: Actor, cmd: ShipTransfer) -> PostedDocument:
    """Send stock to another site through the shipping site's in-transit location."""
    actor.require(Permission.TRANSFER, cmd.site_id)
    _require_lines(cmd.lines)
    if cmd.to_site_id == cmd.site_id:
        raise errors.ValidationFailed("a transfer goes to another site; use a move within a site")
    witness = controlled.verify_witness(rt, actor, cmd.witness)

    def resolve(conn: Connection) -> Draft:
        if repo.site_by_id(conn, actor.organization_id, cmd.to_site_id) is None:
            raise errors.SiteNotFound(f"no site {cmd.to_site_id}", site_id=cmd.to_site_id)
        _require_release_right(rt, conn, actor, cmd.site_id, cmd.from_location_id)
        transit = _virtual(rt, conn, cmd.site_id, LocationType.IN_TRANSIT)
        items = {line.item_id for line in cmd.lines}
        doc_type = DocumentType.TRANSFER_SHIP
        hook = controlled.witness_hook(rt, conn, actor, doc_type, cmd.site_id, items, witness)
        return Draft(
            cmd.site_id,
            _move_lines(cmd.lines, cmd.from_location_id, transit.id),
            counterpart_site_id=cmd.to_site_id,
            on_posted=hook,
        )

    header = cmd.header
    payload = {
        "site_id": cmd.site_id,
        "from": cmd.from_location_id,
        "to_site_id": cmd.to_site_id,
        "lines": _dicts(cmd.lines),
    }
    return post(
        rt, actor, DocumentType.TRANSFER_SHIP, header, _with_header(payload, header), resolve
    )


def receive_transfer(rt: Runtime, actor: Actor, cmd: ReceiveTransfer) -> PostedDocument:
    """Receive what is still in transit of a shipment; never more than was shipped."""
    witness = controlled.verify_witness(rt, actor, cmd.witness)

    def resolve(conn: Connection) -> Draft:
        shipment = _document(conn, actor, cmd.shipment_id)
        actor.require(Permission.TRANSFER, shipment.counterpart_site_id or shipment.site_id)
        if shipment.doc_type != DocumentType.TRANSFER_SHIP.value:
            raise errors.ValidationFailed(f"document {shipment.id} is not a transfer shipment")
        to_site = shipment.counterpart_site_id
        target = _location_of(conn, actor, cmd.location_id)
        if target.site_id != to_site:
            raise errors.LocationNotAllowed(
                f"{target.code} is not at the shipment's destination site", location_id=target.id
            )
        transit = _virtual(rt, conn, shipment.site_id, LocationType.IN_TRANSIT)
        outstanding = _chain_flow(conn, shipment.id, {transit.id})
        lines = _claim(outstanding, cmd.lines, transit.id, target.id, "in transit")
        items = {line.item_id for line in lines}
        doc_type = DocumentType.TRANSFER_RECEIVE
        hook = controlled.witness_hook(rt, conn, actor, doc_type, to_site, items, witness)
        return Draft(
            to_site,
            lines,
            related_id=shipment.id,
            counterpart_site_id=shipment.site_id,
            on_posted=hook,
        )

    payload = {
        "shipment_id": cmd.shipment_id,
        "location_id": cmd.location_id,
        "lines": _dicts(cmd.lines),
    }
    return post(
        rt,
        actor,
        DocumentType.TRANSFER_RECEIVE,
        cmd.header,
        _with_header(payload, cmd.header),
        resolve,
    )


def dispense(rt: Runtime, actor: Actor, cmd: Dispense) -> PostedDocument:
    """Dispense to the site's patient location, first-expiry-first-out from usable lots only."""
    actor.require(Permission.DISPENSE, cmd.site_id)
    _require_lines(cmd.lines)

    def resolve(conn: Connection) -> Draft:
        patient = _virtual(rt, conn, cmd.site_id, LocationType.PATIENT)
        return Draft(
            cmd.site_id,
            _move_lines(cmd.lines, cmd.location_id, patient.id),
        )

    payload = {"site_id": cmd.site_id, "location_id": cmd.location_id, "lines": _dicts(cmd.lines)}
    return post(
        rt, actor, DocumentType.DISPENSE, cmd.header, _with_header(payload, cmd.header), resolve
    )


def reverse_dispense(rt: Runtime, actor: Actor, cmd: ReverseDispense) -> PostedDocument:
    """Return dispensed units to stock: at most what the dispense gave out and is not yet back."""

    def resolve(conn: Connection) -> Draft:
        original = _document(conn, actor, cmd.dispense_id)
        actor.require(Permission.DISPENSE, original.site_id)
        if original.doc_type != DocumentType.DISPENSE.value:
            raise errors.ValidationFailed(f"document {original.id} is not a dispense")
        patient = _virtual(rt, conn, original.site_id, LocationType.PATIENT)
        returnable = _chain_flow(conn, original.id, {patient.id})
        lines = _claim(
            returnable, cmd.lines, patient.id, cmd.location_id, "dispensed and not returned"
        )
        return Draft(original.site_id, lines, related_id=original.id)

    payload = {
        "dispense_id": cmd.dispense_id,
        "location_id": cmd.location_id,
        "lines": _dicts(cmd.lines),
    }
    return post(
        rt,
        actor,
        DocumentType.DISPENSE_REVERSAL,
        cmd.header,
        _with_header(payload, cmd.header),
        resolve,
    )


def adjust(rt: Runtime, actor: Actor, cmd: Adjust) -> PostedDocument:
    """Adjust through the site's adjustment location, each line with an active reason code."""
    actor.require(Permission.ADJUST, cmd.site_id)
    _require_lines(cmd.lines)
    witness = controlled.verify_witness(rt, actor, cmd.witness)

    def resolve(conn: Connection) -> Draft:
        adjustment = _virtual(rt, conn, cmd.site_id, LocationType.ADJUSTMENT)
        active = repo.active_reason_codes(conn, actor.organization_id)
        lines: list[Line] = []
        for number, line in enumerate(cmd.lines, start=1):
            if line.reason_code not in active:
                raise errors.UnknownReasonCode(
                    f"line {number}: {line.reason_code!r} is not an active reason code",
                    line=number,
                    reason_code=line.reason_code,
                    known=sorted(active),
                )
            lines.append(_adjust_line(number, line, adjustment.id))
        items = {line.item_id for line in cmd.lines}
        doc_type = DocumentType.ADJUSTMENT
        hook = controlled.witness_hook(rt, conn, actor, doc_type, cmd.site_id, items, witness)
        return Draft(cmd.site_id, lines, on_posted=_chained(hook, cmd.on_posted))

    payload = {"site_id": cmd.site_id, "lines": _dicts(cmd.lines)}
    return post(
        rt, actor, DocumentType.ADJUSTMENT, cmd.header, _with_header(payload, cmd.header), resolve
    )


def reverse(rt: Runtime, actor: Actor, cmd: Reverse) -> PostedDocument:
    """Undo a document by moving each of its movements back; a document is reversed at most once."""

    def resolve(conn: Connection) -> Draft:
        original = _document(conn, actor, cmd.document_id)
        actor.require(Permission.REVERSE, original.site_id)
        if original.doc_type == DocumentType.REVERSAL.value:
            raise errors.DocumentNotReversible(
                f"document {original.id} is itself a reversal; post the original again instead",
                document_id=original.id,
            )
        already = repo.reversal_of(conn, original.id)
        if already is not None:
            raise errors.AlreadyReversed(
                f"document {original.id} was already reversed by document {already}",
                document_id=original.id,
                reversal_id=already,
            )
        _refuse_if_followed(conn, original.id)
        lines = reversal_lines(repo.movements_of(conn, [original.id]))
        if not lines:
            raise errors.DocumentNotReversible(
                f"document {original.id} moved nothing; there is nothing to reverse",
                document_id=original.id,
            )
        return Draft(original.site_id, lines, reverses_id=original.id)

    payload = {"document_id": cmd.document_id}
    return post(
        rt, actor, DocumentType.REVERSAL, cmd.header, _with_header(payload, cmd.header), resolve
    )


def destroy(
    rt: Runtime, actor: Actor, cmd: Destroy, *, on_posted: AfterPosting | None = None
) -> PostedDocument:
    """Send stock to the site's waste or reverse distributor location with an active reason code;
    unusable lots (expired, held, quarantined, recalled) may always be destroyed."""
    actor.require(Permission.ADJUST, cmd.site_id)
    _require_lines(cmd.lines)
    if cmd.to not in (LocationType.WASTE, LocationType.REVERSE_DISTRIBUTOR):
        raise errors.ValidationFailed(
            "stock is destroyed to waste or handed to the reverse distributor", to=cmd.to.value
        )
    witness = controlled.verify_witness(rt, actor, cmd.witness)

    def resolve(conn: Connection) -> Draft:
        if cmd.reason_code not in repo.active_reason_codes(conn, actor.organization_id):
            raise errors.UnknownReasonCode(
                f"{cmd.reason_code!r} is not an active reason code", reason_code=cmd.reason_code
            )
        target = _virtual(rt, conn, cmd.site_id, cmd.to)
        lines: list[Line] = [
            replace(line, reason_code=cmd.reason_code)
            for line in _move_lines(cmd.lines, cmd.from_location_id, target.id)
            if isinstance(line, MoveLine)
        ]
        items = {line.item_id for line in cmd.lines}
        hook = controlled.witness_hook(
            rt, conn, actor, DocumentType.DESTRUCTION, cmd.site_id, items, witness, on_posted
        )
        return Draft(cmd.site_id, lines, on_posted=hook)

    header = replace(cmd.header, reason_code=cmd.reason_code)
    payload = {
        "site_id": cmd.site_id,
        "from": cmd.from_location_id,
        "to": cmd.to.value,
        "lines": _dicts(cmd.lines),
    }
    return post(rt, actor, DocumentType.DESTRUCTION, header, _with_header(payload, header), resolve)


# --- helpers ------------------------------------------------------------------------------------


def _chained(first: AfterPosting | None, then: AfterPosting | None) -> AfterPosting | None:
    if first is None or then is None:
        return first or then

    def both(conn: Connection, doc_id: int, movements: Sequence[PlannedMovement]) -> None:
        first(conn, doc_id, movements)
        then(conn, doc_id, movements)

    return both


def _refuse_if_followed(conn: Connection, doc_id: int) -> None:
    """A dispense with returns, or a shipment with receipts, is reversed only after those are."""
    chain = repo.related_documents(conn, doc_id)
    reversed_ids = {d.reverses_id for d in chain if d.reverses_id is not None}
    open_followers = sorted(
        d.id for d in chain if d.related_id == doc_id and d.id not in reversed_ids
    )
    if open_followers:
        raise errors.DocumentNotReversible(
            f"document {doc_id} is followed by document(s) {open_followers}; reverse those first",
            document_id=doc_id,
            followed_by=open_followers,
        )


def _move_lines(lines: Sequence[StockLine], source_id: int, target_id: int) -> list[Line]:
    return [
        MoveLine(
            line.item_id,
            source_id,
            target_id,
            line.quantity,
            line.lot_id,
            line.serial_id,
            None,
            line.note,
        )
        for line in lines
    ]


def _adjust_line(number: int, line: AdjustLine, adjustment_id: int) -> Line:
    if (line.delta is None) == (line.counted is None):
        raise errors.ValidationFailed(
            f"line {number}: give either a signed delta or a counted quantity", line=number
        )
    if line.counted is not None:
        return SetLine(
            line.item_id,
            line.lot_id,
            line.location_id,
            line.counted,
            adjustment_id,
            line.reason_code,
            line.note,
        )
    assert line.delta is not None
    if isinstance(line.delta, bool) or not isinstance(line.delta, int) or line.delta == 0:
        raise errors.InvalidQuantity(
            f"line {number}: an adjustment delta is a non-zero whole number", line=number
        )
    source, target = (
        (adjustment_id, line.location_id) if line.delta > 0 else (line.location_id, adjustment_id)
    )
    return MoveLine(
        line.item_id,
        source,
        target,
        abs(line.delta),
        line.lot_id,
        None,
        line.reason_code,
        line.note,
    )


def _receipt_lots(
    rt: Runtime,
    actor: Actor,
    conn: Connection,
    lines: Sequence[ReceiptLine],
    items: Mapping[int, Item],
) -> list[Lot]:
    """Each line's lot, created on first sight; a lot on record must match the line's expiry.

    One read of the lots and one insert of the new lots for the whole receipt (the caller read
    the items).
    """
    keys: list[tuple[int, str]] = []
    for line in lines:
        item = items.get(line.item_id)
        if item is None:
            raise errors.ItemNotFound(f"no item {line.item_id}", item_id=line.item_id)
        keys.append((item.id, _receipt_lot_number(item, line)))
    known = repo.lots_by_number(conn, keys)
    new: dict[tuple[int, str], dict[str, object]] = {}
    for key, line in zip(keys, lines, strict=True):
        if key not in known and key not in new:
            new[key] = {
                "organization_id": actor.organization_id,
                "item_id": key[0],
                "lot_number": key[1],
                "expiry": line.expiry,
                "manufacturer": line.manufacturer,
                "created_at": rt.clock.now(),
            }
    if new:
        repo.insert_lots(conn, list(new.values()))
        known |= repo.lots_by_number(conn, new.keys())
    lots = [known[key] for key in keys]
    for lot, line in zip(lots, lines, strict=True):
        if line.expiry is not None and lot.expiry is not None and lot.expiry != line.expiry:
            raise errors.LotExpiryMismatch(
                f"lot {lot.lot_number} of {items[line.item_id].name} is on record with expiry "
                f"{lot.expiry}, not {line.expiry}",
                lot_id=lot.id,
                recorded=str(lot.expiry),
                received=str(line.expiry),
            )
    return lots


def _receipt_lot_number(item: Item, line: ReceiptLine) -> str:
    number = (line.lot_number or "").strip()
    if item.lot_tracked and not number:
        raise errors.LotRequired(f"{item.name} is lot-tracked: the receipt needs a lot number")
    if item.expiry_tracked and item.lot_tracked and line.expiry is None:
        raise errors.LotRequired(f"{item.name} tracks expiry: the receipt needs an expiry date")
    return number if item.lot_tracked else NO_LOT


def _receipt_serial(actor: Actor, conn: Connection, line: ReceiptLine, lot: Lot) -> int:
    if not line.gtin or not line.serial:
        raise errors.ValidationFailed("a serialized receipt line needs both GTIN and serial")
    gtin = normalize_gtin(line.gtin)
    existing = repo.serial_by_key(conn, actor.organization_id, gtin, line.serial)
    if existing is None:
        created = repo.insert_serial(
            conn,
            org_id=actor.organization_id,
            item_id=line.item_id,
            lot_id=lot.id,
            gtin=gtin,
            serial=line.serial,
            units=line.quantity,
        )
        return created.id
    if existing.location_id is not None or existing.lot_id != lot.id:
        raise errors.SerialMismatch(
            f"serial {line.serial} of GTIN {gtin} is already in stock or belongs to another lot",
            serial=line.serial,
            gtin=gtin,
        )
    return existing.id


def _chain_flow(
    conn: Connection, doc_id: int, location_ids: set[int]
) -> dict[tuple[int, int], int]:
    """What a document and the documents that follow it (returns, receipts, reversals) left in the
    given locations, per (item, lot)."""
    chain = [doc_id, *(d.id for d in repo.related_documents(conn, doc_id))]
    return net_flow(repo.movements_of(conn, set(chain)), location_ids)


def _claim(
    open_qty: dict[tuple[int, int], int],
    requested: Sequence[StockLine],
    source_id: int,
    target_id: int,
    what: str,
) -> list[Line]:
    """Lines for the requested quantities (or all that is open), never above what is open."""
    if not requested:
        lines: list[Line] = [
            MoveLine(item, source_id, target_id, qty, lot)
            for (item, lot), qty in sorted(open_qty.items())
            if qty > 0
        ]
        if not lines:
            raise errors.NothingToReceive(f"nothing is left {what}")
        return lines
    remaining = defaultdict(int, open_qty)
    lines = []
    for number, line in enumerate(requested, start=1):
        require_quantity(line.quantity)
        lots = (
            [line.lot_id]
            if line.lot_id is not None
            else sorted(
                lot for (item, lot), q in remaining.items() if item == line.item_id and q > 0
            )
        )
        needed = line.quantity
        for lot in lots:
            take = min(needed, remaining[(line.item_id, lot)])
            if take > 0:
                lines.append(
                    MoveLine(
                        line.item_id,
                        source_id,
                        target_id,
                        take,
                        lot,
                        line.serial_id,
                        None,
                        line.note,
                    )
                )
                remaining[(line.item_id, lot)] -= take
                needed -= take
        if needed:
            raise errors.InsufficientStock(
                f"line {number}: {line.quantity} requested, {line.quantity - needed} {what}",
                line=number,
                item_id=line.item_id,
                requested=line.quantity,
                available=line.quantity - needed,
            )
    return lines


def _document(conn: Connection, actor: Actor, doc_id: int):  # type: ignore[no-untyped-def]
    row = repo.document_by_id(conn, actor.organization_id, doc_id)
    if row is None:
        raise errors.DocumentNotFound(f"no document {doc_id}", document_id=doc_id)
    return row


def _location_of(conn: Connection, actor: Actor, location_id: int) -> Location:
    found = repo.locations_by_id(conn, actor.organization_id, [location_id])
    if location_id not in found:
        raise errors.LocationNotFound(f"no location {location_id}", location_id=location_id)
    return found[location_id]


def _virtual(rt: Runtime, conn: Connection, site_id: int, type_: LocationType) -> Location:
    location = rt.references.virtual(conn, site_id, type_)
    if location is None:
        raise errors.SiteNotFound(
            f"site {site_id} has no {type_.value.replace('_', ' ')} location", site_id=site_id
        )
    return location


def _require_release_right(
    rt: Runtime, conn: Connection, actor: Actor, site_id: int, from_location_id: int
) -> None:
    """Stock leaves a quarantine location only by the decision of someone who may investigate:
    a technician who may move stock may not take it out of quarantine."""
    source = rt.references.locations(conn, actor.organization_id, {from_location_id})
    location = source.get(from_location_id)
    if location is not None and location.type == LocationType.QUARANTINE:
        actor.require(Permission.INVESTIGATE, site_id)


def _require_lines(lines: Sequence[object]) -> None:
    if not lines:
        raise errors.ValidationFailed("a document needs at least one line")


def _with_header(payload: Mapping[str, object], header: Header) -> dict[str, object]:
    return {
        **payload,
        "reference": header.reference,
        "note": header.note,
        "reason": header.reason_code,
    }


def _dicts(lines: Sequence[object]) -> list[dict[str, object]]:
    return [asdict(line) for line in lines]  # type: ignore[call-overload]
