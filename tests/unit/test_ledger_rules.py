"""The posting rules of the domain, without a database: snapshots are built by hand."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from rxledger.domain import errors
from rxledger.domain.ledger import (
    BalanceKey,
    MoveLine,
    PlannedMovement,
    SetLine,
    Snapshot,
    check_occurred_at,
    fingerprint,
    net_flow,
    plan_document,
    require_quantity,
    reversal_lines,
)
from rxledger.domain.model import (
    DocumentType,
    Item,
    Location,
    LocationType,
    Lot,
    LotStatus,
    Serial,
)

TODAY = date(2026, 6, 1)
ORG, SITE, OTHER_SITE = 1, 1, 2


def _location(location_id: int, type_: LocationType, site_id: int = SITE) -> Location:
    code = f"{type_.value.upper()}-{location_id}"
    return Location(location_id, ORG, site_id, code, code.title(), type_)


STORAGE = _location(10, LocationType.STORAGE)
SHELF = _location(11, LocationType.STORAGE)
CABINET = _location(12, LocationType.DISPENSING_CABINET)
QUARANTINE = _location(13, LocationType.QUARANTINE)
RECEIVING = _location(14, LocationType.RECEIVING)
RETURNS = _location(15, LocationType.RETURNS)
VAULT = _location(16, LocationType.VAULT)
SUPPLIER = _location(20, LocationType.SUPPLIER)
PATIENT = _location(21, LocationType.PATIENT)
ADJUST = _location(22, LocationType.ADJUSTMENT)
WASTE = _location(23, LocationType.WASTE)
TRANSIT = _location(24, LocationType.IN_TRANSIT)
OTHER_STORAGE = _location(30, LocationType.STORAGE, OTHER_SITE)
OTHER_TRANSIT = _location(31, LocationType.IN_TRANSIT, OTHER_SITE)
OTHER_ADJUST = _location(32, LocationType.ADJUSTMENT, OTHER_SITE)
LOCATIONS = {
    loc.id: loc
    for loc in (
        STORAGE,
        SHELF,
        CABINET,
        QUARANTINE,
        RECEIVING,
        RETURNS,
        VAULT,
        SUPPLIER,
        PATIENT,
        ADJUST,
        WASTE,
        TRANSIT,
        OTHER_STORAGE,
        OTHER_TRANSIT,
        OTHER_ADJUST,
    )
}

ITEM = Item(1, ORG, "SKU1", "Amoxicillin 500 mg capsule", "capsule")
OTHER_ITEM = Item(2, ORG, "SKU2", "Oxycodone 5 mg tablet", "tablet")


def lot(
    lot_id: int,
    expiry: date | None = date(2027, 12, 31),
    status: LotStatus = LotStatus.AVAILABLE,
    item: Item = ITEM,
) -> Lot:
    return Lot(lot_id, ORG, item.id, f"LOT{lot_id}", expiry, status)


def snapshot(
    lots: tuple[Lot, ...] = (),
    balances: Mapping[BalanceKey, int] | None = None,
    serials: tuple[Serial, ...] = (),
    site_id: int = SITE,
) -> Snapshot:
    return Snapshot(
        today=TODAY,
        site_id=site_id,
        items={ITEM.id: ITEM, OTHER_ITEM.id: OTHER_ITEM},
        locations=LOCATIONS,
        lots={x.id: x for x in lots},
        serials={s.id: s for s in serials},
        balances=dict(balances or {}),
    )


def taken(movements: tuple[PlannedMovement, ...]) -> list[tuple[int, int]]:
    """(lot, quantity) of each movement, in order."""
    return [(m.lot_id, m.quantity) for m in movements]


def dispense(quantity: int, lot_id: int | None = None, source: Location = STORAGE) -> MoveLine:
    return MoveLine(ITEM.id, source.id, PATIENT.id, quantity, lot_id)


# --- FEFO allocation ------------------------------------------------------------------------------


def test_fefo_takes_the_earliest_expiry_first_whatever_the_lot_ids() -> None:
    # given three lots whose ids run opposite to their expiry
    lots = (lot(1, date(2028, 1, 31)), lot(2, date(2026, 9, 30)), lot(3, date(2027, 1, 31)))
    snap = snapshot(lots, {(STORAGE.id, ITEM.id, x.id): 10 for x in lots})
    # when
    plan = plan_document(DocumentType.DISPENSE, [dispense(15)], snap)
    # then lot 2 is emptied, then lot 3 gives the rest
    assert taken(plan.movements) == [(2, 10), (3, 5)]
    assert all(m.line_no == 1 for m in plan.movements)
    assert plan.deltas == {
        (STORAGE.id, ITEM.id, 2): -10,
        (STORAGE.id, ITEM.id, 3): -5,
        (PATIENT.id, ITEM.id, 2): 10,
        (PATIENT.id, ITEM.id, 3): 5,
    }


def test_fefo_puts_lots_without_expiry_last() -> None:
    # given a lot without expiry and one expiring far in the future
    lots = (lot(1, None), lot(2, date(2035, 12, 31)))
    snap = snapshot(lots, {(STORAGE.id, ITEM.id, 1): 10, (STORAGE.id, ITEM.id, 2): 10})
    # when
    plan = plan_document(DocumentType.DISPENSE, [dispense(12)], snap)
    # then
    assert taken(plan.movements) == [(2, 10), (1, 2)]


def test_fefo_breaks_ties_of_expiry_by_lot_id() -> None:
    # given
    lots = (lot(7, date(2027, 1, 31)), lot(3, date(2027, 1, 31)), lot(5, None), lot(4, None))
    snap = snapshot(lots, {(STORAGE.id, ITEM.id, x.id): 2 for x in lots})
    # when
    plan = plan_document(DocumentType.DISPENSE, [dispense(8)], snap)
    # then
    assert taken(plan.movements) == [(3, 2), (7, 2), (4, 2), (5, 2)]


@pytest.mark.parametrize(
    "unusable",
    [
        pytest.param(lot(1, TODAY - timedelta(days=1)), id="expired-yesterday"),
        pytest.param(lot(1, None, LotStatus.EXPIRED), id="status-expired"),
        pytest.param(lot(1, status=LotStatus.ON_HOLD), id="on-hold"),
        pytest.param(lot(1, status=LotStatus.QUARANTINED), id="quarantined"),
        pytest.param(lot(1, status=LotStatus.RECALLED), id="recalled"),
    ],
)
def test_fefo_skips_unusable_lots_and_reports_what_is_available(unusable: Lot) -> None:
    # given an unusable lot that would otherwise come first, and a good lot of 4
    good = lot(2, date(2030, 1, 31))
    snap = snapshot((unusable, good), {(STORAGE.id, ITEM.id, 1): 50, (STORAGE.id, ITEM.id, 2): 4})
    # when the good lot suffices, then only it is used
    plan = plan_document(DocumentType.DISPENSE, [dispense(4)], snap)
    assert taken(plan.movements) == [(2, 4)]
    # when it does not, then the refusal counts usable stock only
    with pytest.raises(errors.InsufficientStock) as refused:
        plan_document(DocumentType.DISPENSE, [dispense(5)], snap)
    assert refused.value.code == "INSUFFICIENT_STOCK"
    assert refused.value.details == {
        "line": 1,
        "item_id": ITEM.id,
        "location_id": STORAGE.id,
        "requested": 5,
        "available": 4,
    }


def test_fefo_uses_a_lot_through_its_expiry_day() -> None:
    # given a lot expiring today and a later one
    snap = snapshot(
        (lot(1, TODAY), lot(2, date(2030, 1, 31))),
        {(STORAGE.id, ITEM.id, 1): 3, (STORAGE.id, ITEM.id, 2): 3},
    )
    # when
    plan = plan_document(DocumentType.DISPENSE, [dispense(4)], snap)
    # then
    assert taken(plan.movements) == [(1, 3), (2, 1)]


def test_fefo_counts_only_the_source_location_and_the_item() -> None:
    # given stock of the lot elsewhere, and of another item's lot at the source
    other_lot = lot(9, date(2026, 7, 1), item=OTHER_ITEM)
    snap = snapshot(
        (lot(1), other_lot),
        {
            (STORAGE.id, ITEM.id, 1): 2,
            (SHELF.id, ITEM.id, 1): 100,
            (STORAGE.id, OTHER_ITEM.id, 9): 100,
        },
    )
    # when
    with pytest.raises(errors.InsufficientStock) as refused:
        plan_document(DocumentType.DISPENSE, [dispense(3)], snap)
    # then
    assert refused.value.details["available"] == 2


def test_fefo_of_a_later_line_sees_what_earlier_lines_took() -> None:
    # given two lots of 10
    snap = snapshot(
        (lot(1, date(2026, 12, 31)), lot(2, date(2027, 12, 31))),
        {(STORAGE.id, ITEM.id, 1): 10, (STORAGE.id, ITEM.id, 2): 10},
    )
    # when two lines of 8 are dispensed in one document
    plan = plan_document(DocumentType.DISPENSE, [dispense(8), dispense(8)], snap)
    # then the second line finishes lot 1 and starts lot 2
    assert [(m.line_no, m.lot_id, m.quantity) for m in plan.movements] == [
        (1, 1, 8),
        (2, 1, 2),
        (2, 2, 6),
    ]


def test_fefo_with_no_stock_at_all_is_refused() -> None:
    # given
    snap = snapshot((lot(1),))
    # when
    with pytest.raises(errors.InsufficientStock) as refused:
        plan_document(DocumentType.MOVE, [MoveLine(ITEM.id, STORAGE.id, SHELF.id, 1)], snap)
    # then
    assert refused.value.details["available"] == 0


# --- SetLine: counts to an absolute quantity -----------------------------------------------------


def count(counted: int, lot_id: int = 1, location: Location = STORAGE) -> SetLine:
    return SetLine(ITEM.id, lot_id, location.id, counted, ADJUST.id, "COUNT", "cycle count")


@pytest.mark.parametrize(
    ("on_hand", "counted", "expected"),
    [
        (10, 13, [(ADJUST.id, STORAGE.id, 3)]),
        (10, 4, [(STORAGE.id, ADJUST.id, 6)]),
        (10, 0, [(STORAGE.id, ADJUST.id, 10)]),
        (0, 7, [(ADJUST.id, STORAGE.id, 7)]),
    ],
)
def test_a_count_moves_the_difference_through_the_adjustment_location(
    on_hand: int, counted: int, expected: list[tuple[int, int, int]]
) -> None:
    # given
    snap = snapshot((lot(1),), {(STORAGE.id, ITEM.id, 1): on_hand})
    # when
    plan = plan_document(DocumentType.ADJUSTMENT, [count(counted)], snap)
    # then
    assert [(m.from_location_id, m.to_location_id, m.quantity) for m in plan.movements] == expected
    assert plan.movements[0].reason_code == "COUNT"
    assert plan.movements[0].note == "cycle count"
    assert plan.deltas[(STORAGE.id, ITEM.id, 1)] == counted - on_hand


def test_a_count_equal_to_on_hand_plans_no_movement() -> None:
    # given
    snap = snapshot((lot(1),), {(STORAGE.id, ITEM.id, 1): 10})
    # when
    plan = plan_document(DocumentType.ADJUSTMENT, [count(10)], snap)
    # then
    assert plan.movements == ()
    assert plan.deltas == {}


def test_a_count_applies_to_unusable_lots_too() -> None:
    # given an expired lot on hold
    snap = snapshot(
        (lot(1, TODAY - timedelta(days=30), LotStatus.ON_HOLD),), {(STORAGE.id, ITEM.id, 1): 5}
    )
    # when
    plan = plan_document(DocumentType.ADJUSTMENT, [count(2)], snap)
    # then
    assert taken(plan.movements) == [(1, 3)]


def test_a_count_is_taken_against_what_earlier_lines_left() -> None:
    # given 10 on hand, 3 of which an earlier line writes off
    snap = snapshot((lot(1),), {(STORAGE.id, ITEM.id, 1): 10})
    write_off = MoveLine(ITEM.id, STORAGE.id, ADJUST.id, 3, 1)
    # when the same document counts 8
    plan = plan_document(DocumentType.ADJUSTMENT, [write_off, count(8)], snap)
    # then the count finds 7 and adds 1
    assert [(m.from_location_id, m.to_location_id, m.quantity) for m in plan.movements] == [
        (STORAGE.id, ADJUST.id, 3),
        (ADJUST.id, STORAGE.id, 1),
    ]
    assert plan.deltas[(STORAGE.id, ITEM.id, 1)] == -2


@pytest.mark.parametrize("counted", [-1, 2.5, True, "3"])
def test_a_count_must_be_a_whole_non_negative_number(counted: object) -> None:
    # given
    snap = snapshot((lot(1),))
    # when / then
    with pytest.raises(errors.InvalidQuantity):
        plan_document(DocumentType.ADJUSTMENT, [count(counted)], snap)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "line",
    [
        pytest.param(count(1, location=PATIENT), id="virtual-location"),
        pytest.param(count(1, location=OTHER_STORAGE), id="other-site"),
        pytest.param(SetLine(ITEM.id, 1, STORAGE.id, 1, WASTE.id), id="not-adjustment"),
    ],
)
def test_a_count_needs_a_physical_location_here_and_the_adjustment_location(
    line: SetLine,
) -> None:
    # given
    snap = snapshot((lot(1),))
    # when / then
    with pytest.raises(errors.LocationNotAllowed) as refused:
        plan_document(DocumentType.ADJUSTMENT, [line], snap)
    assert refused.value.code == "LOCATION_NOT_ALLOWED"
    assert refused.value.details["line"] == 1


# --- never below zero on physical locations ------------------------------------------------------


def test_a_physical_location_may_not_go_negative() -> None:
    # given 5 on hand of lot 1
    snap = snapshot((lot(1),), {(STORAGE.id, ITEM.id, 1): 5})
    # when 6 are moved by name
    with pytest.raises(errors.InsufficientStock) as refused:
        plan_document(DocumentType.MOVE, [MoveLine(ITEM.id, STORAGE.id, SHELF.id, 6, 1)], snap)
    # then
    assert refused.value.details == {
        "item_id": ITEM.id,
        "lot_id": 1,
        "location_id": STORAGE.id,
        "on_hand": 5,
        "requested": 6,
    }


@pytest.mark.parametrize(
    ("doc_type", "source", "target"),
    [
        (DocumentType.RECEIPT, SUPPLIER, STORAGE),
        (DocumentType.ADJUSTMENT, ADJUST, STORAGE),
        (DocumentType.TRANSFER_RECEIVE, OTHER_TRANSIT, STORAGE),
        (DocumentType.DISPENSE_REVERSAL, PATIENT, STORAGE),
    ],
)
def test_a_virtual_location_may_go_negative(
    doc_type: DocumentType, source: Location, target: Location
) -> None:
    # given nothing anywhere
    snap = snapshot((lot(1),))
    # when
    plan = plan_document(doc_type, [MoveLine(ITEM.id, source.id, target.id, 25, 1)], snap)
    # then
    assert plan.deltas == {(source.id, ITEM.id, 1): -25, (target.id, ITEM.id, 1): 25}


def test_a_document_is_judged_as_a_whole() -> None:
    # given 10 on hand
    snap = snapshot((lot(1),), {(STORAGE.id, ITEM.id, 1): 10})
    # when two lines of 6 each fit alone but not together
    with pytest.raises(errors.InsufficientStock) as refused:
        plan_document(DocumentType.DISPENSE, [dispense(6, 1), dispense(6, 1)], snap)
    # then
    assert refused.value.details["requested"] == 12
    assert refused.value.details["on_hand"] == 10


def test_a_document_is_judged_on_its_final_balances() -> None:
    # given an empty shelf
    snap = snapshot((lot(1),), {(STORAGE.id, ITEM.id, 1): 5})
    lines = [
        MoveLine(ITEM.id, STORAGE.id, SHELF.id, 5, 1),
        MoveLine(ITEM.id, SHELF.id, CABINET.id, 5, 1),
    ]
    # when stock passes through the shelf in one document
    plan = plan_document(DocumentType.MOVE, lines, snap)
    # then the shelf nets to zero and drops out of the deltas
    assert len(plan.movements) == 2
    assert plan.deltas == {(STORAGE.id, ITEM.id, 1): -5, (CABINET.id, ITEM.id, 1): 5}


def test_moving_back_and_forth_leaves_no_delta() -> None:
    # given
    snap = snapshot((lot(1),), {(STORAGE.id, ITEM.id, 1): 5})
    lines = [
        MoveLine(ITEM.id, STORAGE.id, SHELF.id, 5, 1),
        MoveLine(ITEM.id, SHELF.id, STORAGE.id, 5, 1),
    ]
    # when
    plan = plan_document(DocumentType.MOVE, lines, snap)
    # then
    assert len(plan.movements) == 2
    assert plan.deltas == {}


# --- locations and routes -------------------------------------------------------------------------


def test_moving_from_and_to_the_same_location_is_refused() -> None:
    # given
    snap = snapshot((lot(1),), {(STORAGE.id, ITEM.id, 1): 5})
    # when / then
    with pytest.raises(errors.SameLocation) as refused:
        plan_document(DocumentType.MOVE, [MoveLine(ITEM.id, STORAGE.id, STORAGE.id, 1, 1)], snap)
    assert refused.value.code == "SAME_LOCATION"
    assert refused.value.details == {"line": 1}


ALLOWED_ROUTES = [
    (DocumentType.RECEIPT, SUPPLIER, STORAGE),
    (DocumentType.RECEIPT, SUPPLIER, QUARANTINE),
    (DocumentType.PUT_AWAY, RECEIVING, SHELF),
    (DocumentType.MOVE, STORAGE, QUARANTINE),
    (DocumentType.MOVE, QUARANTINE, RETURNS),
    (DocumentType.TRANSFER_SHIP, STORAGE, TRANSIT),
    (DocumentType.TRANSFER_SHIP, QUARANTINE, TRANSIT),
    (DocumentType.TRANSFER_RECEIVE, OTHER_TRANSIT, STORAGE),
    (DocumentType.DISPENSE, STORAGE, PATIENT),
    (DocumentType.DISPENSE, CABINET, PATIENT),
    (DocumentType.DISPENSE, VAULT, PATIENT),
    (DocumentType.DISPENSE_REVERSAL, PATIENT, RETURNS),
    (DocumentType.ADJUSTMENT, ADJUST, STORAGE),
    (DocumentType.ADJUSTMENT, QUARANTINE, ADJUST),
    (DocumentType.REVERSAL, PATIENT, STORAGE),
    (DocumentType.REVERSAL, STORAGE, SUPPLIER),
    (DocumentType.REVERSAL, OTHER_STORAGE, TRANSIT),
    (DocumentType.DESTRUCTION, QUARANTINE, WASTE),
    (DocumentType.DESTRUCTION, STORAGE, WASTE),
]


@pytest.mark.parametrize(
    ("doc_type", "source", "target"),
    ALLOWED_ROUTES,
    ids=[f"{d.value}:{s.code}->{t.code}" for d, s, t in ALLOWED_ROUTES],
)
def test_allowed_routes(doc_type: DocumentType, source: Location, target: Location) -> None:
    # given stock at the source
    snap = snapshot((lot(1),), {(source.id, ITEM.id, 1): 10})
    # when
    plan = plan_document(doc_type, [MoveLine(ITEM.id, source.id, target.id, 3, 1)], snap)
    # then
    assert [(m.from_location_id, m.to_location_id, m.quantity) for m in plan.movements] == [
        (source.id, target.id, 3)
    ]


REFUSED_ROUTES = [
    (DocumentType.RECEIPT, STORAGE, SHELF, "from"),
    (DocumentType.RECEIPT, SUPPLIER, PATIENT, "to"),
    (DocumentType.PUT_AWAY, SUPPLIER, SHELF, "from"),
    (DocumentType.MOVE, STORAGE, PATIENT, "to"),
    (DocumentType.MOVE, STORAGE, WASTE, "to"),
    (DocumentType.TRANSFER_SHIP, STORAGE, PATIENT, "to"),
    (DocumentType.TRANSFER_SHIP, SUPPLIER, TRANSIT, "from"),
    (DocumentType.TRANSFER_RECEIVE, STORAGE, SHELF, "from"),
    (DocumentType.TRANSFER_RECEIVE, OTHER_TRANSIT, PATIENT, "to"),
    (DocumentType.DISPENSE, QUARANTINE, PATIENT, "from"),
    (DocumentType.DISPENSE, RECEIVING, PATIENT, "from"),
    (DocumentType.DISPENSE, RETURNS, PATIENT, "from"),
    (DocumentType.DISPENSE, STORAGE, WASTE, "to"),
    (DocumentType.DISPENSE_REVERSAL, STORAGE, SHELF, "from"),
    (DocumentType.DISPENSE_REVERSAL, PATIENT, WASTE, "to"),
    (DocumentType.DESTRUCTION, STORAGE, PATIENT, "to"),
    (DocumentType.DESTRUCTION, STORAGE, ADJUST, "to"),
    (DocumentType.DESTRUCTION, SUPPLIER, WASTE, "from"),
]


@pytest.mark.parametrize(
    ("doc_type", "source", "target", "role"),
    REFUSED_ROUTES,
    ids=[f"{d.value}:{s.code}->{t.code}" for d, s, t, _ in REFUSED_ROUTES],
)
def test_refused_routes(
    doc_type: DocumentType, source: Location, target: Location, role: str
) -> None:
    # given stock at the source
    snap = snapshot((lot(1),), {(source.id, ITEM.id, 1): 10})
    # when
    with pytest.raises(errors.LocationNotAllowed) as refused:
        plan_document(doc_type, [MoveLine(ITEM.id, source.id, target.id, 3, 1)], snap)
    # then the error names the side that does not fit
    wrong = source if role == "from" else target
    assert refused.value.details == {"line": 1, "location_id": wrong.id, "role": role}


@pytest.mark.parametrize(
    ("doc_type", "source", "target", "foreign"),
    [
        (DocumentType.MOVE, STORAGE, OTHER_STORAGE, OTHER_STORAGE),
        (DocumentType.PUT_AWAY, OTHER_STORAGE, SHELF, OTHER_STORAGE),
        (DocumentType.TRANSFER_SHIP, STORAGE, OTHER_TRANSIT, OTHER_TRANSIT),
        (DocumentType.TRANSFER_RECEIVE, OTHER_TRANSIT, OTHER_STORAGE, OTHER_STORAGE),
        (DocumentType.DISPENSE, OTHER_STORAGE, PATIENT, OTHER_STORAGE),
        (DocumentType.ADJUSTMENT, OTHER_STORAGE, ADJUST, OTHER_STORAGE),
        (DocumentType.ADJUSTMENT, OTHER_ADJUST, STORAGE, OTHER_ADJUST),
    ],
)
def test_locations_of_another_site_are_refused(
    doc_type: DocumentType, source: Location, target: Location, foreign: Location
) -> None:
    # given
    snap = snapshot((lot(1),), {(source.id, ITEM.id, 1): 10})
    # when
    with pytest.raises(errors.LocationNotAllowed) as refused:
        plan_document(doc_type, [MoveLine(ITEM.id, source.id, target.id, 3, 1)], snap)
    # then
    assert refused.value.details == {"line": 1, "location_id": foreign.id}
    assert "belongs to another site" in refused.value.message


def test_a_transfer_receipt_only_needs_the_destination_at_this_site() -> None:
    # given a snapshot of the destination site, stock in transit from the shipping site
    snap = snapshot((lot(1),), site_id=OTHER_SITE)
    # when
    plan = plan_document(
        DocumentType.TRANSFER_RECEIVE, [MoveLine(ITEM.id, TRANSIT.id, OTHER_STORAGE.id, 4, 1)], snap
    )
    # then
    assert plan.deltas == {(TRANSIT.id, ITEM.id, 1): -4, (OTHER_STORAGE.id, ITEM.id, 1): 4}


@pytest.mark.parametrize(
    ("source", "target"),
    [
        pytest.param(STORAGE, WASTE, id="physical-to-waste"),
        pytest.param(STORAGE, SHELF, id="physical-to-physical"),
        pytest.param(ADJUST, PATIENT, id="adjustment-to-virtual"),
        pytest.param(SUPPLIER, ADJUST, id="virtual-to-adjustment"),
    ],
)
def test_an_adjustment_moves_between_a_physical_location_and_the_adjustment_location(
    source: Location, target: Location
) -> None:
    # given
    snap = snapshot((lot(1),), {(source.id, ITEM.id, 1): 10})
    # when / then
    with pytest.raises(errors.LocationNotAllowed) as refused:
        plan_document(
            DocumentType.ADJUSTMENT, [MoveLine(ITEM.id, source.id, target.id, 1, 1)], snap
        )
    assert refused.value.details == {"line": 1}


# --- named lots: usable unless pulled off the shelf ---------------------------------------------


EXPIRED = lot(1, TODAY - timedelta(days=1))
HELD = lot(2, date(2030, 1, 31), LotStatus.QUARANTINED)


def test_a_named_expired_lot_is_not_dispensed() -> None:
    # given
    snap = snapshot((EXPIRED,), {(STORAGE.id, ITEM.id, EXPIRED.id): 10})
    # when
    with pytest.raises(errors.LotExpired) as refused:
        plan_document(DocumentType.DISPENSE, [dispense(1, EXPIRED.id)], snap)
    # then
    assert refused.value.code == "LOT_EXPIRED"
    assert refused.value.details == {"line": 1, "lot_id": 1, "expiry": "2026-05-31"}


def test_a_named_held_lot_is_not_dispensed() -> None:
    # given
    snap = snapshot((HELD,), {(STORAGE.id, ITEM.id, HELD.id): 10})
    # when
    with pytest.raises(errors.LotUnavailable) as refused:
        plan_document(DocumentType.DISPENSE, [dispense(1, HELD.id)], snap)
    # then
    assert refused.value.details == {"line": 1, "lot_id": 2, "status": "quarantined"}
    assert "is quarantined" in refused.value.message


def test_an_expired_lot_on_hold_is_reported_as_expired() -> None:
    # given
    both = lot(3, TODAY - timedelta(days=1), LotStatus.ON_HOLD)
    snap = snapshot((both,), {(STORAGE.id, ITEM.id, both.id): 1})
    # when / then
    with pytest.raises(errors.LotExpired):
        plan_document(DocumentType.DISPENSE, [dispense(1, both.id)], snap)


@pytest.mark.parametrize(
    ("doc_type", "source", "target"),
    [
        (DocumentType.MOVE, STORAGE, QUARANTINE),
        (DocumentType.MOVE, STORAGE, RETURNS),
        (DocumentType.ADJUSTMENT, STORAGE, ADJUST),
        (DocumentType.RECEIPT, SUPPLIER, QUARANTINE),
        (DocumentType.REVERSAL, STORAGE, SHELF),
        (DocumentType.DESTRUCTION, QUARANTINE, WASTE),
        (DocumentType.DESTRUCTION, STORAGE, WASTE),
    ],
)
@pytest.mark.parametrize("unusable", [EXPIRED, HELD], ids=["expired", "quarantined"])
def test_unusable_lots_may_be_pulled_off_the_shelf_adjusted_or_reversed(
    doc_type: DocumentType, source: Location, target: Location, unusable: Lot
) -> None:
    # given
    snap = snapshot((unusable,), {(source.id, ITEM.id, unusable.id): 10})
    # when
    plan = plan_document(doc_type, [MoveLine(ITEM.id, source.id, target.id, 10, unusable.id)], snap)
    # then
    assert taken(plan.movements) == [(unusable.id, 10)]


@pytest.mark.parametrize(
    ("doc_type", "source", "target"),
    [
        (DocumentType.MOVE, STORAGE, SHELF),
        (DocumentType.TRANSFER_SHIP, STORAGE, TRANSIT),
        (DocumentType.RECEIPT, SUPPLIER, STORAGE),
    ],
)
def test_unusable_lots_may_not_go_to_stocking_locations(
    doc_type: DocumentType, source: Location, target: Location
) -> None:
    # given
    snap = snapshot((EXPIRED,), {(source.id, ITEM.id, EXPIRED.id): 10})
    # when / then
    with pytest.raises(errors.LotExpired):
        plan_document(doc_type, [MoveLine(ITEM.id, source.id, target.id, 1, EXPIRED.id)], snap)


# --- unknown or inconsistent references -----------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "error", "details"),
    [
        (MoveLine(99, STORAGE.id, PATIENT.id, 1, 1), errors.ItemNotFound, {"item_id": 99}),
        (MoveLine(ITEM.id, 99, PATIENT.id, 1, 1), errors.LocationNotFound, {"location_id": 99}),
        (MoveLine(ITEM.id, STORAGE.id, 99, 1, 1), errors.LocationNotFound, {"location_id": 99}),
        (MoveLine(ITEM.id, STORAGE.id, PATIENT.id, 1, 99), errors.LotNotFound, {"lot_id": 99}),
        (
            MoveLine(ITEM.id, STORAGE.id, PATIENT.id, 1, 9),
            errors.LotItemMismatch,
            {"lot_id": 9, "item_id": ITEM.id},
        ),
        (MoveLine(ITEM.id, STORAGE.id, PATIENT.id, 0, 1), errors.InvalidQuantity, {"quantity": 0}),
        (
            MoveLine(ITEM.id, STORAGE.id, PATIENT.id, 1.5, 1),  # type: ignore[arg-type]
            errors.InvalidQuantity,
            {"quantity": "1.5"},
        ),
    ],
)
def test_bad_references_are_refused(
    line: MoveLine, error: type[errors.RxLedgerError], details: dict[str, object]
) -> None:
    # given
    snap = snapshot((lot(1), lot(9, item=OTHER_ITEM)), {(STORAGE.id, ITEM.id, 1): 10})
    # when
    with pytest.raises(error) as refused:
        plan_document(DocumentType.DISPENSE, [line], snap)
    # then
    assert type(refused.value) is error
    assert refused.value.details == details


def test_a_document_needs_lines() -> None:
    with pytest.raises(errors.ValidationFailed) as refused:
        plan_document(DocumentType.DISPENSE, [], snapshot())
    assert refused.value.code == "VALIDATION_ERROR"


# --- serialized packages -------------------------------------------------------------------------


def _serial(location: Location | None, lot_id: int = 1, units: int = 100) -> Serial:
    return Serial(
        7, ORG, ITEM.id, lot_id, "00307773105025", "SN7", units, location.id if location else None
    )


def test_a_serial_moves_whole_from_where_it_is() -> None:
    # given
    snap = snapshot((lot(1),), {(STORAGE.id, ITEM.id, 1): 100}, (_serial(STORAGE),))
    # when
    plan = plan_document(
        DocumentType.DISPENSE, [MoveLine(ITEM.id, STORAGE.id, PATIENT.id, 100, None, 7)], snap
    )
    # then the lot comes from the serial
    assert [(m.lot_id, m.serial_id, m.quantity) for m in plan.movements] == [(1, 7, 100)]


def test_a_new_serial_arrives_from_a_virtual_location() -> None:
    snap = snapshot((lot(1),), serials=(_serial(None),))
    plan = plan_document(
        DocumentType.RECEIPT, [MoveLine(ITEM.id, SUPPLIER.id, STORAGE.id, 100, 1, 7)], snap
    )
    assert taken(plan.movements) == [(1, 100)]


@pytest.mark.parametrize(
    ("line", "serial", "error"),
    [
        pytest.param(
            MoveLine(ITEM.id, STORAGE.id, PATIENT.id, 50, None, 7),
            _serial(STORAGE),
            errors.SerialMismatch,
            id="part-of-a-package",
        ),
        pytest.param(
            MoveLine(ITEM.id, STORAGE.id, PATIENT.id, 100, None, 7),
            _serial(SHELF),
            errors.SerialMismatch,
            id="elsewhere",
        ),
        pytest.param(
            MoveLine(ITEM.id, STORAGE.id, PATIENT.id, 100, 2, 7),
            _serial(STORAGE),
            errors.SerialMismatch,
            id="other-lot",
        ),
        pytest.param(
            MoveLine(OTHER_ITEM.id, STORAGE.id, PATIENT.id, 100, None, 7),
            _serial(STORAGE),
            errors.SerialNotFound,
            id="other-item",
        ),
        pytest.param(
            MoveLine(ITEM.id, STORAGE.id, PATIENT.id, 100, None, 8),
            _serial(STORAGE),
            errors.SerialNotFound,
            id="unknown",
        ),
    ],
)
def test_serial_lines_must_match_the_package(
    line: MoveLine, serial: Serial, error: type[errors.RxLedgerError]
) -> None:
    # given
    snap = snapshot((lot(1), lot(2)), {(STORAGE.id, ITEM.id, 1): 100}, (serial,))
    # when / then
    with pytest.raises(error) as refused:
        plan_document(DocumentType.DISPENSE, [line], snap)
    assert type(refused.value) is error


# --- require_quantity ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", [1, 7, 10**15])
def test_require_quantity_accepts_positive_integers(value: int) -> None:
    assert require_quantity(value) == value


def test_require_quantity_accepts_zero_only_when_asked() -> None:
    assert require_quantity(0, allow_zero=True) == 0
    with pytest.raises(errors.InvalidQuantity) as refused:
        require_quantity(0)
    assert refused.value.message == "quantity must be positive, got 0"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (-1, "quantity must be positive, got -1"),
        (1.0, "quantity must be a whole number of base units, got 1.0"),
        (True, "quantity must be a whole number of base units, got True"),
        (False, "quantity must be a whole number of base units, got False"),
        ("3", "quantity must be a whole number of base units, got '3'"),
        (None, "quantity must be a whole number of base units, got None"),
        (Decimal(2), "quantity must be a whole number of base units, got Decimal('2')"),
    ],
)
def test_require_quantity_refuses_everything_else(value: object, message: str) -> None:
    with pytest.raises(errors.InvalidQuantity) as refused:
        require_quantity(value)
    assert refused.value.code == "INVALID_QUANTITY"
    assert refused.value.message == message


def test_require_quantity_refuses_negatives_even_when_zero_is_allowed() -> None:
    with pytest.raises(errors.InvalidQuantity) as refused:
        require_quantity(-1, allow_zero=True)
    assert refused.value.message == "quantity must be zero or positive, got -1"


# --- check_occurred_at ---------------------------------------------------------------------------

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
WEEK = timedelta(days=7)


@pytest.mark.parametrize(
    "occurred_at",
    [
        NOW,
        NOW - WEEK,
        NOW + timedelta(seconds=60),
        datetime(2026, 6, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))),  # NOW in CEST
    ],
)
def test_business_time_within_the_window_is_accepted(occurred_at: datetime) -> None:
    check_occurred_at(
        occurred_at, NOW, backdate_window=WEEK, future_tolerance=timedelta(seconds=60)
    )


def test_business_time_needs_a_timezone() -> None:
    with pytest.raises(errors.ValidationFailed) as refused:
        check_occurred_at(datetime(2026, 6, 1, 12, 0), NOW, backdate_window=WEEK)
    assert refused.value.details == {"field": "occurred_at"}


def test_business_time_in_the_future_is_refused() -> None:
    # given no tolerance, one second ahead
    ahead = NOW + timedelta(seconds=1)
    # when / then
    with pytest.raises(errors.FutureDated) as refused:
        check_occurred_at(ahead, NOW, backdate_window=WEEK)
    assert refused.value.code == "FUTURE_DATED"
    assert refused.value.details == {"occurred_at": ahead.isoformat(), "now": NOW.isoformat()}


def test_business_time_beyond_the_tolerance_is_refused() -> None:
    with pytest.raises(errors.FutureDated):
        check_occurred_at(
            NOW + timedelta(seconds=61),
            NOW,
            backdate_window=WEEK,
            future_tolerance=timedelta(seconds=60),
        )


def test_business_time_before_the_backdating_window_is_refused() -> None:
    # given
    early = NOW - WEEK - timedelta(seconds=1)
    # when / then
    with pytest.raises(errors.BackdatedTooFar) as refused:
        check_occurred_at(early, NOW, backdate_window=WEEK)
    assert refused.value.code == "BACKDATED_TOO_FAR"
    assert refused.value.details == {
        "occurred_at": early.isoformat(),
        "now": NOW.isoformat(),
        "window_seconds": 7 * 24 * 3600,
    }


# --- fingerprint ---------------------------------------------------------------------------------


payloads = st.dictionaries(
    st.text(min_size=1, max_size=8),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.text(max_size=5), children, max_size=3)
        ),
        max_leaves=8,
    ),
    max_size=6,
)


def _reordered(value: object) -> object:
    """The same value with every mapping's keys inserted in reverse order."""
    if isinstance(value, dict):
        return {k: _reordered(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reordered(v) for v in value]
    return value


@given(payloads)
def test_fingerprint_ignores_key_order_at_every_depth(payload: dict[str, object]) -> None:
    reordered = _reordered(payload)
    assert isinstance(reordered, dict)
    assert list(reordered) == list(reversed(list(payload)))
    assert fingerprint(reordered) == fingerprint(payload)


def test_fingerprint_is_a_stable_sha256() -> None:
    # given
    payload = {"site_id": 1, "lines": [{"item_id": 2, "quantity": 5, "lot_id": None}]}
    # when
    digest = fingerprint(payload)
    # then it does not depend on the process (no hash randomisation, no object ids)
    assert digest == fingerprint(
        {"lines": [{"lot_id": None, "quantity": 5, "item_id": 2}], "site_id": 1}
    )
    # the SHA-256 of the canonical JSON {"lines":[{"item_id":2,"lot_id":null,"quantity":5}],...}
    assert digest == "a6499754c8f3b04c0367751b533a3383e72fc06e2b323e8b51b43139d83c8dbb"


@pytest.mark.parametrize(
    "changed",
    [
        {"site_id": 1, "lines": [{"item_id": 2, "quantity": 6}]},
        {"site_id": 1, "lines": [{"item_id": 2, "quantity": 5}], "note": None},
        {"site_id": 1, "lines": [{"item_id": 2, "quantity": 5}, {"item_id": 3, "quantity": 1}]},
        {"site_id": "1", "lines": [{"item_id": 2, "quantity": 5}]},
    ],
)
def test_fingerprint_tells_different_payloads_apart(changed: dict[str, object]) -> None:
    original = {"site_id": 1, "lines": [{"item_id": 2, "quantity": 5}]}
    assert fingerprint(changed) != fingerprint(original)


def test_fingerprint_keeps_the_order_of_lines() -> None:
    a, b = {"item_id": 1, "quantity": 1}, {"item_id": 2, "quantity": 1}
    assert fingerprint({"lines": [a, b]}) != fingerprint({"lines": [b, a]})


def test_fingerprint_accepts_dates() -> None:
    assert fingerprint({"expiry": date(2027, 1, 31)}) == fingerprint({"expiry": date(2027, 1, 31)})


# --- reversal_lines and net_flow -----------------------------------------------------------------


def test_reversal_lines_send_each_movement_back_with_its_lot_and_serial() -> None:
    # given
    movements = [
        PlannedMovement(1, ITEM.id, 1, STORAGE.id, PATIENT.id, 4, None, "RX", "first"),
        PlannedMovement(1, ITEM.id, 2, STORAGE.id, PATIENT.id, 6),
        PlannedMovement(2, ITEM.id, 3, SHELF.id, PATIENT.id, 100, 7),
    ]
    # when
    lines = reversal_lines(movements)
    # then
    assert lines == [
        MoveLine(ITEM.id, PATIENT.id, STORAGE.id, 4, 1, None, "RX", "first"),
        MoveLine(ITEM.id, PATIENT.id, STORAGE.id, 6, 2),
        MoveLine(ITEM.id, PATIENT.id, SHELF.id, 100, 3, 7),
    ]


def test_reversal_lines_of_nothing_are_nothing() -> None:
    assert reversal_lines([]) == []


@given(
    stocks=st.lists(st.integers(min_value=0, max_value=20), min_size=1, max_size=4),
    wanted=st.integers(min_value=1, max_value=80),
)
def test_a_planned_reversal_undoes_the_document_exactly(stocks: list[int], wanted: int) -> None:
    # given lots with some stock and a dispense that fits
    assume(sum(stocks) > 0)
    wanted = min(wanted, sum(stocks))
    lots = tuple(lot(i + 1, date(2027, 1, 1) + timedelta(days=30 * i)) for i in range(len(stocks)))
    before = {(STORAGE.id, ITEM.id, x.id): q for x, q in zip(lots, stocks, strict=True)}
    plan = plan_document(DocumentType.DISPENSE, [dispense(wanted)], snapshot(lots, before))
    after = dict(before)
    for key, delta in plan.deltas.items():
        after[key] = after.get(key, 0) + delta
    # when its reversal is planned against the balances it left
    undo = plan_document(
        DocumentType.REVERSAL, reversal_lines(plan.movements), snapshot(lots, after)
    )
    # then every balance returns to where it was
    assert undo.deltas == {key: -delta for key, delta in plan.deltas.items()}
    assert sum(m.quantity for m in undo.movements) == wanted


def test_net_flow_counts_what_entered_net_of_what_left() -> None:
    # given a shipment, a partial receipt and a movement that does not touch transit
    movements = [
        PlannedMovement(1, ITEM.id, 1, STORAGE.id, TRANSIT.id, 10),
        PlannedMovement(1, ITEM.id, 2, STORAGE.id, TRANSIT.id, 5),
        PlannedMovement(1, ITEM.id, 1, TRANSIT.id, OTHER_STORAGE.id, 4),
        PlannedMovement(1, OTHER_ITEM.id, 9, STORAGE.id, SHELF.id, 3),
    ]
    # when / then
    assert net_flow(movements, {TRANSIT.id}) == {(ITEM.id, 1): 6, (ITEM.id, 2): 5}
    assert net_flow(movements, {STORAGE.id}) == {
        (ITEM.id, 1): -10,
        (ITEM.id, 2): -5,
        (OTHER_ITEM.id, 9): -3,
    }


def test_net_flow_within_the_given_locations_nets_to_zero() -> None:
    movements = [PlannedMovement(1, ITEM.id, 1, STORAGE.id, SHELF.id, 10)]
    assert net_flow(movements, {STORAGE.id, SHELF.id}) == {(ITEM.id, 1): 0}
    assert net_flow(movements, {PATIENT.id}) == {}
    assert net_flow([], {STORAGE.id}) == {}
