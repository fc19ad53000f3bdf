"""Stock health from the ledger on both engines: dead stock, a lot at risk of expiring at a slow
site moved to a site that will use it, stock-out risk, and the KPIs."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from rxledger.domain.clock import ManualClock
from rxledger.services import stock_health
from rxledger.services.runtime import Runtime
from tests.builders import build_network
from tests.purchasing_builders import Buying, build_buying

WEEKS = 8


@pytest.fixture
def buying(rt: Runtime, clock: ManualClock) -> Buying:
    """CENTRAL sells the item 1 a day and holds 300 expiring in 40 days; RETAIL sells 20 a day
    and has run down to 100; a second item sits untouched at CENTRAL."""
    net = build_network(rt)
    buying = build_buying(net, pack_units=100, pack_price="50.00")
    idle = net.item("Gauze pad 4x4 sterile")
    net.receive(idle, 40, "G1")
    expiry = (clock.now() + timedelta(days=WEEKS * 7 + 40)).date()
    net.receive(buying.item, 356, "SLOW", expiry)
    net.receive(buying.item, 20 * WEEKS * 7 + 100, "FAST", date(2028, 1, 31), site=net.retail)
    for _ in range(WEEKS * 7):
        net.dispense(buying.item, 1)
        net.dispense(buying.item, 20, site=net.retail)
        clock.advance(timedelta(days=1))
    clock.advance(timedelta(hours=-1))
    return buying


def test_the_slow_sites_expiring_lot_goes_to_the_site_that_will_use_it(buying: Buying) -> None:
    net = buying.net
    health = stock_health.stock_health(net.rt, net.actor, dead_days=30)

    # CENTRAL will use about 40 of its 300 before they expire in 40 days: the rest is at risk
    [lot] = health.at_risk[health.at_risk["item_id"] == buying.item.id].to_dict("records")
    assert lot["site_id"] == net.central.id
    assert lot["on_hand"] == 300
    assert 30 <= lot["expected_use"] <= 50
    assert lot["at_risk_units"] == 300 - lot["expected_use"]
    # RETAIL would order; the HiGHS plan sends it the at-risk units it can use before expiry
    [move] = health.transfers.to_dict("records")
    assert (move["from_site"], move["to_site"]) == (net.central.id, net.retail.id)
    assert 0 < move["units"] <= lot["at_risk_units"]
    assert move["expected_saving"] > 0
    # the gauze was never dispensed: dead after 30 idle days
    [dead] = health.dead.to_dict("records")
    assert dead["name"] == "Gauze pad 4x4 sterile"
    assert dead["on_hand"] == 40
    assert dead["idle_days"] >= 30


def test_stock_out_risk_ranks_the_running_down_site_first(buying: Buying) -> None:
    net = buying.net
    health = stock_health.stock_health(net.rt, net.actor)

    risk = health.risk[health.risk["item_id"] == buying.item.id].set_index("site_id")
    assert risk.loc[net.retail.id, "stockout_risk"] > 0.5
    assert risk.loc[net.central.id, "stockout_risk"] < 0.01


def test_kpis_per_site(buying: Buying) -> None:
    net = buying.net
    kpis = stock_health.inventory_kpis(net.rt, net.actor, by=("site",), period=None)

    retail = kpis.set_index("site").loc[net.retail.id]
    assert retail["issued_units"] == 20 * WEEKS * 7
    assert retail["fill_rate"] == 1.0
    assert retail["turns"] > 0
