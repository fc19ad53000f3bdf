"""Forecasting at scale: 10,000 item-site series of 104 weeks, a mix of smooth, seasonal,
intermittent, lumpy, fading and new items, through ``analytics.forecasting`` end to end
(regular periods, classification, backtest, pick, forecast, quantiles) and lead-time demand.

Peak memory is the process's maximum resident set (``ru_maxrss``), which includes the interpreter,
numpy, pandas, scipy and statsforecast themselves; the resident set before the timed step is
reported beside it. (tracemalloc is not used: tracing every allocation tripled the time.)
"""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rxledger.analytics.forecasting import forecast_demand, lead_time_demand

MIX = {
    "smooth": 0.3,
    "seasonal": 0.15,
    "intermittent": 0.3,
    "lumpy": 0.15,
    "fading": 0.05,
    "new": 0.05,
}


@dataclass(frozen=True)
class ForecastBenchResult:
    series: int
    weeks: int
    rows: int
    seconds: float  # the forecast step, warm (numba compiled by a small run first)
    warm_up_seconds: float
    rss_before_mb: float
    peak_rss_mb: float
    models: dict[str, int]


def synthetic_demand(series: int, weeks: int, seed: int = 42) -> pd.DataFrame:
    """A long frame (``unique_id, ds, y``) of weekly demand with the classes in ``MIX``."""
    rng = np.random.default_rng(seed)
    kinds = rng.choice(list(MIX), size=series, p=list(MIX.values()))
    t = np.arange(weeks)
    level = rng.gamma(2.0, 5.0, size=(series, 1))
    smooth = rng.poisson(level, (series, weeks))
    season = 1 + 0.5 * np.sin(2 * np.pi * (t + rng.integers(0, 52, (series, 1))) / 52)
    seasonal = rng.poisson(level * season)
    occurs = rng.random((series, weeks)) < 0.25
    intermittent = occurs * rng.poisson(2.0, (series, weeks))
    lumpy = occurs * rng.negative_binomial(1, 0.1, (series, weeks))
    fading = rng.poisson(level * np.where(t < weeks * 0.75, 1.0, 0.05))
    y = np.select(
        [(kinds == k)[:, None] for k in ("smooth", "seasonal", "intermittent", "lumpy", "fading")],
        [smooth, seasonal, intermittent, lumpy, fading],
        default=smooth,
    ).astype(np.float64)
    dates = pd.date_range("2023-01-02", periods=weeks, freq="7D")
    frame = pd.DataFrame(
        {
            "unique_id": np.repeat([f"item{i:06d}@site" for i in range(series)], weeks),
            "ds": np.tile(dates, series),
            "y": y.ravel(),
        }
    )
    new = np.repeat(kinds == "new", weeks) & (np.tile(t, series) < weeks - 4)
    return frame[~new].reset_index(drop=True)


def run(series: int = 10_000, weeks: int = 104, horizon: int = 13) -> ForecastBenchResult:
    """Time backtest + pick + forecast + quantiles + lead-time demand for ``series`` series."""
    demand = synthetic_demand(series, weeks)
    started = time.perf_counter()
    forecast_demand(synthetic_demand(200, weeks, seed=1), freq="W", horizon=horizon)
    warm_up = time.perf_counter() - started
    rss_before = _max_rss_mb()
    started = time.perf_counter()
    result = forecast_demand(demand, freq="W", horizon=horizon)
    lead_time_demand(result, 2)
    seconds = time.perf_counter() - started
    return ForecastBenchResult(
        series=series,
        weeks=weeks,
        rows=len(demand),
        seconds=seconds,
        warm_up_seconds=warm_up,
        rss_before_mb=rss_before,
        peak_rss_mb=_max_rss_mb(),
        models=result.summary["model"].value_counts().to_dict(),
    )


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


if __name__ == "__main__":
    print(run())
