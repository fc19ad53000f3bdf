"""Posting throughput: single-line dispenses through ``stock.dispense`` from many worker threads,
and, on the same database through the same driver, the simplest equivalent durable write (one
INSERT and one UPDATE per transaction) as the baseline they are measured against."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import psycopg
from sqlalchemy import Engine

from bench.network import Pharmacy, build_pharmacy
from bench.stats import Operation, Throughput, run_workers
from rxledger.domain.clock import SystemClock
from rxledger.domain.model import Item
from rxledger.services import stock
from rxledger.services.posting import Header
from rxledger.services.runtime import Runtime

STOCK_PER_ITEM = 1_000_000
WARM_UP_SECONDS = 1.0
_LOG_TABLE = (
    "CREATE TABLE bench_raw_log (id {serial}, counter_id INTEGER NOT NULL, "
    "quantity INTEGER NOT NULL, at TIMESTAMP NOT NULL)"
)
_COUNTER_TABLE = "CREATE TABLE bench_raw_counter (id INTEGER PRIMARY KEY, value BIGINT NOT NULL)"


@dataclass(frozen=True)
class PostingResult:
    """Service and raw runs side by side, spread over many items and all on one row."""

    items: int
    service: Throughput
    raw: Throughput
    service_hot: Throughput
    raw_hot: Throughput


def run(engine: Engine, *, workers: int, seconds: float, items: int) -> PostingResult:
    """All four runs on one database: raw, service, then the hot-row raw and service runs."""
    pharmacy = build_pharmacy(Runtime(engine=engine, clock=SystemClock()), items)
    _stock_up(pharmacy)
    raw = RawWrites(engine, rows=items)
    hot = pharmacy.items[:1]
    try:
        results = PostingResult(
            items=items,
            raw=_measure(lambda n: raw.operation(n, hot=False), workers, seconds),
            service=_measure(lambda n: _dispenser(pharmacy, pharmacy.items, n), workers, seconds),
            raw_hot=_measure(lambda n: raw.operation(n, hot=True), workers, seconds),
            service_hot=_measure(lambda n: _dispenser(pharmacy, hot, n), workers, seconds),
        )
    finally:
        raw.close()
    return results


def _measure(make: Callable[[int], Operation], workers: int, seconds: float) -> Throughput:
    """A warm-up run (connections, statement caches), then the timed run."""
    run_workers(make, workers, WARM_UP_SECONDS)
    return run_workers(make, workers, seconds)


def _stock_up(pharmacy: Pharmacy) -> None:
    """One receipt per stocking location, a lot of every item kept there."""
    for location in pharmacy.locations:
        lines = [
            stock.ReceiptLine(item.id, STOCK_PER_ITEM, f"LOT-{item.id}", date(2030, 12, 31))
            for item in pharmacy.items
            if pharmacy.home(item) == location
        ]
        if lines:
            stock.receive(
                pharmacy.rt,
                pharmacy.actor,
                stock.Receive(pharmacy.site.id, location.id, lines, Header(reference="PO-BENCH")),
            )


def _dispenser(pharmacy: Pharmacy, items: tuple[Item, ...], worker: int) -> Operation:
    """One worker's operation: dispense one unit of a random item, its lot chosen by FEFO."""
    rng = random.Random(worker)

    def dispense() -> None:
        item = rng.choice(items)
        stock.dispense(
            pharmacy.rt,
            pharmacy.actor,
            stock.Dispense(
                pharmacy.site.id,
                pharmacy.home(item).id,
                [stock.StockLine(item.id, 1)],
                Header(reference=f"RX-{worker}"),
            ),
        )

    return dispense


class RawWrites:
    """The baseline: per transaction, append one row to a log and decrement one counter row.

    It runs on the benchmark's own database file or server, through the driver the ledger uses
    (sqlite3 with the ledger's pragmas and ``BEGIN IMMEDIATE``; psycopg 3), so it has the same
    durability: every commit waits for its fsync.
    """

    def __init__(self, engine: Engine, *, rows: int) -> None:
        self.dialect = engine.dialect.name
        self.rows = rows
        self._connections: list[Any] = []
        if self.dialect == "sqlite":
            assert engine.url.database is not None
            self._path = engine.url.database
        else:
            self._conninfo = engine.url.set(drivername="postgresql").render_as_string(
                hide_password=False
            )
        serial = "INTEGER PRIMARY KEY" if self.dialect == "sqlite" else "BIGSERIAL PRIMARY KEY"
        counters = [
            (f"INSERT INTO bench_raw_counter VALUES ({n}, {STOCK_PER_ITEM})", ())
            for n in range(rows)
        ]
        self._transaction(
            self._connect(),
            [(_LOG_TABLE.format(serial=serial), ()), (_COUNTER_TABLE, ()), *counters],
        )

    def operation(self, worker: int, *, hot: bool) -> Operation:
        connection = self._connect()
        rng = random.Random(worker)
        mark = "?" if self.dialect == "sqlite" else "%s"
        insert = (
            f"INSERT INTO bench_raw_log (counter_id, quantity, at) "
            f"VALUES ({mark}, 1, CURRENT_TIMESTAMP)"
        )
        update = f"UPDATE bench_raw_counter SET value = value - 1 WHERE id = {mark}"

        def write() -> None:
            row = 0 if hot else rng.randrange(self.rows)
            self._transaction(connection, [(insert, (row,)), (update, (row,))])

        return write

    def close(self) -> None:
        for connection in self._connections:
            connection.close()

    def _connect(self) -> Any:
        if self.dialect == "sqlite":
            connection: Any = sqlite3.connect(
                self._path, timeout=60, isolation_level=None, check_same_thread=False
            )
            for pragma in ("journal_mode=WAL", "synchronous=FULL", "busy_timeout=60000"):
                connection.execute(f"PRAGMA {pragma}")
        else:
            connection = psycopg.connect(self._conninfo)
        self._connections.append(connection)
        return connection

    def _transaction(self, connection: Any, statements: list[tuple[str, tuple[int, ...]]]) -> None:
        if self.dialect == "sqlite":
            connection.execute("BEGIN IMMEDIATE")
        for sql, params in statements:
            connection.execute(sql, params)
        if self.dialect == "sqlite":
            connection.execute("COMMIT")
        else:
            connection.commit()
