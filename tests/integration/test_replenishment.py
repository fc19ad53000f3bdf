"""Suggested orders from the ledger on both engines: the position counts open purchase orders and
transfers in transit, and accepting a suggestion drafts a requisition."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rxledger.domain import errors
from rxledger.domain.clock import ManualClock
from rxledger.domain.permissions import Role
from rxledger.services import purchasing, replenishment, stock
from rxledger.services.runtime import Runtime
from tests.builders import build_network
from tests.purchasing_builders import Buying, build_buying, person

DAYS = 112  # 16 weeks of 10 a day


@pytest.fixture
def buying(rt: Runtime, clock: ManualClock) -> Buying:
    """An item received once (1,200) and dispensed 10 a day for 16 weeks: 80 left."""
    net = build_network(rt)
    buying = build_buying(net, pack_units=100, pack_price="12.50")
    net.receive(buying.item, 1200)
    for _ in range(DAYS):
        net.dispense(buying.item, 10)
        clock.advance(timedelta(days=1))
    clock.advance(timedelta(hours=-1))
    return buying


def suggestion_for(buying: Buying) -> dict[str, object] | None:
    net = buying.net
    result = replenishment.plan(net.rt, buying.buyer, site_id=net.central.id)
    rows = result.suggestions[result.suggestions["item_id"] == buying.item.id]
    return None if rows.empty else rows.iloc[0].to_dict()


def test_a_low_item_is_suggested_with_its_reasons_and_accepted_as_a_requisition(
    buying: Buying,
) -> None:
    line = suggestion_for(buying)

    assert line is not None
    assert line["available"] == 80
    assert line["position"] == 80
    assert line["daily_forecast"] == pytest.approx(10.0, rel=0.1)
    # lead time 2 days + review 7: about 90 over the interval, more with safety stock
    assert line["protection_mean"] == pytest.approx(90.0, rel=0.1)
    assert line["minimum"] > 80
    assert line["order_units"] >= line["maximum"] - 80
    assert line["order_units"] % 100 == 0
    assert line["supplier_code"] == buying.supplier.code
    assert line["sku"] == buying.item.sku

    requisition = replenishment.accept(
        buying.net.rt,
        buying.buyer,
        site_id=buying.net.central.id,
        supplier_id=buying.supplier.id,
        lines=[replenishment.AcceptedLine(buying.offer.id, int(line["order_packs"]))],  # type: ignore[call-overload]
    )
    assert requisition.status == "draft"
    assert [(x.item_id, x.packs) for x in requisition.lines] == [
        (buying.item.id, line["order_packs"])
    ]


def test_an_open_purchase_order_covers_the_need(buying: Buying) -> None:
    buying.order(10)  # 1,000 units due

    assert suggestion_for(buying) is None
    result = replenishment.plan(buying.net.rt, buying.buyer, site_id=buying.net.central.id)
    row = result.policy[result.policy["item_id"] == buying.item.id].iloc[0]
    assert row["on_order"] == 1000


def test_a_transfer_in_transit_covers_the_need(buying: Buying) -> None:
    net = buying.net
    net.receive(buying.item, 600, lot="R1", site=net.retail)
    stock.ship_transfer(
        net.rt,
        net.actor,
        stock.ShipTransfer(
            net.retail.id,
            net.retail.storage.id,
            net.central.id,
            [stock.StockLine(buying.item.id, 500)],
        ),
    )

    assert suggestion_for(buying) is None
    result = replenishment.plan(net.rt, buying.buyer, site_id=net.central.id)
    row = result.policy[result.policy["item_id"] == buying.item.id].iloc[0]
    assert row["in_transit"] == 500


def test_a_quarantined_lot_is_not_available(buying: Buying) -> None:
    net = buying.net
    net.receive(buying.item, 5000, lot="SUSPECT", location=net.central.quarantine)

    line = suggestion_for(buying)

    assert line is not None
    assert line["available"] == 80


def test_accepting_needs_the_right_to_order(buying: Buying) -> None:
    viewer = person(buying.net, "aud", Role.AUDITOR)
    with pytest.raises(errors.Forbidden):
        replenishment.accept(
            buying.net.rt,
            viewer,
            site_id=buying.net.central.id,
            supplier_id=buying.supplier.id,
            lines=[replenishment.AcceptedLine(buying.offer.id, 1)],
        )
    assert purchasing.list_requisitions(buying.net.rt, buying.net.actor) == []
