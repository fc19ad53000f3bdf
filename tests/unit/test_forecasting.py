"""Forecasting: statsforecast's own numbers, the backtest's picks, quantiles, new and fading."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from statsforecast import StatsForecast
from statsforecast.models import CrostonSBA, SimpleExponentialSmoothingOptimized

from rxledger.analytics.demand_csv import parse_demand_csv
from rxledger.analytics.forecasting import (
    ForecastSettings,
    forecast_demand,
    lead_time_demand,
    syntetos_boylan,
)
from rxledger.domain.errors import InvalidInputFile

WEEKS = 104
START = "2024-01-03"  # a Wednesday


def weekly(series: dict[str, np.ndarray], start: str = START) -> pd.DataFrame:
    frames = [
        pd.DataFrame(
            {"unique_id": name, "ds": pd.date_range(start, periods=len(y), freq="7D"), "y": y}
        )
        for name, y in series.items()
    ]
    return pd.concat(frames, ignore_index=True)


def poisson(n: int, mean: float, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).poisson(mean, n).astype(float)


def bernoulli_poisson(n: int, p: float, mean: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return ((rng.random(n) < p) * rng.poisson(mean, n)).astype(float)


def seasonal(n: int, seed: int) -> np.ndarray:
    t = np.arange(n)
    return (
        np.random.default_rng(seed)
        .poisson(30 * (1 + 0.8 * np.sin(2 * np.pi * t / 52)))
        .astype(float)
    )


def sf_forecast(y: np.ndarray, model: object, h: int) -> np.ndarray:
    frame = pd.DataFrame({"unique_id": 0, "ds": np.arange(len(y)), "y": y})
    out = StatsForecast(models=[model], freq=1, n_jobs=1).forecast(df=frame, h=h)
    return out.iloc[:, -1].to_numpy()


@pytest.mark.parametrize(
    ("y", "demand_class", "model"),
    [
        (poisson(WEEKS, 12, seed=1), "smooth", SimpleExponentialSmoothingOptimized()),
        (bernoulli_poisson(WEEKS, 0.2, 3, seed=2), "intermittent", CrostonSBA()),
    ],
)
def test_forecasts_reproduce_statsforecast_for_the_same_model(
    y: np.ndarray, demand_class: str, model: object
) -> None:
    # given a series the backtest hands to one model
    history = weekly({"a": y, "b": y[::-1].copy()})
    # when
    result = forecast_demand(history, freq="W", horizon=6, demand_class={"a": demand_class})
    # then the forecast is statsforecast's own for the model picked
    chosen = result.summary.set_index("unique_id").loc["a", "model"]
    expected_model = {"SESOpt": SimpleExponentialSmoothingOptimized(), "CrostonSBA": CrostonSBA()}
    assert chosen in expected_model
    model = expected_model[chosen]
    ours = result.forecasts.query("unique_id == 'a'")["forecast"].to_numpy()
    np.testing.assert_allclose(ours, sf_forecast(y, model, 6), rtol=1e-9)


def test_every_candidate_reproduces_statsforecast() -> None:
    # given intermittent series: whatever the pick, its numbers are statsforecast's
    from statsforecast.models import ADIDA, IMAPA, TSB

    ys = {f"s{i}": bernoulli_poisson(WEEKS, 0.25, 2, seed=10 + i) for i in range(6)}
    # when
    result = forecast_demand(weekly(ys), freq="W", horizon=4)
    # then
    models = {"CrostonSBA": CrostonSBA(), "TSB": TSB(0.1, 0.1), "ADIDA": ADIDA(), "IMAPA": IMAPA()}
    for name, y in ys.items():
        rows = result.forecasts[result.forecasts["unique_id"] == name]
        model = models[rows["model"].iloc[0]]
        np.testing.assert_allclose(rows["forecast"].to_numpy(), sf_forecast(y, model, 4))


def test_the_backtest_picks_a_model_class_that_fits_the_demand() -> None:
    # given Poisson, Bernoulli-Poisson and seasonal demand
    ys = {
        **{f"poisson{i}": poisson(WEEKS, 20, seed=i) for i in range(5)},
        **{f"sparse{i}": bernoulli_poisson(WEEKS, 0.15, 4, seed=100 + i) for i in range(5)},
        **{f"season{i}": seasonal(WEEKS, seed=200 + i) for i in range(5)},
    }
    # when
    result = forecast_demand(weekly(ys), freq="W", horizon=8)
    # then
    picked = result.summary.set_index("unique_id")["model"]
    assert {picked[f"poisson{i}"] for i in range(5)} <= {"SESOpt", "SeasESOpt(52)"}
    assert {picked[f"sparse{i}"] for i in range(5)} <= {"CrostonSBA", "TSB", "ADIDA", "IMAPA"}
    assert sum(picked[f"season{i}"] == "SeasESOpt(52)" for i in range(5)) >= 4
    scores = result.backtest.query("unique_id == 'sparse0'")
    assert set(scores["model"]) == {"CrostonSBA", "TSB", "ADIDA", "IMAPA"}
    assert (scores[["mase", "scaled_pinball"]] > 0).all().all()


def test_quantiles_of_poisson_demand_cover_what_happens() -> None:
    # given 200 Poisson(6) series, and what they do next
    rng = np.random.default_rng(7)
    ys = {f"p{i}": rng.poisson(6, WEEKS + 4).astype(float) for i in range(200)}
    history = weekly({k: v[:WEEKS] for k, v in ys.items()})
    future = np.stack([v[WEEKS:] for v in ys.values()])
    # when
    rows = forecast_demand(history, freq="W", horizon=4).forecasts
    # then
    for level, low, high in ((0.5, 0.45, 0.75), (0.9, 0.85, 0.97), (0.95, 0.9, 0.99)):
        q = rows[f"q{level}"].to_numpy().reshape(200, 4)
        assert low <= (future <= q).mean() <= high, level


def test_lead_time_demand_adds_periods() -> None:
    # given
    result = forecast_demand(weekly({"a": poisson(WEEKS, 10, seed=3)}), freq="W", horizon=6)
    # when
    ltd = lead_time_demand(result, 3).iloc[0]
    # then
    first = result.forecasts.head(3)
    assert ltd["mean"] == pytest.approx(first["forecast"].sum())
    assert ltd["variance"] == pytest.approx(first["variance"].sum())
    assert ltd["q0.5"] <= ltd["q0.9"] <= ltd["q0.95"]
    assert ltd["q0.9"] > ltd["mean"]


def test_weekly_forecast_dates_continue_on_the_inputs_weekday() -> None:
    # given weekly history labelled on Wednesdays
    result = forecast_demand(weekly({"a": poisson(30, 5, seed=4)}), freq="W", horizon=3)
    # then
    dates = result.forecasts["ds"]
    last = pd.Timestamp(START) + pd.Timedelta(weeks=29)
    assert list(dates) == [last + pd.Timedelta(weeks=k) for k in (1, 2, 3)]
    assert set(dates.dt.day_name()) == {"Wednesday"}


def test_a_new_item_is_forecast_by_the_mean_of_its_history() -> None:
    # given an item with three weeks of history beside an established one
    history = weekly({"old": poisson(WEEKS, 5, seed=5)})
    first_sale = pd.Timestamp(START) + pd.Timedelta(weeks=WEEKS - 3)
    new = weekly({"new": np.array([2.0, 4.0, 6.0])}, start=str(first_sale.date()))
    history = pd.concat([history, new], ignore_index=True)
    # when
    result = forecast_demand(history, freq="W", horizon=2)
    # then
    summary = result.summary.set_index("unique_id")
    assert (summary.loc["new", "status"], summary.loc["new", "model"]) == ("new", "NewItemMean")
    assert result.forecasts.query("unique_id == 'new'")["forecast"].tolist() == [4.0, 4.0]


def test_fading_and_discontinued_items() -> None:
    # given one item fading out and one that stopped half a year ago, one named discontinued
    fading = np.concatenate([poisson(80, 8, seed=6), poisson(24, 0.3, seed=7)])
    stopped = np.concatenate([poisson(70, 8, seed=8), np.zeros(34)])
    history = weekly({"fading": fading, "stopped": stopped, "named": poisson(WEEKS, 8, seed=9)})
    # when
    result = forecast_demand(history, freq="W", horizon=4, discontinued=["named"])
    # then
    summary = result.summary.set_index("unique_id")
    assert (summary.loc["fading", "status"], summary.loc["fading", "model"]) == ("fading", "TSB")
    assert result.forecasts.query("unique_id == 'fading'")["forecast"].iloc[0] < 2
    for name in ("stopped", "named"):
        assert summary.loc[name, "status"] == "discontinued"
        rows = result.forecasts.query("unique_id == @name")
        assert (rows[["forecast", "q0.5", "q0.9", "q0.95"]] == 0).all().all()


def test_out_of_stock_periods_are_not_read_as_zero_demand() -> None:
    # given a steady item whose last eight weeks were out of stock
    y = np.full(WEEKS, 10.0)
    y[-8:] = 0
    history = weekly({"a": y}).assign(out_of_stock=lambda f: f.index >= WEEKS - 8)
    # when
    result = forecast_demand(history, freq="W", horizon=2)
    # then
    assert result.forecasts["forecast"].tolist() == pytest.approx([10.0, 10.0])


def test_syntetos_boylan_classes() -> None:
    adi = np.array([1.0, 1.0, 2.0, 2.0])
    cv2 = np.array([0.1, 0.6, 0.1, 0.6])
    assert syntetos_boylan(adi, cv2).tolist() == ["smooth", "erratic", "intermittent", "lumpy"]


def test_bad_csv_rows_are_reported_by_line() -> None:
    # given
    text = (
        "series,date,quantity\n"
        "a,2024-01-01,3\n"
        "a,2024-13-01,2\n"
        "\n"
        "b,2024-01-02,lots\n"
        "b,2024-01-03,-1\n"
    )
    # when
    with pytest.raises(InvalidInputFile) as refused:
        parse_demand_csv(io.StringIO(text), name="demand.csv")
    # then
    assert refused.value.code == "INVALID_INPUT_FILE"
    problems = refused.value.details["problems"]
    assert [(p["line"], p["column"]) for p in problems] == [
        (3, "date"),
        (5, "quantity"),
        (6, "quantity"),
    ]
    assert "line 3: date '2024-13-01'" in refused.value.message


def test_csv_with_item_and_site_and_decimals() -> None:
    text = "item,site,date,quantity\nX,S1,2024-01-01,1.5\nX,S1,2024-01-01,1\n"
    frame = parse_demand_csv(io.StringIO(text))
    assert frame.groupby("unique_id")["y"].sum().to_dict() == {"X@S1": 2.5}


def test_settings_change_what_counts_as_new() -> None:
    history = weekly({"a": poisson(10, 5, seed=11)})
    result = forecast_demand(
        history, freq="W", horizon=1, settings=ForecastSettings(min_history=12)
    )
    assert result.summary["status"].tolist() == ["new"]
