"""``python -m bench``: run every benchmark on SQLite and on a durable throwaway PostgreSQL, print
the tables and write the figures to bench/results/ as JSON."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from bench import forecasting, http, ingest, posting, reads, receiving_api, scans
from bench import replenishment as replenishing
from bench.databases import ENGINES, Databases
from bench.machine import describe, load_average
from bench.report import RESULTS, print_report, write_json

BENCHMARKS = (
    "posting",
    "queries",
    "scans",
    "ingest",
    "receiving",
    "http",
    "forecast",
    "replenishment",
)


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    console = Console(width=170)  # wide enough for the tables when piped to a file
    engines = tuple(args.engines.split(","))
    only = set(args.only.split(","))
    load_at_start = load_average()
    dbs = Databases(engines)
    posted: dict[str, posting.PostingResult] = {}
    read: dict[str, reads.ReadResult] = {}
    scanned: dict[str, scans.ScanBenchResult] = {}
    ingested: dict[str, ingest.IngestResult] = {}
    served: dict[str, http.HttpResult] = {}
    received: dict[str, receiving_api.ReceivingResult] = {}
    try:
        for engine in engines:
            if "posting" in only:
                with dbs.engine(engine, "posting") as db:
                    console.log(f"{engine}: posting, {args.workers} workers, {args.seconds} s runs")
                    posted[engine] = posting.run(
                        db, workers=args.workers, seconds=args.seconds, items=args.items
                    )
            if "queries" in only:
                with dbs.engine(engine, "queries") as db:
                    console.log(f"{engine}: loading {args.movements:,} movements")
                    read[engine] = reads.run(
                        db,
                        movements=args.movements,
                        samples=args.samples,
                        progress=_progress(console, engine, args.movements),
                    )
            if "scans" in only:
                with dbs.engine(engine, "scans") as db:
                    console.log(f"{engine}: scan parse and item lookup, {args.samples} scans")
                    scanned[engine] = scans.run(db, args.samples * 4)
            if "ingest" in only:
                with dbs.engine(engine, "ingest") as db:
                    console.log(f"{engine}: shipment data ingest")
                    ingested[engine] = ingest.run(db)
            if "receiving" in only:
                console.log(
                    f"{engine}: receiving {receiving_api.UNITS:,} scanned units via the API"
                )
                received[engine] = receiving_api.run(dbs, engine)
            if "http" in only:
                served[engine] = http.run(
                    dbs,
                    engine,
                    clients=args.clients,
                    seconds=args.http_seconds,
                    server_workers=(1,) if engine == "sqlite" else (2,),
                    log=console.log,
                )
        forecast, scaled, demo_table = _analytics(only, args.demo_db, console)
        machine = describe(dbs.versions, load_at_start)
    finally:
        dbs.close()
    print_report(console, machine, posted, read)
    if forecast is not None:
        ok = forecast.seconds <= 10.0
        console.print(
            f"{_mark(ok)} forecast of {forecast.series:,} series x {forecast.weeks} weeks in "
            f"{forecast.seconds:.2f} s (target at most 10 s; "
            f"peak RSS {forecast.peak_rss_mb:,.0f} MB)"
        )
    for line in replenishing.report_lines(scaled, demo_table):
        console.print(line)
    _print_more(console, scanned, ingested, served)
    for line in receiving_api.table_rows(received):
        console.print(line)
    output = args.output or RESULTS / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    more: dict[str, Any] = {
        "scans": {engine: asdict(result) for engine, result in scanned.items()},
        "ingest": {engine: result.as_json() for engine, result in ingested.items()},
        "http": http.as_json(served) if served else {},
        "receiving": {engine: result.as_json() for engine, result in received.items()},
        "forecast": asdict(forecast) if forecast is not None else {},
        "replenishment": replenishing.as_json(scaled, demo_table),
    }
    write_json(output, machine, vars(args) | {"output": str(output)}, posted, read, more)
    console.print(f"JSON: {output}")


def _analytics(
    only: set[str], demo_db: str | None, console: Console
) -> tuple[
    forecasting.ForecastBenchResult | None,
    list[replenishing.ScaleResult],
    replenishing.DemoResult | None,
]:
    """The benchmarks without a database of their own (the demo builds its own)."""
    forecast = None
    if "forecast" in only:
        console.log("forecasting 10,000 weekly series of 104 weeks (no database)")
        forecast = forecasting.run()
    scaled: list[replenishing.ScaleResult] = []
    demo_table = None
    if "replenishment" in only:
        console.log("replenishment end to end: 10,000 and 100,000 series (no database)")
        scaled = replenishing.scale()
        console.log("the demo network: building it, then backtests and policy simulation")
        demo_table = replenishing.demo(demo_db)
    return forecast, scaled, demo_table


def _print_more(
    console: Console,
    scanned: dict[str, scans.ScanBenchResult],
    ingested: dict[str, ingest.IngestResult],
    served: dict[str, http.HttpResult],
) -> None:
    for engine, result in scanned.items():
        ok = result.latency.p99 < scans_target_ms
        console.print(
            f"{_mark(ok)} {engine} scan parse + item lookup: p50 {result.latency.p50:.2f} ms, "
            f"p99 {result.latency.p99:.2f} ms (CPU p99 {result.cpu.p99:.2f} ms; target p99 "
            f"under {scans_target_ms:.0f} ms)"
        )
    if ingested:
        console.print(ingest.table(ingested))
        for ok, line in ingest.verdicts(ingested):
            console.print(f"{_mark(ok)} {line}")
    if served:
        http.print_report(console, served)


scans_target_ms = 5.0


def _mark(ok: bool) -> str:
    return "[green]MET   [/]" if ok else "[red]MISSED[/]"


def _progress(console: Console, engine: str, total: int) -> reads.Progress:
    step = max(total // 10, 1)
    mark = {"next": step}

    def report(done: int) -> None:
        if done >= mark["next"]:
            console.log(f"{engine}: {done:,} of {total:,} movements")
            mark["next"] += step

    return report


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--engines", default=",".join(ENGINES), help="sqlite,postgresql")
    parser.add_argument(
        "--only", default=",".join(BENCHMARKS), help=f"any of {', '.join(BENCHMARKS)} (all)"
    )
    parser.add_argument("--workers", type=int, default=16, help="posting threads (16)")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each posting run")
    parser.add_argument("--items", type=int, default=200, help="items the dispenses spread over")
    parser.add_argument(
        "--movements", type=int, default=DEFAULT_MOVEMENTS, help="ledger size for the queries"
    )
    parser.add_argument("--samples", type=int, default=500, help="queries timed of each kind")
    parser.add_argument("--clients", type=int, default=32, help="HTTP clients (32)")
    parser.add_argument("--http-seconds", type=float, default=10.0, help="timed HTTP run")
    parser.add_argument("--output", type=Path, help="JSON file (default bench/results/<time>.json)")
    parser.add_argument(
        "--demo-db", help="database URL of a built demo (default: build one in a temporary file)"
    )
    return parser


DEFAULT_MOVEMENTS = 200_000

if __name__ == "__main__":
    main()
