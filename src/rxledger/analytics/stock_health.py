"""Stock health: dead stock, stock that will expire before it is used, excess, stockout risk.

The rules:

1. **Dead stock** is a row (item, site) with stock on hand and no dispense in the last ``days``
   days: its idle days run from its last dispense or, never dispensed, from its first receipt, and
   it is dead when they reach ``days``.
2. **At risk** is the part of a lot that the site's forecast will not use before the lot expires.
   A site dispenses an item's lots first-expiry-first-out at its forecast rate, so by the day lot
   ``i`` (in expiry order) expires the site has used ``S_i = min(S_{i-1} + on_hand_i, D_i)`` units
   of lots ``1..i``, where ``D_i`` is the forecast demand up to that day (whole units). Unrolled,
   ``S_i = Q_i + min(0, min_{k<=i} (D_k - Q_k))`` with ``Q`` the running total on hand, which is a
   cumulative sum and a cumulative minimum per (item, site). Lot ``i`` is used ``S_i - S_{i-1}``;
   the rest is at risk. This is ``min(on_hand, max(0, D_i - on hand of the lots ahead))`` while no
   lot ahead expires with stock left, and stays right when one does (the demand after it expires
   falls on the next lot). A lot on or past its expiry date is all at risk; an item and site without
   a forecast rate is taken to sell nothing.
3. **Excess** is stock beyond what ``max_days_of_supply`` days of mean demand use.
4. **Stockout risk** is the probability that lead-time demand exceeds the stock available plus the
   stock arriving within the lead time, with demand in the family ``forecast_quantiles`` uses:
   Poisson, negative binomial when counts are over-dispersed, gamma for decimal quantities, with the
   given mean and variance (the variance never below the mean).

Quantities are integer base units; dates are calendar days.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from rxledger.analytics.forecast_quantiles import BoolArray, FloatArray
from rxledger.domain.errors import ValidationFailed

IntArray = npt.NDArray[np.int64]

STOCK_COLUMNS = ("item", "site", "on_hand", "last_dispensed", "first_received")
LOT_COLUMNS = ("item", "site", "lot", "on_hand", "expires_on", "unit_cost")
_EPS = 1e-9  # rate × days that should be a whole number but lands a hair below it


def require_columns(frame: pd.DataFrame, columns: Collection[str], name: str) -> None:
    """Refuse a frame that lacks any of ``columns``."""
    missing = sorted(set(columns) - set(frame.columns))
    if missing:
        raise ValidationFailed(f"{name} lacks columns", missing=missing)


def require_non_negative(frame: pd.DataFrame, columns: Collection[str], name: str) -> None:
    """Refuse missing or negative numbers in ``columns``."""
    for column in columns:
        values = pd.to_numeric(frame[column], errors="coerce")
        if values.isna().any() or (values < 0).any():
            raise ValidationFailed(f"{name}.{column} must be a number, never negative")


def require_whole(frame: pd.DataFrame, columns: Collection[str], name: str) -> None:
    """Refuse quantities that are not whole base units."""
    for column in columns:
        values = frame[column].to_numpy(dtype=np.float64)
        if (values != np.round(values)).any():
            raise ValidationFailed(f"{name}.{column} must be whole base units")


def days_until(dates: pd.Series, as_of: date) -> FloatArray:
    """Calendar days from ``as_of`` to each date (negative when past, NaN when missing)."""
    delta = pd.to_datetime(dates) - pd.Timestamp(as_of)
    days: FloatArray = delta.dt.days.to_numpy(dtype=np.float64)
    return days


def dead_stock(stock: pd.DataFrame, *, as_of: date, days: int = 120) -> pd.DataFrame:
    """The rows of ``stock`` (``item, site, on_hand, last_dispensed, first_received``) with stock
    on hand and no dispense for at least ``days`` days, with ``idle_days`` added, longest idle
    first."""
    require_columns(stock, STOCK_COLUMNS, "stock")
    if days < 1:
        raise ValidationFailed("days must be at least one", days=days)
    last = pd.to_datetime(stock["last_dispensed"]).fillna(pd.to_datetime(stock["first_received"]))
    idle = -days_until(last, as_of)
    held = stock["on_hand"].to_numpy(dtype=np.float64) > 0
    if np.isnan(idle[held]).any():
        raise ValidationFailed("stock on hand needs a first_received date")
    dead = held & (idle >= days)
    out = stock[dead].assign(idle_days=idle[dead].astype(np.int64))
    return out.sort_values(
        ["idle_days", "item", "site"], ascending=[False, True, True]
    ).reset_index(drop=True)


def at_risk(
    lots: pd.DataFrame,
    daily_rate: pd.Series | Mapping[tuple[object, object], float],
    *,
    as_of: date,
) -> pd.DataFrame:
    """The lots (``item, site, lot, on_hand, expires_on, unit_cost``) that will not be used up
    before they expire, by rule 2 of this module, with ``days_to_expiry, expected_use,
    at_risk_units, at_risk_value`` added, in first-expiry-first-out order per item and site.

    ``daily_rate`` is forecast units a day indexed by (item, site)."""
    require_columns(lots, LOT_COLUMNS, "lots")
    require_non_negative(lots, ("on_hand", "unit_cost"), "lots")
    require_whole(lots, ("on_hand",), "lots")
    ordered = lots.sort_values(["item", "site", "expires_on", "lot"]).reset_index(drop=True)
    days_left = days_until(ordered["expires_on"], as_of)
    if np.isnan(days_left).any():
        raise ValidationFailed("every lot needs an expires_on date")
    rate = _rates(ordered, daily_rate)
    demand = np.floor(rate * np.maximum(days_left, 0.0) + _EPS)
    used = _fefo_use(ordered, demand)
    on_hand = ordered["on_hand"].to_numpy(dtype=np.int64)
    risk = on_hand - used
    out = ordered.assign(
        days_to_expiry=days_left.astype(np.int64),
        expected_use=used,
        at_risk_units=risk,
        at_risk_value=risk * ordered["unit_cost"].to_numpy(dtype=np.float64),
    )
    return out[risk > 0].reset_index(drop=True)


def _rates(
    lots: pd.DataFrame, daily_rate: pd.Series | Mapping[tuple[object, object], float]
) -> FloatArray:
    rates = daily_rate if isinstance(daily_rate, pd.Series) else pd.Series(dict(daily_rate))
    if rates.empty:
        return np.zeros(len(lots))
    if rates.index.nlevels != 2 or rates.index.has_duplicates:
        raise ValidationFailed("daily_rate must be indexed by unique (item, site) pairs")
    values = pd.to_numeric(rates, errors="coerce")
    if values.isna().any() or (values < 0).any():
        raise ValidationFailed("a daily rate must be a number, never negative")
    key = pd.MultiIndex.from_frame(lots[["item", "site"]])
    rate: FloatArray = values.reindex(key).fillna(0.0).to_numpy(dtype=np.float64)
    return rate


def _fefo_use(ordered: pd.DataFrame, demand: FloatArray) -> IntArray:
    """Units of each lot used before it expires: ``S_i - S_{i-1}`` with
    ``S_i = Q_i + min(0, cummin(D_k - Q_k))`` per (item, site), lots in expiry order."""
    groups = [ordered["item"], ordered["site"]]
    on_hand = ordered["on_hand"].astype(np.int64)
    total = on_hand.groupby(groups, sort=False).cumsum()
    slack = pd.Series(demand, index=ordered.index) - total
    reach = slack.groupby(groups, sort=False).cummin().clip(upper=0.0)
    used_so_far = total + reach
    before = used_so_far.groupby(groups, sort=False).shift(1, fill_value=0.0)
    used: IntArray = (used_so_far - before).round().to_numpy(dtype=np.int64)
    return used


def excess(
    on_hand: npt.ArrayLike, mean_daily: npt.ArrayLike, max_days_of_supply: npt.ArrayLike
) -> IntArray:
    """Units on hand beyond ``max_days_of_supply`` days of ``mean_daily`` demand, element by
    element: ``max(0, on_hand - ceil(mean_daily × max_days_of_supply))``."""
    held = np.asarray(on_hand, dtype=np.float64)
    rate = np.asarray(mean_daily, dtype=np.float64)
    days = np.asarray(max_days_of_supply, dtype=np.float64)
    if (rate < 0).any() or (days < 0).any():
        raise ValidationFailed("mean daily demand and days of supply cannot be negative")
    cover = np.ceil(rate * days - _EPS)
    return np.maximum(held - cover, 0.0).astype(np.int64)


def stockout_risk(
    available: npt.ArrayLike,
    arriving: npt.ArrayLike,
    mean_ltd: npt.ArrayLike,
    var_ltd: npt.ArrayLike,
    discrete: npt.ArrayLike,
) -> FloatArray:
    """The probability that lead-time demand exceeds ``available + arriving``, element by element
    (rule 4 of this module)."""
    stock = np.asarray(available, dtype=np.float64) + np.asarray(arriving, dtype=np.float64)
    mean = np.asarray(mean_ltd, dtype=np.float64)
    stock, mean, var, counts = np.broadcast_arrays(
        stock, mean, np.asarray(var_ltd, dtype=np.float64), np.asarray(discrete, dtype=np.bool_)
    )
    return demand_survival(stock, mean, var, counts)


def demand_survival(
    stock: FloatArray, mean: FloatArray, variance: FloatArray, discrete: BoolArray
) -> FloatArray:
    """``P(demand > stock)`` for demand with the given means and variances, in the distribution
    family and parameterisation of ``forecast_quantiles``; zero demand never exceeds stock of
    zero or more."""
    stock = np.asarray(stock, dtype=np.float64)
    mean = np.maximum(np.asarray(mean, dtype=np.float64), 0.0)
    variance = np.maximum(np.asarray(variance, dtype=np.float64), mean)
    discrete = np.asarray(discrete, dtype=np.bool_)
    out = (stock < 0).astype(np.float64)
    positive = mean > 0
    overdispersed = variance > mean * (1 + 1e-9)
    whole = np.floor(stock)  # a count exceeds s exactly when it exceeds floor(s)
    poisson = positive & discrete & ~overdispersed
    out[poisson] = stats.poisson.sf(whole[poisson], mean[poisson])
    negbin = positive & discrete & overdispersed
    m, v = mean[negbin], variance[negbin]
    out[negbin] = stats.nbinom.sf(whole[negbin], m * m / (v - m), m / v)
    gamma = positive & ~discrete
    m, v = mean[gamma], variance[gamma]
    out[gamma] = stats.gamma.sf(stock[gamma], m * m / v, scale=v / m)
    return out
