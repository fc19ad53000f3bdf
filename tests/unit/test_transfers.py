"""Transfers: small networks whose best plan is worked out by hand in the comments.

Throughout, a unit costs 2.0 and the emergency premium is 0.25, so a unit that arrives where it is
needed saves an emergency purchase of 2.0 × 1.25 = 2.5, less its route's cost. Transit takes one
day unless a test says otherwise, so a lot expiring in d days is usable for d - 1 days.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from rxledger.analytics.transfers import TransferSettings, recommend_transfers
from rxledger.domain.errors import ValidationFailed

AS_OF = date(2026, 3, 1)
COLUMNS = ["item", "lot", "from_site", "to_site", "units", "transfer_cost", "expected_saving"]


def lots(*rows: tuple[str, str, int, int]) -> pd.DataFrame:
    """(lot, site, units, days until expiry) of item amox at 2.0 a unit."""
    return pd.DataFrame(
        [
            {
                "item": "amox",
                "lot": lot,
                "site": site,
                "units": units,
                "expires_on": AS_OF + timedelta(days=days),
                "unit_cost": 2.0,
            }
            for lot, site, units, days in rows
        ]
    )


def needs(*rows: tuple[str, float, int]) -> pd.DataFrame:
    """(site, daily rate, shortfall) of item amox."""
    return pd.DataFrame(
        [
            {"item": "amox", "site": site, "daily_rate": rate, "shortfall": shortfall}
            for site, rate, shortfall in rows
        ]
    )


def routes(**costs: float) -> pd.DataFrame:
    """Routes named FROM_TO, e.g. ``A_C=0.3``."""
    return pd.DataFrame(
        [
            {"from_site": name.split("_")[0], "to_site": name.split("_")[1], "cost_per_unit": cost}
            for name, cost in costs.items()
        ]
    )


def plan(frame: pd.DataFrame) -> list[tuple[str, str, str, int]]:
    return [
        (row.lot, row.from_site, row.to_site, row.units) for row in frame.itertuples(index=False)
    ]


def test_short_dated_lot_on_the_cheap_route_goes_first_then_the_long_dated_one() -> None:
    # given: C needs 50 at 2 a day. L1 at A: 40 units, 16 days (15 usable: C can use 2 × 15 = 30),
    # route A->C 0.3, saving 2.5 - 0.3 = 2.2 a unit. L2 at B: 60 units, 91 days (C could use 180,
    # capped by the shortfall 50), route B->C 0.6, saving 1.9 a unit.
    # Best: as much L1 as C can use (30 × 2.2 = 66), the rest of the shortfall from L2
    # (20 × 1.9 = 38): 104 in all. Any unit of L1 swapped for L2 loses 0.3; more L1 expires unused.
    surplus = lots(("L1", "A", 40, 16), ("L2", "B", 60, 91))
    need = needs(("C", 2.0, 50))

    # when
    out = recommend_transfers(
        surplus, need, as_of=AS_OF, transfer_cost=routes(A_C=0.3, B_C=0.6, A_B=0.1, B_A=0.1)
    )

    # then
    assert out.columns.tolist() == COLUMNS
    assert plan(out) == [("L1", "A", "C", 30), ("L2", "B", "C", 20)]
    assert out["transfer_cost"].tolist() == pytest.approx([9.0, 12.0])  # 30 × 0.3, 20 × 0.6
    assert out["expected_saving"].tolist() == pytest.approx([66.0, 38.0])
    assert out["units"].dtype == np.int64


@pytest.mark.parametrize("cost", [2.5, 2.6, 4.0])
def test_nothing_moves_when_the_route_costs_as_much_as_the_emergency_purchase(cost: float) -> None:
    # given: a unit saves 2.5 - cost <= 0. The lot's 2.0 is lost whether it expires at A or is
    # dispensed at B, so a route dearer than 2.5 does not pay even though 2.0 + 2.5 = 4.5 > cost.
    surplus = lots(("L1", "A", 40, 91))
    need = needs(("B", 5.0, 40))

    # when
    out = recommend_transfers(surplus, need, as_of=AS_OF, transfer_cost=cost)

    # then
    assert out.empty
    assert out.columns.tolist() == COLUMNS


def test_receiver_takes_only_what_it_uses_before_the_lot_expires() -> None:
    # given: L1, 100 units expiring in 21 days, 20 usable after a day's transit; B sells 2.5 a day
    # so uses 2.5 × 20 = 50 of it by then, though it is short of 80
    surplus = lots(("L1", "A", 100, 21))
    need = needs(("B", 2.5, 80))

    # when
    out = recommend_transfers(surplus, need, as_of=AS_OF, transfer_cost=0.5)

    # then: 50 units saving 50 × (2.5 - 0.5) = 100
    assert plan(out) == [("L1", "A", "B", 50)]
    assert out["expected_saving"].tolist() == pytest.approx([100.0])


def test_lots_expiring_together_share_what_the_receiver_uses_by_then() -> None:
    # given: two lots of 30 both expiring in 11 days (10 usable); B sells 2 a day, so it uses 20 of
    # the two together by then, not 20 of each
    surplus = lots(("L1", "A", 30, 11), ("L2", "C", 30, 11))
    need = needs(("B", 2.0, 100))

    # when: L1's route is cheaper (saving 2.4 against 2.2)
    out = recommend_transfers(surplus, need, as_of=AS_OF, transfer_cost=routes(A_B=0.1, C_B=0.3))

    # then
    assert plan(out) == [("L1", "A", "B", 20)]


def test_units_are_whole_and_rounded_down_to_what_the_receiver_can_use() -> None:
    # given: a lot of 200 expiring in 31 days, 30 usable. B sells 1.75 a day: 52.5 units, so 52
    # whole ones; C sells 4.1 a day: 123 (4.1 × 30 is 122.99999999999999 in floating point, which
    # must not cost a unit). 52 + 123 = 175 of the 200 move.
    surplus = lots(("L1", "A", 200, 31))
    need = needs(("B", 1.75, 200), ("C", 4.1, 200))

    # when
    out = recommend_transfers(surplus, need, as_of=AS_OF, transfer_cost=routes(A_B=0.1, A_C=0.1))

    # then
    assert plan(out) == [("L1", "A", "B", 52), ("L1", "A", "C", 123)]
    assert out["units"].dtype == np.int64


def test_two_sites_compete_for_one_lot_and_the_lot_goes_where_it_saves_most() -> None:
    # given: 40 units at A; B and C are each short of 40; A->B costs 0.4 (saves 2.1 a unit), A->C
    # costs 0.9 (saves 1.6 a unit): all 40 go to B, 40 × 2.1 = 84
    surplus = lots(("L1", "A", 40, 181))
    need = needs(("B", 3.0, 40), ("C", 3.0, 40))
    cost = routes(A_B=0.4, A_C=0.9)

    # when
    out = recommend_transfers(surplus, need, as_of=AS_OF, transfer_cost=cost)

    # then
    assert plan(out) == [("L1", "A", "B", 40)]
    assert out["expected_saving"].tolist() == pytest.approx([84.0])

    # and when B is short of only 25, C gets the other 15: 25 × 2.1 + 15 × 1.6 = 52.5 + 24 = 76.5
    out = recommend_transfers(
        surplus, needs(("B", 3.0, 25), ("C", 3.0, 40)), as_of=AS_OF, transfer_cost=cost
    )
    assert plan(out) == [("L1", "A", "B", 25), ("L1", "A", "C", 15)]
    assert out["expected_saving"].sum() == pytest.approx(76.5)


def test_no_transfer_to_its_own_site_nor_along_an_unlisted_route_nor_of_another_item() -> None:
    # given: A holds surplus and is short itself; B's route is not listed; C needs another item
    surplus = lots(("L1", "A", 40, 91))
    need = pd.concat(
        [needs(("A", 3.0, 40), ("B", 3.0, 40)), needs(("C", 3.0, 40)).assign(item="ibup")]
    )

    # when
    out = recommend_transfers(surplus, need, as_of=AS_OF, transfer_cost=routes(A_C=0.1))

    # then
    assert out.empty


def test_transit_days_shorten_what_the_receiver_can_use() -> None:
    # given: 20 units expiring in 11 days; B sells 1 a day: 10 usable days after one day's transit,
    # 11 with none, 8 with three
    surplus = lots(("L1", "A", 20, 11))
    need = needs(("B", 1.0, 20))

    def moved(transit: int) -> int:
        settings = TransferSettings(transit_days=transit)
        out = recommend_transfers(surplus, need, as_of=AS_OF, transfer_cost=0.1, settings=settings)
        return int(out["units"].sum())

    assert [moved(1), moved(0), moved(3)] == [10, 11, 8]


def test_many_items_solved_together_keep_each_items_units_apart() -> None:
    # given: the same two-site story for 50 items: 10 units at A, B short of 6 at plenty a day
    items = [f"item{i}" for i in range(50)]
    surplus = pd.concat([lots(("L1", "A", 10, 91)).assign(item=item) for item in items])
    need = pd.concat([needs(("B", 5.0, 6)).assign(item=item) for item in items])

    # when
    out = recommend_transfers(surplus, need, as_of=AS_OF, transfer_cost=0.5)

    # then: 6 units of each item, each saving 6 × 2.0
    assert out["item"].tolist() == sorted(items)
    assert out["units"].tolist() == [6] * 50
    assert out["expected_saving"].tolist() == pytest.approx([12.0] * 50)


@pytest.mark.parametrize(
    ("surplus", "need", "cost"),
    [
        (lots(("L1", "A", -5, 91)), needs(("B", 1.0, 10)), 0.1),  # negative units
        (lots(("L1", "A", 5, 91)), needs(("B", 1.0, -10)), 0.1),  # negative shortfall
        (lots(("L1", "A", 5, 91)), needs(("B", -1.0, 10)), 0.1),  # negative rate
        (lots(("L1", "A", 5, 91)).assign(units=2.5), needs(("B", 1.0, 10)), 0.1),  # part units
        (lots(("L1", "A", 5, 91)).rename(columns={"units": "qty"}), needs(("B", 1.0, 10)), 0.1),
        (lots(("L1", "A", 5, 91)), needs(("B", 1.0, 10)).drop(columns="daily_rate"), 0.1),
        (lots(("L1", "A", 5, 91), ("L1", "A", 5, 91)), needs(("B", 1.0, 10)), 0.1),  # twice
        (lots(("L1", "A", 5, 91)), needs(("B", 1.0, 10)), -0.1),  # negative route cost
        (lots(("L1", "A", 5, 91)), needs(("B", 1.0, 10)), routes(A_B=-1.0)),
        (
            lots(("L1", "A", 5, 91)),
            needs(("B", 1.0, 10)),
            routes(A_B=1.0).rename(columns={"cost_per_unit": "cost"}),
        ),
    ],
)
def test_input_is_validated(surplus: pd.DataFrame, need: pd.DataFrame, cost: object) -> None:
    with pytest.raises(ValidationFailed) as error:
        recommend_transfers(surplus, need, as_of=AS_OF, transfer_cost=cost)  # type: ignore[arg-type]
    assert error.value.code == "VALIDATION_ERROR"


def test_missing_columns_are_named() -> None:
    surplus = lots(("L1", "A", 5, 91)).rename(columns={"units": "qty"})
    with pytest.raises(ValidationFailed) as error:
        recommend_transfers(surplus, needs(("B", 1.0, 10)), as_of=AS_OF, transfer_cost=0.1)
    assert error.value.details["missing"] == ["units"]


def test_a_negative_premium_is_refused() -> None:
    with pytest.raises(ValidationFailed):
        recommend_transfers(
            lots(("L1", "A", 5, 91)),
            needs(("B", 1.0, 10)),
            as_of=AS_OF,
            transfer_cost=0.1,
            emergency_premium=-0.5,
        )
