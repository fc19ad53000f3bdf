"""Inventory KPIs: every figure below is worked out by hand from the small frame ``DAILY``."""

from __future__ import annotations

import warnings
from datetime import date

import numpy as np
import pandas as pd
import pytest

from rxledger.analytics.kpis import KPI_COLUMNS, inventory_kpis, value_by_abc
from rxledger.domain.errors import ValidationFailed

JAN30, JAN31, FEB1 = date(2024, 1, 30), date(2024, 1, 31), date(2024, 2, 1)

# Item X costs 2 a unit, item Y 5 a unit. Classes: X@S1 A, Y@S1 B, X@S2 A, Y@S2 C.
# Y is carried at S2 only from 31 January (no row on the 30th).
COLUMNS = [
    "item",
    "site",
    "day",
    "issued_units",
    "issued_value",
    "demand_units",
    "on_hand_units",
    "on_hand_value",
    "stocked_out",
    "expired_units",
    "expired_value",
    "abc",
]
ROWS = [
    ("X", "S1", JAN30, 10, 20.0, 10, 50, 100.0, False, 0, 0.0, "A"),
    ("X", "S1", JAN31, 5, 10.0, 8, 0, 0.0, True, 0, 0.0, "A"),
    ("X", "S1", FEB1, 0, 0.0, 4, 0, 0.0, True, 0, 0.0, "A"),
    ("Y", "S1", JAN30, 2, 10.0, 2, 20, 100.0, False, 0, 0.0, "B"),
    ("Y", "S1", JAN31, 4, 20.0, 4, 14, 70.0, False, 2, 10.0, "B"),
    ("Y", "S1", FEB1, 0, 0.0, 0, 14, 70.0, False, 0, 0.0, "B"),
    ("X", "S2", JAN30, 6, 12.0, 6, 30, 60.0, False, 0, 0.0, "A"),
    ("X", "S2", JAN31, 6, 12.0, 7, 24, 48.0, False, 0, 0.0, "A"),
    ("X", "S2", FEB1, 4, 8.0, 4, 20, 40.0, False, 0, 0.0, "A"),
    ("Y", "S2", JAN31, 0, 0.0, 0, 10, 50.0, False, 0, 0.0, "C"),
    ("Y", "S2", FEB1, 1, 5.0, 1, 9, 45.0, False, 1, 5.0, "C"),
]
DAILY = pd.DataFrame(ROWS, columns=COLUMNS)
NAN = float("nan")


def row(frame: pd.DataFrame, **keys: object) -> pd.Series:
    mask = np.ones(len(frame), dtype=bool)
    for column, value in keys.items():
        mask &= (frame[column] == value).to_numpy()
    assert mask.sum() == 1, keys
    return frame[mask].iloc[0]


def check(actual: pd.Series, expected: dict[str, float]) -> None:
    for column, value in expected.items():
        assert actual[column] == pytest.approx(value, nan_ok=True), column


def test_columns_and_order_by_site_and_month() -> None:
    out = inventory_kpis(DAILY)
    assert list(out.columns) == ["site", "period_start", *KPI_COLUMNS]
    assert list(zip(out["site"], out["period_start"], strict=True)) == [
        ("S1", date(2024, 1, 1)),
        ("S1", date(2024, 2, 1)),
        ("S2", date(2024, 1, 1)),
        ("S2", date(2024, 2, 1)),
    ]


def test_site_s1_january() -> None:
    out = inventory_kpis(DAILY, by=("site",), period="M")
    check(
        row(out, site="S1", period_start=date(2024, 1, 1)),
        {
            "days": 2,  # 30 and 31 January
            "issued_units": 21,  # 10 + 5 + 2 + 4
            "issued_value": 60,  # 20 + 10 + 10 + 20
            "average_inventory_value": 135,  # (100 + 100 on the 30th, 0 + 70 on the 31st) / 2
            "turns": 60 / 135 * 365 / 2,  # ≈ 81.11
            "days_on_hand": 4.5,  # 135 / (60 / 2)
            "stockout_frequency": 0.25,  # X on the 31st: 1 of 4 rows
            "fill_rate": 21 / 24,  # demand 10 + 8 + 2 + 4
            "expiry_write_off_rate": 10 / 70,  # 10 / (60 + 10)
            "inventory_value": 70,  # 0 + 70 on the 31st
        },
    )


def test_site_s1_february_divides_by_zero_into_nan() -> None:
    out = inventory_kpis(DAILY, by=("site",), period="M")
    check(
        row(out, site="S1", period_start=date(2024, 2, 1)),
        {
            "days": 1,
            "issued_units": 0,
            "issued_value": 0,
            "average_inventory_value": 70,  # 0 + 70
            "turns": 0,  # 0 / 70 * 365
            "days_on_hand": NAN,  # 70 / (0 / 1)
            "stockout_frequency": 0.5,  # X: 1 of 2 rows
            "fill_rate": 0,  # 0 issued / 4 asked for
            "expiry_write_off_rate": NAN,  # 0 / (0 + 0)
            "inventory_value": 70,
        },
    )


def test_site_s2_both_months() -> None:
    out = inventory_kpis(DAILY, by=("site",), period="M")
    check(
        row(out, site="S2", period_start=date(2024, 1, 1)),
        {
            "days": 2,
            "issued_units": 12,  # 6 + 6 + 0
            "issued_value": 24,  # 12 + 12 + 0
            "average_inventory_value": 79,  # (60 on the 30th, 48 + 50 on the 31st) / 2
            "turns": 24 / 79 * 365 / 2,  # ≈ 55.44
            "days_on_hand": 79 / 12,  # 79 / (24 / 2)
            "stockout_frequency": 0,  # 0 of 3 rows (Y has no row on the 30th)
            "fill_rate": 12 / 13,  # demand 6 + 7 + 0
            "expiry_write_off_rate": 0,  # 0 / (24 + 0)
            "inventory_value": 98,  # 48 + 50
        },
    )
    check(
        row(out, site="S2", period_start=date(2024, 2, 1)),
        {
            "days": 1,
            "issued_units": 5,  # 4 + 1
            "issued_value": 13,  # 8 + 5
            "average_inventory_value": 85,  # 40 + 45
            "turns": 13 / 85 * 365,  # ≈ 55.82
            "days_on_hand": 85 / 13,
            "stockout_frequency": 0,
            "fill_rate": 1,  # 5 / (4 + 1)
            "expiry_write_off_rate": 5 / 18,  # 5 / (13 + 5)
            "inventory_value": 85,
        },
    )


def test_by_abc_and_month() -> None:
    out = inventory_kpis(DAILY, by=["abc"], period="M")
    assert list(out["abc"]) == ["A", "A", "B", "B", "C", "C"]
    check(
        row(out, abc="A", period_start=date(2024, 1, 1)),
        {
            "days": 2,
            "issued_units": 27,  # X@S1 10 + 5, X@S2 6 + 6
            "issued_value": 54,  # 20 + 10 + 12 + 12
            "average_inventory_value": 104,  # (100 + 60, 0 + 48) / 2
            "turns": 54 / 104 * 365 / 2,  # ≈ 94.76
            "days_on_hand": 104 / 27,  # 104 / (54 / 2)
            "stockout_frequency": 0.25,  # 1 of 4
            "fill_rate": 27 / 31,  # demand 10 + 8 + 6 + 7
            "expiry_write_off_rate": 0,
            "inventory_value": 48,
        },
    )
    check(
        row(out, abc="A", period_start=date(2024, 2, 1)),
        {
            "days": 1,
            "issued_units": 4,
            "issued_value": 8,
            "average_inventory_value": 40,  # 0 + 40
            "turns": 73,  # 8 / 40 * 365
            "days_on_hand": 5,  # 40 / 8
            "stockout_frequency": 0.5,
            "fill_rate": 0.5,  # 4 / (4 + 4)
            "expiry_write_off_rate": 0,
            "inventory_value": 40,
        },
    )
    check(
        row(out, abc="B", period_start=date(2024, 1, 1)),
        {
            "days": 2,
            "issued_units": 6,
            "issued_value": 30,
            "average_inventory_value": 85,  # (100 + 70) / 2
            "turns": 30 / 85 * 365 / 2,  # ≈ 64.41
            "days_on_hand": 85 / 15,  # 85 / (30 / 2)
            "stockout_frequency": 0,
            "fill_rate": 1,
            "expiry_write_off_rate": 0.25,  # 10 / (30 + 10)
            "inventory_value": 70,
        },
    )
    check(
        row(out, abc="B", period_start=date(2024, 2, 1)),
        {
            "turns": 0,  # nothing issued from 70 on hand
            "days_on_hand": NAN,  # 70 / 0
            "fill_rate": NAN,  # 0 / 0: nothing asked for
            "expiry_write_off_rate": NAN,  # 0 / (0 + 0)
            "inventory_value": 70,
        },
    )
    check(
        row(out, abc="C", period_start=date(2024, 1, 1)),
        {
            "days": 1,  # Y@S2 is carried only from the 31st
            "average_inventory_value": 50,
            "turns": 0,
            "days_on_hand": NAN,
            "fill_rate": NAN,
            "inventory_value": 50,
        },
    )
    check(
        row(out, abc="C", period_start=date(2024, 2, 1)),
        {
            "turns": 5 / 45 * 365,  # ≈ 40.56
            "days_on_hand": 9,  # 45 / 5
            "fill_rate": 1,
            "expiry_write_off_rate": 0.5,  # 5 / (5 + 5)
            "inventory_value": 45,
        },
    )


def test_whole_network_without_period() -> None:
    out = inventory_kpis(DAILY, by=(), period=None)
    assert list(out.columns) == list(KPI_COLUMNS)
    assert len(out) == 1
    check(
        out.iloc[0],
        {
            "days": 3,
            "issued_units": 38,  # 21 + 0 + 12 + 5
            "issued_value": 97,  # 60 + 0 + 24 + 13
            # daily totals: 30th 100 + 100 + 60 = 260, 31st 70 + 98 = 168, 1st 70 + 85 = 155
            "average_inventory_value": 583 / 3,  # (260 + 168 + 155) / 3
            "turns": 97 / (583 / 3) * 365 / 3,  # = 97 × 365 / 583 ≈ 60.73
            "days_on_hand": 583 / 97,  # (583 / 3) / (97 / 3)
            "stockout_frequency": 2 / 11,  # X@S1 on the 31st and the 1st, of 11 rows
            "fill_rate": 38 / 46,  # demand 24 + 4 + 13 + 5
            "expiry_write_off_rate": 15 / 112,  # (10 + 5) / (97 + 10 + 5)
            "inventory_value": 155,
        },
    )


def test_whole_network_by_quarter_is_one_period() -> None:
    out = inventory_kpis(DAILY, by=(), period="Q")
    assert list(out.columns) == ["period_start", *KPI_COLUMNS]
    assert list(out["period_start"]) == [date(2024, 1, 1)]
    assert out["turns"].iloc[0] == pytest.approx(97 * 365 / 583)
    yearly = inventory_kpis(DAILY, by=(), period="Y")
    assert list(yearly["period_start"]) == [date(2024, 1, 1)]
    assert yearly["inventory_value"].iloc[0] == 155


def test_by_item_and_site_counts_only_days_carried() -> None:
    out = inventory_kpis(DAILY, by=("site", "item"), period=None)
    assert list(out.columns[:2]) == ["site", "item"]
    check(
        row(out, site="S2", item="Y"),
        {
            "days": 2,  # 31 January and 1 February
            "average_inventory_value": 47.5,  # (50 + 45) / 2
            "turns": 5 / 47.5 * 365 / 2,  # ≈ 19.21
            "days_on_hand": 19,  # 47.5 / (5 / 2)
            "inventory_value": 45,
        },
    )


def test_demand_defaults_to_issued_units() -> None:
    without = DAILY.drop(columns=["demand_units"])
    out = inventory_kpis(without, by=("site",), period=None)
    # S1 and S2 both issue something, so issued / issued = 1
    assert list(out["fill_rate"]) == [1.0, 1.0]
    gaps = DAILY.astype({"demand_units": float})
    gaps.loc[gaps["demand_units"] == 8, "demand_units"] = NAN  # X@S1 on the 31st: issued 5
    s1 = row(inventory_kpis(gaps, by=("site",), period=None), site="S1")
    assert s1["fill_rate"] == pytest.approx(21 / 25)  # demand 10 + 5 + 4 + 2 + 4 + 0


def test_all_zero_group_gives_nan_without_warnings() -> None:
    zeros = pd.DataFrame(
        {
            "item": ["Z"],
            "site": ["S9"],
            "day": [JAN30],
            "issued_units": [0],
            "issued_value": [0.0],
            "demand_units": [0],
            "on_hand_units": [0],
            "on_hand_value": [0.0],
            "stocked_out": [True],
            "expired_units": [0],
            "expired_value": [0.0],
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = inventory_kpis(zeros)
    check(
        out.iloc[0],
        {
            "days": 1,
            "average_inventory_value": 0,
            "turns": NAN,  # 0 / 0
            "days_on_hand": NAN,  # 0 / 0
            "stockout_frequency": 1,  # 1 of 1
            "fill_rate": NAN,  # 0 / 0
            "expiry_write_off_rate": NAN,  # 0 / (0 + 0)
            "inventory_value": 0,
        },
    )


def test_empty_frame_gives_empty_result() -> None:
    out = inventory_kpis(DAILY.iloc[0:0])
    assert out.empty
    assert list(out.columns) == ["site", "period_start", *KPI_COLUMNS]


@pytest.mark.parametrize(
    "by", [("warehouse",), ("on_hand_value",), ("site", "site"), ("site", "lot")]
)
def test_unknown_grouping_is_refused(by: tuple[str, ...]) -> None:
    with pytest.raises(ValidationFailed):
        inventory_kpis(DAILY, by=by)


def test_abc_grouping_needs_the_column() -> None:
    with pytest.raises(ValidationFailed):
        inventory_kpis(DAILY.drop(columns=["abc"]), by=("abc",))


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="missing columns: on_hand_value"):
        inventory_kpis(DAILY.drop(columns=["on_hand_value"]))
    with pytest.raises(ValidationFailed, match="more than one row"):
        inventory_kpis(pd.concat([DAILY, DAILY.iloc[:1]]))
    with pytest.raises(ValidationFailed):
        inventory_kpis(DAILY, period="W")  # type: ignore[arg-type]


def test_value_by_abc_includes_empty_classes() -> None:
    on_hand = pd.DataFrame(
        {
            "item": ["X", "Y", "X", "Y"],
            "site": ["S1", "S1", "S2", "S2"],
            "on_hand_value": [100.0, 50.0, 0.0, 50.0],
            "abc": ["A", "A", "C", "C"],
        }
    )
    out = value_by_abc(on_hand)
    assert list(out.columns) == ["abc", "on_hand_value", "share"]
    assert list(out["abc"]) == ["A", "B", "C"]
    assert list(out["on_hand_value"]) == [150.0, 0.0, 50.0]  # A 100 + 50, B none, C 0 + 50
    assert list(out["share"]) == pytest.approx([0.75, 0.0, 0.25])  # of 200


def test_value_by_abc_zero_total_and_bad_classes() -> None:
    empty = pd.DataFrame({"item": ["X"], "site": ["S1"], "on_hand_value": [0.0], "abc": ["B"]})
    out = value_by_abc(empty)
    assert list(out["on_hand_value"]) == [0.0, 0.0, 0.0]
    assert out["share"].isna().all()  # 0 / 0
    with pytest.raises(ValidationFailed):
        value_by_abc(empty.assign(abc=["D"]))
    with pytest.raises(ValidationFailed):
        value_by_abc(empty.assign(abc=[None]))
