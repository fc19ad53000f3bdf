"""Receiving rules: what may enter available stock, and what goes to quarantine with a reason.

Most inventory errors are born at the receiving dock, and the DSCSA lets a dispenser accept a
prescription drug only with its transaction data, verified at package level. So every scanned
package is judged before it lands anywhere: an unknown product, an expired or short-dated one, a
lot or serial the shipment's data does not list, a damaged package, or a DSCSA product that came
without transaction data goes to the quarantine location with a discrepancy, never into stock.
A serial the sender did not declare makes the package *suspect*: it is investigated.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from rxledger.domain.model import Item
from rxledger.domain.purchasing import is_equivalent

DAMAGED_DETAIL = "marked damaged at receiving"


def was_marked_damaged(detail: str | None) -> bool:
    """Whether a held package's recorded detail says it was marked damaged at the dock."""
    return DAMAGED_DETAIL in (detail or "")


class Reason(StrEnum):
    UNKNOWN_GTIN = "unknown_gtin"
    EXPIRED = "expired"
    SHORT_DATED = "short_dated"
    NOT_IN_SHIPMENT = "not_in_shipment"
    COUNT_MISMATCH = "count_mismatch"
    DAMAGED = "damaged"
    MISSING_TRANSACTION_DATA = "missing_transaction_data"


@dataclass(frozen=True, slots=True)
class Disposition:
    quarantine: bool
    reason: Reason | None = None
    detail: str = ""
    suspect: bool = False  # DSCSA suspect product: quarantine and investigate

    @classmethod
    def accept(cls) -> Disposition:
        return cls(quarantine=False)

    @classmethod
    def hold(cls, reason: Reason, detail: str, *, suspect: bool = False) -> Disposition:
        return cls(quarantine=True, reason=reason, detail=detail, suspect=suspect)


@dataclass(frozen=True)
class ReceivingPolicy:
    """The shortest remaining shelf life accepted, in days: per site, overridden per item."""

    minimum_shelf_life_days: int = 90
    item_minimums: Mapping[int, int] = field(default_factory=dict)

    def minimum_for(self, item: Item) -> int:
        return self.item_minimums.get(item.id, self.minimum_shelf_life_days)


@dataclass(frozen=True)
class ExpectedContent:
    """What the shipment's data lists: (GTIN, lot) pairs and (GTIN, serial) product identifiers.

    ``has_data`` is false for a blind receipt, or a PO receipt with no shipment data yet.
    """

    lots: frozenset[tuple[str, str]] | set[tuple[str, str]] = frozenset()
    serials: frozenset[tuple[str, str]] | set[tuple[str, str]] = frozenset()
    has_data: bool = False
    # Whether the data names lots at all, when ``lots`` holds only the pairs asked about.
    names_lots: bool | None = None

    @property
    def lists_lots(self) -> bool:
        return bool(self.lots) if self.names_lots is None else self.names_lots or bool(self.lots)

    @classmethod
    def none(cls) -> ExpectedContent:
        return cls()


@dataclass(frozen=True, slots=True)
class ReceivedUnit:
    """One scanned package, as parsed and matched: ``item`` is None when the GTIN is unknown."""

    item: Item | None
    gtin: str | None
    lot: str | None
    expiry: date | None
    serial: str | None
    quantity: int


def is_dscsa_product(item: Item) -> bool:
    """A prescription drug with an NDC: its receipt needs transaction data (cannabis is traced
    by METRC instead)."""
    return item.ndc10 is not None and item.cannabis_category is None


def judge(
    unit: ReceivedUnit,
    expected: ExpectedContent,
    policy: ReceivingPolicy,
    today: date,
    *,
    damaged: bool = False,
) -> Disposition:
    """Accept the package, or hold it in quarantine with the first reason that applies."""
    if unit.item is None:
        unknown = f"GTIN {unit.gtin} is not in the item master"
        # The damage is kept in the detail: judged again once its GTIN is known, the package
        # must still be held (``services/rejudging.py``).
        return Disposition.hold(
            Reason.UNKNOWN_GTIN, f"{unknown}; {DAMAGED_DETAIL}" if damaged else unknown
        )
    if damaged:
        return Disposition.hold(Reason.DAMAGED, DAMAGED_DETAIL)
    if unit.expiry is not None:
        if unit.expiry < today:
            return Disposition.hold(Reason.EXPIRED, f"expired on {unit.expiry}")
        left = (unit.expiry - today).days
        minimum = policy.minimum_for(unit.item)
        if left < minimum:
            return Disposition.hold(
                Reason.SHORT_DATED, f"{left} days of shelf life left; at least {minimum} required"
            )
    return _against_shipment(unit, unit.item, expected)


def _against_shipment(unit: ReceivedUnit, item: Item, expected: ExpectedContent) -> Disposition:
    if not expected.has_data:
        if is_dscsa_product(item):
            return Disposition.hold(
                Reason.MISSING_TRANSACTION_DATA,
                "a DSCSA product is accepted only with its transaction data",
            )
        return Disposition.accept()
    gtin = unit.gtin or ""
    if unit.serial is not None and (gtin, unit.serial) not in expected.serials:
        return Disposition.hold(
            Reason.NOT_IN_SHIPMENT,
            f"serial {unit.serial} of GTIN {gtin} is not in the shipment's transaction data",
            suspect=True,
        )
    if unit.lot is not None and expected.lists_lots and (gtin, unit.lot) not in expected.lots:
        return Disposition.hold(
            Reason.NOT_IN_SHIPMENT, f"lot {unit.lot} of GTIN {gtin} is not in the shipment's data"
        )
    return Disposition.accept()


@dataclass(frozen=True, slots=True)
class CountDiscrepancy:
    item_id: int
    lot: str | None
    expected: int
    received: int

    @property
    def excess(self) -> int:
        return max(self.received - self.expected, 0)


def count_discrepancies(
    expected: Mapping[tuple[int, str | None], int], received: Mapping[tuple[int, str | None], int]
) -> list[CountDiscrepancy]:
    """Every (item, lot) whose received base units differ from what the shipment listed."""
    keys: Iterable[tuple[int, str | None]] = sorted(
        set(expected) | set(received), key=lambda k: (k[0], k[1] or "")
    )
    return [
        CountDiscrepancy(item, lot, expected.get((item, lot), 0), received.get((item, lot), 0))
        for item, lot in keys
        if expected.get((item, lot), 0) != received.get((item, lot), 0)
    ]


@dataclass(frozen=True, slots=True)
class OrderLine:
    """What a PO line can still take: its item and the units up to its over-receipt allowance."""

    line_id: int
    item: Item
    room: int


@dataclass(frozen=True, slots=True)
class Allocation:
    line_id: int
    item_id: int
    units: int
    substitute: bool


def allocate_to_order(
    accepted: Mapping[int, int], items: Mapping[int, Item], lines: Iterable[OrderLine]
) -> tuple[list[Allocation], dict[int, int]]:
    """Count a session's accepted units per item against the PO's lines, in line order: first
    the lines of the same item, then lines whose item it may substitute (same generic, strength
    and form); what no line has room for is returned as excess per item (it goes to quarantine:
    more than was ordered, or not ordered at all)."""
    room = {line.line_id: line.room for line in lines}
    ordered = list(lines)
    allocations: list[Allocation] = []
    excess: dict[int, int] = {}
    for item_id, units in sorted(accepted.items()):
        left = units
        same = [line for line in ordered if line.item.id == item_id]
        alike = [
            line
            for line in ordered
            if line.item.id != item_id
            and item_id in items
            and is_equivalent(line.item, items[item_id])
        ]
        for line, substitute in [(line, False) for line in same] + [(line, True) for line in alike]:
            take = min(left, room[line.line_id])
            if take > 0:
                allocations.append(Allocation(line.line_id, item_id, take, substitute))
                room[line.line_id] -= take
                left -= take
        if left > 0:
            excess[item_id] = left
    return allocations, excess
