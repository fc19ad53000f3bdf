"""Transfers between sites: move surplus stock to sites that would otherwise buy it in a hurry.

The model, for one planning horizon:

- ``surplus`` is stock a site will not use before it expires (or excess it can spare): every unit
  of it left where it is is written off. ``need`` is, per item and site, the ``shortfall``: units
  the site would otherwise order in an emergency (or go without) over the horizon, and its
  forecast ``daily_rate``.
- A unit of a lot moved to a site that needs the item replaces one emergency unit there, bought at
  the lot's ``unit_cost × (1 + emergency_premium)``. Its own cost is spent either way: written off
  at the source if it stays, dispensed at the receiver if it moves; so the saving of a moved unit is
  the emergency purchase it avoids, and it moves only when that exceeds the route's cost per unit.
  (Counting the write-off avoided as a saving as well would count the unit's cost twice, once as
  the write-off avoided and once as the emergency purchase it replaces.)
- The receiver dispenses transferred stock first-expiry-first-out ahead of its own (which it then
  keeps for later in the horizon), at its forecast rate: of the lots it receives that expire by a
  day ``e`` it can use at most ``floor(daily_rate × (days to e - transit_days))`` units, and in
  all at most its shortfall. A lot cannot go back to its own site, nor along a route that
  ``transfer_cost`` does not list.

It is a minimum-cost flow, solved in one model for all items: each lot sends at most its units
to the receivers; at each receiver the lots it gets join a chain of nodes in expiry order, whose
arc out of the node for expiry ``e`` carries everything that expires by ``e`` and is capped by
what the site can use by then; the last arc is also capped by the shortfall. A flow problem's
constraint matrix is totally unimodular and the caps are whole units, so the linear relaxation's
optimum is already integral: HiGHS's ``milp`` is told the units are integers and finds nothing to
branch on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from rxledger.analytics.forecast_quantiles import FloatArray
from rxledger.analytics.stock_health import (
    IntArray,
    days_until,
    require_columns,
    require_non_negative,
    require_whole,
)
from rxledger.domain.errors import RxLedgerError, ValidationFailed

SURPLUS_COLUMNS = ("item", "lot", "site", "units", "expires_on", "unit_cost")
NEED_COLUMNS = ("item", "site", "daily_rate", "shortfall")
COST_COLUMNS = ("from_site", "to_site", "cost_per_unit")
RESULT_COLUMNS = (
    "item",
    "lot",
    "from_site",
    "to_site",
    "units",
    "transfer_cost",
    "expected_saving",
)
_EPS = 1e-9


@dataclass(frozen=True)
class TransferSettings:
    transit_days: int = 1  # days a lot spends between sites, lost to the receiver's use
    time_limit: float = 60.0  # seconds HiGHS may take


def recommend_transfers(
    surplus: pd.DataFrame,
    need: pd.DataFrame,
    *,
    as_of: date,
    transfer_cost: pd.DataFrame | float,
    emergency_premium: float = 0.25,
    settings: TransferSettings | None = None,
) -> pd.DataFrame:
    """The transfers that save most by the model in this module's docstring: one row per lot and
    receiving site (``item, lot, from_site, to_site, units, transfer_cost, expected_saving``, the
    saving net of the transfer cost), by item, source, lot and receiver; no rows when nothing pays.

    ``surplus``: ``item, lot, site, units, expires_on, unit_cost``; ``need``: ``item, site,
    daily_rate, shortfall``; ``transfer_cost``: ``from_site, to_site, cost_per_unit`` per route, or
    one cost per unit for every route."""
    cfg = settings or TransferSettings()
    _validate(surplus, need, emergency_premium, cfg)
    pairs = _pairs(surplus, need, as_of, transfer_cost, emergency_premium, cfg)
    if pairs.empty:
        return _empty()
    units = _solve(pairs, surplus["units"].to_numpy(dtype=np.float64), cfg)
    chosen = pairs.assign(units=units)[units > 0]
    out = pd.DataFrame(
        {
            "item": chosen["item"],
            "lot": chosen["lot"],
            "from_site": chosen["site"],
            "to_site": chosen["to_site"],
            "units": chosen["units"],
            "transfer_cost": chosen["units"] * chosen["cost_per_unit"],
            "expected_saving": chosen["units"] * chosen["gain"],
        }
    )
    order = ["item", "from_site", "lot", "to_site"]
    return out.sort_values(order).reset_index(drop=True) if len(out) else _empty()


def _empty() -> pd.DataFrame:
    frame = pd.DataFrame({column: pd.Series(dtype=object) for column in RESULT_COLUMNS})
    return frame.astype({"units": np.int64, "transfer_cost": float, "expected_saving": float})


def _validate(
    surplus: pd.DataFrame, need: pd.DataFrame, premium: float, cfg: TransferSettings
) -> None:
    require_columns(surplus, SURPLUS_COLUMNS, "surplus")
    require_columns(need, NEED_COLUMNS, "need")
    require_non_negative(surplus, ("units", "unit_cost"), "surplus")
    require_non_negative(need, ("daily_rate", "shortfall"), "need")
    require_whole(surplus, ("units",), "surplus")
    require_whole(need, ("shortfall",), "need")
    if surplus.duplicated(["item", "lot", "site"]).any():
        raise ValidationFailed("surplus has more than one row for an item, lot and site")
    if need.duplicated(["item", "site"]).any():
        raise ValidationFailed("need has more than one row for an item and site")
    if surplus["expires_on"].isna().any():
        raise ValidationFailed("every surplus lot needs an expires_on date")
    if not premium >= 0:
        raise ValidationFailed("emergency_premium cannot be negative", premium=premium)
    if cfg.transit_days < 0:
        raise ValidationFailed("transit_days cannot be negative", transit_days=cfg.transit_days)


def _routes(transfer_cost: pd.DataFrame | float) -> pd.DataFrame | float:
    if not isinstance(transfer_cost, pd.DataFrame):
        cost = float(transfer_cost)
        if not cost >= 0:
            raise ValidationFailed("a transfer cost cannot be negative", cost=cost)
        return cost
    require_columns(transfer_cost, COST_COLUMNS, "transfer_cost")
    require_non_negative(transfer_cost, ("cost_per_unit",), "transfer_cost")
    if transfer_cost.duplicated(["from_site", "to_site"]).any():
        raise ValidationFailed("transfer_cost has more than one row for a route")
    return transfer_cost[list(COST_COLUMNS)].rename(columns={"from_site": "site"})


def _pairs(
    surplus: pd.DataFrame,
    need: pd.DataFrame,
    as_of: date,
    transfer_cost: pd.DataFrame | float,
    premium: float,
    cfg: TransferSettings,
) -> pd.DataFrame:
    """One row per lot and site that could use some of it at a profit, with ``lot_row`` (the lot's
    position in ``surplus``), ``cost_per_unit``, ``gain`` (saving per unit net of cost) and
    ``usable`` (what the receiver can use of the lots expiring by this one's expiry)."""
    lots = surplus[list(SURPLUS_COLUMNS)].assign(
        lot_row=np.arange(len(surplus)),
        days=days_until(surplus["expires_on"], as_of) - cfg.transit_days,
    )
    takers = need[list(NEED_COLUMNS)].rename(columns={"site": "to_site"})
    takers = takers[(takers["shortfall"] > 0) & (takers["daily_rate"] > 0)]
    pairs = lots[(lots["units"] > 0) & (lots["days"] > 0)].merge(takers, on="item")
    pairs = pairs[pairs["site"] != pairs["to_site"]]
    routes = _routes(transfer_cost)
    if isinstance(routes, float):
        pairs = pairs.assign(cost_per_unit=routes)
    else:
        pairs = pairs.merge(routes, on=["site", "to_site"])
    gain = pairs["unit_cost"] * (1.0 + premium) - pairs["cost_per_unit"]
    usable = np.floor(pairs["daily_rate"] * pairs["days"] + _EPS)
    pairs = pairs.assign(gain=gain, usable=np.minimum(usable, pairs["shortfall"]))
    return pairs[(pairs["gain"] > 0) & (pairs["usable"] > 0)].reset_index(drop=True)


def _solve(pairs: pd.DataFrame, lot_units: FloatArray, cfg: TransferSettings) -> IntArray:
    """The flow of the module's docstring: variables are the ``x`` of each pair, then one chain arc
    per receiver (item, site) and distinct expiry; rows are the lots' supplies, then one
    conservation row per chain node."""
    n = len(pairs)
    nodes = pairs.groupby(["item", "to_site", "days"], sort=True).ngroup().to_numpy()
    chains = pairs.groupby(["item", "to_site"], sort=True).ngroup().to_numpy()
    node_cap = pd.Series(pairs["usable"].to_numpy()).groupby(nodes).max().to_numpy()
    node_chain = pd.Series(chains).groupby(nodes).first().to_numpy()
    k = len(node_cap)
    first = np.r_[True, node_chain[1:] != node_chain[:-1]]  # nodes are sorted by chain, then days
    lot_codes, lot_index = pd.factorize(pairs["lot_row"])
    pair_ids = np.arange(n)
    node_ids = np.arange(k)
    # supply rows: sum of a lot's x <= its units
    supply = sparse.csr_array((np.ones(n), (lot_codes, pair_ids)), shape=(len(lot_index), n + k))
    # node rows: arc out - arc in from the previous node - x of lots arriving here = 0
    prev = node_ids[~first]
    rows = np.concatenate((nodes, node_ids, prev))
    cols = np.concatenate((pair_ids, n + node_ids, n + prev - 1))
    vals = np.concatenate((-np.ones(n), np.ones(k), -np.ones(len(prev))))
    flow = sparse.csr_array((vals, (rows, cols)), shape=(k, n + k))
    supply_cap = lot_units[lot_index.to_numpy(dtype=np.int64)]
    upper = np.concatenate(
        (np.minimum(pairs["usable"].to_numpy(), supply_cap[lot_codes]), node_cap)
    )
    cost = np.concatenate((-pairs["gain"].to_numpy(dtype=np.float64), np.zeros(k)))
    result = milp(
        cost,
        integrality=np.ones(n + k),
        bounds=Bounds(np.zeros(n + k), upper),
        constraints=[
            LinearConstraint(supply, -np.inf, supply_cap),
            LinearConstraint(flow, 0.0, 0.0),
        ],
        options={"time_limit": cfg.time_limit},
    )
    if result.x is None:
        raise RxLedgerError("the transfer model could not be solved", status=result.message)
    units: IntArray = np.rint(result.x[:n]).astype(np.int64)
    return units
