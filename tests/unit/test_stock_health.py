"""Stock health: dead stock, first-expiry-first-out use before expiry, excess, stockout risk."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest

from rxledger.analytics.forecast_quantiles import demand_quantiles
from rxledger.analytics.stock_health import at_risk, dead_stock, excess, stockout_risk
from rxledger.domain.errors import ValidationFailed

AS_OF = date(2026, 3, 1)


def stock_rows(*rows: tuple[str, int, date | None, date]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "item": "amox",
                "site": site,
                "on_hand": on_hand,
                "last_dispensed": last,
                "first_received": first,
            }
            for site, on_hand, last, first in rows
        ]
    )


def lot_rows(*rows: tuple[str, str, int, date, float]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "item": "amox",
                "site": site,
                "lot": lot,
                "on_hand": on_hand,
                "expires_on": expires,
                "unit_cost": cost,
            }
            for site, lot, on_hand, expires, cost in rows
        ]
    )


def test_dead_stock_counts_idle_days_from_the_last_dispense_or_the_first_receipt() -> None:
    # given
    stock = stock_rows(
        # 2025-11-01 -> 2026-03-01: 29 + 31 + 31 + 28 + 1 = 120 days: dead at exactly `days`
        ("A", 5, date(2025, 11, 1), date(2024, 1, 1)),
        ("B", 5, date(2025, 11, 2), date(2024, 1, 1)),  # 119 days: not dead
        ("C", 0, date(2024, 1, 1), date(2023, 1, 1)),  # idle but nothing on hand
        # never dispensed, received 2025-06-01: 29 + 31+31+30+31+30+31 + 31+28 + 1 = 273 days
        ("D", 3, None, date(2025, 6, 1)),
        ("E", 3, None, date(2026, 1, 15)),  # never dispensed, 45 days since receipt
    )

    # when
    dead = dead_stock(stock, as_of=AS_OF, days=120)

    # then: longest idle first
    assert dead["site"].tolist() == ["D", "A"]
    assert dead["idle_days"].tolist() == [273, 120]
    assert dead["on_hand"].tolist() == [3, 5]


def test_dead_stock_needs_its_columns_and_a_positive_window() -> None:
    stock = stock_rows(("A", 5, None, date(2025, 1, 1))).drop(columns="first_received")
    with pytest.raises(ValidationFailed) as error:
        dead_stock(stock, as_of=AS_OF)
    assert error.value.code == "VALIDATION_ERROR"
    assert error.value.details["missing"] == ["first_received"]
    with pytest.raises(ValidationFailed):
        dead_stock(stock_rows(("A", 5, None, date(2025, 1, 1))), as_of=AS_OF, days=0)


def test_at_risk_follows_first_expiry_first_out_past_a_lot_that_expires_with_stock_left() -> None:
    # given: 5 a day at S; by each expiry it has used S_i = min(S_{i-1} + on_hand_i, 5 × days):
    #   lot A, 100 units, 10 days: S = min(100, 50) = 50        -> uses 50, 50 at risk
    #   lot B,  50 units, 20 days: S = min(50 + 50, 100) = 100  -> uses 50, none at risk
    #   lot C,  40 units, 30 days: S = min(100 + 40, 150) = 140 -> uses 40, none at risk
    # (subtracting the on hand of the lots ahead, 100 and 150, would wrongly put all of B and C at
    # risk: the demand after A expires on day 10 falls on B)
    lots = lot_rows(
        ("S", "C", 40, date(2026, 3, 31), 2.0),
        ("S", "A", 100, date(2026, 3, 11), 2.0),
        ("S", "B", 50, date(2026, 3, 21), 2.0),
    )

    # when
    risk = at_risk(lots, {("amox", "S"): 5.0}, as_of=AS_OF)

    # then
    assert risk["lot"].tolist() == ["A"]
    assert risk["expected_use"].tolist() == [50]
    assert risk["at_risk_units"].tolist() == [50]
    assert risk["at_risk_value"].tolist() == [100.0]  # 50 × 2.0


def test_at_risk_when_the_lots_ahead_are_used_up_expired_or_unforecast() -> None:
    # given
    lots = lot_rows(
        # T at 2 a day: P (10 units, 10 days): S = min(10, 20) = 10, all used;
        # Q (30 units, 15 days): S = min(10 + 30, 30) = 30 -> uses 20, 10 at risk × 1.5 = 15.0
        ("T", "P", 10, date(2026, 3, 11), 1.0),
        ("T", "Q", 30, date(2026, 3, 16), 1.5),
        # U at 1 a day: E expired 5 days ago: S = min(10, 0) = 0, all 10 at risk × 3.0 = 30.0;
        # F (10 units, 10 days): S = min(0 + 10, 10) = 10 -> all used (the expired lot is not ahead)
        ("U", "E", 10, date(2026, 2, 24), 3.0),
        ("U", "F", 10, date(2026, 3, 11), 3.0),
        # W has no forecast: sells nothing, all 4 at risk × 2.5 = 10.0
        ("W", "G", 4, date(2027, 1, 1), 2.5),
        # on the expiry day itself nothing more is used: 0 days × 1 a day
        ("U", "H", 2, AS_OF, 1.0),
    )
    rates = pd.Series([2.0, 1.0], index=pd.MultiIndex.from_tuples([("amox", "T"), ("amox", "U")]))

    # when
    risk = at_risk(lots, rates, as_of=AS_OF)

    # then: per site, in expiry order
    assert risk[["site", "lot"]].values.tolist() == [
        ["T", "Q"],
        ["U", "E"],
        ["U", "H"],
        ["W", "G"],
    ]
    assert risk["at_risk_units"].tolist() == [10, 10, 2, 4]
    assert risk["expected_use"].tolist() == [20, 0, 0, 0]
    assert risk["days_to_expiry"].tolist() == [15, -5, 0, 306]
    assert risk["at_risk_value"].tolist() == [15.0, 30.0, 2.0, 10.0]


def simulate_fefo(on_hand: list[int], days: list[int], rate: float) -> list[int]:
    """Day by day: the demand of day t (floor(rate t) - floor(rate (t - 1))) is served from the
    lots still in date (expiring on day t or later), earliest expiry first."""
    left = list(on_hand)
    order = sorted(range(len(left)), key=lambda i: days[i])
    for t in range(1, max(days, default=0) + 1):
        demand = math.floor(rate * t + 1e-9) - math.floor(rate * (t - 1) + 1e-9)
        for i in order:
            if days[i] >= t and demand > 0:
                take = min(demand, left[i])
                left[i] -= take
                demand -= take
    return left


def test_at_risk_matches_a_day_by_day_simulation_over_many_sites() -> None:
    # given: 30 sites, 200 lots with random stock, expiry and rates
    rng = np.random.default_rng(7)
    sites = [f"S{i}" for i in range(30)]
    days = rng.integers(-10, 120, 200)
    lots = pd.DataFrame(
        {
            "item": "amox",
            "site": rng.choice(sites, 200),
            "lot": [f"L{i:03d}" for i in range(200)],
            "on_hand": rng.integers(0, 80, 200),
            "expires_on": pd.Timestamp(AS_OF) + pd.to_timedelta(days, "D"),
            "unit_cost": 1.0,
        }
    )
    rates = {("amox", site): float(rng.uniform(0, 4)) for site in sites}

    # when
    risk = at_risk(lots, rates, as_of=AS_OF).set_index("lot")["at_risk_units"]

    # then
    lots = lots.assign(days=days)
    for site, group in lots.groupby("site"):
        left = simulate_fefo(
            group["on_hand"].tolist(), group["days"].tolist(), rates[("amox", site)]
        )
        expected = pd.Series(left, index=group["lot"])
        assert risk.reindex(group["lot"]).fillna(0).astype(int).equals(expected), site


def test_at_risk_refuses_negative_stock_and_missing_columns() -> None:
    with pytest.raises(ValidationFailed):
        at_risk(lot_rows(("S", "A", -1, date(2026, 4, 1), 1.0)), {}, as_of=AS_OF)
    with pytest.raises(ValidationFailed) as error:
        at_risk(lot_rows(("S", "A", 1, date(2026, 4, 1), 1.0)).drop(columns="lot"), {}, as_of=AS_OF)
    assert error.value.details["missing"] == ["lot"]
    with pytest.raises(ValidationFailed):
        at_risk(lot_rows(("S", "A", 1, date(2026, 4, 1), 1.0)), {("amox", "S"): -1.0}, as_of=AS_OF)


def test_excess_is_stock_beyond_the_days_of_supply_in_whole_units() -> None:
    # covers: 2 × 30 = 60, 2 × 30 = 60, 1 × 30 = 30, 0.14 × 50 = 7 (not 8: 0.14 × 50 is
    # 7.000000000000001 in floating point), 0.5 × 5 = 2.5, so 3 units
    got = excess([100, 10, 0, 10, 10], [2.0, 2.0, 1.0, 0.14, 0.5], [30, 30, 30, 50, 5])
    assert got.tolist() == [40, 0, 0, 3, 7]
    assert got.dtype == np.int64
    with pytest.raises(ValidationFailed):
        excess([1], [-1.0], 30)


def test_stockout_risk_in_each_distribution_family() -> None:
    # available 3 + arriving 2 = 5; P(demand > 5) for mean 4:
    # Poisson (variance 4): 1 - e^-4 (1 + 4 + 8 + 32/3 + 32/3 + 128/15)
    poisson = 1 - math.exp(-4) * sum(4**k / math.factorial(k) for k in range(6))
    # negative binomial, variance 8: n = 4²/(8 - 4) = 4, p = 4/8: 1 - sum C(k+3, k) 0.5^(4+k)
    negbin = 1 - sum(math.comb(k + 3, k) * 0.5 ** (4 + k) for k in range(6))
    # gamma, variance 8: shape 4²/8 = 2, scale 8/4 = 2 (Erlang): e^-2.5 (1 + 2.5)
    gamma = math.exp(-2.5) * 3.5
    got = stockout_risk([3, 3, 3], [2, 2, 2], [4.0, 4.0, 4.0], [4.0, 8.0, 8.0], [True, True, False])
    np.testing.assert_allclose(got, [poisson, negbin, gamma], rtol=1e-12)
    assert round(poisson, 5) == 0.21487


def test_stockout_risk_edges() -> None:
    # no demand never runs out of zero stock; a backorder (stock below zero) always does;
    # a variance below the mean is taken as the mean (Poisson); 5.5 units cover as 5 do for counts
    got = stockout_risk(
        [0, -1, 5, 5], [0, 0, 0, 0.5], [0.0, 0.0, 4.0, 4.0], [0.0, 0.0, 1.0, 4.0], True
    )
    poisson = 1 - math.exp(-4) * sum(4**k / math.factorial(k) for k in range(6))
    np.testing.assert_allclose(got, [0.0, 1.0, poisson, poisson], rtol=1e-12)


def test_stockout_risk_agrees_with_the_forecast_quantiles() -> None:
    # stocking the 0.9 quantile runs out with probability at most 0.1, and for counts one unit less
    # runs out with probability above 0.1
    rng = np.random.default_rng(3)
    mean = rng.uniform(0.5, 60, 300)
    variance = mean * rng.uniform(0.8, 5, 300)
    discrete = rng.random(300) < 0.7
    q = demand_quantiles(mean, variance, discrete, (0.9,))[0.9]
    assert (stockout_risk(q, 0, mean, variance, discrete) <= 0.1 + 1e-9).all()
    below = stockout_risk(q[discrete] - 1, 0, mean[discrete], variance[discrete], True)
    assert (below > 0.1).all()
