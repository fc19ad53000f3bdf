"""Policy simulation: hand-traced days for each policy, lost sales, expiry, no peeking, service."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from rxledger.analytics.simulation import (
    SERIES_COLUMNS,
    AmcPolicy,
    Avg365Policy,
    RxLedgerPolicy,
    simulate,
)
from rxledger.domain.errors import ValidationFailed

START = "2024-01-01"


def daily(series: dict[str, np.ndarray | list[float]], start: str = START) -> pd.DataFrame:
    frames = [
        pd.DataFrame({"unique_id": name, "ds": pd.date_range(start, periods=len(y)), "y": y})
        for name, y in series.items()
    ]
    return pd.concat(frames, ignore_index=True)


def matrix(y: np.ndarray) -> pd.DataFrame:
    """One series per row of ``y``, named s000, s001, …"""
    return daily({f"s{i:03d}": row.astype(float) for i, row in enumerate(y)})


def scored(result: object, name: str = "a") -> pd.DataFrame:
    return result.daily(name)  # type: ignore[attr-defined, no-any-return]


CONSTANT = daily({"a": [2.0] * 10})  # days 0..9, two units a day; days 0..2 are the warm-up


def test_rxledger_orders_up_to_the_poisson_quantile_of_lead_time_plus_review() -> None:
    # given two units a day, L = 2, R = 1: the window has no variance, so demand over L + R = 3
    # days is taken as Poisson(6), whose 0.95 quantile is S = 10.
    # day  stock at start  position  order (arrives)  demand  end of day
    #  3   10 (initial)    10        0                2       8
    #  4    8               8        2 (day 6)        2       6
    #  5    6               6+2      2 (day 7)        2       4
    #  6    6 (+2)          6+2      2 (day 8)        2       4
    #  7…9  6 (+2)          6+2      2                2       4
    assert stats.poisson.ppf(0.95, 6) == 10
    # when
    result = simulate(CONSTANT, "rxledger", lead_time_days=2, review_days=1, warmup_days=3)
    # then
    days = scored(result)
    assert days["ordered"].tolist() == [0, 2, 2, 2, 2, 2, 2]
    assert days["on_hand"].tolist() == [8, 6, 4, 4, 4, 4, 4]
    row = result.series.iloc[0]
    assert (row["demand"], row["lost"], row["fill_rate"], row["stockout_days"]) == (14, 0, 1.0, 0)
    assert (row["orders"], row["units_ordered"], row["units_expired"]) == (6, 12, 0)
    assert row["avg_on_hand_units"] == pytest.approx(34 / 7)
    # cycles of review days 3..7 (days 5..9) lie within the scored days; none ran out
    assert (row["cycles"], row["cycles_without_stockout"]) == (5, 5)


def test_an_order_multiple_rounds_the_order_up() -> None:
    result = simulate(
        CONSTANT, RxLedgerPolicy(order_multiple=5), lead_time_days=2, review_days=1, warmup_days=3
    )
    # S = 10 as above; a shortfall of 1 or 2 is ordered as a pack of 5
    # day  stock at start  position  order (arrives)  end of day
    #  3   10 (initial)    10        0                8
    #  4    8               8        5 (day 6)        6
    #  5    6               6+5      0                4
    #  6    9 (+5)          9        5 (day 8)        7
    #  7    7               7+5      0                5
    #  8   10 (+5)         10        0                8
    #  9    8               8        5 (day 11)       6
    days = scored(result)
    assert days["ordered"].tolist() == [0, 5, 0, 5, 0, 0, 5]
    assert days["on_hand"].tolist() == [8, 6, 4, 7, 5, 8, 6]


def test_avg365_with_too_little_cover_loses_sales() -> None:
    # given cover of 2 days (4 units) against a 2-day lead time, R = 1:
    # day  stock at start  position  order (arrives)  demand  served  lost  end
    #  3   4 (initial)     4         0                2       2       0     2
    #  4   2               2         2 (day 6)        2       2       0     0
    #  5   0               0+2       2 (day 7)        2       0       2     0
    #  6   2 (arrived)     2+2       0                2       2       0     0
    #  7   2 (arrived)     2         2 (day 9)        2       2       0     0
    #  8   0               0+2       2 (day 10)       2       0       2     0
    #  9   2 (arrived)     2+2       0                2       2       0     0
    # when
    result = simulate(
        CONSTANT, Avg365Policy(cover_days=2), lead_time_days=2, review_days=1, warmup_days=3
    )
    # then
    days = scored(result)
    assert days["ordered"].tolist() == [0, 2, 2, 0, 2, 2, 0]
    assert days["lost"].tolist() == [0, 0, 2, 0, 0, 2, 0]
    assert days["on_hand"].tolist() == [2, 0, 0, 0, 0, 0, 0]
    row = result.series.iloc[0]
    assert (row["served"], row["lost"], row["stockout_days"]) == (10, 4, 2)
    assert row["fill_rate"] == pytest.approx(10 / 14)
    # cycles: review day r covers day r + 2; days 5 and 8 ran out
    assert (row["cycles"], row["cycles_without_stockout"]) == (5, 3)


def test_amc_ignores_what_is_on_order() -> None:
    # given a level of 6 (2 a day × 3 "months" of one day, averaged over 3 months), L = 2, R = 1
    # day  on hand at decision  order (arrives)  end of day
    #  3   6 (initial)          0                4
    #  4   4                    2 (day 6)        2
    #  5   2                    4 (day 7)        0      ← the 2 on order is not counted
    #  6   2                    4 (day 8)        0
    #  7   4                    2 (day 9)        2
    #  8   6                    0                4
    #  9   6                    0                4
    # 10   4                    2                2
    # 11   2                    4                0
    amc = AmcPolicy(target_months=3, window_months=3, month_days=1.0)
    history = daily({"a": [2.0] * 12})
    # when
    result = simulate(history, amc, lead_time_days=2, review_days=1, warmup_days=3)
    # then
    days = scored(result)
    assert days["ordered"].tolist() == [0, 2, 4, 4, 2, 0, 0, 2, 4]
    assert days["on_hand"].tolist() == [4, 2, 0, 0, 2, 4, 4, 2, 0]
    assert days["lost"].sum() == 0
    # the same level counted against the inventory position settles at 2 a day
    same_level = simulate(
        history, Avg365Policy(cover_days=3), lead_time_days=2, review_days=1, warmup_days=3
    )
    assert scored(same_level)["ordered"].tolist() == [0, 2, 2, 2, 2, 2, 2, 2, 2]


def test_lots_are_issued_first_expiry_first_out_and_written_off_at_expiry() -> None:
    # given a 10-unit level (5 days' cover), L = 0, R = 1, lots usable for 3 days
    # day  written off  lots before the day's order  order = lot  lots at the end of the day
    #  3   –            A10                          0            A8
    #  4   –            A8                           2 = B        A6 B2
    #  5   –            A6 B2                        2 = C        A4 B2 C2
    #  6   A: 4         B2 C2                        6 = D        C2 D6
    #  7   –            C2 D6                        2 = E        D6 E2
    #  8   –            D6 E2                        2 = F        D4 E2 F2
    #  9   D: 4         E2 F2                        6 = G        F2 G6
    # (issuing the newest lot first would instead write off 8 units of A on day 6)
    # when
    result = simulate(
        CONSTANT,
        Avg365Policy(cover_days=5),
        lead_time_days=0,
        review_days=1,
        shelf_life_days=3,
        warmup_days=3,
    )
    # then
    days = scored(result)
    assert days["expired"].tolist() == [0, 0, 0, 4, 0, 0, 4]
    assert days["ordered"].tolist() == [0, 2, 2, 6, 2, 2, 6]
    assert days["on_hand"].tolist() == [8] * 7
    row = result.series.iloc[0]
    assert (row["units_expired"], row["lost"]) == (8, 0)
    # stock is conserved: initial 10 + ordered = served + expired + what is left
    assert 10 + row["units_ordered"] == row["served"] + row["units_expired"] + 8


def test_without_a_shelf_life_nothing_expires() -> None:
    result = simulate(
        CONSTANT, Avg365Policy(cover_days=5), lead_time_days=0, review_days=1, warmup_days=3
    )
    assert result.series.iloc[0]["units_expired"] == 0
    assert scored(result)["ordered"].tolist() == [0, 2, 2, 2, 2, 2, 2]


@pytest.mark.parametrize(
    "policy", [RxLedgerPolicy(window_days=28), Avg365Policy(), AmcPolicy(), "rxledger"]
)
@pytest.mark.parametrize("shelf_life", [None, 20])
def test_orders_use_only_the_demand_of_earlier_days(policy: object, shelf_life: int | None) -> None:
    # given a history, and the same history with the demand from day 100 (a review day) on changed
    rng = np.random.default_rng(11)
    y = rng.poisson(rng.uniform(0.5, 8.0, (6, 1)), (6, 200)).astype(float)
    changed = y.copy()
    changed[:, 100:] = rng.poisson(20.0, (6, 100))
    settings = {"lead_time_days": 3, "review_days": 2, "shelf_life_days": shelf_life}
    # when
    before = simulate(matrix(y), policy, warmup_days=40, **settings)  # type: ignore[arg-type]
    after = simulate(matrix(changed), policy, warmup_days=40, **settings)  # type: ignore[arg-type]
    # then the orders up to day 100 (decided before day 100's demand) agree, and later ones do not
    np.testing.assert_array_equal(before.trace.ordered[:, :101], after.trace.ordered[:, :101])
    assert not np.array_equal(before.trace.ordered, after.trace.ordered)


def test_days_without_rows_have_no_demand_and_decimals_round_half_up() -> None:
    # given a series with gaps and decimal quantities, and a series starting later
    history = pd.DataFrame(
        {
            "unique_id": ["a", "a", "a", "a", "b", "b"],
            "ds": pd.to_datetime(
                ["2024-01-01", "2024-01-03", "2024-01-04", "2024-01-06", "2024-01-02", "2024-01-06"]
            ),
            "y": [1.0, 2.5, 0.4, 1.5, 3.0, 3.49],
        }
    )
    # when
    result = simulate(history, "avg365", lead_time_days=0, review_days=1, warmup_days=2)
    # then
    a, b = scored(result, "a"), scored(result, "b")
    assert a["ds"].dt.strftime("%m-%d").tolist() == ["01-03", "01-04", "01-05", "01-06"]
    assert a["demand"].tolist() == [3, 0, 0, 2]
    assert b["ds"].dt.strftime("%m-%d").tolist() == ["01-04", "01-05", "01-06"]
    assert b["demand"].tolist() == [0, 0, 3]
    assert result.series.set_index("unique_id")["demand"].to_dict() == {"a": 5, "b": 3}


def test_unit_costs_value_the_average_stock() -> None:
    history = daily({"a": [2.0] * 10, "b": [2.0] * 10})
    result = simulate(
        history,
        "rxledger",
        lead_time_days=2,
        review_days=1,
        warmup_days=3,
        unit_cost={"a": 1.5},
    )
    rows = result.series.set_index("unique_id")
    assert rows.loc["a", "avg_on_hand_value"] == pytest.approx(1.5 * 34 / 7)
    assert np.isnan(rows.loc["b", "avg_on_hand_value"])
    assert result.totals["avg_on_hand_value"] == pytest.approx(1.5 * 34 / 7)
    assert result.totals["avg_on_hand_units"] == pytest.approx(2 * 34 / 7)
    assert list(result.series.columns) == list(SERIES_COLUMNS)
    assert set(result.series["policy"]) == {"rxledger"}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"lead_time_days": -1}, "lead time"),
        ({"review_days": 0}, "review period"),
        ({"service_level": 1.0}, "service level"),
        ({"service_level": 0.0}, "service level"),
        ({"shelf_life_days": 0}, "shelf life"),
        ({"warmup_days": 10}, "fewer than warm-up + 1 = 11 days"),
        ({"policy": "minmax"}, "unknown policy 'minmax'"),
    ],
)
def test_bad_arguments_are_refused(arguments: dict[str, object], message: str) -> None:
    settings: dict[str, object] = {
        "policy": "rxledger",
        "lead_time_days": 2,
        "review_days": 1,
        "warmup_days": 3,
        **arguments,
    }
    with pytest.raises(ValidationFailed, match=re.escape(message)):
        simulate(CONSTANT, **settings)  # type: ignore[arg-type]


def test_exactly_warmup_plus_one_days_is_enough() -> None:
    result = simulate(CONSTANT, "amc", lead_time_days=1, review_days=1, warmup_days=9)
    assert result.series.iloc[0]["demand"] == 2


# The statistical checks: 400 series of 730 days, L = R = 7. On a review day r the position is
# brought to S, the 0.95 quantile of demand over days r … r + 13; the cycle of r (days r + 7 …
# r + 13, from the arrival of r's order to the day before the next one's) runs out only if that
# demand exceeds S. So the share of cycles without a stock-out measures P(demand over L + R ≤ S).
LEAD, REVIEW, LEVEL = 7, 7, 0.95


@pytest.fixture(scope="module")
def poisson_history() -> pd.DataFrame:
    return matrix(np.random.default_rng(2024).poisson(5.0, (400, 730)))


def test_poisson_demand_meets_the_service_level(poisson_history: pd.DataFrame) -> None:
    # Poisson(70) at its 0.95 quantile (84) holds 0.955; estimating mean and variance from 182
    # days moves the share by well under 0.03 either way.
    result = simulate(
        poisson_history, "rxledger", lead_time_days=LEAD, review_days=REVIEW, service_level=LEVEL
    )
    totals = result.totals
    assert totals["cycles"] == 400 * 90
    assert totals["cycle_service"] == pytest.approx(LEVEL, abs=0.03)
    assert totals["fill_rate"] >= 0.95


def test_intermittent_demand_meets_the_service_level_of_its_distribution() -> None:
    # Bernoulli–Poisson days (demand on 30 % of days, Poisson(4) when there is any): 14 days of it
    # have mean 16.8 and variance 63.84, taken as a negative binomial. That distribution's tail is
    # heavier than the real one's: its 0.95 quantile covers more than 0.95 of real 14-day demand
    # (computed exactly below, by convolution: about 0.964). The simulation must hit that target;
    # ±0.02 allows for S being estimated from 182 days of a series whose mean has a standard error
    # of 13 %, and for the quantile's steps of about 0.01 near the tail.
    p, size, days = 0.3, 4.0, LEAD + REVIEW
    day = p * stats.poisson.pmf(np.arange(80), size)
    day[0] += 1 - p
    real = np.array([1.0])
    for _ in range(days):
        real = np.convolve(real, day)
    mean = days * p * size
    variance = days * (p * (size + size**2) - (p * size) ** 2)
    s = stats.nbinom.ppf(LEVEL, mean * mean / (variance - mean), mean / variance)
    target = real[: int(s) + 1].sum()
    assert 0.955 < target < 0.975
    rng = np.random.default_rng(2025)
    y = (rng.random((400, 730)) < p) * rng.poisson(size, (400, 730))
    # when
    result = simulate(
        matrix(y), "rxledger", lead_time_days=LEAD, review_days=REVIEW, service_level=LEVEL
    )
    # then
    assert result.totals["cycle_service"] == pytest.approx(target, abs=0.02)
    assert result.totals["cycle_service"] >= LEVEL - 0.01
    assert result.totals["fill_rate"] >= 0.95


def test_the_three_policies_on_the_same_demand(poisson_history: pd.DataFrame) -> None:
    # given the same Poisson(5) demand, L = R = 7, no expiry
    results = {
        name: simulate(poisson_history, name, lead_time_days=LEAD, review_days=REVIEW)
        for name in ("rxledger", "avg365", "amc")
    }
    totals = {name: result.totals for name, result in results.items()}
    # then all three report on the same demand and cycles
    assert len({t["demand"] for t in totals.values()}) == 1
    assert len({t["cycles"] for t in totals.values()}) == 1
    for t in totals.values():
        assert 0.9 < t["fill_rate"] <= 1
        assert t["units_expired"] == 0
    # rxledger holds S ≈ 84 units (17 days of demand) against avg365's 150 (30 days) and amc's
    # 304 on hand (2 months), so it carries the least stock; the others serve more from theirs.
    assert (
        totals["rxledger"]["avg_on_hand_units"]
        < totals["avg365"]["avg_on_hand_units"]
        < totals["amc"]["avg_on_hand_units"]
    )
    assert totals["avg365"]["fill_rate"] >= totals["rxledger"]["fill_rate"]
