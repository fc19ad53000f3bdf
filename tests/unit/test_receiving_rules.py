"""What receiving accepts into stock, and what it routes to quarantine, with which reason."""

from __future__ import annotations

from datetime import date

import pytest

from rxledger.domain.model import Item
from rxledger.domain.receiving import (
    Disposition,
    ExpectedContent,
    Reason,
    ReceivedUnit,
    ReceivingPolicy,
    count_discrepancies,
    judge,
)

TODAY = date(2026, 6, 1)


def _item(**changes: object) -> Item:
    values: dict[str, object] = {
        "id": 7,
        "organization_id": 1,
        "sku": "AMOX500",
        "name": "Amoxicillin 500 mg capsule",
        "base_unit": "capsule",
        "ndc10": "0093-3109-05",
    }
    values.update(changes)
    return Item(**values)  # type: ignore[arg-type]


def _unit(**changes: object) -> ReceivedUnit:
    values: dict[str, object] = {
        "item": _item(),
        "gtin": "00300933109055",
        "lot": "A1",
        "expiry": date(2028, 1, 31),
        "serial": None,
        "quantity": 100,
    }
    values.update(changes)
    return ReceivedUnit(**values)  # type: ignore[arg-type]


POLICY = ReceivingPolicy(minimum_shelf_life_days=90)
SHIPPED = ExpectedContent(
    lots={("00300933109055", "A1")}, serials={("00300933109055", "S1")}, has_data=True
)


def test_a_good_package_with_transaction_data_is_accepted() -> None:
    assert judge(_unit(), SHIPPED, POLICY, TODAY) == Disposition.accept()


@pytest.mark.parametrize(
    ("unit", "reason"),
    [
        (_unit(item=None), Reason.UNKNOWN_GTIN),
        (_unit(expiry=date(2026, 5, 31)), Reason.EXPIRED),
        (_unit(expiry=date(2026, 8, 1)), Reason.SHORT_DATED),
        (_unit(lot="B9"), Reason.NOT_IN_SHIPMENT),
        (_unit(serial="FOREIGN"), Reason.NOT_IN_SHIPMENT),
    ],
)
def test_each_problem_sends_the_package_to_quarantine(unit: ReceivedUnit, reason: Reason) -> None:
    verdict = judge(unit, SHIPPED, POLICY, TODAY)
    assert verdict.quarantine
    assert verdict.reason is reason


def test_a_package_the_technician_marks_damaged_is_quarantined() -> None:
    verdict = judge(_unit(), SHIPPED, POLICY, TODAY, damaged=True)
    assert (verdict.quarantine, verdict.reason) == (True, Reason.DAMAGED)


def test_a_foreign_serial_makes_the_package_suspect() -> None:
    verdict = judge(_unit(serial="FOREIGN"), SHIPPED, POLICY, TODAY)
    assert verdict.suspect


def test_a_listed_serial_is_accepted() -> None:
    assert not judge(_unit(serial="S1"), SHIPPED, POLICY, TODAY).quarantine


def test_a_dscsa_product_without_transaction_data_is_quarantined() -> None:
    verdict = judge(_unit(), ExpectedContent.none(), POLICY, TODAY)
    assert verdict.reason is Reason.MISSING_TRANSACTION_DATA


def test_a_product_outside_dscsa_needs_no_transaction_data() -> None:
    otc = _unit(item=_item(ndc10=None))
    assert not judge(otc, ExpectedContent.none(), POLICY, TODAY).quarantine


def test_shelf_life_is_counted_in_days_left_on_the_day_received() -> None:
    exactly = _unit(expiry=date(2026, 8, 30))  # 90 days after 1 June
    assert not judge(exactly, SHIPPED, POLICY, TODAY).quarantine
    one_short = _unit(expiry=date(2026, 8, 29))
    assert judge(one_short, SHIPPED, POLICY, TODAY).reason is Reason.SHORT_DATED


def test_an_item_may_require_more_shelf_life_than_the_site() -> None:
    policy = ReceivingPolicy(minimum_shelf_life_days=90, item_minimums={7: 365})
    verdict = judge(_unit(expiry=date(2027, 1, 31)), SHIPPED, policy, TODAY)
    assert verdict.reason is Reason.SHORT_DATED


def test_counts_against_the_shipment_name_shortages_and_excess() -> None:
    expected = {(7, "A1"): 300, (7, "A2"): 100}
    received = {(7, "A1"): 400, (7, "A3"): 50}
    found = {
        (d.item_id, d.lot): (d.expected, d.received)
        for d in count_discrepancies(expected, received)
    }
    assert found == {(7, "A1"): (300, 400), (7, "A2"): (100, 0), (7, "A3"): (0, 50)}


def test_accepted_units_fill_the_order_lines_then_spill_to_quarantine() -> None:
    from rxledger.domain.receiving import Allocation, OrderLine, allocate_to_order

    amox = _item(id=7, generic_name="amoxicillin", strength="500 mg", dosage_form="capsule")
    generic = _item(id=8, generic_name="Amoxicillin", strength="500MG", dosage_form="Capsule")
    other = _item(id=9, generic_name="ibuprofen", strength="200 mg", dosage_form="tablet")
    lines = [OrderLine(1, amox, 300), OrderLine(2, other, 50)]
    # when 250 units of the ordered item, 100 of an equivalent one and 20 unordered arrive
    allocations, excess = allocate_to_order(
        {7: 250, 8: 100, 10: 20}, {7: amox, 8: generic, 9: other}, lines
    )
    # then the ordered item fills its line, the substitute takes what room is left
    assert allocations == [Allocation(1, 7, 250, False), Allocation(1, 8, 50, True)]
    # and the rest of the substitute, and the unordered item, are excess
    assert excess == {8: 50, 10: 20}
