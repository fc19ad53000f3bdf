"""Inventory policies: worked examples with the arithmetic beside each expected number."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rxledger.analytics.policies import (
    choose_pack,
    eoq,
    min_max,
    par_level,
    reorder_point,
    round_to_multiple,
    safety_stock_cycle,
    safety_stock_fill_rate,
    service_levels_by_abc,
    shelf_life_cap,
    standard_normal_loss,
)
from rxledger.domain.errors import ValidationFailed

# --- cycle service level --------------------------------------------------------------------------


def test_cycle_safety_stock_poisson() -> None:
    # Poisson(10): P(X ≤ 14) = 0.9165 < 0.95 ≤ P(X ≤ 15) = 0.9513, so the 95 % quantile is 15
    # and the safety stock 15 − 10 = 5.
    ss = safety_stock_cycle([10.0], [10.0], [True], 0.95)
    assert ss.tolist() == [5.0]


def test_cycle_safety_stock_negative_binomial() -> None:
    # mean 10, variance 20: NB with n = 10²/(20 − 10) = 10, p = 10/20 = 0.5;
    # P(X ≤ 17) = 0.9390 < 0.95 ≤ P(X ≤ 18) = 0.9564, so quantile 18 and SS 18 − 10 = 8.
    ss = safety_stock_cycle([10.0], [20.0], [True], 0.95)
    assert ss.tolist() == [8.0]


def test_cycle_safety_stock_gamma_matches_erlang_cdf() -> None:
    # decimals, mean 10, variance 25: gamma shape 10²/25 = 4, scale 25/10 = 2.5. A shape-4 gamma is
    # Erlang: P(X ≤ x) = 1 − e^(−z)(1 + z + z²/2 + z³/6) with z = x / 2.5. At the 95 % quantile
    # x ≈ 19.384 (z ≈ 7.754: e^−7.754 ≈ 4.28e−4, 1 + 7.754 + 30.06 + 77.70 ≈ 116.5, product
    # ≈ 0.0499) the CDF is 0.95, so SS ≈ 19.384 − 10 = 9.384.
    ss = float(safety_stock_cycle([10.0], [25.0], [False], 0.95)[0])
    z = (ss + 10.0) / 2.5
    assert 1 - math.exp(-z) * (1 + z + z**2 / 2 + z**3 / 6) == pytest.approx(0.95, abs=1e-9)
    assert ss == pytest.approx(9.384, abs=1e-3)


def test_cycle_safety_stock_per_series_levels_and_floor() -> None:
    # Poisson(10) at 98 %: P(X ≤ 16) = 0.9730 < 0.98 ≤ P(X ≤ 17) = 0.9857 → SS 17 − 10 = 7;
    # at 90 %: P(X ≤ 13) = 0.8645 < 0.90 ≤ P(X ≤ 14) = 0.9165 → SS 4;
    # at 30 % the quantile (8) lies below the mean → SS 0, never negative; no demand → SS 0.
    ss = safety_stock_cycle(
        [10.0, 10.0, 10.0, 0.0], [10.0] * 3 + [0.0], [True] * 4, [0.98, 0.90, 0.30, 0.99]
    )
    assert ss.tolist() == [7.0, 4.0, 0.0, 0.0]


@pytest.mark.parametrize("level", [0.0, 1.0, 1.5])
def test_cycle_service_level_outside_open_interval_is_rejected(level: float) -> None:
    with pytest.raises(ValidationFailed):
        safety_stock_cycle([10.0], [10.0], [True], level)


def test_service_levels_by_abc() -> None:
    assert service_levels_by_abc(["A", "C", "B", "A"]).tolist() == [0.98, 0.90, 0.95, 0.98]
    assert service_levels_by_abc(["X"], {"X": 0.99}).tolist() == [0.99]
    with pytest.raises(ValidationFailed):
        service_levels_by_abc(["A", "D"])


# --- fill rate ------------------------------------------------------------------------------------


def test_standard_normal_loss_by_hand() -> None:
    # G(0) = φ(0) = 1/√(2π) = 0.398942; G(0.9) = φ(0.9) − 0.9·(1 − Φ(0.9))
    # = 0.266085 − 0.9 × 0.184060 = 0.100431.
    g = standard_normal_loss([0.0, 0.9])
    assert g == pytest.approx([0.398942, 0.100431], abs=1e-6)


def test_fill_rate_safety_stock_against_hand_computed_loss() -> None:
    # σ = 10, Q = 100, β = 0.99: G(k) = 0.01 × 100 / 10 = 0.1. By hand G(0.90) = 0.10043 and
    # G(0.91) = 0.26369 − 0.91 × 0.18141 = 0.09861, so k lies in (0.90, 0.91); interpolating,
    # k ≈ 0.90 + 0.01 × 0.00043/0.00182 ≈ 0.9024 and SS = kσ ≈ 9.02.
    ss = float(safety_stock_fill_rate(50.0, 10.0, 100.0, 0.99)[0])
    assert 9.0 < ss < 9.1
    assert ss == pytest.approx(9.02, abs=0.01)
    assert 10.0 * standard_normal_loss(ss / 10.0) == pytest.approx(0.01 * 100.0, rel=1e-9)


def test_fill_rate_safety_factor_is_clipped() -> None:
    # β = 0.5, Q = 100, σ = 10: G(k) = 5 > G(0) = 0.399, so k = 0 and no safety stock;
    # β = 1 − 1e−7, Q = 1, σ = 1000: G(k) = 1e−10 < G(5) ≈ 5.3e−8, so k = 5 and SS = 5000;
    # no uncertainty (σ = 0) or no demand needs no safety stock.
    ss = safety_stock_fill_rate([50, 50, 50, 0], [10, 1000, 0, 10], [100, 1, 100, 100], 0.5)
    assert ss[0] == 0.0
    ss = safety_stock_fill_rate([50, 50, 50, 0], [10, 1000, 0, 10], [100, 1, 100, 100], 1 - 1e-7)
    assert ss[1] == pytest.approx(5000.0)
    assert ss[2:].tolist() == [0.0, 0.0]
    assert safety_stock_fill_rate(50, 1000, 1, 1 - 1e-7, k_max=3.0)[0] == pytest.approx(3000.0)


def test_fill_rate_needs_an_order_quantity() -> None:
    with pytest.raises(ValidationFailed):
        safety_stock_fill_rate(50.0, 10.0, 0.0, 0.95)


# --- stock levels ---------------------------------------------------------------------------------


def test_reorder_point_rounds_up_but_not_on_float_noise() -> None:
    # 10 + 5 = 15 exactly; 10.2 + 5 = 15.2 → 16; 15.000000000000002 + 0 is float noise above 15
    # (within 1e−6 of a whole unit) → 15, not 16.
    out = reorder_point([10.0, 10.2, 15.000000000000002], [5.0, 5.0, 0.0])
    assert out.tolist() == [15, 16, 15]
    assert reorder_point([10.0], [5.0]).dtype == np.int64


def test_min_max() -> None:
    # 3.5/day over 7 days' lead time + 14 days' review = 3.5 × 21 = 73.5, + 10 safety = 83.5 → 84;
    # max = 84 + ⌈120⌉ = 204.
    low, high = min_max(3.5, 7, 14, 10.0, 120)
    assert low.tolist() == [84]
    assert high.tolist() == [204]
    assert low.dtype == np.int64
    assert high.dtype == np.int64


def test_par_level_flexes_with_the_season() -> None:
    # 20/day deseasonalised, 3 days' lead time + 7 days' review, 15 safety:
    # ordinary season 20 × 1.0 × 10 + 15 = 215; flu season 20 × 1.35 × 10 + 15 = 285;
    # summer 20 × 0.62 × 10 + 15 = 139.
    par = par_level(20.0, [1.0, 1.35, 0.62], 3, 7, 15.0)
    assert par.tolist() == [215, 285, 139]
    assert par.dtype == np.int64


# --- order quantities -----------------------------------------------------------------------------


def test_eoq_textbook_case() -> None:
    # D = 1,200/yr, S = $10, H = $2.40: Q* = √(2 × 1200 × 10 / 2.4) = √10,000 = 100.
    assert eoq(1200.0, 10.0, 2.4) == pytest.approx([100.0])
    assert eoq([0.0], 10.0, 2.4).tolist() == [0.0]


@pytest.mark.parametrize("holding", [0.0, -1.0])
def test_eoq_rejects_non_positive_holding_cost(holding: float) -> None:
    with pytest.raises(ValidationFailed):
        eoq(1200.0, 10.0, holding)


def test_round_to_multiple_examples() -> None:
    # packs of 10, MOQ 25: need 0 or −3 → 0; need 1 → max(1, 25) = 25 → 30;
    # need 100 → 100; 101 → 110; 12.3 → ⌈12.3⌉ = 13 → max(13, 25) → 30; 30.0000000001 → 30.
    out = round_to_multiple([0, -3, 1, 100, 101, 12.3, 30.0000000001], 10, 25)
    assert out.tolist() == [0, 0, 30, 100, 110, 30, 30]
    assert out.dtype == np.int64
    # a pack size per series: 7 in 6s → 12, 7 in 1s → 7, 7 in 100s → 100
    assert round_to_multiple([7, 7, 7], [6, 1, 100]).tolist() == [12, 7, 100]


@pytest.mark.parametrize("multiple", [0, -5, 2.5])
def test_round_to_multiple_rejects_bad_multiples(multiple: float) -> None:
    with pytest.raises(ValidationFailed):
        round_to_multiple([10], multiple)


@settings(max_examples=300, deadline=None)
@given(
    need=st.integers(min_value=-1_000, max_value=1_000_000),
    multiple=st.integers(min_value=1, max_value=1_000),
    minimum=st.integers(min_value=0, max_value=100_000),
)
def test_round_to_multiple_properties(need: int, multiple: int, minimum: int) -> None:
    out = int(round_to_multiple([need], multiple, minimum)[0])
    if need <= 0:
        assert out == 0
        return
    assert out % multiple == 0
    assert out >= need
    assert out >= minimum
    assert out - multiple < max(need, minimum)  # the smallest such multiple


def test_shelf_life_cap() -> None:
    # 4/day for 30 usable days = 120 units used before expiry.
    # order 200, 50 on hand: cap 120 − 50 = 70 → 70;
    # order 60, 50 on hand: 60 ≤ 70 → 60 unchanged;
    # order 200, 150 on hand: 120 − 150 < 0 → 0;
    # 2.5/day × 30 = 75 (floor of 75.0) with 0 on hand, order 100 → 75.
    out = shelf_life_cap([200, 60, 200, 100], [50, 50, 150, 0], [4, 4, 4, 2.5], 30)
    assert out.tolist() == [70, 60, 0, 75]
    assert out.dtype == np.int64
    # packs of 30: 70 → 60; 60 → 60; 75 → 60. Packs of 100: 75 → 0, a pack would partly expire.
    assert shelf_life_cap([200, 60, 100], [50, 50, 0], [4, 4, 2.5], 30, 30).tolist() == [60, 60, 60]
    assert shelf_life_cap([100], [0], [2.5], 30, 100).tolist() == [0]


# --- pack size ------------------------------------------------------------------------------------


def bottles(shelf_life_days: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "pack_id": ["100-count", "1000-count"],
            "units_per_pack": [100, 1000],
            "price_per_pack": [12.0, 90.0],
            "shelf_life_days": [shelf_life_days, shelf_life_days],
        }
    )


def test_choose_pack_fast_mover_takes_the_big_bottle() -> None:
    # 1,000 tablets/day, D = 365,000/yr, S = $5, h = 25 %, shelf life 730 days (no waste).
    # 100-count: $0.12/tablet, 3,650 packs/yr; EOQ = √(2 × 365,000 × 5 / (0.12 × 0.25))
    #   = √121,666,667 = 11,030 tablets = 110.3 → 110 packs; orders 3,650/110 = 33.18 → $165.91;
    #   holding 110 × 100/2 × 0.12 × 0.25 = $165.00; purchase 365,000 × 0.12 = $43,800;
    #   total $44,130.91.
    # 1000-count: $0.09/tablet, 365 packs/yr; EOQ = √(3,650,000 / 0.0225) = 12,737 → 13 packs;
    #   orders 365/13 = 28.08 → $140.38; holding 13 × 1000/2 × 0.0225 = $146.25;
    #   purchase 365,000 × 0.09 = $32,850; total $33,136.63 → chosen.
    out = choose_pack(bottles(730), daily_demand=1000, order_cost=5.0, holding_rate=0.25)
    assert out["eoq_packs"].tolist() == [110, 13]
    assert out["holding_cost"].tolist() == pytest.approx([165.0, 146.25])
    assert out["ordering_cost"].tolist() == pytest.approx([3650 / 110 * 5, 365 / 13 * 5])
    assert out["expiry_cost"].tolist() == [0.0, 0.0]
    assert out["total_cost"].tolist() == pytest.approx([44130.909, 33136.635], abs=1e-3)
    assert out["chosen"].tolist() == [False, True]
    assert out["pack_id"].tolist() == ["100-count", "1000-count"]


def test_choose_pack_slow_mover_expiry_makes_the_small_bottle_win() -> None:
    # 2 tablets/day, D = 730/yr, shelf life 180 days after opening: a pack yields 2 × 180 = 360.
    # 100-count: no waste, 7.3 packs/yr; EOQ √(2 × 730 × 5 / 0.03) = 493 → 4.93 → 5 packs, but
    #   only ⌊360/100⌋ = 3 packs are used within the shelf life → 3; orders 7.3/3 = 2.433 →
    #   $12.17; holding 300/2 × 0.03 = $4.50; purchase 730 × 0.12 = $87.60; total $104.27 → chosen.
    # 1000-count: 1000 − 360 = 640 tablets of each pack expire, so 730/360 = 2.028 packs/yr
    #   (2,028 tablets bought); EOQ √(2 × 2,028 × 5 / 0.0225) = 949 → 1 pack; orders 2.028 →
    #   $10.14; holding 1000/2 × 0.0225 = $11.25; purchase 730 × 0.09 = $65.70;
    #   expiry 2.028 × 640 × 0.09 = $116.80; total $203.89.
    out = choose_pack(bottles(180), daily_demand=2, order_cost=5.0, holding_rate=0.25)
    assert out["wasted_per_pack"].tolist() == [0.0, 640.0]
    assert out["packs_per_year"].tolist() == pytest.approx([7.3, 730 / 360])
    assert out["eoq_packs"].tolist() == [3, 1]
    assert out["expiry_cost"].tolist() == pytest.approx([0.0, 730 / 360 * 640 * 0.09])
    assert out["total_cost"].tolist() == pytest.approx([104.267, 203.889], abs=1e-3)
    assert out["chosen"].tolist() == [True, False]
    # without the expiry the big bottle would have been cheaper: 65.70 + 10.14 + 11.25 = 87.09
    assert out["total_cost"][1] - out["expiry_cost"][1] < out["total_cost"][0]


def test_choose_pack_rejects_bad_options() -> None:
    with pytest.raises(ValidationFailed):
        choose_pack(
            bottles(180).drop(columns="price_per_pack"),
            daily_demand=2,
            order_cost=5,
            holding_rate=0.25,
        )
    with pytest.raises(ValidationFailed):
        choose_pack(bottles(180), daily_demand=0, order_cost=5, holding_rate=0.25)
