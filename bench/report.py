"""The results as readable tables, checked against the targets, and as JSON for bench/results/."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.posting import PostingResult
from bench.reads import ReadResult
from bench.stats import Throughput

# The targets, on PostgreSQL for posting and on both engines for the queries.
MIN_SERVICE_TO_RAW = 0.50
MAX_POSTING_P99_MS = 25.0
MAX_QUERY_P50_MS = 5.0

RESULTS = Path(__file__).parent / "results"


def print_report(
    console: Console,
    machine: dict[str, Any],
    posting: dict[str, PostingResult],
    reading: dict[str, ReadResult],
) -> None:
    console.print(_machine_line(machine))
    if posting:
        console.print(_posting_table(posting))
    if reading:
        console.print(_load_table(reading))
        console.print(_query_table(reading))
    for verdict in verdicts(posting, reading):
        console.print(verdict)


def verdicts(posting: dict[str, PostingResult], reading: dict[str, ReadResult]) -> list[str]:
    """One line per target: met or missed, with the figure."""
    lines = []
    if "postgresql" in posting:
        result = posting["postgresql"]
        ratio = result.service.per_second / result.raw.per_second
        p99 = result.service.latency.p99
        lines.append(
            f"{_mark(ratio >= MIN_SERVICE_TO_RAW)} PostgreSQL posting at {ratio:.1%} of raw "
            f"(target at least {MIN_SERVICE_TO_RAW:.0%})"
        )
        lines.append(
            f"{_mark(p99 <= MAX_POSTING_P99_MS)} PostgreSQL posting p99 {p99:.1f} ms "
            f"(target at most {MAX_POSTING_P99_MS:.0f} ms)"
        )
    for engine, result in reading.items():
        for name, latency in result.latencies.items():
            lines.append(
                f"{_mark(latency.p50 <= MAX_QUERY_P50_MS)} {engine} {name}: p50 "
                f"{latency.p50:.2f} ms (target at most {MAX_QUERY_P50_MS:.0f} ms)"
            )
    return lines


def write_json(
    path: Path,
    machine: dict[str, Any],
    settings: dict[str, Any],
    posting: dict[str, PostingResult],
    reading: dict[str, ReadResult],
    more: dict[str, Any] | None = None,
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "machine": machine,
        "settings": settings,
        "posting": {engine: _posting_json(result) for engine, result in posting.items()},
        "queries": {engine: _reads_json(result) for engine, result in reading.items()},
        "verdicts": verdicts(posting, reading),
        **(more or {}),
    }
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")


def _mark(ok: bool) -> str:
    return "[green]MET   [/]" if ok else "[red]MISSED[/]"


def _machine_line(machine: dict[str, Any]) -> str:
    servers = ", ".join(f"{name}: {version}" for name, version in machine["servers"].items())
    return (
        f"{machine['date']} on {machine['nproc']} x {machine['cpu']}, "
        f"{machine['memory_gib']} GiB, Linux {machine['kernel']}, "
        f"load average {machine['load_average_at_start']} at start, "
        f"{machine['load_average_at_end']} at end, Python {machine['python']}, "
        f"SQLAlchemy {machine['sqlalchemy']}, psycopg {machine['psycopg']}; {servers}; "
        f"rxledger {machine['commit']}"
    )


def _posting_rows(result: PostingResult) -> list[tuple[str, Throughput, Throughput | None]]:
    """(workload, run, raw run it is compared with)."""
    return [
        ("raw INSERT+UPDATE, spread", result.raw, None),
        ("dispense, spread", result.service, result.raw),
        ("raw INSERT+UPDATE, one row", result.raw_hot, None),
        ("dispense, one lot", result.service_hot, result.raw_hot),
    ]


def _posting_table(posting: dict[str, PostingResult]) -> Table:
    table = Table(title="Posting: single-line dispenses vs one INSERT + one UPDATE per transaction")
    for column in ("engine", "workload", "workers", "count", "per s", "p50 ms", "p95 ms"):
        table.add_column(column, justify="left" if column in ("engine", "workload") else "right")
    for column in ("p99 ms", "CPU ms/op", "of raw"):
        table.add_column(column, justify="right")
    for engine, result in posting.items():
        for workload, run, raw in _posting_rows(result):
            table.add_row(
                engine,
                workload,
                str(run.workers),
                f"{run.operations:,}",
                f"{run.per_second:,.0f}",
                f"{run.latency.p50:.1f}",
                f"{run.latency.p95:.1f}",
                f"{run.latency.p99:.1f}",
                f"{run.cpu_ms_per_operation:.2f}",
                f"{run.per_second / raw.per_second:.1%}" if raw else "",
            )
    return table


def _load_table(reading: dict[str, ReadResult]) -> Table:
    table = Table(title="Loading the ledger through the services (receipts and dispensing runs)")
    columns = ("engine", "movements", "documents", "seconds", "movements/s", "documents/s")
    for column in (*columns, "receipts mov/s", "dispenses mov/s"):
        table.add_column(column, justify="left" if column == "engine" else "right")
    for engine, result in reading.items():
        loaded = result.load
        table.add_row(
            engine,
            f"{loaded.movements:,}",
            f"{loaded.documents:,}",
            f"{loaded.seconds:.0f}",
            f"{loaded.movements_per_second:,.0f}",
            f"{loaded.documents_per_second:.1f}",
            f"{loaded.receipts.movements_per_second:,.0f}",
            f"{loaded.dispenses.movements_per_second:,.0f}",
        )
    return table


def _query_table(reading: dict[str, ReadResult]) -> Table:
    table = Table(title="Query latency over the loaded ledger (random item, location, instant)")
    for column in ("engine", "query", "count", "p50 ms", "p95 ms", "p99 ms", "max ms"):
        table.add_column(column, justify="left" if column in ("engine", "query") else "right")
    for engine, result in reading.items():
        for name, latency in result.latencies.items():
            table.add_row(
                engine,
                name,
                f"{latency.count:,}",
                f"{latency.p50:.2f}",
                f"{latency.p95:.2f}",
                f"{latency.p99:.2f}",
                f"{latency.max:.2f}",
            )
    return table


def _throughput_json(run: Throughput) -> dict[str, Any]:
    return {
        **asdict(run),
        "per_second": run.per_second,
        "cpu_ms_per_operation": run.cpu_ms_per_operation,
    }


def _posting_json(result: PostingResult) -> dict[str, Any]:
    runs = {
        name: _throughput_json(getattr(result, name))
        for name in ("raw", "service", "raw_hot", "service_hot")
    }
    return {
        "items": result.items,
        **runs,
        "service_to_raw": result.service.per_second / result.raw.per_second,
        "hot_service_to_raw": result.service_hot.per_second / result.raw_hot.per_second,
    }


def _reads_json(result: ReadResult) -> dict[str, Any]:
    loaded = result.load
    return {
        "load": {
            **asdict(loaded),
            "receipts_movements_per_second": loaded.receipts.movements_per_second,
            "dispenses_movements_per_second": loaded.dispenses.movements_per_second,
            "movements_per_second": loaded.movements_per_second,
            "documents_per_second": loaded.documents_per_second,
        },
        "latency_ms": {name: asdict(latency) for name, latency in result.latencies.items()},
    }
