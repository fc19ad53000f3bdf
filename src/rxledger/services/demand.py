"""Demand history from the ledger: units consumed per item, site and day, with stock-out days.

- **Demand** is what went to the site's patient location, net of what came back from it
  (dispense reversals, returns, reversals of dispenses). Transfers to other sites, adjustments,
  destruction and waste are not demand. A day whose returns exceed its dispenses counts zero.
- **On hand** is the stock in the site's physical locations other than quarantine and returns at
  the end of each day. It is recomputed backwards from the balance projection, so the window needs
  no opening balance: end of day d = on hand now − everything that changed it after day d.
- **Out of stock**: a day that ended with nothing on hand, or began with nothing after earlier
  days of the series (an item's first day begins empty by nature). Its recorded demand is only what
  the shelf could give, so the forecasts read it as a lower bound, not as the demand.
- A series starts on the first day of the window on which the item had stock or demand at the
  site, so an item introduced last month is not read as eleven months of zero demand.

Lot status (held, recalled, expired) is not part of the history: a status change is not a
movement. Days are UTC calendar days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pandas as pd

from rxledger.adapters import replenishment_repository as rr
from rxledger.domain.model import LocationType
from rxledger.domain.permissions import Permission
from rxledger.services.queries import visible_site_ids
from rxledger.services.runtime import Actor, Runtime

DEFAULT_DAYS = 728  # 104 weeks
NOT_ON_THE_SHELF = frozenset({LocationType.QUARANTINE.value, LocationType.RETURNS.value})


@dataclass(frozen=True)
class DemandHistory:
    """``daily``: one row per item, site and day (``item_id, site_id, day, demand, on_hand,
    out_of_stock``), sorted; ``through``: the last day, today."""

    daily: pd.DataFrame
    since: date
    through: date

    def series(self) -> pd.DataFrame:
        """The forecasting layout: ``unique_id`` (``item_id@site_id``), ``ds``, ``y``,
        ``out_of_stock``."""
        daily = self.daily
        return pd.DataFrame(
            {
                "unique_id": series_id(daily["item_id"], daily["site_id"]),
                "ds": daily["day"],
                "y": daily["demand"].astype(np.float64),
                "out_of_stock": daily["out_of_stock"],
            }
        )


def series_id(item_id: pd.Series, site_id: pd.Series) -> pd.Series:
    return item_id.astype(str) + "@" + site_id.astype(str)


def demand_history(
    rt: Runtime,
    actor: Actor,
    *,
    site_id: int | None = None,
    days: int = DEFAULT_DAYS,
    item_ids: list[int] | None = None,
) -> DemandHistory:
    """The last ``days`` days of demand (today included) of every item at the sites the actor may
    view (or at ``site_id``)."""
    if site_id is not None:
        actor.require(Permission.VIEW, site_id)
    today = rt.clock.now().astimezone(UTC).date()
    since = today - timedelta(days=days - 1)
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        visible = visible_site_ids(conn, actor)
        sites = {site_id} if site_id is not None else visible
        locations = rr.locations_frame(conn, actor.organization_id)
        flows = rr.daily_flows(
            conn, actor.organization_id, datetime.combine(since, time(), UTC), item_ids
        )
        stock = rr.lot_stock(conn, actor.organization_id, sites)
    daily = build_daily(flows, locations, stock, since=since, through=today, sites=sites)
    if item_ids is not None:
        daily = daily[daily["item_id"].isin(item_ids)].reset_index(drop=True)
    return DemandHistory(daily=daily, since=since, through=today)


def build_daily(
    flows: pd.DataFrame,
    locations: pd.DataFrame,
    stock: pd.DataFrame,
    *,
    since: date,
    through: date,
    sites: set[int] | None,
) -> pd.DataFrame:
    """The dense daily frame from the window's flows, the locations and the current stock."""
    loc = locations.set_index("location_id")
    shelf = ~loc["is_virtual"].astype(bool) & ~loc["type"].isin(NOT_ON_THE_SHELF)
    patient = loc["type"] == LocationType.PATIENT.value
    parts = []
    for end, sign in (("to_location_id", 1), ("from_location_id", -1)):
        where = flows[end]
        signed = flows["quantity"].to_numpy(dtype=np.int64) * sign
        parts.append(
            pd.DataFrame(
                {
                    "item_id": flows["item_id"].to_numpy(),
                    "site_id": loc["site_id"].reindex(where).to_numpy(),
                    "day": flows["day"].to_numpy(),
                    "demand": np.where(patient.reindex(where).to_numpy(), signed, 0),
                    "change": np.where(shelf.reindex(where).to_numpy(), signed, 0),
                }
            )
        )
    moved = pd.concat(parts, ignore_index=True)
    moved = moved[(moved["demand"] != 0) | (moved["change"] != 0)]
    per_day = moved.groupby(["item_id", "site_id", "day"], as_index=False)[
        ["demand", "change"]
    ].sum()
    on_shelf = stock[~stock["type"].isin(NOT_ON_THE_SHELF)]
    now = on_shelf.groupby(["item_id", "site_id"])["on_hand"].sum()
    if sites is not None:
        per_day = per_day[per_day["site_id"].isin(sites)]
        now = now[now.index.get_level_values("site_id").isin(sites)]
    return _dense(per_day, now, since, through)


def _dense(per_day: pd.DataFrame, now: pd.Series, since: date, through: date) -> pd.DataFrame:
    pairs = pd.MultiIndex.from_frame(per_day[["item_id", "site_id"]])
    keys = pairs.unique().union(now.index).sort_values()
    k = len(keys)
    n_days = (through - since).days + 1
    day0 = np.datetime64(since, "D")
    code = keys.get_indexer(pairs)
    offset = (per_day["day"].to_numpy().astype("datetime64[D]") - day0).astype(np.int64)
    position = code * n_days + offset
    demand = np.zeros(k * n_days, dtype=np.int64)
    change = np.zeros(k * n_days, dtype=np.int64)
    np.add.at(demand, position, per_day["demand"].to_numpy(dtype=np.int64))
    np.add.at(change, position, per_day["change"].to_numpy(dtype=np.int64))
    change_grid = change.reshape(k, n_days)
    current = now.reindex(keys, fill_value=0).to_numpy(dtype=np.int64)
    later = np.cumsum(change_grid[:, ::-1], axis=1)[:, ::-1] - change_grid  # after each day
    on_hand = current[:, None] - later
    opening = on_hand - change_grid
    demand_grid = np.maximum(demand.reshape(k, n_days), 0)
    active = np.maximum.accumulate((on_hand > 0) | (opening > 0) | (demand_grid > 0), axis=1)
    carried_before = np.zeros_like(active)
    carried_before[:, 1:] = active[:, :-1]
    out = (on_hand <= 0) | ((opening <= 0) & carried_before)
    rows = active.ravel()
    series = np.repeat(np.arange(k), n_days)[rows]
    return pd.DataFrame(
        {
            "item_id": keys.get_level_values(0).to_numpy()[series],
            "site_id": keys.get_level_values(1).to_numpy()[series],
            "day": (day0 + np.tile(np.arange(n_days), k)[rows]).astype("datetime64[ns]"),
            "demand": demand_grid.ravel()[rows],
            "on_hand": on_hand.ravel()[rows],
            "out_of_stock": out.ravel()[rows],
        }
    )
