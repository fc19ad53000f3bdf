"""Replenishment end to end, and rxledger's policy against the two baselines on the demo network.

1. **Scale**: classify + forecast + policy + suggestions (``analytics.replenishment``) for 10,000
   and 100,000 item-site series of 104 weeks (the synthetic mix of ``bench.forecasting``), each
   size in its own process so its peak resident set is its own.
2. **Demo network**: the demo's recorded dispensing (two years, three sites), read back from the
   ledger as any site's history would be:
   - forecast accuracy: the mean absolute scaled error of rolling-origin backtests (3 windows of
     8 weeks, the same windows and the same naive scale for all three) of rxledger's chosen model,
     the 365-day average and the average monthly consumption over the last 3 months;
   - the policies replayed day by day (``analytics.simulation``): fill rate, stock-out days,
     average inventory in units and at standard cost, orders and expired units.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.forecasting import synthetic_demand

SIZES = (10_000, 100_000)
WINDOWS, HORIZON = 3, 8  # backtest windows of 8 weeks, as the forecasts' own backtest
LEAD_TIME_DAYS, REVIEW_DAYS, SERVICE_LEVEL = 2, 7, 0.95


@dataclass(frozen=True)
class ScaleResult:
    series: int
    weeks: int
    seconds: float
    suggestions: int
    rss_before_mb: float
    peak_rss_mb: float


def scale_run(series: int, weeks: int = 104) -> ScaleResult:
    """One size, timed after a small warm-up run (numba compiles statsforecast's models once)."""
    from rxledger.analytics.replenishment import plan_replenishment

    plan_replenishment(*_inputs(200, weeks, seed=1))
    inputs = _inputs(series, weeks, seed=42)
    before = _max_rss_mb()
    started = time.perf_counter()
    plan = plan_replenishment(*inputs)
    seconds = time.perf_counter() - started
    return ScaleResult(series, weeks, seconds, len(plan.suggestions), before, _max_rss_mb())


def _inputs(series: int, weeks: int, seed: int) -> tuple[pd.DataFrame, ...]:
    history = synthetic_demand(series, weeks, seed=seed)
    history["out_of_stock"] = False
    ids = history["unique_id"].unique()
    rng = np.random.default_rng(seed)
    n = len(ids)
    items = pd.DataFrame(
        {
            "unique_id": ids,
            "unit_cost": rng.uniform(0.05, 20.0, n),
            "usable_days": np.where(rng.random(n) < 0.3, 180.0, np.nan),
            "site": 1,
        }
    )
    position = pd.DataFrame(
        {
            "unique_id": ids,
            "available": rng.integers(0, 60, n),
            "on_order": np.where(rng.random(n) < 0.1, 50, 0),
            "in_transit": 0,
            "reserved": 0,
        }
    )
    packs = rng.choice([10, 30, 100, 500], n)
    offers = pd.DataFrame(
        {
            "unique_id": ids,
            "offer_id": np.arange(n),
            "supplier_id": rng.integers(1, 20, n),
            "pack_units": packs,
            "pack_price": packs * rng.uniform(0.05, 5.0, n),
            "order_multiple": 1,
            "lead_time_days": rng.integers(1, 8, n),
            "minimum_order_value": 100.0,
        }
    )
    return history, items, position, offers


def scale(sizes: tuple[int, ...] = SIZES) -> list[ScaleResult]:
    """Each size in a fresh interpreter."""
    results = []
    for size in sizes:
        out = subprocess.run(
            [sys.executable, "-m", "bench.replenishment", "scale", str(size)],
            check=True,
            capture_output=True,
            text=True,
        )
        results.append(ScaleResult(**json.loads(out.stdout.strip().splitlines()[-1])))
    return results


# --- the demo network -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyRow:
    policy: str
    mase: float  # mean over series with a backtest
    fill_rate: float
    stockout_days: int
    avg_on_hand_units: float
    avg_on_hand_value: float
    orders: int
    units_expired: int


@dataclass(frozen=True)
class DemoResult:
    series: int
    days: int
    lead_time_days: int
    review_days: int
    service_level: float
    build_seconds: float
    rows: list[PolicyRow]


def demo(url: str | None = None) -> DemoResult:
    """The demo network's history (built into a temporary SQLite file unless ``url`` names one)."""
    from rxledger import bootstrap
    from rxledger.config import Settings
    from rxledger.demo import build_demo

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        fresh = url is None
        url = url or f"sqlite:///{Path(tmp) / 'demo.db'}"
        rt = bootstrap.build(Settings(database_url=url), migrate_schema=fresh)
        try:
            if fresh:
                build_demo(rt, end=datetime.now(UTC))
            return _demo_table(rt, time.perf_counter() - started)
        finally:
            rt.engine.dispose()


def _demo_table(rt: Any, built: float) -> DemoResult:
    from rxledger.analytics.simulation import simulate
    from rxledger.services import demand, identity, replenishment
    from rxledger.services.catalog import organization_by_code

    org = organization_by_code(rt)
    actor = identity.user_actor(rt, org.id, "admin")
    history = demand.demand_history(rt, actor)
    plan = replenishment.plan(rt, actor)
    weekly = replenishment.weekly_history(
        replenishment.weekly_series(history.daily, history.through)
    )
    chosen = plan.plan.forecast.summary["mase"].to_numpy(dtype=np.float64)
    daily = history.series()
    costs = replenishment.unit_costs(rt, actor)
    unit_cost = {sid: float(costs.get(sid, 0.0)) for sid in daily["unique_id"].unique()}
    baselines = {"avg365": _baseline_mase(weekly, 52), "amc": _baseline_mase(weekly, 13)}
    rows = []
    for policy, mase in (("rxledger", np.nanmean(chosen)), *baselines.items()):
        result = simulate(
            daily,
            policy,
            lead_time_days=LEAD_TIME_DAYS,
            review_days=REVIEW_DAYS,
            service_level=SERVICE_LEVEL,
            unit_cost=unit_cost,
        )
        totals = result.totals
        rows.append(
            PolicyRow(
                policy=policy,
                mase=float(mase),
                fill_rate=float(totals["fill_rate"]),
                stockout_days=int(totals["stockout_days"]),
                avg_on_hand_units=float(totals["avg_on_hand_units"]),
                avg_on_hand_value=float(totals["avg_on_hand_value"]),
                orders=int(totals["orders"]),
                units_expired=int(totals["units_expired"]),
            )
        )
    days = int(daily.groupby("unique_id").size().max())
    return DemoResult(
        series=daily["unique_id"].nunique(),
        days=days,
        lead_time_days=LEAD_TIME_DAYS,
        review_days=REVIEW_DAYS,
        service_level=SERVICE_LEVEL,
        build_seconds=built,
        rows=rows,
    )


def _baseline_mase(weekly: pd.DataFrame, window: int) -> float:
    """Mean MASE of "the mean of the last ``window`` weeks" over the rolling-origin windows, scaled
    by each series' mean absolute one-week change over its training part."""
    scores = []
    for _, group in weekly.groupby("unique_id", sort=False):
        y = group["y"].to_numpy(dtype=np.float64)
        train = len(y) - WINDOWS * HORIZON
        if train < max(8, HORIZON):
            continue
        scale = np.mean(np.abs(np.diff(y[:train]))) or (np.mean(y[:train]) or 1.0)
        errors = [
            np.mean(np.abs(y[o : o + HORIZON] - np.mean(y[max(0, o - window) : o])))
            for o in range(train, len(y), HORIZON)
        ]
        scores.append(float(np.mean(errors)) / scale)
    return float(np.mean(scores)) if scores else float("nan")


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def report_lines(scaled: list[ScaleResult], found: DemoResult | None) -> list[str]:
    lines = []
    for r in scaled:
        target = 10.0 if r.series <= 10_000 else 120.0
        mark = "[green]✓[/]" if r.seconds <= target else "[red]✗[/]"
        lines.append(
            f"{mark} replenishment of {r.series:,} series x {r.weeks} weeks (classify, forecast, "
            f"policy, suggestions) in {r.seconds:.2f} s (target at most {target:.0f} s; "
            f"peak RSS {r.peak_rss_mb:,.0f} MB, {r.rss_before_mb:,.0f} MB before)"
        )
    if found is not None:
        lines.append(
            f"demo network, {found.series} series x {found.days} days; lead time "
            f"{found.lead_time_days} d, review {found.review_days} d, service level "
            f"{found.service_level}:"
        )
        lines.append("policy     MASE   fill rate  stock-out days  avg units   avg value  orders")
        for row in found.rows:
            lines.append(
                f"{row.policy:<9} {row.mase:5.3f}  {row.fill_rate:9.4f}  {row.stockout_days:14,}"
                f"  {row.avg_on_hand_units:9,.0f}  {row.avg_on_hand_value:10,.0f}  {row.orders:6,}"
            )
    return lines


def as_json(scaled: list[ScaleResult], demo_result: DemoResult | None) -> dict[str, Any]:
    return {
        "scale": [asdict(r) for r in scaled],
        "demo": asdict(demo_result) if demo_result is not None else {},
    }


if __name__ == "__main__":
    if sys.argv[1:2] == ["scale"]:
        print(json.dumps(asdict(scale_run(int(sys.argv[2])))))
    else:
        found = demo(sys.argv[1] if len(sys.argv) > 1 else None)
        print(json.dumps(asdict(found), indent=2))
