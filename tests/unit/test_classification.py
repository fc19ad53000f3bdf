"""Classification: ABC by consumption value, XYZ by CV, Syntetos–Boylan demand classes."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from rxledger.analytics import forecasting
from rxledger.analytics.classification import (
    ClassificationSettings,
    classify,
    syntetos_boylan,
)
from rxledger.domain.errors import ValidationFailed

START = pd.Timestamp("2024-03-01")


def daily(
    series: dict[str, list[float]], out_of_stock: dict[str, list[int]] | None = None
) -> pd.DataFrame:
    """Each series as consecutive days ending on the same last day (every series runs to the
    latest date in the input, so a shorter one starts later); ``out_of_stock`` names, per series,
    the positions in its own list that were out of stock."""
    days = max(len(values) for values in series.values())
    frames = []
    for name, values in series.items():
        first = START + pd.Timedelta(days=days - len(values))
        flags = np.zeros(len(values), dtype=bool)
        flags[(out_of_stock or {}).get(name, [])] = True
        frames.append(
            pd.DataFrame(
                {
                    "unique_id": name,
                    "ds": pd.date_range(first, periods=len(values), freq="D"),
                    "y": np.asarray(values, dtype=float),
                    "out_of_stock": flags,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def by_id(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index("unique_id")


def test_abc_keeps_the_item_that_crosses_the_a_cut_in_a() -> None:
    # given one period per item; value = demand × cost, total 100:
    # a 25×2=50, b 25×1=25, c 5×2=10, d 8×1=8, e 1×5=5, f 2×1=2, g 7×0 (no cost) = 0
    history = daily({n: [d] for n, d in zip("gfedcba", [7, 2, 1, 8, 5, 25, 25], strict=True)})
    costs = {"a": 2.0, "b": 1.0, "c": 2.0, "d": 1.0, "e": 5.0, "f": 1.0}
    # when
    out = classify(history, costs, freq="D")
    # then rows come sorted by unique_id with the documented columns
    assert list(out["unique_id"]) == list("abcdefg")
    assert list(out.columns) == [
        "unique_id", "periods", "demand", "consumption_value", "value_share",
        "cumulative_share", "abc", "mean", "std", "cv", "xyz", "adi", "cv2", "demand_class",
    ]  # fmt: skip
    rows = by_id(out)
    assert list(rows["consumption_value"]) == [50.0, 25.0, 10.0, 8.0, 5.0, 2.0, 0.0]
    # before-shares in rank order a..f: 0, .50, .75, .85, .93, .98; g has no value
    # A while before < .80: a, b, c (c carries it from .75 to .85); B while before < .95: d, e
    assert "".join(rows["abc"]) == "AAABBCC"
    np.testing.assert_allclose(rows["value_share"], [0.5, 0.25, 0.1, 0.08, 0.05, 0.02, 0.0])
    # through-shares: .50, .75, .85, .93, .98, 1.00; g adds nothing after f's 1.00
    np.testing.assert_allclose(rows["cumulative_share"], [0.5, 0.75, 0.85, 0.93, 0.98, 1.0, 1.0])


def test_abc_cuts_are_configurable_and_a_before_share_at_the_cut_falls_below() -> None:
    # given the same values 50, 25, 10, 8, 5, 2 and cuts (0.5, 0.9)
    history = daily({n: [d] for n, d in zip("abcdef", [50, 25, 10, 8, 5, 2], strict=True)})
    settings = ClassificationSettings(abc_cuts=(0.5, 0.9))
    # when
    out = classify(history, None, freq="D", settings=settings)
    # then before-shares 0, .50, .75, .85, .93, .98: only a is below .5 (b sits exactly at it);
    # b, c, d are below .9; e and f are C
    assert "".join(by_id(out)["abc"]) == "ABBBCC"


def test_abc_breaks_ties_in_value_by_unique_id() -> None:
    # given m and k worth 40 each (m listed first) and z worth 20; total 100, A cut 0.4
    history = daily({"m": [40], "k": [40], "z": [20]})
    settings = ClassificationSettings(abc_cuts=(0.4, 0.95))
    # when
    rows = by_id(classify(history, None, freq="D", settings=settings))
    # then k ranks before m: k before-share 0 -> A; m before-share .40 (not below .40) -> B;
    # z before-share .80 -> B
    assert rows["abc"].to_dict() == {"k": "A", "m": "B", "z": "B"}
    np.testing.assert_allclose(rows.loc[["k", "m", "z"], "cumulative_share"], [0.4, 0.8, 1.0])


def test_xyz_follows_the_coefficient_of_variation_of_period_demand() -> None:
    # given four periods each; population std around the mean, zeros included:
    history = daily(
        {
            "x": [4, 6, 4, 6],  # mean 5, deviations ±1, std 1, cv 1/5 = 0.2 -> X
            "x_at_cut": [2, 6, 2, 6],  # mean 4, std 2, cv 0.5 (at the cut) -> X
            "y": [0, 3, 1, 4],  # mean 2, squares 4+1+1+4=10, var 2.5, cv sqrt(2.5)/2 ≈ 0.79 -> Y
            "y_at_cut": [0, 2, 0, 2],  # mean 1, std 1, cv 1.0 (at the cut) -> Y
            "z": [0, 0, 0, 4],  # mean 1, squares 1+1+1+9=12, var 3, cv sqrt(3) ≈ 1.73 -> Z
        }
    )
    # when
    rows = by_id(classify(history, None, freq="D"))
    # then
    np.testing.assert_allclose(rows["mean"], [5, 4, 2, 1, 1])
    np.testing.assert_allclose(rows["std"], [1, 2, math.sqrt(2.5), 1, math.sqrt(3)])
    np.testing.assert_allclose(rows["cv"], [0.2, 0.5, math.sqrt(2.5) / 2, 1.0, math.sqrt(3)])
    assert rows["xyz"].to_dict() == {"x": "X", "x_at_cut": "X", "y": "Y", "y_at_cut": "Y", "z": "Z"}
    # and configurable: with cuts (0.1, 0.6) x (0.2) and x_at_cut (0.5) are Y, y (0.79) is Z
    tight = by_id(
        classify(history, None, freq="D", settings=ClassificationSettings(xyz_cuts=(0.1, 0.6)))
    )
    assert "".join(tight["xyz"]) == "YYZZZ"


def test_demand_classes_by_syntetos_boylan_including_values_at_the_cuts() -> None:
    # given series ending on the same day (the longest spans 66 periods)
    lumpy_at_cuts = [3, 17] * 25 + [0] * 16
    history = daily(
        {
            # 33 periods all 2: ADI 33/33 = 1, sizes equal so CV² 0 -> smooth
            "smooth": [2] * 33,
            # 26 demands of 2 in 33 periods: ADI 33/26 ≈ 1.269 < 1.32, CV² 0 -> smooth
            "smooth_near": [2] * 26 + [0] * 7,
            # 25 demands of 2 in 33 periods: ADI 33/25 = 1.32 (at the cut), CV² 0 -> intermittent
            "intermittent": [0, 2, 2, 2] * 8 + [2],
            # sizes 3, 17, 3, 17: mean 10, deviations ±7, var 49, CV² 49/100 = 0.49 (at the cut),
            # ADI 4/4 = 1 -> erratic
            "erratic": [3, 17, 3, 17],
            # sizes 4, 16, 4, 16: mean 10, var 36, CV² 0.36 < 0.49, ADI 1 -> smooth
            "steady_sizes": [4, 16, 4, 16],
            # 50 demands (25 of 3, 25 of 17) in 66 periods: ADI 66/50 = 1.32, CV² 49/100 = 0.49
            # -> lumpy, both at the cut
            "lumpy": lumpy_at_cuts,
            # no demand at all
            "nothing": [0, 0, 0],
        }
    )
    # when
    rows = by_id(classify(history, None, freq="D"))
    # then
    expected = {
        "erratic": ("erratic", 1.0, 0.49),
        "intermittent": ("intermittent", 1.32, 0.0),
        "lumpy": ("lumpy", 1.32, 0.49),
        "nothing": ("none", math.inf, math.nan),
        "smooth": ("smooth", 1.0, 0.0),
        "smooth_near": ("smooth", 33 / 26, 0.0),
        "steady_sizes": ("smooth", 1.0, 0.36),
    }
    for name, (demand_class, adi, cv2) in expected.items():
        assert rows.loc[name, "demand_class"] == demand_class, name
        assert rows.loc[name, "adi"] == pytest.approx(adi), name
        assert rows.loc[name, "cv2"] == pytest.approx(cv2, nan_ok=True), name
    assert rows.loc["lumpy", "periods"] == 66
    assert rows.loc["intermittent", "periods"] == 33


def test_out_of_stock_periods_leave_the_statistics_but_keep_their_value() -> None:
    # given y 4, 0, 4, 4, 1, 4 with periods 2 (y 0) and 5 (y 1) out of stock, unit cost 2
    history = daily({"a": [4, 0, 4, 4, 1, 4]}, out_of_stock={"a": [1, 4]})
    # when
    row = by_id(classify(history, {"a": 2.0}, freq="D")).loc["a"]
    # then demand counts every period: 4+0+4+4+1+4 = 17, value 17 × 2 = 34
    assert (row["periods"], row["demand"], row["consumption_value"]) == (6, 17.0, 34.0)
    # the in-stock periods are 4, 4, 4, 4: mean 4, std 0, cv 0 -> X;
    # ADI 4/4 = 1, CV² 0 -> smooth (with all six periods ADI would be 6/5 and cv about 0.6)
    assert (row["mean"], row["std"], row["cv"], row["xyz"]) == (4.0, 0.0, 0.0, "X")
    assert (row["adi"], row["cv2"], row["demand_class"]) == (1.0, 0.0, "smooth")


def test_a_series_out_of_stock_throughout_has_no_statistics() -> None:
    # given b sold 5 units, but only in periods flagged out of stock
    history = daily({"a": [1, 1], "b": [5, 0]}, out_of_stock={"b": [0, 1]})
    # when
    row = by_id(classify(history, None, freq="D")).loc["b"]
    # then its value counts (5 of 7 units: A) but no period is considered
    assert (row["demand"], row["abc"]) == (5.0, "A")
    assert np.isnan(row[["mean", "std", "cv", "adi", "cv2"]].to_numpy(dtype=float)).all()
    assert (row["xyz"], row["demand_class"]) == ("Z", "none")


def test_a_series_without_demand() -> None:
    # given a zero-demand series next to one with demand
    history = daily({"a": [3, 0, 3], "quiet": [0, 0, 0]})
    # when
    row = by_id(classify(history, {"a": 1.0, "quiet": 9.0}, freq="D")).loc["quiet"]
    # then zero value is C, zero mean is Z, and there is no demand class
    assert (row["periods"], row["demand"], row["consumption_value"]) == (3, 0.0, 0.0)
    assert (row["value_share"], row["abc"], row["xyz"], row["demand_class"]) == (
        0.0,
        "C",
        "Z",
        "none",
    )
    assert (row["mean"], row["std"], row["adi"]) == (0.0, 0.0, math.inf)
    assert np.isnan(row[["cv", "cv2"]].to_numpy(dtype=float)).all()


def test_a_missing_unit_cost_counts_zero() -> None:
    # given a costs 1 and b has no cost (absent from the Series, or NaN)
    history = daily({"a": [1], "b": [100], "c": [100]})
    costs = pd.Series({"a": 1.0, "c": np.nan})
    # when
    rows = by_id(classify(history, costs, freq="D"))
    # then b and c are worth 0 and C, and a holds the whole value: share 1, A
    assert rows["consumption_value"].to_dict() == {"a": 1.0, "b": 0.0, "c": 0.0}
    assert rows["abc"].to_dict() == {"a": "A", "b": "C", "c": "C"}
    assert rows.loc["a", "value_share"] == 1.0


def test_without_costs_every_unit_counts_one() -> None:
    # given demands 1 and 9 and no costs: values 1 and 9, shares .1 and .9
    rows = by_id(classify(daily({"a": [1], "b": [9]}), None, freq="D"))
    # then b (before 0) is A, a (before .9 >= .8, < .95) is B
    assert rows["consumption_value"].to_dict() == {"a": 1.0, "b": 9.0}
    assert rows["abc"].to_dict() == {"a": "B", "b": "A"}


def test_a_negative_unit_cost_is_refused() -> None:
    with pytest.raises(ValidationFailed):
        classify(daily({"a": [1]}), {"a": -1.0}, freq="D")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"abc_cuts": (0.95, 0.80)},
        {"abc_cuts": (0.8, 0.8)},
        {"abc_cuts": (0.0, 0.5)},
        {"abc_cuts": (0.8, 1.1)},
        {"abc_cuts": (0.8, math.nan)},
        {"xyz_cuts": (1.0, 0.5)},
        {"xyz_cuts": (0.5, 0.5)},
        {"xyz_cuts": (-0.1, 0.5)},
        {"adi_cut": 0.0},
        {"adi_cut": math.inf},
        {"cv2_cut": -0.1},
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValidationFailed):
        ClassificationSettings(**kwargs)  # type: ignore[arg-type]


def test_settings_at_the_edges_of_their_ranges_are_accepted() -> None:
    settings = ClassificationSettings(abc_cuts=(0.5, 1.0), xyz_cuts=(0.0, 0.1), cv2_cut=0.0)
    assert settings.abc_cuts == (0.5, 1.0)


def test_syntetos_boylan_at_the_cuts_and_beyond() -> None:
    # given random ADI and CV² with values exactly at the cuts, infinities and NaN mixed in
    rng = np.random.default_rng(7)
    adi = np.concatenate((rng.uniform(1.0, 2.0, 5000), [1.32, 1.32, 1.3199999, np.inf, np.nan]))
    cv2 = np.concatenate((rng.uniform(0.0, 1.0, 5000), [0.49, 0.4899999, 0.49, 0.0, 0.6]))
    # when
    ours = syntetos_boylan(adi, cv2)
    # then
    assert ours.dtype == object
    assert forecasting.syntetos_boylan is syntetos_boylan  # one rule for both modules
    assert list(ours[-5:]) == ["lumpy", "intermittent", "erratic", "intermittent", "erratic"]
    assert set(ours[:5000]) == {"smooth", "erratic", "intermittent", "lumpy"}


def test_syntetos_boylan_cuts_are_parameters() -> None:
    # ADI 1.5 is intermittent for cut 1.32 but not for 2.0; CV² 0.3 is variable for cut 0.25
    assert list(syntetos_boylan([1.5, 1.5], [0.3, 0.3], adi_cut=2.0, cv2_cut=0.25)) == [
        "erratic",
        "erratic",
    ]
    assert list(syntetos_boylan([1.5], [0.3])) == ["intermittent"]


def test_empty_history_gives_an_empty_frame() -> None:
    # (regular_periods itself cannot take an empty frame, so classify must not hand it one)
    empty = pd.DataFrame({"unique_id": [], "ds": pd.to_datetime([]), "y": []})
    out = classify(empty, {}, freq="W")
    assert out.empty
    assert list(out.columns)[-1] == "demand_class"


def test_history_without_required_columns_is_refused() -> None:
    with pytest.raises(ValidationFailed):
        classify(pd.DataFrame({"unique_id": ["a"], "y": [1.0]}), None, freq="D")
