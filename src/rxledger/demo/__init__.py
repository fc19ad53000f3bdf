"""The demo network: Riverside Health, with two years of history posted through the services.

``build_demo(rt)`` creates the organization, its three sites and their locations, about 400 items
from real products, and walks two years day by day (receipts, put-away, transfers, dispensing,
returns, adjustments, reversals) under an injected clock, then adds suppliers and the last
evening's purchase orders (``demo.purchasing``). The same seed gives the same demo.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from rxledger.demo.control import seed_control
from rxledger.demo.demand import demand_plan, stocking_points
from rxledger.demo.history import HistoryWalk
from rxledger.demo.network import ORGANIZATION_CODE, build_network
from rxledger.demo.products import DemoProduct, load_demo_products, shared_data_dir
from rxledger.demo.purchasing import seed_purchasing
from rxledger.domain.clock import ManualClock, as_utc
from rxledger.services import catalog
from rxledger.services.runtime import Actor, Runtime

__all__ = ["ORGANIZATION_CODE", "DemoSummary", "build_demo", "is_empty", "shared_data_dir"]

Progress = Callable[[str, int, int], None]
STAGE_NETWORK = "Building the network"
STAGE_ITEMS = "Creating items"
STAGE_HISTORY = "Posting history (days)"


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What the demo created; ``locations`` counts physical locations only."""

    organization: str
    sites: int
    locations: int
    items: int
    lots: int
    documents: int
    movements: int
    seconds: float
    stockouts: int = 0  # dispense lines cut short because the shelf was empty
    refusals: int = 0  # postings the ledger refused (the demo aims for none)


def is_empty(rt: Runtime) -> bool:
    """True while the database holds no organization yet."""
    return not catalog.has_organizations(rt)


def build_demo(
    rt: Runtime,
    *,
    seed: int = 7,
    days: int = 730,
    item_count: int = 400,
    end: datetime | None = None,
    progress: Progress | None = None,
    data_dir: Path | None = None,
) -> DemoSummary:
    """Build the demo network and ``days`` days of history ending at ``end`` (default: now).

    Everything is posted through the catalog and stock services under a manual clock that starts
    ``days`` before ``end``; ``progress(stage, done, total)`` reports each stage as it goes.
    """
    if days < 2 or item_count < 1:
        raise ValueError("the demo needs at least 2 days and 1 item")
    started = time.perf_counter()
    report: Progress = progress or _quiet
    end_at = as_utc(end or rt.clock.now())
    start = end_at - timedelta(days=days)
    clock = ManualClock(start)
    demo_rt = Runtime(engine=rt.engine, clock=clock, policy=rt.policy)
    rng = np.random.default_rng(seed)
    products = load_demo_products(item_count, rng, data_dir)
    network = build_network(demo_rt, lambda done, total: report(STAGE_NETWORK, done, total))
    item_ids = _create_items(demo_rt, network.actor, products, report)
    points = stocking_points(products, item_ids, network, rng)
    plan = demand_plan(points, products, start.date(), days, rng)
    walk = HistoryWalk(demo_rt, clock, network, plan, start.date(), end_at.date(), rng)
    tally = walk.run(days, start, lambda done, total: report(STAGE_HISTORY, done, total))
    bought = seed_purchasing(demo_rt, clock, network, item_ids)
    seed_control(demo_rt, clock, network)
    return DemoSummary(
        organization=network.organization.code,
        sites=len(network.sites),
        locations=network.location_count,
        items=len(item_ids),
        lots=len(tally.lots | bought.lots),
        documents=tally.documents + bought.documents,
        movements=tally.movements + bought.movements,
        seconds=round(time.perf_counter() - started, 3),
        stockouts=tally.stockouts,
        refusals=tally.refusals,
    )


def _create_items(
    rt: Runtime, actor: Actor, products: Sequence[DemoProduct], report: Progress
) -> list[int]:
    """Create every item through the catalog service, reporting each one."""
    item_ids = []
    for done, product in enumerate(products, start=1):
        item_ids.append(catalog.create_item(rt, actor, product.spec).id)
        report(STAGE_ITEMS, done, len(products))
    return item_ids


def _quiet(stage: str, done: int, total: int) -> None:
    """The default progress callback: report nothing."""
