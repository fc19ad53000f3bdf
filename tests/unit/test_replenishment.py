"""Suggested orders from history, position and offers: each line explained and each rule kept."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rxledger.analytics.replenishment import ReplenishmentSettings, plan_replenishment
from rxledger.domain.errors import ValidationFailed

START = pd.Timestamp("2024-01-01")


def history(**rates: float) -> pd.DataFrame:
    """104 weeks of Poisson demand per series at the given weekly rates (0: none after week 52)."""
    rng = np.random.default_rng(3)
    frames = []
    for name, rate in rates.items():
        y = (
            rng.poisson(rate, 104).astype(np.float64)
            if rate > 0
            else np.r_[np.full(52, 20.0), np.zeros(52)]
        )
        frames.append(
            pd.DataFrame(
                {
                    "unique_id": name,
                    "ds": START + pd.to_timedelta(np.arange(104) * 7, "D"),
                    "y": y,
                    "out_of_stock": False,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def items(*names: str, usable_days: float = np.nan) -> pd.DataFrame:
    return pd.DataFrame(
        {"unique_id": list(names), "unit_cost": 0.5, "usable_days": usable_days, "site": 1}
    )


def position(
    name: str, available: int, on_order: int = 0, in_transit: int = 0, reserved: int = 0
) -> dict[str, object]:
    return {
        "unique_id": name,
        "available": available,
        "on_order": on_order,
        "in_transit": in_transit,
        "reserved": reserved,
    }


def offer(
    name: str, offer_id: int, pack_units: int = 100, pack_price: float = 40.0, **more: object
) -> dict[str, object]:
    row: dict[str, object] = {
        "unique_id": name,
        "offer_id": offer_id,
        "supplier_id": 1,
        "pack_units": pack_units,
        "pack_price": pack_price,
        "order_multiple": 1,
        "lead_time_days": 7,
        "minimum_order_value": 0.0,
    }
    row.update(more)
    return row


def plan(
    hist: pd.DataFrame,
    item_frame: pd.DataFrame,
    positions: list[dict[str, object]],
    offers: list[dict[str, object]],
) -> pd.DataFrame:
    result = plan_replenishment(hist, item_frame, pd.DataFrame(positions), pd.DataFrame(offers))
    return result.policy.set_index("unique_id")


def test_below_its_minimum_a_series_orders_up_to_its_maximum_in_whole_packs() -> None:
    # 70 a week = 10 a day; lead time 7 days + review 7 days: about 140 over the interval
    policy = plan(
        history(AMOX=70.0),
        items("AMOX"),
        [position("AMOX", 30, reserved=5)],
        [offer("AMOX", 1, order_multiple=2)],
    )
    row = policy.loc["AMOX"]
    assert row["position"] == 25  # available less reserved
    assert 120 < row["protection_mean"] < 160
    assert row["minimum"] == int(np.ceil(row["protection_mean"] + row["safety_stock"]))
    assert row["safety_stock"] > 0
    assert row["service_level"] == {"A": 0.98, "B": 0.95, "C": 0.90}[row["abc"]]
    need = row["maximum"] - row["position"]
    assert row["order_units"] % 200 == 0  # packs of 100 in multiples of 2
    assert need <= row["order_units"] < need + 200
    assert row["order_packs"] == row["order_units"] // 100
    assert row["order_value"] == pytest.approx(row["order_packs"] * 40.0)


def test_stock_on_order_or_in_transit_counts_toward_the_position() -> None:
    policy = plan(
        history(A=70.0, B=70.0, C=70.0),
        items("A", "B", "C"),
        [position("A", 0), position("B", 0, on_order=1000), position("C", 0, in_transit=1000)],
        [offer("A", 1), offer("B", 2), offer("C", 3)],
    )
    assert policy.loc["A", "order_units"] > 0
    assert policy.loc["B", "order_units"] == 0
    assert policy.loc["C", "order_units"] == 0
    assert policy.loc["B", "position"] == 1000


def test_above_its_minimum_or_without_an_offer_or_discontinued_a_series_orders_nothing() -> None:
    result = plan_replenishment(
        history(FULL=70.0, NOOFFER=70.0, GONE=0.0),
        items("FULL", "NOOFFER", "GONE"),
        pd.DataFrame([position("FULL", 5000), position("NOOFFER", 0), position("GONE", 0)]),
        pd.DataFrame([offer("FULL", 1), offer("GONE", 2)]),
    )
    policy = result.policy.set_index("unique_id")
    assert policy.loc["GONE", "status"] == "discontinued"
    assert pd.isna(policy.loc["NOOFFER", "offer_id"])
    assert result.suggestions.empty


def test_the_cheaper_pack_wins_and_a_short_shelf_life_caps_the_order() -> None:
    # a fast mover: the 1,000-count bottle is cheaper per unit and used long before it expires
    fast = plan(
        history(FAST=7000.0),
        items("FAST", usable_days=365.0),
        [position("FAST", 0)],
        [offer("FAST", 1, 100, 12.0), offer("FAST", 2, 1000, 90.0)],
    )
    assert fast.loc["FAST", "offer_id"] == 2
    # a slow mover (2 a week) whose lots arrive with 60 days left: a 1,000-count bottle would
    # mostly expire, so the 100-count wins, and no more is ordered than 60 days will use
    slow = plan(
        history(SLOW=2.0),
        items("SLOW", usable_days=60.0),
        [position("SLOW", 0)],
        [offer("SLOW", 1, 100, 12.0), offer("SLOW", 2, 1000, 90.0)],
    )
    row = slow.loc["SLOW"]
    assert row["offer_id"] == 1
    assert row["order_units"] <= max(0, int(row["daily_forecast"] * 60))
    assert row["order_units"] % 100 == 0


def test_a_shelf_life_cap_is_reported_on_the_line() -> None:
    policy = plan(
        history(X=700.0),
        items("X", usable_days=10.0),
        [position("X", 0)],
        [offer("X", 1, pack_units=10, pack_price=1.0)],
    )
    row = policy.loc["X"]
    # about 100 a day for 10 days: at most ~1,000 usable before expiry, below lead time + review
    assert row["capped_by_shelf_life"]
    assert row["order_units"] <= int(row["daily_forecast"] * 10)


def test_a_supplier_below_its_minimum_order_value_is_flagged_not_inflated() -> None:
    result = plan_replenishment(
        history(A=70.0, B=70.0),
        items("A", "B"),
        pd.DataFrame([position("A", 0), position("B", 0)]),
        pd.DataFrame(
            [
                offer("A", 1, minimum_order_value=1e6),
                offer("B", 2, supplier_id=2, minimum_order_value=1.0),
            ]
        ),
    )
    flagged = result.suggestions.set_index("unique_id")["below_minimum"]
    assert flagged.to_dict() == {"A": True, "B": False}


def test_missing_columns_and_bad_settings_are_refused() -> None:
    with pytest.raises(ValidationFailed, match="offers lacks"):
        plan_replenishment(
            history(A=1.0),
            items("A"),
            pd.DataFrame([position("A", 0)]),
            pd.DataFrame({"unique_id": ["A"]}),
        )
    with pytest.raises(ValidationFailed):
        ReplenishmentSettings(review_days=0)
