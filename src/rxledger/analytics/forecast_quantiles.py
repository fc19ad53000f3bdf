"""Quantiles of demand from a point forecast and an error variance.

None of the intermittent models (SBA, TSB, ADIDA, IMAPA) nor the exponential smoothing models
statsforecast offers here give native prediction intervals, so every forecast is given one
distribution, chosen the same way for all of them: demand in a period has the point forecast as its
mean and the chosen model's own backtest mean squared error as its variance (never less than the
mean). Count data get a negative binomial with that mean and variance (a Poisson when the errors
show no over-dispersion); decimal quantities get a gamma with the same two moments. Lead-time
demand sums the periods' means and variances (periods taken as independent) into the same family.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

QUANTILES: tuple[float, ...] = (0.5, 0.9, 0.95)


def demand_quantiles(
    mean: FloatArray,
    variance: FloatArray,
    discrete: BoolArray,
    levels: Sequence[float] = QUANTILES,
) -> dict[float, FloatArray]:
    """Each of ``levels`` of demand with the given means and variances, element by element.

    Distinct (mean, variance, discrete) triples are evaluated once: level models forecast the same
    value for every future period, so this divides the work of scipy's quantile functions by the
    horizon.
    """
    mean = np.maximum(np.asarray(mean, dtype=np.float64), 0.0)
    variance = np.maximum(np.asarray(variance, dtype=np.float64), mean)
    keys = pd.DataFrame({"m": mean, "v": variance, "d": discrete})
    group = keys.groupby(["m", "v", "d"], sort=False).ngroup().to_numpy()
    _, first = np.unique(group, return_index=True)
    m, v, d = mean[first], variance[first], np.asarray(discrete, dtype=np.bool_)[first]
    return {level: _quantile(level, m, v, d)[group] for level in levels}


def _quantile(
    level: float, mean: FloatArray, variance: FloatArray, discrete: BoolArray
) -> FloatArray:
    out = np.zeros_like(mean)
    positive = mean > 0
    overdispersed = variance > mean * (1 + 1e-9)
    poisson = positive & discrete & ~overdispersed
    out[poisson] = stats.poisson.ppf(level, mean[poisson])
    negbin = positive & discrete & overdispersed
    m, v = mean[negbin], variance[negbin]
    out[negbin] = stats.nbinom.ppf(level, m * m / (v - m), m / v)
    gamma = positive & ~discrete
    m, v = mean[gamma], variance[gamma]
    out[gamma] = stats.gamma.ppf(level, m * m / v, scale=v / m)
    return out


def pinball_loss(actual: FloatArray, quantile: FloatArray, level: float) -> FloatArray:
    """The pinball (quantile) loss of each forecast quantile against what happened."""
    diff = actual - quantile
    return np.maximum(level * diff, (level - 1.0) * diff)
