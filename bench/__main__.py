"""``python -m bench``: run every benchmark on SQLite and on a durable throwaway PostgreSQL, print
the tables and write the figures to bench/results/ as JSON."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from bench import posting, reads
from bench.databases import ENGINES, Databases
from bench.machine import describe, load_average
from bench.report import RESULTS, print_report, write_json


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    console = Console(width=150)  # wide enough for the tables when piped to a file
    engines = tuple(args.engines.split(","))
    load_at_start = load_average()
    dbs = Databases(engines)
    posted: dict[str, posting.PostingResult] = {}
    read: dict[str, reads.ReadResult] = {}
    try:
        for engine in engines:
            if "posting" in args.only:
                with dbs.engine(engine, "posting") as db:
                    console.log(f"{engine}: posting, {args.workers} workers, {args.seconds} s runs")
                    posted[engine] = posting.run(
                        db, workers=args.workers, seconds=args.seconds, items=args.items
                    )
            if "queries" in args.only:
                with dbs.engine(engine, "queries") as db:
                    console.log(f"{engine}: loading {args.movements:,} movements")
                    read[engine] = reads.run(
                        db,
                        movements=args.movements,
                        samples=args.samples,
                        progress=_progress(console, engine, args.movements),
                    )
        machine = describe(dbs.versions, load_at_start)
    finally:
        dbs.close()
    print_report(console, machine, posted, read)
    output = args.output or RESULTS / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    write_json(output, machine, vars(args) | {"output": str(output)}, posted, read)
    console.print(f"JSON: {output}")


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
        "--only", default="posting,queries", help="posting, queries, or both (the default)"
    )
    parser.add_argument("--workers", type=int, default=16, help="posting threads (16)")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each posting run")
    parser.add_argument("--items", type=int, default=200, help="items the dispenses spread over")
    parser.add_argument(
        "--movements", type=int, default=DEFAULT_MOVEMENTS, help="ledger size for the queries"
    )
    parser.add_argument("--samples", type=int, default=500, help="queries timed of each kind")
    parser.add_argument("--output", type=Path, help="JSON file (default bench/results/<time>.json)")
    return parser


DEFAULT_MOVEMENTS = 200_000

if __name__ == "__main__":
    main()
