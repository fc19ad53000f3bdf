"""Scan parse + item lookup latency, in-process (target: p99 under 5 ms).

An item master of a few thousand NDC drugs is built through the services, each with a unit, a
bottle (GTIN from its NDC) and a case (indicator 1); then ``samples`` scans, one at a time, go
through ``scanning.parse_scan`` exactly as the CLI, the API and the web picker call it: parse
with biip, match the package GTIN (or the NDC) in the item master, resolve the NDC layout.

The mix is what a receiving dock and a dispensing counter see: GS1 DataMatrix of bottles and
cases (lot with ``-``/``/``, expiry, serial), UPC-A of bottles, typed NDCs with and without
hyphens, Digital Link URIs and (AI) text, plus the valid vectors of
``../shared/data/gs1/vectors.json`` (products not on file, which cost a full lookup) when the
shared data is there.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import quote

from biip.checksums import gs1_standard_check_digit
from sqlalchemy import Engine

from bench.stats import Latency
from rxledger.demo import shared_data_dir
from rxledger.domain.clock import SystemClock
from rxledger.domain.errors import InvalidScan
from rxledger.domain.identifiers import LAYOUTS, Ndc
from rxledger.services import catalog, scanning
from rxledger.services.catalog import NewItem, PackageSpec
from rxledger.services.runtime import Actor, Runtime

ITEMS = 3000
GS = "\x1d"
Scans = Callable[[random.Random], str]


@dataclass(frozen=True)
class ScanBenchResult:
    """Latency over every sample, per kind of scan, and how many matched an item.

    ``cpu`` is the benchmark thread's CPU time per scan: on a busy machine the wall-clock tail
    includes time spent waiting for a core, which this leaves out (on SQLite it is the whole
    work; on PostgreSQL the client's part)."""

    items: int
    latency: Latency
    cpu: Latency
    by_kind: dict[str, Latency] = field(default_factory=dict)
    matched: int = 0
    refused: int = 0


def run(engine: Engine, samples: int) -> ScanBenchResult:
    """Build the item master on ``engine`` (an empty migrated database), then time ``samples``
    scans drawn from the mix, after a short warm-up."""
    rt = Runtime(engine=engine, clock=SystemClock())
    org = catalog.create_organization(rt, "SCANS", "Scan Bench Health")
    actor = Actor(org.id, "bench")
    ndcs = [_ndc(n) for n in range(1, ITEMS + 1)]
    for n, ndc in enumerate(ndcs, start=1):
        catalog.create_item(rt, actor, _spec(n, ndc))
    kinds = _kinds(ndcs)
    rng = random.Random(11)
    names = list(kinds)
    for _ in range(min(50, samples)):
        _scan(rt, actor, kinds[rng.choice(names)](rng))
    seconds: dict[str, list[float]] = {name: [] for name in names}
    cpu: list[float] = []
    matched = refused = 0
    for _ in range(samples):
        name = rng.choice(names)
        text = kinds[name](rng)
        began, began_cpu = time.perf_counter(), time.thread_time()
        found = _scan(rt, actor, text)
        seconds[name].append(time.perf_counter() - began)
        cpu.append(time.thread_time() - began_cpu)
        matched += found is True
        refused += found is None
    every = [s for values in seconds.values() for s in values]
    by_kind = {name: Latency.of(values) for name, values in seconds.items() if values}
    return ScanBenchResult(ITEMS, Latency.of(every), Latency.of(cpu), by_kind, matched, refused)


def _scan(rt: Runtime, actor: Actor, text: str) -> bool | None:
    """True when the scan matched an item, False when not on file, None when refused."""
    try:
        return scanning.parse_scan(rt, actor, text).item is not None
    except InvalidScan:
        return None


def _ndc(n: int) -> Ndc:
    """A distinct NDC in each of the three layouts, in turn."""
    layout = LAYOUTS[n % 3]
    return Ndc.from_digits(f"{(n * 7919) % 10**10:010d}", layout)


def _case_gtin(bottle: str) -> str:
    body = "1" + bottle[1:13]
    return body + str(gs1_standard_check_digit(body))


def _spec(n: int, ndc: Ndc) -> NewItem:
    bottle = ndc.to_gtin()
    return NewItem(
        sku=f"SCAN{n:05d}",
        name=f"Scan drug {n:05d} 10 mg tablet",
        base_unit="tablet",
        strength="10 mg",
        dosage_form="tablet",
        route="oral",
        ndc10=ndc.ndc10,
        standard_cost=Decimal("0.10"),
        packages=(
            PackageSpec("bottle", 100, bottle, ndc.ndc10),
            PackageSpec("case", 1200, _case_gtin(bottle)),
        ),
    )


def _kinds(ndcs: list[Ndc]) -> dict[str, Scans]:
    def ndc(rng: random.Random) -> Ndc:
        return rng.choice(ndcs)

    def lot(rng: random.Random) -> str:
        return (
            f"L{rng.randrange(10**4)}-{rng.randrange(100)}/{rng.randrange(10)}.{rng.randrange(9)}"
        )

    kinds: dict[str, Scans] = {
        "DataMatrix, bottle": lambda r: (
            f"]d201{ndc(r).to_gtin()}17280300" + f"10{lot(r)}{GS}21{r.randrange(10**9)}"
        ),
        "DataMatrix, case": lambda r: (
            f"]d201{_case_gtin(ndc(r).to_gtin())}17271200" + f"10{lot(r)}{GS}21{r.randrange(10**9)}"
        ),
        "UPC-A": lambda r: "]E0" + ndc(r).to_gtin()[1:],
        "NDC, hyphenated": lambda r: ndc(r).ndc10,
        "NDC, 10 digits": lambda r: ndc(r).digits,
        "Digital Link": lambda r: (
            f"https://id.gs1.org/01/{ndc(r).to_gtin()}/10/{quote(lot(r), safe='')}?17=290131"
        ),
        "(AI) text": lambda r: f"(01){ndc(r).to_gtin()}(17)280300(10){lot(r)}",
    }
    vectors = _shared_vectors()
    if vectors:
        kinds["shared vectors"] = lambda r: r.choice(vectors)
    return kinds


def _shared_vectors() -> list[str]:
    """The valid vectors of the shared GS1 file as a scanner would send them."""
    path = shared_data_dir() / "gs1" / "vectors.json"
    if not path.exists():
        return []
    vectors = json.loads(path.read_text(encoding="utf-8"))
    valid = [v for v in vectors if v["expected"].get("valid", True)]
    return [_as_scanned(v["kind"], v["input"]) for v in valid]


def _as_scanned(kind: str, text: str) -> str:
    if kind == "element_string_gse_notation":
        return "]C1" + text.removeprefix("^").replace("^", GS)
    if kind == "element_string":
        return "]C1" + text
    return text
