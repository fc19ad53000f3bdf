"""Candidate models per demand class, and the rolling-origin backtest that picks one per series.

Candidates: simple exponential smoothing, and seasonal exponential smoothing where the history
supports the season, for smooth and erratic demand; Croston-SBA, TSB, ADIDA and IMAPA for
intermittent and lumpy demand; TSB with a quicker demand-probability update for items fading out.
Each candidate set goes through statsforecast once, all its series batched. A series' pick is
the candidate with the lowest MASE plus scaled pinball loss (mean over the quantiles 0.5, 0.9 and
0.95) over the backtest windows: both are divided by the in-sample mean absolute one-step change,
so they add, and the sum rewards a good centre and a good upper tail, which is what safety stock
is computed from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from statsforecast import StatsForecast
from statsforecast.models import (
    ADIDA,
    IMAPA,
    TSB,
    CrostonSBA,
    SeasonalExponentialSmoothingOptimized,
    SimpleExponentialSmoothingOptimized,
)

from rxledger.analytics.forecast_quantiles import (
    QUANTILES,
    BoolArray,
    FloatArray,
    demand_quantiles,
    pinball_loss,
)

Kind = Literal["smooth", "intermittent", "fading"]


def candidate_models(kind: Kind, seasons: Sequence[int] = ()) -> list[Any]:
    """The statsforecast models tried for a series of this kind (the first is the default when the
    history is too short to backtest)."""
    if kind == "smooth":
        seasonal = [
            SeasonalExponentialSmoothingOptimized(season_length=m, alias=f"SeasESOpt({m})")
            for m in seasons
        ]
        return [SimpleExponentialSmoothingOptimized(), *seasonal]
    if kind == "intermittent":
        return [CrostonSBA(), TSB(alpha_d=0.1, alpha_p=0.1), ADIDA(), IMAPA()]
    return [TSB(alpha_d=0.1, alpha_p=0.3)]


def model_names(models: Sequence[Any]) -> list[str]:
    return [str(model.alias) for model in models]


@dataclass(frozen=True)
class BacktestScores:
    """Per candidate (rows, in model order) and series code (columns, all codes of the grid)."""

    models: list[str]
    mase: FloatArray
    scaled_pinball: FloatArray
    mse: FloatArray

    @property
    def score(self) -> FloatArray:
        return self.mase + self.scaled_pinball

    def long(self, codes: np.ndarray[Any, Any]) -> pd.DataFrame:
        """One row per series of ``codes`` and candidate."""
        rows = len(self.models)
        return pd.DataFrame(
            {
                "code": np.tile(codes, rows),
                "model": np.repeat(self.models, len(codes)),
                "mase": self.mase[:, codes].ravel(),
                "scaled_pinball": self.scaled_pinball[:, codes].ravel(),
            }
        )


def backtest(
    frame: pd.DataFrame,
    models: Sequence[Any],
    *,
    horizon: int,
    windows: int,
    scale: FloatArray,
    discrete: BoolArray,
) -> BacktestScores:
    """Forecast the last ``windows`` blocks of ``horizon`` periods of every series from the history
    before each block, refitting each time, and score each candidate per series."""
    sf = StatsForecast(models=list(models), freq=1, n_jobs=1)
    cv = sf.cross_validation(df=frame, h=horizon, n_windows=windows, step_size=horizon)
    ids = cv["unique_id"].to_numpy(dtype=np.int64)
    actual = cv["y"].to_numpy(dtype=np.float64)
    size = len(scale)
    count = np.bincount(ids, minlength=size).astype(np.float64)
    count[count == 0] = np.nan
    names = model_names(models)
    mase, spl, mse = (np.full((len(names), size), np.nan) for _ in range(3))
    for row, name in enumerate(names):
        predicted = np.nan_to_num(cv[name].to_numpy(dtype=np.float64))
        error = actual - predicted
        mase[row] = np.bincount(ids, np.abs(error), size) / count / scale
        mse[row] = np.bincount(ids, error * error, size) / count
        variance = np.nan_to_num(mse[row])[ids]
        quantiles = demand_quantiles(predicted, variance, discrete[ids])
        loss = sum(pinball_loss(actual, q, level) for level, q in quantiles.items())
        spl[row] = np.bincount(ids, loss / len(QUANTILES), size) / count / scale
    return BacktestScores(models=names, mase=mase, scaled_pinball=spl, mse=mse)


def point_forecasts(frame: pd.DataFrame, models: Sequence[Any], horizon: int) -> FloatArray:
    """statsforecast's forecasts, shaped (series of ``frame`` in code order, horizon, model)."""
    sf = StatsForecast(models=list(models), freq=1, n_jobs=1)
    out = sf.forecast(df=frame, h=horizon)
    values: FloatArray = np.nan_to_num(out[model_names(models)].to_numpy(dtype=np.float64))
    return values.reshape(-1, horizon, len(models))
