"""Shipment data ingest: reading and importing an EPCIS shipment of 10,000 serials (XML and JSON)
and an X12 856 of 1,000 lines, and receiving scanned units through the receiving service.

Each file is generated once (the same builders the tests use), then read several times by the
reader alone and imported through ``services.imports`` (parse, match the item master, store the
raw file, its lines and packages, commit) into a fresh site each time, so every import writes.
The best of the repeats is reported, with the median beside it.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from rich.table import Table
from sqlalchemy import Engine
from tests.epcis_builders import NDC11, UNIT_GTIN, dscsa_json, dscsa_xml
from tests.unit.test_x12_856 import big_notice

from bench.network import build_pharmacy
from rxledger.adapters.ingest import epcis_json, epcis_xml, x12_856
from rxledger.domain.clock import SystemClock
from rxledger.services import catalog, imports
from rxledger.services.catalog import NewItem, PackageSpec
from rxledger.services.runtime import Runtime

SERIALS = 10_000
ASN_LINES = 1_000
REPEATS = 3


@dataclass(frozen=True)
class Timed:
    name: str
    units: int  # serials or lines in one file
    unit: str
    best: float  # seconds
    median: float

    @property
    def per_second(self) -> float:
        return self.units / self.best


@dataclass(frozen=True)
class IngestResult:
    engine: str
    runs: tuple[Timed, ...]

    def as_json(self) -> dict[str, object]:
        return {
            r.name: {
                "units": r.units,
                "unit": r.unit,
                "best_s": r.best,
                "median_s": r.median,
                "per_second": r.per_second,
            }
            for r in self.runs
        }


def run(engine: Engine, *, repeats: int = REPEATS) -> IngestResult:
    rt = Runtime(engine=engine, clock=SystemClock())
    pharmacy = build_pharmacy(rt, 1)
    catalog.create_item(
        rt,
        pharmacy.actor,
        NewItem(
            sku="AMOX-BENCH",
            name="Amoxicillin 500 mg capsule",
            base_unit="capsule",
            ndc10=f"{NDC11[:5]}-{NDC11[5:8]}-{NDC11[9:]}",
            packages=(PackageSpec("bottle", 100, gtin=UNIT_GTIN),),
        ),
    )
    xml, json_doc, asn = dscsa_xml(SERIALS), dscsa_json(SERIALS), big_notice(ASN_LINES)
    sites = iter(range(1, 10_000))

    def importing(fmt: str, content: bytes) -> Callable[[], None]:
        def once() -> None:
            site = catalog.create_site(
                rt, pharmacy.actor, code=f"S{next(sites)}", name="Receiving site"
            )
            # other bytes each time (trailing whitespace, which both readers skip): the same
            # bytes twice would be found, not imported again
            unique = content + b"\n" * site.id
            imports.import_shipment(
                rt, pharmacy.actor, fmt, unique, filename=f"{fmt}.dat", site_id=site.id
            )

        return once

    plan: list[tuple[str, int, str, Callable[[], object]]] = [
        ("read EPCIS 1.2 XML", SERIALS, "serials", lambda: epcis_xml.read_epcis_xml(xml)),
        ("read EPCIS 2.0 JSON", SERIALS, "serials", lambda: epcis_json.read_epcis_json(json_doc)),
        ("read X12 856", ASN_LINES, "lines", lambda: x12_856.read_856(asn)),
        ("import EPCIS 1.2 XML", SERIALS, "serials", importing("epcis", xml)),
        ("import X12 856", ASN_LINES, "lines", importing("asn", asn)),
    ]
    runs = tuple(_timed(name, n, unit, work, repeats) for name, n, unit, work in plan)
    return IngestResult(engine.dialect.name, runs)


def _timed(name: str, units: int, unit: str, work: Callable[[], object], repeats: int) -> Timed:
    seconds = []
    for _ in range(repeats):
        began = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - began)
    return Timed(name, units, unit, min(seconds), statistics.median(seconds))


def table(results: dict[str, IngestResult]) -> Table:
    out = Table(title=f"Shipment data: {SERIALS:,} serials, an 856 of {ASN_LINES:,} lines")
    for column in ("engine", "what"):
        out.add_column(column)
    for column in ("size", "best s", "median s", "per s"):
        out.add_column(column, justify="right")
    for n, (engine, result) in enumerate(results.items()):
        for r in result.runs:
            if n > 0 and not r.name.startswith("import"):
                continue  # the readers use no database: once is enough
            out.add_row(
                engine if r.name.startswith("import") else "(reader)",
                r.name,
                f"{r.units:,} {r.unit}",
                f"{r.best:.3f}",
                f"{r.median:.3f}",
                f"{r.per_second:,.0f}",
            )
    return out


def verdicts(results: dict[str, IngestResult]) -> list[tuple[bool, str]]:
    found = []
    for engine, result in results.items():
        for r in result.runs:
            if r.unit == "serials" and r.name.startswith("import"):
                found.append(
                    (
                        r.per_second >= 10_000,
                        f"{engine}: {r.name} at {r.per_second:,.0f} serials/s (target 10,000)",
                    )
                )
    return found
