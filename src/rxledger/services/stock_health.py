"""Dead, at-risk and excess stock, transfers that move it where it will be used, stock-out risk,
and inventory KPIs, from the ledger and the replenishment plan.

- **Dead**: stock on the shelf not dispensed for ``dead_days`` (default 120) days; an item never
  dispensed in the history window counts from its first day in that window.
- **At risk**: the part of each usable lot that the site's forecast will not use before it
  expires (``analytics.stock_health.at_risk``).
- **Transfers** (organization-wide, over the sites the actor may view): at-risk units and stock
  above ``excess_days`` of supply are offered to sites whose plan would order the item; the
  transportation problem (``analytics.transfers``, HiGHS) keeps the moves that save more than they
  cost, with one cost per unit moved (``transfer_cost``) on every route.
- **Stock-out risk**: the probability that demand over lead time + review exceeds what is
  available plus what is on order or in transit.
- **KPIs** (``analytics.kpis``) per site, ABC class or both, by month, quarter or year: dispensing
  valued at standard cost, end-of-day stock, stock-out days, and expired write-offs (adjustments
  with the ``EXPIRED`` reason).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Literal

import numpy as np
import pandas as pd

from rxledger.adapters import replenishment_repository as rr
from rxledger.analytics import kpis as kpi_rules
from rxledger.analytics import stock_health as rules
from rxledger.analytics.transfers import recommend_transfers
from rxledger.domain.model import AVAILABLE_TYPES, LotStatus
from rxledger.domain.permissions import Permission
from rxledger.services import demand, replenishment
from rxledger.services.queries import visible_site_ids
from rxledger.services.runtime import Actor, Runtime

DEAD_DAYS = 120
EXCESS_DAYS = 180
TRANSFER_COST = 0.05  # per unit moved, any route


@dataclass(frozen=True)
class StockHealth:
    """``dead``: ``item_id, site_id, on_hand, last_dispensed, first_received, idle_days`` (+ names);
    ``at_risk``: per lot ``item_id, site_id, lot_id, lot_number, on_hand, expires_on,
    days_to_expiry, expected_use, at_risk_units, at_risk_value``; ``transfers``: ``item_id,
    lot_id, from_site, to_site, units, transfer_cost, expected_saving``; ``risk``: per item and site
    ``stockout_risk`` with the figures it comes from."""

    as_of: date
    dead: pd.DataFrame
    at_risk: pd.DataFrame
    transfers: pd.DataFrame
    risk: pd.DataFrame


def stock_health(
    rt: Runtime,
    actor: Actor,
    *,
    site_id: int | None = None,
    dead_days: int = DEAD_DAYS,
    excess_days: int = EXCESS_DAYS,
    transfer_cost: float = TRANSFER_COST,
) -> StockHealth:
    """The stock health of ``site_id`` (or of every site the actor may view); transfers are
    planned across every visible site and listed when they touch the ones asked for."""
    if site_id is not None:
        actor.require(Permission.VIEW, site_id)
    plan = replenishment.plan(rt, actor)
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        org = actor.organization_id
        stock = rr.lot_stock(conn, org, visible_site_ids(conn, actor))
        items = rr.items_frame(conn, org)
        codes = rr.site_codes(conn, org)
    today = plan.as_of
    policy = plan.policy
    rate = policy.set_index(["item_id", "site_id"])["daily_forecast"].astype(np.float64)
    usable = _usable_lots(stock, items, today)
    dead = _dead(plan.daily, usable, today, dead_days)
    risky = rules.at_risk(
        usable.rename(columns={"item_id": "item", "site_id": "site", "lot_id": "lot"}),
        rate.rename_axis(["item", "site"]),
        as_of=today,
    ).rename(columns={"item": "item_id", "site": "site_id", "lot": "lot_id"})
    transfers = _transfers(usable, risky, policy, today, excess_days, transfer_cost)
    risk = _risk(policy)
    if site_id is not None:
        dead = dead[dead["site_id"] == site_id]
        risky = risky[risky["site_id"] == site_id]
        transfers = transfers[
            (transfers["from_site"] == site_id) | (transfers["to_site"] == site_id)
        ]
        risk = risk[risk["site_id"] == site_id]
    names = items[["item_id", "sku", "name", "strength"]]
    return StockHealth(
        as_of=today,
        dead=_with_names(dead, names, codes),
        at_risk=_with_names(risky, names, codes),
        transfers=transfers.merge(names, on="item_id", how="left"),
        risk=_with_names(risk, names, codes),
    )


def _usable_lots(stock: pd.DataFrame, items: pd.DataFrame, today: date) -> pd.DataFrame:
    """Usable stock per site, item and lot with an expiry: ``item_id, site_id, lot_id,
    lot_number, on_hand, expires_on, unit_cost``."""
    types = {t.value for t in AVAILABLE_TYPES}
    usable = stock[
        stock["type"].isin(types)
        & (stock["status"] == LotStatus.AVAILABLE.value)
        & stock["expiry"].notna()
    ]
    lots = usable.groupby(["item_id", "site_id", "lot_id", "lot_number", "expiry"], as_index=False)[
        "on_hand"
    ].sum()
    lots = lots.merge(items[["item_id", "standard_cost"]], on="item_id", how="left")
    return lots.rename(columns={"expiry": "expires_on", "standard_cost": "unit_cost"})


def _dead(daily: pd.DataFrame, usable: pd.DataFrame, today: date, dead_days: int) -> pd.DataFrame:
    on_hand = usable.groupby(["item_id", "site_id"], as_index=False)["on_hand"].sum()
    sold = daily[daily["demand"] > 0].groupby(["item_id", "site_id"])["day"].max()
    first = daily.groupby(["item_id", "site_id"])["day"].min()
    stock = on_hand.merge(
        sold.rename("last_dispensed").reset_index(), on=["item_id", "site_id"], how="left"
    ).merge(first.rename("first_received").reset_index(), on=["item_id", "site_id"], how="left")
    stock["first_received"] = stock["first_received"].fillna(pd.Timestamp(today))
    found = rules.dead_stock(
        stock.rename(columns={"item_id": "item", "site_id": "site"}), as_of=today, days=dead_days
    )
    return found.rename(columns={"item": "item_id", "site": "site_id"})


def _transfers(
    usable: pd.DataFrame,
    risky: pd.DataFrame,
    policy: pd.DataFrame,
    today: date,
    excess_days: int,
    cost: float,
) -> pd.DataFrame:
    """At-risk units, and units above ``excess_days`` of supply (taken from the latest-expiring
    lots), offered to the sites whose plan would order the item."""
    surplus = risky[["item_id", "lot_id", "site_id", "at_risk_units", "expires_on", "unit_cost"]]
    surplus = surplus.rename(columns={"at_risk_units": "units"})
    excess = _excess_lots(usable, policy, excess_days)
    merged = pd.concat([surplus, excess], ignore_index=True)
    merged = merged.groupby(["item_id", "lot_id", "site_id"], as_index=False).agg(
        units=("units", "max"), expires_on=("expires_on", "first"), unit_cost=("unit_cost", "first")
    )
    need = policy[policy["order_units"].fillna(0) > 0][
        ["item_id", "site_id", "daily_forecast", "order_units"]
    ].rename(columns={"daily_forecast": "daily_rate", "order_units": "shortfall"})
    if merged.empty or need.empty:
        return pd.DataFrame(
            columns=[
                "item_id",
                "lot_id",
                "from_site",
                "to_site",
                "units",
                "transfer_cost",
                "expected_saving",
            ]
        )
    found = recommend_transfers(
        merged.rename(columns={"item_id": "item", "lot_id": "lot", "site_id": "site"}).astype(
            {"units": np.int64}
        ),
        need.rename(columns={"item_id": "item", "site_id": "site"}).astype({"shortfall": np.int64}),
        as_of=today,
        transfer_cost=cost,
    )
    return found.rename(columns={"item": "item_id", "lot": "lot_id"})


def _excess_lots(usable: pd.DataFrame, policy: pd.DataFrame, days: int) -> pd.DataFrame:
    rate = policy[["item_id", "site_id", "daily_forecast"]].astype({"daily_forecast": "float64"})
    lots = usable.merge(rate, on=["item_id", "site_id"], how="left")
    lots["daily_forecast"] = lots["daily_forecast"].astype("float64").fillna(0.0)
    lots = lots.sort_values(["item_id", "site_id", "expires_on"], ascending=[True, True, False])
    keep = np.ceil(lots["daily_forecast"].to_numpy(dtype=np.float64) * days)
    total = lots.groupby(["item_id", "site_id"])["on_hand"].transform("sum").to_numpy()
    spare = np.maximum(total - keep, 0)
    # the latest-expiring lots are the spare ones: the earlier ones are used first
    later = lots.groupby(["item_id", "site_id"])["on_hand"].cumsum().to_numpy() - lots["on_hand"]
    units = np.clip(spare - later, 0, lots["on_hand"].to_numpy())
    out = lots.assign(units=units.astype(np.int64))[lambda f: f["units"] > 0]
    return out[["item_id", "lot_id", "site_id", "units", "expires_on", "unit_cost"]]


def _risk(policy: pd.DataFrame) -> pd.DataFrame:
    frame = policy[policy["status"].isin(["regular", "new", "fading"])]
    available = (frame["available"] - frame["reserved"]).to_numpy(dtype=np.float64)
    arriving = (frame["on_order"] + frame["in_transit"]).to_numpy(dtype=np.float64)
    risk = rules.stockout_risk(
        np.maximum(available, 0.0),
        arriving,
        frame["protection_mean"].to_numpy(dtype=np.float64),
        frame["protection_variance"].to_numpy(dtype=np.float64),
        frame["discrete"].to_numpy(dtype=np.bool_),
    )
    out = frame[
        [
            "item_id",
            "site_id",
            "available",
            "on_order",
            "in_transit",
            "protection_days",
            "protection_mean",
            "abc",
        ]
    ].assign(stockout_risk=risk)
    return out.sort_values("stockout_risk", ascending=False).reset_index(drop=True)


def _with_names(frame: pd.DataFrame, names: pd.DataFrame, codes: pd.DataFrame) -> pd.DataFrame:
    return (
        frame.merge(names, on="item_id", how="left")
        .merge(codes, on="site_id", how="left")
        .reset_index(drop=True)
    )


# --- KPIs ---------------------------------------------------------------------------------------


def inventory_kpis(
    rt: Runtime,
    actor: Actor,
    *,
    site_id: int | None = None,
    by: tuple[str, ...] = ("site",),
    period: Literal["M", "Q", "Y"] | None = "M",
    days: int = 365,
) -> pd.DataFrame:
    """Turns, days on hand, stock-out frequency, fill rate, expiry write-off rate and inventory
    value per group and period over the last ``days`` days; ``by`` from site, abc, item."""
    history = demand.demand_history(rt, actor, site_id=site_id, days=days)
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        org = actor.organization_id
        items = rr.items_frame(conn, org)
        since = datetime.combine(history.since, time(), UTC)
        expired = rr.expired_per_day(conn, org, since)
        codes = rr.site_codes(conn, org)
    daily = history.daily.merge(items[["item_id", "standard_cost"]], on="item_id", how="left")
    daily = daily.merge(expired, on=["item_id", "site_id", "day"], how="left")
    daily["expired_units"] = daily["expired_units"].fillna(0).astype(np.int64)
    cost = daily["standard_cost"].fillna(0.0).to_numpy(dtype=np.float64)
    frame = pd.DataFrame(
        {
            "item": daily["item_id"],
            "site": daily["site_id"],
            "day": daily["day"],
            "issued_units": daily["demand"],
            "issued_value": daily["demand"] * cost,
            "on_hand_units": daily["on_hand"].clip(lower=0),
            "on_hand_value": daily["on_hand"].clip(lower=0) * cost,
            "stocked_out": daily["out_of_stock"],
            "expired_units": daily["expired_units"],
            "expired_value": daily["expired_units"] * cost,
        }
    )
    if "abc" in by:
        classes = replenishment.classify_items(rt, actor, site_id=site_id)
        frame = frame.merge(
            classes[["item_id", "site_id", "abc"]].rename(
                columns={"item_id": "item", "site_id": "site"}
            ),
            on=["item", "site"],
            how="left",
        )
    result = kpi_rules.inventory_kpis(frame, by=by, period=period)
    if "site" in by:
        result = result.merge(codes.rename(columns={"site_id": "site"}), on="site", how="left")
    return result
