"""Demand history read from the ledger: dispenses net of returns, stock-out days flagged, and
transfers and adjustments left out — on both engines."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from rxledger.domain.clock import ManualClock
from rxledger.services import demand, stock
from rxledger.services.posting import Header
from rxledger.services.runtime import Runtime
from tests.builders import Network, build_network


@pytest.fixture
def net(rt: Runtime) -> Network:
    return build_network(rt)


def day(clock: ManualClock) -> date:
    return clock.now().date()


def test_demand_is_net_dispensing_and_stock_out_days_are_flagged(
    net: Network, clock: ManualClock
) -> None:
    item = net.item()
    other = net.item("Ibuprofen 200 mg tablet")
    start = day(clock)
    # day 0: 10 received, 4 dispensed, 1 of them returned the same day → demand 3, on hand 7
    net.receive(item, 10)
    sale = net.dispense(item, 4)
    stock.reverse_dispense(
        net.rt,
        net.actor,
        stock.ReverseDispense(sale.id, net.central.storage.id, [stock.StockLine(item.id, 1)]),
    )
    # day 1: 7 dispensed → on hand 0 at the end of the day: out of stock
    clock.advance(timedelta(days=1))
    net.dispense(item, 7)
    # day 2: nothing on the shelf and nothing dispensed: out of stock, demand 0 (a lower bound)
    clock.advance(timedelta(days=1))
    # day 3: 20 received; 5 shipped to the other site and 2 written off: neither is demand
    clock.advance(timedelta(days=1))
    net.receive(item, 20, lot="L2")
    stock.ship_transfer(
        net.rt,
        net.actor,
        stock.ShipTransfer(
            net.central.id,
            net.central.storage.id,
            net.retail.id,
            [stock.StockLine(item.id, 5)],
        ),
    )
    lot_id = net.receive(other, 1).movements[0].lot_id  # another item, another series
    stock.adjust(
        net.rt,
        net.actor,
        stock.Adjust(
            net.central.id,
            [stock.AdjustLine(other.id, net.central.storage.id, lot_id, "DAMAGED", delta=-1)],
            Header(),
        ),
    )
    # day 4: 2 dispensed
    clock.advance(timedelta(days=1))
    net.dispense(item, 2)

    history = demand.demand_history(net.rt, net.actor, site_id=net.central.id, days=30)

    rows = history.daily[history.daily["item_id"] == item.id]
    assert [d.date() for d in rows["day"]] == [start + timedelta(days=k) for k in range(5)]
    assert rows["demand"].tolist() == [3, 7, 0, 0, 2]
    assert rows["on_hand"].tolist() == [7, 0, 0, 15, 13]
    assert rows["out_of_stock"].tolist() == [False, True, True, True, False]
    # the other item was received and written off the same day: never on the shelf at a day's
    # end and never dispensed, it has no series
    assert other.id not in set(history.daily["item_id"])
    assert history.through == start + timedelta(days=4)


def test_a_series_starts_when_the_item_first_had_stock_or_demand(
    net: Network, clock: ManualClock
) -> None:
    item = net.item()
    clock.advance(timedelta(days=3))
    net.receive(item, 5)
    clock.advance(timedelta(days=2))
    net.dispense(item, 1)

    history = demand.demand_history(net.rt, net.actor, days=30)

    rows = history.daily[history.daily["item_id"] == item.id]
    assert len(rows) == 3  # receipt day, a quiet day, the dispensing day
    assert rows["demand"].tolist() == [0, 0, 1]
    assert not rows["out_of_stock"].any()
    series = history.series()
    assert set(series["unique_id"]) == {f"{item.id}@{net.central.id}"}


def test_the_retail_site_sees_its_own_demand_only(net: Network, clock: ManualClock) -> None:
    item = net.item()
    net.receive(item, 10)
    net.receive(item, 10, site=net.retail)
    net.dispense(item, 3)
    net.dispense(item, 4, site=net.retail)

    retail = demand.demand_history(net.rt, net.actor, site_id=net.retail.id, days=7)

    assert retail.daily["site_id"].unique().tolist() == [net.retail.id]
    assert retail.daily["demand"].sum() == 4
