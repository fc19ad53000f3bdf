"""Query latency over a large ledger: balance as of an instant and an item's history, each asked
for a random item at its location (and at its whole site) and, for the balance, a random instant."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, text

from bench.load import FIRST_DAY, LoadResult, Progress, load
from bench.network import build_pharmacy
from bench.stats import Latency
from rxledger.domain.clock import ManualClock
from rxledger.domain.model import Item
from rxledger.services import queries
from rxledger.services.runtime import Runtime

ITEMS = 2000


@dataclass(frozen=True)
class ReadResult:
    load: LoadResult
    latencies: dict[str, Latency] = field(default_factory=dict)


def run(
    engine: Engine, *, movements: int, samples: int, progress: Progress | None = None
) -> ReadResult:
    """Load the ledger through the services, then time ``samples`` random queries of each kind."""
    clock = ManualClock(FIRST_DAY)
    pharmacy = build_pharmacy(Runtime(engine=engine, clock=clock), ITEMS)
    loaded = load(pharmacy, clock, movements, progress)
    _analyze(engine)
    rt, actor, site = pharmacy.rt, pharmacy.actor, pharmacy.site
    rng = random.Random(7)

    def instant() -> datetime:
        return loaded.first + (loaded.last - loaded.first) * rng.random()

    def item() -> Item:
        return rng.choice(pharmacy.items)

    def balance_at_location() -> None:
        it = item()
        queries.balance(rt, actor, item_id=it.id, location_id=pharmacy.home(it).id, as_of=instant())

    def balance_at_site() -> None:
        queries.balance(rt, actor, item_id=item().id, site_id=site.id, as_of=instant())

    def history_at_location() -> None:
        it = item()
        queries.item_history(rt, actor, it.id, location_id=pharmacy.home(it).id)

    def history_at_site() -> None:
        queries.item_history(rt, actor, item().id, site_id=site.id)

    kinds: dict[str, Callable[[], None]] = {
        "balance as of, item at its location": balance_at_location,
        "balance as of, item at the site": balance_at_site,
        "item history, item at its location": history_at_location,
        "item history, item at the site": history_at_site,
    }
    return ReadResult(loaded, {name: _time(query, samples) for name, query in kinds.items()})


def _time(query: Callable[[], None], samples: int) -> Latency:
    for _ in range(min(20, samples)):
        query()  # warm the connection pool and the statement caches
    seconds = []
    for _ in range(samples):
        began = time.perf_counter()
        query()
        seconds.append(time.perf_counter() - began)
    return Latency.of(seconds)


def _analyze(engine: Engine) -> None:
    """Refresh the planner's statistics, as PostgreSQL's autovacuum would after a bulk load."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
