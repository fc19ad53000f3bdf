"""Inventory policy arithmetic: safety stock, reorder points, order sizes and pack choice.

Every function works element by element on arrays with one value per series (scalars broadcast),
so a whole catalogue goes through in a few numpy operations. The rules:

1. **Cycle service level** α (probability of no stock-out in a replenishment cycle): safety stock
   is the α-quantile of lead-time demand less its mean, never negative. The quantile comes from
   ``forecast_quantiles.demand_quantiles``, so the distribution family is the forecasts' own
   (Poisson or negative binomial for counts, gamma for decimals, variance never below the mean).
2. **Fill rate** β (share of demand served from stock): the normal-loss method (Silver, Pyke and
   Peterson, *Inventory Management and Production Planning and Scheduling*, 3rd ed., §7.7;
   Axsäter, *Inventory Control*, §5.3): the safety factor k solves σ·G(k) = (1 − β)·Q with
   G(k) = φ(k) − k·(1 − Φ(k)) the standard normal loss function, σ the standard deviation of
   lead-time demand and Q the order quantity. k is clipped to [0, 5] unless told otherwise: below
   0 the model would ask for negative safety stock, above 5 it only chases rounding error.
3. Reorder points, min/max and par levels are whole base units, rounded **up**; order quantities
   are whole base units (``np.int64``); a quantity within 10⁻⁶ of a whole number counts as that
   number, so float noise never adds a tablet.
4. **EOQ** is Harris's (1913) economic order quantity √(2DS/H), left continuous: round it with
   ``round_to_multiple``.
5. **Shelf life**: an order never exceeds what will be used before it expires (see
   ``shelf_life_cap``).
6. **Pack size**: the option with the lowest total annual cost wins (see ``choose_pack``).

Bad arguments (negative demand, non-positive holding cost, a service level outside (0, 1), an
unknown ABC class) raise ``ValidationFailed``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import special

from rxledger.analytics.forecast_quantiles import FloatArray, demand_quantiles
from rxledger.domain.errors import ValidationFailed

IntArray = npt.NDArray[np.int64]

ABC_SERVICE_LEVELS: Mapping[str, float] = MappingProxyType({"A": 0.98, "B": 0.95, "C": 0.90})
DAYS_PER_YEAR = 365.0
PACK_COLUMNS = ("pack_id", "units_per_pack", "price_per_pack", "shelf_life_days")
_DECIMALS = 6  # quantities within 1e-6 of a whole unit count as that unit
_BISECTIONS = 60  # halves [k_min, k_max] to below 1e-17 of its width
_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


# --- safety stock ---------------------------------------------------------------------------------


def safety_stock_cycle(
    mean_ltd: npt.ArrayLike,
    var_ltd: npt.ArrayLike,
    discrete: npt.ArrayLike,
    service_level: npt.ArrayLike,
) -> FloatArray:
    """Safety stock for a cycle service level: quantile_α(lead-time demand) − mean, at least 0.

    ``service_level`` is one level for all series or one per series; series are grouped by level
    (one ``demand_quantiles`` call per distinct level), so per-series levels should come from a
    few classes (e.g. ``service_levels_by_abc``), not a continuum.
    """
    mean, var, flags, level = np.broadcast_arrays(
        _non_negative(mean_ltd, "mean lead-time demand"),
        _non_negative(var_ltd, "lead-time demand variance"),
        np.atleast_1d(np.asarray(discrete, dtype=np.bool_)),
        _probability(service_level, "service level"),
    )
    out = np.zeros(mean.shape, dtype=np.float64)
    for value in np.unique(level):
        rows = level == value
        key = float(value)
        quantile = demand_quantiles(mean[rows], var[rows], flags[rows], levels=(key,))[key]
        out[rows] = quantile - mean[rows]
    return np.maximum(out, 0.0)


def standard_normal_loss(k: npt.ArrayLike) -> FloatArray:
    """G(k) = φ(k) − k·(1 − Φ(k)): expected shortfall of a standard normal beyond k."""
    k = np.asarray(k, dtype=np.float64)
    pdf = _INV_SQRT_2PI * np.exp(-0.5 * k * k)
    upper_tail = np.asarray(special.ndtr(-k), dtype=np.float64)
    return np.asarray(pdf - k * upper_tail, dtype=np.float64)


def safety_stock_fill_rate(
    mean_ltd: npt.ArrayLike,
    sd_ltd: npt.ArrayLike,
    order_quantity: npt.ArrayLike,
    fill_rate: npt.ArrayLike,
    *,
    k_min: float = 0.0,
    k_max: float = 5.0,
) -> FloatArray:
    """Safety stock k·σ for a fill rate β, k solving σ·G(k) = (1 − β)·Q by bisection on arrays.

    k is clipped to [``k_min``, ``k_max``] (default [0, 5]). The formula itself does not use the
    mean; a series with no lead-time demand or no uncertainty (mean or σ zero) gets no safety
    stock. ``order_quantity`` must be positive wherever σ is.
    """
    if not k_min < k_max:
        raise ValidationFailed("k_min must be below k_max", k_min=k_min, k_max=k_max)
    mean, sd, q, beta = np.broadcast_arrays(
        _non_negative(mean_ltd, "mean lead-time demand"),
        _non_negative(sd_ltd, "lead-time demand standard deviation"),
        _non_negative(order_quantity, "order quantity"),
        _probability(fill_rate, "fill rate"),
    )
    uncertain = (sd > 0) & (mean > 0)
    if np.any(uncertain & (q <= 0)):
        raise ValidationFailed("the fill-rate method needs a positive order quantity")
    target = np.divide((1.0 - beta) * q, sd, out=np.zeros(sd.shape), where=uncertain)
    k = _solve_normal_loss(target, k_min, k_max)
    return np.where(uncertain, k * sd, 0.0)


def _solve_normal_loss(target: FloatArray, k_min: float, k_max: float) -> FloatArray:
    """The k in [k_min, k_max] with G(k) = target; G decreases, so the ends are the clips."""
    lo = np.full(target.shape, k_min)
    hi = np.full(target.shape, k_max)
    for _ in range(_BISECTIONS):  # over halvings, never over series
        mid = 0.5 * (lo + hi)
        short = standard_normal_loss(mid) > target  # still too much shortage: k must rise
        lo = np.where(short, mid, lo)
        hi = np.where(short, hi, mid)
    k = 0.5 * (lo + hi)
    k = np.where(target >= standard_normal_loss(k_min), k_min, k)
    return np.where(target <= standard_normal_loss(k_max), k_max, k)


def service_levels_by_abc(
    abc: npt.ArrayLike, levels: Mapping[str, float] = ABC_SERVICE_LEVELS
) -> FloatArray:
    """The service level of each series' ABC class; a class missing from ``levels`` is an error
    (classes are matched exactly: ``"a"`` is not ``"A"``)."""
    _probability(np.asarray(list(levels.values()), dtype=np.float64), "service level")
    classes = pd.Series(np.atleast_1d(np.asarray(abc, dtype=object)))
    mapped: FloatArray = classes.map(dict(levels)).to_numpy(dtype=np.float64)
    unknown = np.isnan(mapped)
    if unknown.any():
        raise ValidationFailed(
            "ABC class without a service level",
            classes=sorted({str(c) for c in classes[unknown]}),
        )
    return mapped


# --- stock levels ---------------------------------------------------------------------------------


def reorder_point(mean_ltd: npt.ArrayLike, safety_stock: npt.ArrayLike) -> IntArray:
    """Order when the inventory position falls to ⌈mean lead-time demand + safety stock⌉."""
    mean = _non_negative(mean_ltd, "mean lead-time demand")
    return _whole_up(mean + _non_negative(safety_stock, "safety stock"))


def min_max(
    mean_daily: npt.ArrayLike,
    lead_time_days: npt.ArrayLike,
    review_days: npt.ArrayLike,
    safety_stock: npt.ArrayLike,
    order_quantity: npt.ArrayLike,
) -> tuple[IntArray, IntArray]:
    """(min, max) of a periodic-review min/max policy.

    min = ⌈mean daily demand × (lead time + review period) + safety stock⌉: what must be on hand
    or on order to last until the next order can arrive; max = min + ⌈order quantity⌉, so the
    gap between the two is always the whole order quantity.
    """
    low = par_level(mean_daily, 1.0, lead_time_days, review_days, safety_stock)
    return low, low + _whole_up(_non_negative(order_quantity, "order quantity"))


def par_level(
    mean_daily: npt.ArrayLike,
    seasonal_index: npt.ArrayLike,
    lead_time_days: npt.ArrayLike,
    review_days: npt.ArrayLike,
    safety_stock: npt.ArrayLike,
) -> IntArray:
    """A par (order-up-to) level that flexes with the season.

    par = ⌈mean daily × seasonal index × (lead time + review period) + safety stock⌉, where
    ``mean_daily`` is the deseasonalised (whole-year) daily demand and ``seasonal_index`` the
    ratio of the coming cover period's demand to it (1 = an ordinary period, 1.4 = flu season at
    40 % above). The safety stock is added as given: scale it by the season first if the
    season changes the variability too.
    """
    daily = _non_negative(mean_daily, "mean daily demand")
    index = _non_negative(seasonal_index, "seasonal index")
    cover = _non_negative(lead_time_days, "lead time") + _non_negative(review_days, "review period")
    return _whole_up(daily * index * cover + _non_negative(safety_stock, "safety stock"))


# --- order quantities -----------------------------------------------------------------------------


def eoq(
    annual_demand: npt.ArrayLike,
    order_cost: npt.ArrayLike,
    holding_cost_per_unit_year: npt.ArrayLike,
) -> FloatArray:
    """Harris's (1913) economic order quantity √(2DS/H) in units, continuous (zero demand gives
    zero); round it with ``round_to_multiple``. H must be positive."""
    demand = _non_negative(annual_demand, "annual demand")
    cost = _non_negative(order_cost, "order cost")
    holding = _as_floats(holding_cost_per_unit_year, "holding cost")
    if np.any(holding <= 0):
        raise ValidationFailed("the holding cost per unit and year must be positive")
    return np.asarray(np.sqrt(2.0 * demand * cost / holding), dtype=np.float64)


def round_to_multiple(
    quantity: npt.ArrayLike, multiple: npt.ArrayLike, minimum_order: npt.ArrayLike = 0
) -> IntArray:
    """The smallest multiple of ``multiple`` (pack size, case quantity) that covers both the need
    and the minimum order quantity; a need of zero or less orders nothing (0)."""
    need = _whole_up(_as_floats(quantity, "quantity"))
    step = _whole_multiple(multiple)
    least = _whole_up(_non_negative(minimum_order, "minimum order"))
    need, step, least = np.broadcast_arrays(need, step, least)
    wanted = np.maximum(need, least)
    packs = -(-wanted // step)  # ceiling division in integers
    return np.where(need > 0, packs * step, 0).astype(np.int64)


def shelf_life_cap(
    order_qty: npt.ArrayLike,
    on_hand_usable: npt.ArrayLike,
    mean_daily: npt.ArrayLike,
    usable_days: npt.ArrayLike,
    multiple: npt.ArrayLike | None = None,
) -> IntArray:
    """An order cut to what will be used before it expires.

    Over ``usable_days`` (the shelf life the received stock will have left) the pharmacy uses
    ⌊mean daily × usable days⌋ units; the usable stock on hand is used first (first expiry, first
    out), so the order is capped at that use less the stock on hand, never below 0:
    min(order, max(0, ⌊mean daily × usable days⌋ − on hand usable)). With ``multiple`` the cap is
    rounded **down** to whole packs, so the cap may fall below a minimum order quantity or to 0:
    a pack that would partly expire is not ordered.
    """
    order = _whole_up(_non_negative(order_qty, "order quantity"))
    on_hand = _whole_up(_non_negative(on_hand_usable, "usable stock on hand"))
    daily = _non_negative(mean_daily, "mean daily demand")
    use = _whole_down(daily * _non_negative(usable_days, "usable days"))
    cap = np.minimum(order, np.maximum(use - on_hand, 0))
    if multiple is not None:
        step = _whole_multiple(multiple)
        cap = (cap // step) * step
    return np.asarray(cap, dtype=np.int64)


# --- pack size ------------------------------------------------------------------------------------


def choose_pack(
    options: pd.DataFrame, *, daily_demand: float, order_cost: float, holding_rate: float
) -> pd.DataFrame:
    """The pack sizes of one item costed over a year; ``chosen`` marks the cheapest.

    ``options`` has ``pack_id, units_per_pack, price_per_pack, shelf_life_days`` (days a pack stays
    usable once received or opened; missing means no limit). Per option, in base units and a
    365-day year D = daily demand × 365:

    - a pack is used for at most daily demand × shelf life units; the rest of it,
      ``wasted_per_pack`` = (units per pack − daily demand × shelf life)⁺, expires;
    - ``packs_per_year`` = D / (units per pack − wasted per pack): the wasted units are bought too;
    - ``eoq_packs``: EOQ on the unit price (√(2·units bought per year·S / (unit price · holding
      rate)), Harris 1913) to the nearest whole pack, at least one, and no more packs than are
      used within the shelf life (at least one);
    - ``orders_per_year`` = packs per year / EOQ packs; ``ordering_cost`` = that × order cost;
    - ``holding_cost`` = EOQ packs × units per pack / 2 × unit price × holding rate;
    - ``purchase_cost`` = D × unit price (the units used); ``expiry_cost`` = packs per year ×
      wasted per pack × unit price (the units bought and thrown away); together they are what
      is paid for ``packs_per_year`` packs;
    - ``total_cost`` = purchase + ordering + holding + expiry. On a tie the first option listed
      is chosen.
    """
    frame = _pack_options(options)
    if not daily_demand > 0:
        raise ValidationFailed("a pack size is chosen for an item with demand", daily=daily_demand)
    costs = pack_costs(
        units_per_pack=frame["units_per_pack"].to_numpy(dtype=np.float64),
        price_per_pack=frame["price_per_pack"].to_numpy(dtype=np.float64),
        shelf_life_days=frame["shelf_life_days"].to_numpy(dtype=np.float64),
        daily_demand=np.full(len(frame), float(daily_demand)),
        order_cost=order_cost,
        holding_rate=holding_rate,
    )
    for name, values in costs.items():
        frame[name] = values
    frame["chosen"] = np.arange(len(frame)) == int(np.argmin(frame["total_cost"].to_numpy()))
    return frame


def pack_costs(
    *,
    units_per_pack: FloatArray,
    price_per_pack: FloatArray,
    shelf_life_days: FloatArray,
    daily_demand: FloatArray,
    order_cost: float,
    holding_rate: float,
) -> dict[str, Any]:
    """``choose_pack``'s annual costs, element by element: one row per (series, pack option), so
    a whole catalogue's offers are costed at once. A missing (NaN) shelf life means no limit; the
    daily demand must be positive."""
    if order_cost < 0 or not holding_rate > 0:
        raise ValidationFailed("order cost must be at least 0 and the holding rate positive")
    units = np.asarray(units_per_pack, dtype=np.float64)
    price = np.asarray(price_per_pack, dtype=np.float64)
    shelf = np.nan_to_num(np.asarray(shelf_life_days, dtype=np.float64), nan=np.inf)
    daily = np.asarray(daily_demand, dtype=np.float64)
    unit_price = price / units
    annual = daily * DAYS_PER_YEAR
    used_per_pack = np.minimum(units, daily * shelf)
    wasted = units - used_per_pack
    packs_per_year = annual / used_per_pack
    q_units = eoq(packs_per_year * units, order_cost, unit_price * holding_rate)
    with np.errstate(invalid="ignore"):
        most = np.maximum(np.floor(np.round(daily * shelf / units, _DECIMALS)), 1.0)
    q_packs = np.clip(np.floor(q_units / units + 0.5), 1.0, most).astype(np.int64)
    orders = packs_per_year / q_packs
    purchase = annual * unit_price
    ordering = orders * order_cost
    holding = q_packs * units / 2.0 * unit_price * holding_rate
    expiry = packs_per_year * wasted * unit_price
    return {
        "unit_price": unit_price,
        "annual_demand": annual,
        "wasted_per_pack": wasted,
        "packs_per_year": packs_per_year,
        "eoq_packs": q_packs,
        "orders_per_year": orders,
        "purchase_cost": purchase,
        "ordering_cost": ordering,
        "holding_cost": holding,
        "expiry_cost": expiry,
        "total_cost": purchase + ordering + holding + expiry,
    }


def _pack_options(options: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in PACK_COLUMNS if c not in options.columns]
    if missing or options.empty:
        raise ValidationFailed("pack options need rows with " + ", ".join(PACK_COLUMNS))
    frame = options.reset_index(drop=True).copy()
    frame["shelf_life_days"] = frame["shelf_life_days"].astype(np.float64).fillna(np.inf)
    numbers = frame[list(PACK_COLUMNS[1:])].to_numpy(dtype=np.float64)
    units = numbers[:, 0]
    if np.any(~(numbers > 0)) or np.any(units != np.round(units)):
        raise ValidationFailed(
            "units per pack must be whole and positive, prices and shelf lives positive"
        )
    return frame


# --- helpers --------------------------------------------------------------------------------------


def _as_floats(values: Any, name: str) -> FloatArray:
    array = np.atleast_1d(np.asarray(values, dtype=np.float64))
    if not np.all(np.isfinite(array)):
        raise ValidationFailed(f"{name} must be finite")
    return array


def _non_negative(values: Any, name: str) -> FloatArray:
    array = _as_floats(values, name)
    if np.any(array < 0):
        raise ValidationFailed(f"{name} must not be negative")
    return array


def _probability(values: Any, name: str) -> FloatArray:
    array = _as_floats(values, name)
    if np.any((array <= 0) | (array >= 1)):
        raise ValidationFailed(f"a {name} must lie strictly between 0 and 1")
    return array


def _whole_multiple(values: Any) -> IntArray:
    array = _as_floats(values, "order multiple")
    if np.any(array < 1) or np.any(array != np.round(array)):
        raise ValidationFailed("an order multiple must be a whole number of at least 1")
    return array.astype(np.int64)


def _whole_up(values: FloatArray) -> IntArray:
    return np.ceil(np.round(values, _DECIMALS)).astype(np.int64)


def _whole_down(values: FloatArray) -> IntArray:
    return np.floor(np.round(values, _DECIMALS)).astype(np.int64)
