"""The rules of posting: what a document may move, from where, in which lots, and never below zero.

Everything here is pure. The service layer locks the balances a document touches, hands a snapshot
of them to :func:`plan_document`, and writes exactly the movements and balance deltas it returns.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from rxledger.domain import errors
from rxledger.domain.model import (
    HOLDING_TYPES,
    DocumentType,
    Item,
    Location,
    LocationType,
    Lot,
    LotStatus,
    Serial,
)

BalanceKey = tuple[int, int, int]  # (location_id, item_id, lot_id)


@dataclass(frozen=True, slots=True)
class MoveLine:
    """Move ``quantity`` base units of an item from one location to another.

    Without a lot, the lot is allocated first-expiry-first-out from the source location.
    """

    item_id: int
    from_location_id: int
    to_location_id: int
    quantity: int
    lot_id: int | None = None
    serial_id: int | None = None
    reason_code: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class SetLine:
    """Set the on-hand of (location, item, lot) to a counted quantity, through adjustment."""

    item_id: int
    lot_id: int
    location_id: int
    counted: int
    adjustment_location_id: int
    reason_code: str | None = None
    note: str | None = None


Line = MoveLine | SetLine


@dataclass(frozen=True, slots=True)
class PlannedMovement:
    line_no: int
    item_id: int
    lot_id: int
    from_location_id: int
    to_location_id: int
    quantity: int
    serial_id: int | None = None
    reason_code: str | None = None
    note: str | None = None


@dataclass(slots=True)
class Snapshot:
    """What the planner may know: entities by id and the locked balances of the touched keys."""

    today: date
    site_id: int
    items: Mapping[int, Item]
    locations: Mapping[int, Location]
    lots: Mapping[int, Lot]
    serials: Mapping[int, Serial] = field(default_factory=dict)
    balances: Mapping[BalanceKey, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Plan:
    movements: tuple[PlannedMovement, ...]
    deltas: Mapping[BalanceKey, int]


# Which (from, to) location types each document type may move between. ``None`` means any.
_PHYSICAL = "physical"
_AVAILABLE = "available"
_ROUTES: dict[DocumentType, tuple[set[str], set[str]]] = {
    DocumentType.RECEIPT: ({LocationType.SUPPLIER}, {_PHYSICAL}),
    DocumentType.PUT_AWAY: ({_PHYSICAL}, {_PHYSICAL}),
    DocumentType.MOVE: ({_PHYSICAL}, {_PHYSICAL}),
    DocumentType.TRANSFER_SHIP: ({_PHYSICAL}, {LocationType.IN_TRANSIT}),
    DocumentType.TRANSFER_RECEIVE: ({LocationType.IN_TRANSIT}, {_PHYSICAL}),
    DocumentType.DISPENSE: ({_AVAILABLE}, {LocationType.PATIENT}),
    DocumentType.DISPENSE_REVERSAL: ({LocationType.PATIENT}, {_PHYSICAL}),
    DocumentType.DESTRUCTION: (
        {_PHYSICAL},
        {LocationType.WASTE, LocationType.REVERSE_DISTRIBUTOR},
    ),
}
_ADJUSTMENT_SIDES = {LocationType.ADJUSTMENT}


def require_quantity(value: object, *, allow_zero: bool = False) -> int:
    """Quantities are integers in base units: no floats, no booleans, no negatives."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.InvalidQuantity(
            f"quantity must be a whole number of base units, got {value!r}", quantity=repr(value)
        )
    if value < 0 or (value == 0 and not allow_zero):
        raise errors.InvalidQuantity(
            f"quantity must be {'zero or ' if allow_zero else ''}positive, got {value}",
            quantity=value,
        )
    return value


def check_occurred_at(
    occurred_at: datetime,
    now: datetime,
    *,
    backdate_window: timedelta,
    future_tolerance: timedelta = timedelta(0),
) -> None:
    """Business time may lie in the past within the window, never in the future."""
    if occurred_at.tzinfo is None:
        raise errors.ValidationFailed("occurred_at must carry a timezone", field="occurred_at")
    if occurred_at > now + future_tolerance:
        raise errors.FutureDated(
            f"occurred_at {occurred_at.isoformat()} lies in the future",
            occurred_at=occurred_at.isoformat(),
            now=now.isoformat(),
        )
    if occurred_at < now - backdate_window:
        raise errors.BackdatedTooFar(
            f"occurred_at {occurred_at.isoformat()} is more than {backdate_window} in the past",
            occurred_at=occurred_at.isoformat(),
            now=now.isoformat(),
            window_seconds=int(backdate_window.total_seconds()),
        )


# Idempotency keys rxledger makes for its own postings; a client's key may not take one of them
# first (a held adjustment or a count line could then never be posted).
RESERVED_KEY_PREFIXES = (
    "held-adjustment:",
    "count-line:",
    "receiving-session:",
    "reconcile:",
    "preview:",
)


def check_client_key(key: str | None) -> str | None:
    """A client's idempotency key, refused when it starts as rxledger's own keys do."""
    if key is not None and key.lower().startswith(RESERVED_KEY_PREFIXES):
        raise errors.ValidationFailed(
            f"idempotency keys starting {', '.join(RESERVED_KEY_PREFIXES)} are rxledger's own",
            field="idempotency_key",
        )
    return key


def fingerprint(payload: Mapping[str, Any]) -> str:
    """A stable SHA-256 of a command's payload, to tell a retry from a different write."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def plan_document(doc_type: DocumentType, lines: Sequence[Line], snap: Snapshot) -> Plan:
    """Turn a document's lines into movements: validate, allocate lots FEFO, refuse negative stock.

    The whole document is judged at once: it posts all its lines or none.
    """
    if not lines:
        raise errors.ValidationFailed("a document needs at least one line")
    working: dict[BalanceKey, int] = defaultdict(int, snap.balances)
    deltas: dict[BalanceKey, int] = defaultdict(int)
    movements: list[PlannedMovement] = []
    for line_no, line in enumerate(lines, start=1):
        planned = (
            _plan_set(line_no, line, snap, working)
            if isinstance(line, SetLine)
            else _plan_move(doc_type, line_no, line, snap, working)
        )
        for movement in planned:
            _apply(movement, working, deltas)
            movements.append(movement)
    _refuse_negative(snap, working, deltas)
    return Plan(tuple(movements), {k: v for k, v in deltas.items() if v != 0})


def _plan_move(
    doc_type: DocumentType,
    line_no: int,
    line: MoveLine,
    snap: Snapshot,
    working: Mapping[BalanceKey, int],
) -> list[PlannedMovement]:
    require_quantity(line.quantity)
    item = _item(snap, line.item_id)
    source = _location(snap, line.from_location_id)
    target = _location(snap, line.to_location_id)
    if source.id == target.id:
        raise errors.SameLocation(
            f"line {line_no} moves from and to the same location {source.code}", line=line_no
        )
    _check_route(doc_type, line_no, source, target, snap.site_id)
    needs_usable = doc_type not in (DocumentType.ADJUSTMENT, DocumentType.REVERSAL) and (
        target.type not in HOLDING_TYPES
    )
    if line.serial_id is not None:
        return [_plan_serial(line_no, line, item, source, snap, needs_usable)]
    if line.lot_id is not None:
        lot = _lot(snap, line.lot_id, item)
        if needs_usable:
            _require_usable(lot, snap.today, line_no)
        return [_movement(line_no, line, lot.id, line.quantity)]
    return _allocate_fefo(line_no, line, item, source, snap, working)


def _plan_serial(
    line_no: int,
    line: MoveLine,
    item: Item,
    source: Location,
    snap: Snapshot,
    needs_usable: bool,
) -> PlannedMovement:
    assert line.serial_id is not None
    serial = snap.serials.get(line.serial_id)
    if serial is None or serial.item_id != item.id:
        raise errors.SerialNotFound(
            f"line {line_no}: serial {line.serial_id} is not a package of item {item.sku}",
            line=line_no,
        )
    if line.lot_id is not None and line.lot_id != serial.lot_id:
        raise errors.SerialMismatch(
            f"line {line_no}: serial {serial.serial} belongs to another lot", line=line_no
        )
    if line.quantity != serial.base_units:
        raise errors.SerialMismatch(
            f"line {line_no}: serial {serial.serial} holds {serial.base_units} base units, "
            f"not {line.quantity}",
            line=line_no,
        )
    expected_at = None if source.is_virtual else source.id
    if serial.location_id != expected_at and not (source.is_virtual and serial.location_id is None):
        raise errors.SerialMismatch(
            f"line {line_no}: serial {serial.serial} is not at {source.code}",
            line=line_no,
            serial=serial.serial,
        )
    lot = _lot(snap, serial.lot_id, item)
    if needs_usable:
        _require_usable(lot, snap.today, line_no)
    return _movement(line_no, line, lot.id, line.quantity)


def _allocate_fefo(
    line_no: int,
    line: MoveLine,
    item: Item,
    source: Location,
    snap: Snapshot,
    working: Mapping[BalanceKey, int],
) -> list[PlannedMovement]:
    """Earliest expiry first; expired, quarantined, on-hold and recalled lots never."""
    candidates = [
        (lot, working.get((source.id, item.id, lot.id), 0))
        for lot in snap.lots.values()
        if lot.item_id == item.id and lot.is_usable_on(snap.today)
    ]
    candidates = [(lot, qty) for lot, qty in candidates if qty > 0]
    candidates.sort(key=lambda c: (c[0].expiry is None, c[0].expiry or date.max, c[0].id))
    remaining = line.quantity
    planned: list[PlannedMovement] = []
    for lot, qty in candidates:
        take = min(qty, remaining)
        planned.append(_movement(line_no, line, lot.id, take))
        remaining -= take
        if remaining == 0:
            return planned
    available = line.quantity - remaining
    raise errors.InsufficientStock(
        f"line {line_no}: {line.quantity} {item.base_unit} of {item.name} requested at "
        f"{source.code}, {available} available in usable lots",
        line=line_no,
        item_id=item.id,
        location_id=source.id,
        requested=line.quantity,
        available=available,
    )


def _plan_set(
    line_no: int, line: SetLine, snap: Snapshot, working: Mapping[BalanceKey, int]
) -> list[PlannedMovement]:
    require_quantity(line.counted, allow_zero=True)
    item = _item(snap, line.item_id)
    lot = _lot(snap, line.lot_id, item)
    location = _location(snap, line.location_id)
    adjustment = _location(snap, line.adjustment_location_id)
    if location.is_virtual or location.site_id != snap.site_id:
        raise errors.LocationNotAllowed(
            f"line {line_no}: {location.code} is not a physical location of this site",
            line=line_no,
        )
    if adjustment.type is not LocationType.ADJUSTMENT:
        raise errors.LocationNotAllowed(f"line {line_no}: not an adjustment location", line=line_no)
    delta = line.counted - working.get((location.id, item.id, lot.id), 0)
    if delta == 0:
        return []
    source, target = (adjustment.id, location.id) if delta > 0 else (location.id, adjustment.id)
    return [
        PlannedMovement(
            line_no, item.id, lot.id, source, target, abs(delta), None, line.reason_code, line.note
        )
    ]


def _check_route(
    doc_type: DocumentType, line_no: int, source: Location, target: Location, site_id: int
) -> None:
    if doc_type is DocumentType.REVERSAL:
        return
    if doc_type is DocumentType.ADJUSTMENT:
        sides = {source.type, target.type}
        physical = target if source.type in _ADJUSTMENT_SIDES else source
        if not sides & _ADJUSTMENT_SIDES or physical.is_virtual:
            raise errors.LocationNotAllowed(
                f"line {line_no}: an adjustment moves between a physical location and the "
                "adjustment location",
                line=line_no,
            )
        _same_site(line_no, site_id, source, target)
        return
    allowed_from, allowed_to = _ROUTES[doc_type]
    for location, allowed, role in ((source, allowed_from, "from"), (target, allowed_to, "to")):
        if not _fits(location, allowed):
            raise errors.LocationNotAllowed(
                f"line {line_no}: a {doc_type.value} cannot move {role} {location.code} "
                f"({location.type.value})",
                line=line_no,
                location_id=location.id,
                role=role,
            )
    if doc_type is DocumentType.TRANSFER_RECEIVE:
        _same_site(line_no, site_id, target)
    else:
        _same_site(line_no, site_id, source, target)


def _fits(location: Location, allowed: set[str]) -> bool:
    if location.type.value in allowed:
        return True
    if _PHYSICAL in allowed and not location.is_virtual:
        return True
    return _AVAILABLE in allowed and location.type.holds_available_stock


def _same_site(line_no: int, site_id: int, *locations: Location) -> None:
    for location in locations:
        if location.site_id != site_id:
            raise errors.LocationNotAllowed(
                f"line {line_no}: {location.code} belongs to another site",
                line=line_no,
                location_id=location.id,
            )


def _require_usable(lot: Lot, today: date, line_no: int) -> None:
    if lot.is_expired_on(today):
        raise errors.LotExpired(
            f"line {line_no}: lot {lot.lot_number} expired on {lot.expiry}",
            line=line_no,
            lot_id=lot.id,
            expiry=str(lot.expiry),
        )
    if lot.status is not LotStatus.AVAILABLE:
        raise errors.LotUnavailable(
            f"line {line_no}: lot {lot.lot_number} is {lot.status.value.replace('_', ' ')}",
            line=line_no,
            lot_id=lot.id,
            status=lot.status.value,
        )


def _refuse_negative(
    snap: Snapshot, working: Mapping[BalanceKey, int], deltas: Mapping[BalanceKey, int]
) -> None:
    for key in sorted(k for k, d in deltas.items() if d < 0):
        location = snap.locations[key[0]]
        if not location.is_virtual and working[key] < 0:
            item = snap.items[key[1]]
            lot = snap.lots.get(key[2])
            on_hand = working[key] - deltas[key]
            raise errors.InsufficientStock(
                f"{item.name} lot {lot.lot_number if lot else key[2]} at {location.code}: "
                f"{on_hand} on hand, {-deltas[key]} requested",
                item_id=key[1],
                lot_id=key[2],
                location_id=key[0],
                on_hand=on_hand,
                requested=-deltas[key],
            )


def _apply(
    movement: PlannedMovement, working: dict[BalanceKey, int], deltas: dict[BalanceKey, int]
) -> None:
    out_key = (movement.from_location_id, movement.item_id, movement.lot_id)
    in_key = (movement.to_location_id, movement.item_id, movement.lot_id)
    working[out_key] -= movement.quantity
    deltas[out_key] -= movement.quantity
    working[in_key] += movement.quantity
    deltas[in_key] += movement.quantity


def _movement(line_no: int, line: MoveLine, lot_id: int, quantity: int) -> PlannedMovement:
    return PlannedMovement(
        line_no,
        line.item_id,
        lot_id,
        line.from_location_id,
        line.to_location_id,
        quantity,
        line.serial_id,
        line.reason_code,
        line.note,
    )


def _item(snap: Snapshot, item_id: int) -> Item:
    item = snap.items.get(item_id)
    if item is None:
        raise errors.ItemNotFound(f"no item {item_id}", item_id=item_id)
    return item


def _location(snap: Snapshot, location_id: int) -> Location:
    location = snap.locations.get(location_id)
    if location is None:
        raise errors.LocationNotFound(f"no location {location_id}", location_id=location_id)
    return location


def _lot(snap: Snapshot, lot_id: int, item: Item) -> Lot:
    lot = snap.lots.get(lot_id)
    if lot is None:
        raise errors.LotNotFound(f"no lot {lot_id}", lot_id=lot_id)
    if lot.item_id != item.id:
        raise errors.LotItemMismatch(
            f"lot {lot.lot_number} belongs to another item than {item.name}",
            lot_id=lot_id,
            item_id=item.id,
        )
    return lot


def reversal_lines(movements: Iterable[PlannedMovement]) -> list[MoveLine]:
    """The lines that undo a document: each movement back the way it came, same lot and serial."""
    return [
        MoveLine(
            item_id=m.item_id,
            from_location_id=m.to_location_id,
            to_location_id=m.from_location_id,
            quantity=m.quantity,
            lot_id=m.lot_id,
            serial_id=m.serial_id,
            reason_code=m.reason_code,
            note=m.note,
        )
        for m in movements
    ]


def net_flow(
    movements: Iterable[PlannedMovement], location_ids: set[int]
) -> dict[tuple[int, int], int]:
    """Per (item, lot), what the movements brought into the given locations, net of what left."""
    flow: dict[tuple[int, int], int] = defaultdict(int)
    for m in movements:
        if m.to_location_id in location_ids:
            flow[(m.item_id, m.lot_id)] += m.quantity
        if m.from_location_id in location_ids:
            flow[(m.item_id, m.lot_id)] -= m.quantity
    return dict(flow)
