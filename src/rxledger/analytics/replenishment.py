"""Suggested orders for every item-site series: classify, forecast, set the policy, order.

The steps, each over all series at once:

1. **Classify** (``classification``): ABC by consumption value, XYZ, the Syntetos–Boylan class.
2. **Forecast** (``forecasting``) with the demand class choosing the candidate models; the backtest
   picks one per series and gives the error variance.
3. **Offer**: among an item's supplier offers (pack size, price, multiple, lead time) the one with
   the lowest annual cost at this series' demand (``policies.pack_costs``: purchase, ordering,
   holding and expiry of partly used packs).
4. **Policy**, periodic review every ``review_days`` R with lead time L: demand over the
   protection interval L + R has the forecasts' summed mean and variance, prorated from whole
   periods to days; safety stock is its quantile at the ABC class's service level less its mean;
   ``minimum`` (the reorder point) = mean + safety stock; ``maximum`` = minimum + the economic order
   quantity (Harris), at least one order multiple.
5. **Order**: the inventory position is the available stock (usable lots in stocking locations,
   less reservations) plus open purchase orders and transfers in transit. At or below the minimum,
   order up to the maximum, rounded up to whole packs in the supplier's order multiples; then cut
   to what will be used before it expires (``policies.shelf_life_cap``, in whole packs) when the
   item's usable shelf life is known. An offer's minimum order value is checked per supplier, not
   forced: ``below_minimum`` marks the lines of a supplier whose total falls short.

Every suggestion carries the figures that made it, so a buyer can see why.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd

from rxledger.analytics import policies
from rxledger.analytics.classification import ClassificationSettings, classify
from rxledger.analytics.forecast_quantiles import FloatArray
from rxledger.analytics.forecasting import ForecastResult, ForecastSettings, forecast_demand
from rxledger.analytics.periods import STEP_DAYS, Freq
from rxledger.domain.errors import ValidationFailed

OFFER_COLUMNS = (
    "unique_id",
    "offer_id",
    "supplier_id",
    "pack_units",
    "pack_price",
    "order_multiple",
    "lead_time_days",
    "minimum_order_value",
)
POSITION_COLUMNS = ("unique_id", "available", "on_order", "in_transit", "reserved")
ITEM_COLUMNS = ("unique_id", "unit_cost", "usable_days")


@dataclass(frozen=True)
class ReplenishmentSettings:
    freq: Freq = "W"
    review_days: int = 7
    service_levels: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType(dict(policies.ABC_SERVICE_LEVELS))
    )
    order_cost: float = 5.0  # per order line
    holding_rate: float = 0.25  # of the unit cost, per year
    classification: ClassificationSettings = field(default_factory=ClassificationSettings)
    forecast: ForecastSettings = field(default_factory=ForecastSettings)

    def __post_init__(self) -> None:
        if self.review_days < 1:
            raise ValidationFailed("the review period is at least one day")
        if self.order_cost < 0 or not self.holding_rate > 0:
            raise ValidationFailed("order cost must be at least 0 and the holding rate positive")


@dataclass(frozen=True)
class ReplenishmentPlan:
    """``policy``: one row per series (classes, forecast, offer, policy, position, order);
    ``suggestions``: the rows with something to order; ``forecast``: the forecasting result."""

    policy: pd.DataFrame
    suggestions: pd.DataFrame
    forecast: ForecastResult


def plan_replenishment(
    history: pd.DataFrame,
    items: pd.DataFrame,
    position: pd.DataFrame,
    offers: pd.DataFrame,
    settings: ReplenishmentSettings | None = None,
) -> ReplenishmentPlan:
    """Plan every series of ``history`` (``unique_id, ds, y, out_of_stock``).

    ``items``: ``unique_id, unit_cost, usable_days`` (NaN: no shelf-life limit) and optionally
    ``site``, which groups the minimum-order-value check; ``position``:
    ``unique_id, available, on_order, in_transit, reserved``; ``offers``: ``unique_id, offer_id,
    supplier_id, pack_units, pack_price, order_multiple, lead_time_days, minimum_order_value``.
    A series without an offer is planned but suggests nothing (``offer_id`` is missing).
    """
    cfg = settings or ReplenishmentSettings()
    _require(items, ITEM_COLUMNS, "items")
    _require(position, POSITION_COLUMNS, "position")
    _require(offers, OFFER_COLUMNS, "offers")
    if history.empty:
        return _nothing_to_plan()
    costs = items.set_index("unique_id")["unit_cost"]
    classes = classify(history, costs, freq=cfg.freq, settings=cfg.classification)
    frame = classes[["unique_id", "abc", "xyz", "demand_class", "consumption_value"]].copy()
    frame = frame.merge(items, on="unique_id", how="left")
    frame = frame.merge(position, on="unique_id", how="left")
    for column in POSITION_COLUMNS[1:]:
        frame[column] = frame[column].fillna(0).astype(np.int64)
    frame["unit_cost"] = frame["unit_cost"].fillna(0.0)
    step = STEP_DAYS[cfg.freq]
    longest = int(offers["lead_time_days"].max()) if len(offers) else 0
    horizon = max(1, math.ceil((longest + cfg.review_days) / step))
    result = forecast_demand(
        history,
        freq=cfg.freq,
        horizon=horizon,
        settings=cfg.forecast,
        demand_class=dict(zip(classes["unique_id"], classes["demand_class"], strict=True)),
    )
    frame = frame.merge(
        result.summary[["unique_id", "status", "model", "mase", "discrete"]], on="unique_id"
    )
    frame["daily_forecast"] = _daily_rate(result, frame["unique_id"], step)
    frame = _choose_offer(frame, offers, cfg)
    frame = _protection(frame, result, cfg, step)
    frame = _order(frame, cfg)
    ordering = frame["order_units"] > 0
    frame["below_minimum"] = False
    frame.loc[ordering, "below_minimum"] = _below_minimum(frame[ordering])
    suggestions = frame[ordering].reset_index(drop=True)
    return ReplenishmentPlan(policy=frame, suggestions=suggestions, forecast=result)


POLICY_COLUMNS = [
    "unique_id",
    "abc",
    "xyz",
    "demand_class",
    "consumption_value",
    "unit_cost",
    "usable_days",
    "available",
    "on_order",
    "in_transit",
    "reserved",
    "status",
    "model",
    "mase",
    "discrete",
    "daily_forecast",
    "offer_id",
    "supplier_id",
    "pack_units",
    "pack_price",
    "order_multiple",
    "lead_time_days",
    "minimum_order_value",
    "annual_cost",
    "eoq_units",
    "protection_days",
    "protection_mean",
    "protection_variance",
    "service_level",
    "safety_stock",
    "minimum",
    "maximum",
    "position",
    "order_units",
    "capped_by_shelf_life",
    "order_packs",
    "order_value",
    "below_minimum",
]


def _nothing_to_plan() -> ReplenishmentPlan:
    """No history, no series: empty frames with every column a plan has."""
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in POLICY_COLUMNS})
    forecast = ForecastResult(
        forecasts=pd.DataFrame(columns=["unique_id", "ds", "step", "forecast", "model"]),
        summary=pd.DataFrame(columns=["unique_id", "status", "demand_class", "model"]),
        backtest=pd.DataFrame(columns=["unique_id", "model", "mase", "scaled_pinball"]),
    )
    return ReplenishmentPlan(policy=empty, suggestions=empty.copy(), forecast=forecast)


def _require(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValidationFailed(f"{name} lacks the columns {', '.join(missing)}")


def _daily_rate(result: ForecastResult, ids: pd.Series, step: int) -> FloatArray:
    """The forecast's mean per day over its horizon."""
    per_period = result.forecasts.groupby("unique_id", sort=False)["forecast"].mean()
    rate: FloatArray = per_period.reindex(ids).fillna(0.0).to_numpy(dtype=np.float64) / step
    return rate


def _choose_offer(
    frame: pd.DataFrame, offers: pd.DataFrame, cfg: ReplenishmentSettings
) -> pd.DataFrame:
    """Each series' offer with the lowest annual cost at its forecast demand."""
    pairs = offers.merge(
        frame[["unique_id", "daily_forecast", "usable_days"]], on="unique_id", how="inner"
    )
    cost = policies.pack_costs(
        units_per_pack=pairs["pack_units"].to_numpy(dtype=np.float64),
        price_per_pack=pairs["pack_price"].to_numpy(dtype=np.float64),
        shelf_life_days=pairs["usable_days"].to_numpy(dtype=np.float64),
        daily_demand=np.maximum(pairs["daily_forecast"].to_numpy(dtype=np.float64), 1e-9),
        order_cost=cfg.order_cost,
        holding_rate=cfg.holding_rate,
    )
    pairs["annual_cost"] = cost["total_cost"]
    pairs["eoq_units"] = cost["eoq_packs"] * pairs["pack_units"].to_numpy()
    pairs = pairs.sort_values(["unique_id", "annual_cost", "lead_time_days", "offer_id"])
    best = pairs.drop_duplicates("unique_id")
    keep = [c for c in OFFER_COLUMNS if c != "unique_id"] + ["annual_cost", "eoq_units"]
    return frame.merge(best[["unique_id", *keep]], on="unique_id", how="left")


def _protection(
    frame: pd.DataFrame, result: ForecastResult, cfg: ReplenishmentSettings, step: int
) -> pd.DataFrame:
    """Mean and variance of demand over lead time + review, and the safety stock for the ABC
    class's service level."""
    days = frame["lead_time_days"].fillna(0).to_numpy(dtype=np.float64) + cfg.review_days
    periods = np.ceil(days / step).astype(np.int64)
    by_id = result.forecasts.set_index("unique_id")
    steps = by_id["step"].to_numpy()
    within = steps <= pd.Series(periods, index=frame["unique_id"]).reindex(by_id.index).to_numpy()
    sums = by_id[within].groupby(level=0, sort=False)[["forecast", "variance"]].sum()
    sums = sums.reindex(frame["unique_id"]).fillna(0.0)
    share = days / (periods * step)  # whole periods prorated to the days of the interval
    mean = sums["forecast"].to_numpy(dtype=np.float64) * share
    variance = sums["variance"].to_numpy(dtype=np.float64) * share
    level = policies.service_levels_by_abc(frame["abc"].to_numpy(), cfg.service_levels)
    frame["protection_days"] = days.astype(np.int64)
    frame["protection_mean"] = mean
    frame["protection_variance"] = variance
    frame["service_level"] = level
    frame["safety_stock"] = policies.safety_stock_cycle(
        mean, variance, frame["discrete"].to_numpy(dtype=np.bool_), level
    )
    return frame


def _order(frame: pd.DataFrame, cfg: ReplenishmentSettings) -> pd.DataFrame:
    offered = frame["offer_id"].notna().to_numpy()
    pack = frame["pack_units"].fillna(1).to_numpy(dtype=np.int64)
    multiple = pack * frame["order_multiple"].fillna(1).to_numpy(dtype=np.int64)
    eoq = frame["eoq_units"].fillna(0).to_numpy(dtype=np.float64)
    minimum = policies.reorder_point(frame["protection_mean"], frame["safety_stock"])
    maximum = minimum + np.maximum(np.ceil(eoq), multiple).astype(np.int64)
    position = (
        frame["available"] - frame["reserved"] + frame["on_order"] + frame["in_transit"]
    ).to_numpy(dtype=np.int64)
    trigger = offered & (position <= minimum) & (frame["status"].to_numpy() != "discontinued")
    need = np.where(trigger, maximum - position, 0)
    units = policies.round_to_multiple(need, multiple)
    usable = frame["usable_days"].to_numpy(dtype=np.float64)
    limited = np.isfinite(usable)
    capped = units.copy()
    if limited.any():
        capped[limited] = policies.shelf_life_cap(
            units[limited],
            np.maximum(position[limited], 0),
            frame["daily_forecast"].to_numpy(dtype=np.float64)[limited],
            usable[limited],
            multiple[limited],
        )
    frame["minimum"] = minimum
    frame["maximum"] = maximum
    frame["position"] = position
    frame["order_units"] = capped
    frame["capped_by_shelf_life"] = capped < units
    frame["order_packs"] = capped // pack
    price = frame["pack_price"].fillna(0.0).to_numpy(dtype=np.float64)
    frame["order_value"] = frame["order_packs"].to_numpy() * price
    return frame


def _below_minimum(suggestions: pd.DataFrame) -> pd.Series:
    """Per supplier (and site, when ``items`` named one): the lines' total value below the
    supplier's minimum order value."""
    keys = ["site", "supplier_id"] if "site" in suggestions.columns else ["supplier_id"]
    totals = suggestions.groupby(keys)["order_value"].transform("sum")
    return totals < suggestions["minimum_order_value"].fillna(0.0)
