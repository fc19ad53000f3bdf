"""Demand forecasts per series: candidates by demand class, picked by backtest, with quantiles.

The rules, in the order they apply to a series:

1. a series named in ``discontinued``, or whose last ``max(discontinued_after, 3 × ADI)`` periods
   (or whole history) are zero, is forecast zero (model ``Discontinued``);
2. a series with fewer than ``min_history`` periods is new: its forecast is the mean of the
   periods it has (model ``NewItemMean``);
3. a series whose recent demand fell below ``fading_ratio`` of its earlier level, and at least
   2.5 standard deviations below what the earlier level predicts (so that an intermittent item's
   ordinary quiet spell is not taken for a fade), is fading and
   is forecast by TSB, whose demand probability decays with every period without demand;
4. otherwise its demand class (given, or Syntetos–Boylan from ADI and CV²) chooses the candidates
   (``forecast_backtest``), and the backtest picks one per series.

Out-of-stock periods did not show their demand (sales stop at what was on hand), so their demand is
taken as the larger of what was recorded and the series' in-stock mean. Quantiles are described in
``forecast_quantiles``.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from rxledger.analytics.classification import syntetos_boylan
from rxledger.analytics.forecast_backtest import (
    backtest,
    candidate_models,
    model_names,
    point_forecasts,
)
from rxledger.analytics.forecast_quantiles import QUANTILES, FloatArray, demand_quantiles
from rxledger.analytics.periods import Freq, PeriodGrid, per_series_sum, regular_periods
from rxledger.domain.errors import ValidationFailed

Array = npt.NDArray[Any]

SEASONS: dict[str, tuple[int, ...]] = {"D": (7, 365), "W": (52,)}
BACKTEST_HORIZON: dict[str, int] = {"D": 14, "W": 8}
DISCONTINUED_AFTER: dict[str, int] = {"D": 182, "W": 26}
FADING_WINDOW: dict[str, int] = {"D": 91, "W": 13}
FADING_SIGMAS = 2.5


@dataclass(frozen=True)
class ForecastSettings:
    backtest_windows: int = 3
    backtest_horizon: int | None = None  # periods; default min(horizon, 14 days or 8 weeks)
    min_history: int = 8  # periods; fewer make a new item
    discontinued_after: int | None = None  # trailing zero periods; default 182 days or 26 weeks
    fading_window: int | None = None  # recent periods compared; default 91 days or 13 weeks
    fading_ratio: float = 0.3


@dataclass(frozen=True)
class ForecastResult:
    """``forecasts``: one row per series and future period (``unique_id, ds, step, forecast,
    q0.5, q0.9, q0.95, variance, model``); ``summary``: one row per series (``unique_id, status,
    demand_class, model, periods, mase, scaled_pinball, discrete``); ``backtest``: one row per
    series and candidate (``unique_id, model, mase, scaled_pinball``)."""

    forecasts: pd.DataFrame
    summary: pd.DataFrame
    backtest: pd.DataFrame
    quantiles: tuple[float, ...] = field(default=QUANTILES)


@dataclass
class _Plan:
    """Everything decided per series code, filled in group by group."""

    horizon: int
    mean: FloatArray
    variance: FloatArray
    model: Array
    mase: FloatArray
    spl: FloatArray
    backtests: list[pd.DataFrame] = field(default_factory=list)


def forecast_demand(
    history: pd.DataFrame,
    *,
    freq: Freq,
    horizon: int,
    settings: ForecastSettings | None = None,
    demand_class: Mapping[str, str] | None = None,
    discontinued: Collection[str] = (),
) -> ForecastResult:
    """Forecast ``horizon`` periods of every series in ``history`` (``unique_id, ds, y``, optional
    ``out_of_stock``) by the rules in this module's docstring."""
    if horizon < 1:
        raise ValidationFailed("the forecast horizon must be at least one period")
    cfg = settings or ForecastSettings()
    grid = regular_periods(history, freq)
    discrete = per_series_sum(grid, (grid.y != np.round(grid.y)).astype(np.float64)) == 0
    _impute_out_of_stock(grid)
    stats = _SeriesStats.of(grid)
    classes = _demand_classes(grid, stats, demand_class)
    status = _status(grid, stats, cfg, freq, discontinued)
    k = len(grid.lengths)
    plan = _Plan(
        horizon=horizon,
        mean=np.zeros((k, horizon)),
        variance=np.zeros((k, horizon)),
        model=np.full(k, "Discontinued", dtype=object),
        mase=np.full(k, np.nan),
        spl=np.full(k, np.nan),
    )
    _plan_new(plan, stats, status == "new")
    kinds = np.where(
        status == "fading", "fading", np.where(_smooth(classes), "smooth", "intermittent")
    )
    active = (status == "regular") | (status == "fading")
    _plan_models(plan, grid, stats, cfg, freq, kinds, active, discrete)
    return _result(grid, plan, status, classes, discrete)


@dataclass(frozen=True)
class _SeriesStats:
    n: Array
    nonzero: FloatArray
    mean: FloatArray
    variance: FloatArray
    adi: FloatArray
    cv2: FloatArray
    trailing_zeros: Array

    @classmethod
    def of(cls, grid: PeriodGrid) -> _SeriesStats:
        n = grid.lengths.astype(np.float64)
        positive = grid.y > 0
        nonzero = per_series_sum(grid, positive.astype(np.float64))
        total = per_series_sum(grid, grid.y)
        squares = per_series_sum(grid, grid.y * grid.y)
        mean = total / n
        size_mean = np.divide(total, nonzero, out=np.zeros_like(total), where=nonzero > 0)
        size_var = np.divide(squares, nonzero, out=np.zeros_like(total), where=nonzero > 0)
        size_var -= size_mean**2
        last = np.full(len(n), -1, dtype=np.int64)
        np.maximum.at(last, grid.code[positive], grid.period[positive])
        return cls(
            n=grid.lengths,
            nonzero=nonzero,
            mean=mean,
            variance=np.maximum(squares / n - mean**2, 0.0),
            adi=np.divide(n, nonzero, out=np.full_like(n, np.inf), where=nonzero > 0),
            cv2=np.divide(size_var, size_mean**2, out=np.zeros_like(n), where=size_mean > 0),
            trailing_zeros=grid.lengths - 1 - last,
        )


def _demand_classes(
    grid: PeriodGrid, stats: _SeriesStats, given: Mapping[str, str] | None
) -> Array:
    computed = syntetos_boylan(stats.adi, stats.cv2)
    if not given:
        return computed
    named = pd.Series(grid.names).map(given)
    return np.where(named.isna(), computed, named.astype(object).str.lower()).astype(object)


def _smooth(classes: Array) -> Array:
    return np.isin(classes, ["smooth", "erratic"])


def _status(
    grid: PeriodGrid,
    stats: _SeriesStats,
    cfg: ForecastSettings,
    freq: Freq,
    discontinued: Collection[str],
) -> Array:
    zero_run = cfg.discontinued_after or DISCONTINUED_AFTER[freq]
    adi = np.where(np.isfinite(stats.adi), stats.adi, 0.0)
    stopped = stats.trailing_zeros >= np.maximum(zero_run, 3 * adi)
    named = np.isin(grid.names.astype(str), list(discontinued))
    new = stats.n < cfg.min_history
    fading = _fading(grid, stats, cfg.fading_window or FADING_WINDOW[freq], cfg.fading_ratio)
    return np.select(
        [named, new, stopped | (stats.nonzero == 0), fading],
        ["discontinued", "new", "discontinued", "fading"],
        default="regular",
    ).astype(object)


def _fading(grid: PeriodGrid, stats: _SeriesStats, window: int, ratio: float) -> Array:
    """Recent mean (the last ``max(window, 4 × ADI)`` periods) below ``ratio`` of the earlier mean,
    and the recent total at least 2.5 standard deviations below the earlier level's."""
    adi = np.where(np.isfinite(stats.adi), stats.adi, 0.0)
    recent = np.maximum(window, np.ceil(4 * adi)).astype(np.int64)
    is_recent = grid.period >= (grid.lengths - recent)[grid.code]
    recent_mean = per_series_sum(grid, grid.y, is_recent) / recent
    earlier_n = grid.lengths - recent
    earlier_sum = per_series_sum(grid, grid.y, ~is_recent)
    earlier_mean = np.divide(earlier_sum, earlier_n, out=np.zeros(len(recent)), where=earlier_n > 0)
    earlier_squares = per_series_sum(grid, grid.y * grid.y, ~is_recent)
    earlier_var = (
        np.divide(earlier_squares, earlier_n, out=np.zeros(len(recent)), where=earlier_n > 0)
        - earlier_mean**2
    )
    shortfall = (earlier_mean - recent_mean) * recent
    unusual = shortfall >= FADING_SIGMAS * np.sqrt(np.maximum(earlier_var, 0.0) * recent)
    lower = recent_mean < ratio * earlier_mean
    fading: Array = (earlier_n >= recent) & (earlier_mean > 0) & lower & unusual
    return fading


def _impute_out_of_stock(grid: PeriodGrid) -> None:
    if not grid.out_of_stock.any():
        return
    in_stock = ~grid.out_of_stock
    count = per_series_sum(grid, in_stock.astype(np.float64))
    total = per_series_sum(grid, grid.y, in_stock)
    mean = np.divide(total, count, out=np.zeros_like(total), where=count > 0)
    rows = grid.out_of_stock
    grid.y[rows] = np.maximum(grid.y[rows], mean[grid.code[rows]])


def _plan_new(plan: _Plan, stats: _SeriesStats, new: Array) -> None:
    plan.mean[new] = stats.mean[new, None]
    plan.variance[new] = np.maximum(stats.variance, stats.mean)[new, None]
    plan.model[new] = "NewItemMean"


def _plan_models(
    plan: _Plan,
    grid: PeriodGrid,
    stats: _SeriesStats,
    cfg: ForecastSettings,
    freq: Freq,
    kinds: Array,
    active: Array,
    discrete: Array,
) -> None:
    """One statsforecast batch per (kind, seasons, backtestable) group of series."""
    hb = min(plan.horizon, cfg.backtest_horizon or BACKTEST_HORIZON[freq])
    span = hb * cfg.backtest_windows
    train = stats.n - span
    testable = train >= max(cfg.min_history, hb)
    seasonal = {m: _seasonal(grid, train, m) & (kinds == "smooth") for m in SEASONS[freq]}
    season_sets = [
        tuple(m for m in SEASONS[freq] if seasonal[m][code]) for code in range(len(kinds))
    ]
    groups = pd.DataFrame({"kind": kinds, "seasons": season_sets, "testable": testable})
    groups = groups[active]
    scale = _naive_scale(grid, train)
    for (kind, seasons, can_test), members in groups.groupby(["kind", "seasons", "testable"]):
        codes = members.index.to_numpy(dtype=np.int64)
        frame = grid.frame()
        frame = frame[np.isin(grid.code, codes)]
        models = candidate_models(kind, seasons if can_test else ())
        if can_test:
            _pick(plan, frame, models, codes, hb, cfg.backtest_windows, scale, discrete)
        else:
            models = models[:1]
            plan.model[codes] = model_names(models)[0]
            plan.variance[codes] = np.maximum(stats.variance, 0.0)[codes, None]
        forecasts = point_forecasts(frame, models, plan.horizon)
        chosen = pd.Index(model_names(models)).get_indexer(plan.model[codes])
        plan.mean[codes] = forecasts[np.arange(len(codes)), :, chosen]


def _pick(
    plan: _Plan,
    frame: pd.DataFrame,
    models: list[object],
    codes: Array,
    hb: int,
    windows: int,
    scale: FloatArray,
    discrete: Array,
) -> None:
    scores = backtest(frame, models, horizon=hb, windows=windows, scale=scale, discrete=discrete)
    best = np.nanargmin(np.nan_to_num(scores.score[:, codes], nan=np.inf), axis=0)
    plan.model[codes] = np.asarray(scores.models, dtype=object)[best]
    plan.mase[codes] = scores.mase[best, codes]
    plan.spl[codes] = scores.scaled_pinball[best, codes]
    plan.variance[codes] = np.nan_to_num(scores.mse[best, codes])[:, None]
    plan.backtests.append(scores.long(codes))


def _seasonal(grid: PeriodGrid, train: Array, m: int) -> Array:
    """The history supports season ``m`` when the training part holds one and a half seasons and
    the correlation of its periods with those ``m`` earlier exceeds 2/sqrt(pairs), the usual
    significance bound."""
    in_train = grid.period < train[grid.code]
    n = per_series_sum(grid, in_train.astype(np.float64))
    mean = np.divide(per_series_sum(grid, grid.y, in_train), n, out=np.zeros_like(n), where=n > 0)
    centred = grid.y - mean[grid.code]
    lagged = np.concatenate((np.zeros(m), centred[:-m])) if len(centred) > m else centred * 0
    pairs = in_train & (grid.period >= m)
    count = per_series_sum(grid, pairs.astype(np.float64))
    cov = np.divide(
        per_series_sum(grid, centred * lagged, pairs), count, out=np.zeros_like(n), where=count > 0
    )
    var = np.divide(
        per_series_sum(grid, centred * centred, in_train), n, out=np.zeros_like(n), where=n > 0
    )
    acf = np.divide(cov, var, out=np.zeros_like(var), where=var > 0)
    return (n >= 1.5 * m) & (acf > 2 / np.sqrt(np.maximum(count, 1.0)))


def _naive_scale(grid: PeriodGrid, train: Array) -> FloatArray:
    """Mean absolute one-step change over each series' training part (MASE's denominator); the
    training mean, or 1, where the training part never changes."""
    change = np.abs(np.diff(grid.y, prepend=0.0))
    usable = (grid.period > 0) & (grid.period < train[grid.code])
    count = per_series_sum(grid, usable.astype(np.float64))
    scale = np.divide(
        per_series_sum(grid, change, usable), count, out=np.zeros_like(count), where=count > 0
    )
    in_train = grid.period < train[grid.code]
    train_n = per_series_sum(grid, in_train.astype(np.float64))
    mean = np.divide(
        per_series_sum(grid, grid.y, in_train), train_n, out=np.zeros_like(count), where=train_n > 0
    )
    return np.where(scale > 0, scale, np.where(mean > 0, mean, 1.0))


def _result(
    grid: PeriodGrid,
    plan: _Plan,
    status: Array,
    classes: Array,
    discrete: Array,
) -> ForecastResult:
    k, h = plan.mean.shape
    mean = np.maximum(plan.mean, 0.0).ravel()
    variance = np.maximum(plan.variance.ravel(), mean)
    code = np.repeat(np.arange(k, dtype=np.int64), h)
    step = np.tile(np.arange(1, h + 1, dtype=np.int64), k)
    quantiles = demand_quantiles(mean, variance, discrete[code])
    forecasts = pd.DataFrame(
        {
            "unique_id": grid.names[code],
            "ds": pd.to_datetime(grid.labels(code, grid.lengths[code] - 1 + step)),
            "step": step,
            "forecast": mean,
            **{f"q{level}": quantiles[level] for level in QUANTILES},
            "variance": variance,
            "model": plan.model[code],
        }
    )
    summary = pd.DataFrame(
        {
            "unique_id": grid.names,
            "status": status,
            "demand_class": classes,
            "model": plan.model,
            "periods": grid.lengths,
            "mase": plan.mase,
            "scaled_pinball": plan.spl,
            "discrete": discrete,
        }
    )
    backtests = [frame for frame in plan.backtests if len(frame)]
    scores = (
        pd.concat(backtests)
        if backtests
        else pd.DataFrame(columns=["code", "model", "mase", "scaled_pinball"])
    )
    scores.insert(0, "unique_id", grid.names[scores.pop("code").to_numpy(dtype=np.int64)])
    return ForecastResult(
        forecasts=forecasts, summary=summary, backtest=scores.reset_index(drop=True)
    )


def lead_time_demand(result: ForecastResult, lead_time: int | Mapping[str, int]) -> pd.DataFrame:
    """Demand over the next ``lead_time`` periods per series (``unique_id, lead_time, mean,
    variance, q0.5, q0.9, q0.95``): means and variances of the periods add, and the quantiles
    come from the same distribution family as the periods'."""
    frame = result.forecasts
    ids = frame["unique_id"]
    if isinstance(lead_time, int):
        periods = pd.Series(lead_time, index=ids.unique())
    else:
        periods = pd.Series(dict(lead_time)).reindex(ids.unique()).fillna(0).astype(int)
    horizon = int(frame["step"].max())
    if (periods > horizon).any() or (periods < 0).any():
        raise ValidationFailed(
            f"a lead time must lie between 0 and the forecast horizon ({horizon} periods)"
        )
    within = frame[frame["step"].to_numpy() <= periods.reindex(ids).to_numpy()]
    sums = within.groupby("unique_id", sort=False)[["forecast", "variance"]].sum()
    sums = sums.reindex(periods.index, fill_value=0.0)
    discrete = result.summary.set_index("unique_id")["discrete"].reindex(sums.index).to_numpy()
    mean = sums["forecast"].to_numpy(dtype=np.float64)
    variance = sums["variance"].to_numpy(dtype=np.float64)
    quantiles = demand_quantiles(mean, variance, discrete.astype(bool), result.quantiles)
    return pd.DataFrame(
        {
            "unique_id": sums.index,
            "lead_time": periods.to_numpy(),
            "mean": mean,
            "variance": variance,
            **{f"q{level}": quantiles[level] for level in result.quantiles},
        }
    ).reset_index(drop=True)


def ceil_periods(days: float, freq: Freq) -> int:
    """A lead time in days as whole periods of ``freq``, rounded up."""
    return math.ceil(days / (1 if freq == "D" else 7))
