"""Suggested orders from the ledger: the demand history, stock position, open orders, transfers in
transit and supplier offers of the sites the actor may view, planned by
``rxledger.analytics.replenishment``; accepting a supplier's suggestions drafts a requisition.

- Weekly periods end yesterday, the last whole day: week 0 is the seven days through yesterday,
  so no week is read before it is over.
  A series' first week is dropped when the series began inside it (it would read as a short
  week). A week is out of stock when two or more of its days were.
- **Available** stock is what may be dispensed now: usable lots (not held, quarantined, recalled
  or expired) in stocking locations, less what is reserved.
- An item's **usable days** is the median shelf life its lots had left when they arrived over the
  last year; without such lots its orders are not capped by expiry.
- Supplier offers apply to every site; each site orders on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pandas as pd

from rxledger.adapters import replenishment_repository as rr
from rxledger.analytics.classification import ClassificationSettings, classify
from rxledger.analytics.forecasting import ForecastResult, forecast_demand
from rxledger.analytics.replenishment import (
    ReplenishmentPlan,
    ReplenishmentSettings,
    plan_replenishment,
)
from rxledger.domain import errors
from rxledger.domain.model import AVAILABLE_TYPES, LotStatus
from rxledger.domain.permissions import Permission
from rxledger.services import demand
from rxledger.services.queries import visible_site_ids
from rxledger.services.requisition_views import RequisitionView
from rxledger.services.requisitions import NewRequisition, RequisitionLineSpec, create_requisition
from rxledger.services.runtime import Actor, Runtime

OUT_OF_STOCK_DAYS = 2  # of a week's seven
TRANSIT_WINDOW = timedelta(days=365)
WHOLE_IN_SUGGESTIONS = (
    "offer_id",
    "supplier_id",
    "pack_units",
    "order_multiple",
    "lead_time_days",
    "order_units",
    "order_packs",
    "minimum",
    "maximum",
    "position",
)
SHELF_LIFE_WINDOW = timedelta(days=365)


@dataclass(frozen=True)
class SitePlan:
    """The analytics' plan with names: ``policy`` and ``suggestions`` gain ``item_id, site_id,
    sku, name, strength, site_code, supplier_code``."""

    plan: ReplenishmentPlan
    policy: pd.DataFrame
    suggestions: pd.DataFrame
    as_of: date
    daily: pd.DataFrame  # the demand history it was planned from (``demand.DemandHistory``)


def plan(
    rt: Runtime,
    actor: Actor,
    *,
    site_id: int | None = None,
    settings: ReplenishmentSettings | None = None,
    weeks: int = 104,
) -> SitePlan:
    """Plan the replenishment of every item at ``site_id`` (or every site the actor may view)."""
    history = demand.demand_history(rt, actor, site_id=site_id, days=weeks * 7)
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        org = actor.organization_id
        sites = {site_id} if site_id is not None else visible_site_ids(conn, actor)
        stock = rr.lot_stock(conn, org, sites)
        items = rr.items_frame(conn, org)
        ordered = rr.on_order(conn, org, sites)
        transit = rr.in_transit(conn, org, _midnight(history.through) - TRANSIT_WINDOW)
        offers = rr.supplier_offers(conn, org)
        shelf = rr.shelf_life_at_receipt(conn, org, _midnight(history.through) - SHELF_LIFE_WINDOW)
        codes = rr.site_codes(conn, org)
    weekly = weekly_series(history.daily, history.through - timedelta(days=1))
    keys = weekly[["item_id", "site_id"]].drop_duplicates()
    frames = _frames(keys, items, stock, ordered, transit, offers, shelf, history.through)
    result = plan_replenishment(weekly_history(weekly), *frames, settings=settings)
    named = _named(result.policy, items, codes, offers)
    suggestions = named[named["order_units"] > 0].reset_index(drop=True)
    for column in WHOLE_IN_SUGGESTIONS:  # offers are known on every suggested line
        suggestions[column] = suggestions[column].astype(np.int64)
    return SitePlan(
        plan=result,
        policy=named,
        suggestions=suggestions,
        as_of=history.through,
        daily=history.daily,
    )


def classify_items(
    rt: Runtime,
    actor: Actor,
    *,
    site_id: int | None = None,
    weeks: int = 104,
    settings: ClassificationSettings | None = None,
) -> pd.DataFrame:
    """ABC, XYZ and the demand class of every item at ``site_id`` (or every visible site), from
    weekly demand valued at standard cost; with ``item_id, site_id, sku, name, strength,
    site_code``."""
    history = demand.demand_history(rt, actor, site_id=site_id, days=weeks * 7)
    with rt.uow(read_only=True) as uow:
        items = rr.items_frame(uow.connection, actor.organization_id)
        codes = rr.site_codes(uow.connection, actor.organization_id)
    weekly = weekly_series(history.daily, history.through - timedelta(days=1))
    series = weekly_history(weekly)
    ids = weekly[["item_id", "site_id"]].drop_duplicates()
    cost = ids.merge(items[["item_id", "standard_cost"]], on="item_id", how="left")
    unit_cost = pd.Series(
        cost["standard_cost"].to_numpy(),
        index=demand.series_id(cost["item_id"], cost["site_id"]).to_numpy(),
    )
    classes = classify(series, unit_cost, freq="W", settings=settings)
    named = _named(classes, items, codes, None)
    return named.sort_values(["site_code", "cumulative_share"]).reset_index(drop=True)


@dataclass(frozen=True)
class LedgerForecast:
    """Weekly ``history`` (``unique_id, item_id, site_id, week, demand, out_of_stock``) and the
    forecasting ``result`` of the same series (``None`` without a whole week of history)."""

    history: pd.DataFrame
    result: ForecastResult | None
    as_of: date


def forecast_items(
    rt: Runtime,
    actor: Actor,
    *,
    site_id: int | None = None,
    item_id: int | None = None,
    horizon: int = 13,
    weeks: int = 104,
) -> LedgerForecast:
    """Weekly forecasts from the ledger's demand history (one item, or all) with quantiles, the
    chosen model and its backtest error."""
    history = demand.demand_history(
        rt,
        actor,
        site_id=site_id,
        days=weeks * 7,
        item_ids=None if item_id is None else [item_id],
    )
    weekly = weekly_series(history.daily, history.through - timedelta(days=1))
    result = (
        None if weekly.empty else forecast_demand(weekly_history(weekly), freq="W", horizon=horizon)
    )
    weekly.insert(0, "unique_id", demand.series_id(weekly["item_id"], weekly["site_id"]))
    return LedgerForecast(history=weekly, result=result, as_of=history.through)


def unit_costs(rt: Runtime, actor: Actor) -> dict[str, float]:
    """Standard cost per series id (``item_id@site_id``) of every item at every visible site."""
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        items = rr.items_frame(conn, actor.organization_id)
        sites = visible_site_ids(conn, actor)
        codes = rr.site_codes(conn, actor.organization_id)
    site_ids = [s for s in codes["site_id"] if sites is None or s in sites]
    return {
        f"{item}@{site}": float(cost)
        for item, cost in zip(items["item_id"], items["standard_cost"], strict=True)
        for site in site_ids
    }


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def weekly_series(daily: pd.DataFrame, through: date) -> pd.DataFrame:
    """Daily rows up to ``through`` summed into weeks ending that day: ``item_id, site_id, week
    (its first day), demand, out_of_stock``."""
    end = np.datetime64(through, "D")
    daily = daily[daily["day"].to_numpy().astype("datetime64[D]") <= end]
    days = daily["day"].to_numpy().astype("datetime64[D]")
    back = (end - days).astype(np.int64) // 7
    frame = pd.DataFrame(
        {
            "item_id": daily["item_id"].to_numpy(),
            "site_id": daily["site_id"].to_numpy(),
            "week": (end - back * 7 - 6).astype("datetime64[ns]"),
            "demand": daily["demand"].to_numpy(),
            "out": daily["out_of_stock"].to_numpy(dtype=np.int64),
            "days": 1,
        }
    )
    weeks = frame.groupby(["item_id", "site_id", "week"], as_index=False, sort=True)[
        ["demand", "out", "days"]
    ].sum()
    first = weeks.groupby(["item_id", "site_id"])["week"].transform("min")
    count = weeks.groupby(["item_id", "site_id"])["week"].transform("size")
    partial = (weeks["week"] == first) & (weeks["days"] < 7) & (count > 1)
    weeks = weeks[~partial].reset_index(drop=True)
    weeks["out_of_stock"] = weeks["out"] >= OUT_OF_STOCK_DAYS
    return weeks[["item_id", "site_id", "week", "demand", "out_of_stock"]]


def weekly_history(weekly: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "unique_id": demand.series_id(weekly["item_id"], weekly["site_id"]),
            "ds": weekly["week"],
            "y": weekly["demand"].astype(np.float64),
            "out_of_stock": weekly["out_of_stock"],
        }
    )


def _frames(
    keys: pd.DataFrame,
    items: pd.DataFrame,
    stock: pd.DataFrame,
    ordered: pd.DataFrame,
    transit: pd.DataFrame,
    offers: pd.DataFrame,
    shelf: pd.DataFrame,
    today: date,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    keys = keys.assign(unique_id=demand.series_id(keys["item_id"], keys["site_id"]))
    item_frame = keys.merge(items[["item_id", "standard_cost"]], on="item_id", how="left")
    item_frame = item_frame.merge(shelf, on="item_id", how="left")
    item_frame = item_frame.rename(columns={"standard_cost": "unit_cost", "site_id": "site"})
    usable = _available(stock, today)
    position = keys.merge(usable, on=["item_id", "site_id"], how="left")
    position = position.merge(
        ordered.rename(columns={"units": "on_order"}), on=["item_id", "site_id"], how="left"
    )
    position = position.merge(
        transit.rename(columns={"units": "in_transit"}), on=["item_id", "site_id"], how="left"
    )
    for column in ("available", "reserved", "on_order", "in_transit"):
        position[column] = position[column].fillna(0).astype(np.int64)
    per_site = keys.merge(offers.rename(columns={"supplier_item_id": "offer_id"}), on="item_id")
    return (
        item_frame[["unique_id", "unit_cost", "usable_days", "site"]],
        position[["unique_id", "available", "on_order", "in_transit", "reserved"]],
        per_site,
    )


def _available(stock: pd.DataFrame, today: date) -> pd.DataFrame:
    types = {t.value for t in AVAILABLE_TYPES}
    expiry = pd.to_datetime(stock["expiry"])
    usable = (
        stock["type"].isin(types)
        & (stock["status"] == LotStatus.AVAILABLE.value)
        & (expiry.isna() | (expiry >= pd.Timestamp(today)))
    )
    return (
        stock[usable]
        .groupby(["item_id", "site_id"], as_index=False)[["on_hand", "reserved"]]
        .sum()
        .rename(columns={"on_hand": "available"})
    )


def _named(
    policy: pd.DataFrame, items: pd.DataFrame, codes: pd.DataFrame, offers: pd.DataFrame | None
) -> pd.DataFrame:
    parts = policy["unique_id"].astype(str).str.split("@", n=1)
    frame = policy.assign(
        item_id=pd.to_numeric(parts.str[0]).astype(np.int64),
        site_id=pd.to_numeric(parts.str[1]).astype(np.int64),
    )
    frame = frame.merge(items[["item_id", "sku", "name", "strength"]], on="item_id", how="left")
    frame = frame.merge(codes, on="site_id", how="left")
    if offers is None:
        return frame
    suppliers = offers[["supplier_id", "supplier_code"]].drop_duplicates("supplier_id")
    frame = frame.merge(suppliers, on="supplier_id", how="left")
    return frame.sort_values(["site_code", "supplier_code", "name"], na_position="last")


# --- accepting suggestions ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AcceptedLine:
    supplier_item_id: int
    packs: int


def accept(
    rt: Runtime,
    actor: Actor,
    *,
    site_id: int,
    supplier_id: int,
    lines: Sequence[AcceptedLine],
    note: str | None = None,
) -> RequisitionView:
    """Draft a requisition for one supplier from accepted suggestion lines (the buyer may have
    changed the packs); it then follows the purchasing rules: submit, approval, order."""
    actor.require(Permission.ORDER, site_id)
    if not lines:
        raise errors.ValidationFailed("accept at least one suggested line")
    spec = NewRequisition(
        site_id=site_id,
        supplier_id=supplier_id,
        lines=[RequisitionLineSpec(line.supplier_item_id, line.packs) for line in lines],
        note=note or "from suggested orders",
    )
    return create_requisition(rt, actor, spec)
