"""Receiving 1,000 scanned units through the API: one technician at the dock, as it happens.

A DSCSA shipment of 1,000 serialized bottles (EPCIS 1.2 XML) is imported for the site through the
services; then, against the real server (``rxledger serve``, as ``bench.http`` starts it), a
receiving session is opened, each bottle's GS1 DataMatrix is sent as one scan
(``POST /api/v1/receiving-sessions/{id}/scans``, one after another on a keep-alive connection,
the way a scanner at one workstation sends them), the session is closed (one receipt) and put
away by a shelf label. Reported: scans per second, latency per scan, the close and the
put-away, and the on-hand on the shelf afterwards (it must be every bottle).
"""

from __future__ import annotations

import http.client
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from tests.epcis_builders import NDC11, UNIT_GTIN, dscsa_xml

from bench.databases import Databases
from bench.http import HOST, _Server, _Setup
from bench.network import build_pharmacy
from bench.stats import Latency
from rxledger.adapters.ingest import epcis_xml
from rxledger.domain.clock import SystemClock
from rxledger.domain.model import LocationType
from rxledger.domain.permissions import Grant, Role
from rxledger.services import catalog, identity, imports, queries
from rxledger.services.catalog import NewItem, PackageSpec
from rxledger.services.runtime import Runtime, SecurityPolicy

UNITS = 1_000
PER_BOTTLE = 100
USERNAME = "bench-receiver"


@dataclass(frozen=True)
class ReceivingResult:
    engine: str
    units: int
    scans_seconds: float
    scan: Latency
    close_ms: float
    put_away_ms: float
    on_shelf: int
    verdicts: dict[str, int]

    @property
    def scans_per_second(self) -> float:
        return self.units / self.scans_seconds

    def as_json(self) -> dict[str, Any]:
        return {
            "units": self.units,
            "scans_seconds": self.scans_seconds,
            "scans_per_second": self.scans_per_second,
            "scan_latency_ms": vars(self.scan),
            "close_ms": self.close_ms,
            "put_away_ms": self.put_away_ms,
            "on_shelf": self.on_shelf,
            "verdicts": self.verdicts,
        }


def run(dbs: Databases, engine: str, *, units: int = UNITS) -> ReceivingResult:
    with dbs.engine(engine, "receiving") as db:
        setup, rt, shipment_id, scans = _prepare(db, units)
        with _Server(setup, 1) as server:
            api = _Api(server.port, setup.token)
            session = api.post(
                "/receiving-sessions",
                {
                    "site_id": setup.pharmacy.site.id,
                    "shipment_id": shipment_id,
                },
            )
            seconds: list[float] = []
            verdicts: dict[str, int] = {}
            began = time.perf_counter()
            for scan in scans:
                t0 = time.perf_counter()
                answer = api.post(f"/receiving-sessions/{session['id']}/scans", {"scan": scan})
                seconds.append(time.perf_counter() - t0)
                for line in answer["lines"]:
                    key = line["reason"] or line["disposition"]
                    verdicts[key] = verdicts.get(key, 0) + 1
            scanning = time.perf_counter() - began
            t0 = time.perf_counter()
            api.post(f"/receiving-sessions/{session['id']}/close", {})
            close_ms = (time.perf_counter() - t0) * 1000
            t0 = time.perf_counter()
            api.post(f"/receiving-sessions/{session['id']}/put-away", {"location": "MAIN"})
            put_away_ms = (time.perf_counter() - t0) * 1000
        item = next(i for i in catalog.search_items(rt, setup.pharmacy.actor, "AMOX"))
        shelf = catalog.location_by_code(rt, setup.pharmacy.actor, setup.pharmacy.site.id, "MAIN")
        on_shelf = queries.balance(rt, setup.pharmacy.actor, item_id=item.id, location_id=shelf.id)
    return ReceivingResult(
        engine, units, scanning, Latency.of(seconds), close_ms, put_away_ms, on_shelf, verdicts
    )


def _prepare(db: Engine, units: int) -> tuple[_Setup, Runtime, int, list[str]]:
    secret_key = secrets.token_urlsafe(36)
    rt = Runtime(engine=db, clock=SystemClock(), security=SecurityPolicy(secret_key=secret_key))
    pharmacy = build_pharmacy(rt, 1)
    actor, site = pharmacy.actor, pharmacy.site
    for code, type_ in (("RECV", LocationType.RECEIVING), ("QUAR", LocationType.QUARANTINE)):
        catalog.create_location(rt, actor, site_id=site.id, code=code, name=code, type_=type_)
    catalog.create_item(
        rt,
        actor,
        NewItem(
            sku="AMOX-BENCH",
            name="AMOX bench 500 mg capsule",
            base_unit="capsule",
            ndc10=f"{NDC11[:5]}-{NDC11[5:8]}-{NDC11[9:]}",
            packages=(PackageSpec("bottle", PER_BOTTLE, gtin=UNIT_GTIN),),
        ),
    )
    document = dscsa_xml(units)
    imported = imports.import_shipment(
        rt, actor, "epcis", document, filename="shipment.xml", site_id=site.id
    )
    identity.create_user(
        rt,
        actor,
        username=USERNAME,
        full_name="Bench Receiver",
        password=secrets.token_urlsafe(16),
        grants=(Grant(Role.TECHNICIAN, site.id),),
    )
    technician = identity.user_actor(rt, actor.organization_id, USERNAME)
    token, _ = identity.create_token(rt, technician, "receiving benchmark")
    setup = _Setup(db.url.render_as_string(hide_password=False), secret_key, token, pharmacy)
    return setup, rt, imported.shipment_ids[0], _datamatrix_scans(document)


def _datamatrix_scans(document: bytes) -> list[str]:
    """Each declared bottle's GS1 DataMatrix as a scanner sends it (]d2, GS before the serial)."""
    data = epcis_xml.read_epcis_xml(document)
    return [
        f"]d201{p.gtin}17{p.expiry:%y%m%d}10{p.lot}\x1d21{p.serial}"
        for p in data.packages
        if p.serial is not None and not p.container and p.sscc is None and p.expiry is not None
    ]


class _Api:
    """A keep-alive JSON client with the technician's token."""

    def __init__(self, port: int, token: str) -> None:
        self._connection = http.client.HTTPConnection(HOST, port, timeout=60)
        self._headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def post(self, path: str, body: dict[str, Any]) -> Any:
        self._connection.request("POST", f"/api/v1{path}", json.dumps(body), self._headers)
        response = self._connection.getresponse()
        payload = response.read()
        if response.status >= 300:
            raise RuntimeError(f"POST {path}: {response.status} {payload[:500]!r}")
        return json.loads(payload)


def table_rows(results: dict[str, ReceivingResult]) -> list[str]:
    return [
        f"{engine}: {r.units:,} scanned units through the API in {r.scans_seconds:.1f} s "
        f"({r.scans_per_second:,.0f} scans/s; per scan p50 {r.scan.p50:.1f} ms, p99 "
        f"{r.scan.p99:.1f} ms); close {r.close_ms:,.0f} ms, put-away {r.put_away_ms:,.0f} ms; "
        f"verdicts {r.verdicts}; on the shelf afterwards {r.on_shelf:,} "
        f"({'every bottle' if r.on_shelf == r.units * PER_BOTTLE else 'NOT every bottle'})"
        for engine, r in results.items()
    ]
