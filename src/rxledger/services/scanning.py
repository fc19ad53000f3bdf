"""Scan parsing against the item master: which item and package level a scan names.

A package GTIN is looked up first (one indexed query); an NDC without a known GTIN falls back to
the item's NDC (indexed). The NDC's hyphen layout, which the digits of a GTIN or of a typed NDC do
not carry, is taken from the item master; if the master does not settle it, the scan reports the
NDC as ambiguous with every candidate rather than guessing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, and_, or_, select

from rxledger.adapters import tables as t
from rxledger.domain import errors
from rxledger.domain import scanning as domain
from rxledger.domain.identifiers import Ndc
from rxledger.domain.permissions import Permission
from rxledger.domain.scanning import NdcReading, Scan
from rxledger.services.runtime import Actor, Runtime

AnyRow = Row[*tuple[Any, ...]]
_ITEM_COLUMNS = (
    t.items.c.id,
    t.items.c.sku,
    t.items.c.name,
    t.items.c.strength,
    t.items.c.dosage_form,
    t.items.c.base_unit,
    t.items.c.ndc10,
)


@dataclass(frozen=True, slots=True)
class ScannedItem:
    id: int
    sku: str
    name: str
    strength: str
    dosage_form: str
    base_unit: str
    ndc10: str | None


@dataclass(frozen=True, slots=True)
class ScannedPackage:
    """The package level the scanned GTIN or NDC stands for, with its size in base units."""

    level: str
    base_units: int
    gtin: str | None
    description: str


@dataclass(frozen=True, slots=True)
class ScanResult:
    scan: Scan
    ndc: NdcReading | None = None
    item: ScannedItem | None = None
    package: ScannedPackage | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of ``rxledger scan --json`` and ``POST /api/v1/scans/parse``."""
        scan, ndc = self.scan, self.ndc
        known = ndc.ndc if ndc else None
        return {
            "gtin": scan.gtin,
            "ndc10": ndc.ndc10 if ndc else None,
            "ndc11": ndc.ndc11 if ndc else None,
            "ndc": known.ndc10 if known else None,
            "ndc_layout": known.layout if known else None,
            "ndc_ambiguous": bool(ndc and ndc.ambiguous),
            "ndc_candidates": [c.ndc10 for c in ndc.candidates] if ndc else [],
            "lot": scan.lot,
            "expiry": scan.expiry.isoformat() if scan.expiry else None,
            "serial": scan.serial,
            "sscc": scan.sscc,
            "item": _item_dict(self.item),
            "package": _package_dict(self.package),
            "format": scan.format,
            "symbology": scan.symbology,
            "hri": scan.hri,
            "digital_link": scan.digital_link,
            "epc": scan.epc,
            "elements": [
                {
                    "ai": e.ai,
                    "title": e.title,
                    "value": e.value,
                    "date": e.date.isoformat() if e.date else None,
                }
                for e in scan.elements
            ],
        }


def _item_dict(item: ScannedItem | None) -> dict[str, Any] | None:
    if item is None:
        return None
    return {
        "id": item.id,
        "sku": item.sku,
        "name": item.name,
        "strength": item.strength,
        "dosage_form": item.dosage_form,
        "base_unit": item.base_unit,
        "ndc10": item.ndc10,
    }


def _package_dict(package: ScannedPackage | None) -> dict[str, Any] | None:
    if package is None:
        return None
    return {
        "level": package.level,
        "base_units": package.base_units,
        "gtin": package.gtin,
        "description": package.description,
    }


def parse_scan(rt: Runtime, actor: Actor, text: str) -> ScanResult:
    """Read a scan (two-digit years around the runtime clock's today) and match it to the item
    master; anyone with a role may. An invalid scan raises ``INVALID_SCAN``; an unknown product
    is not an error here, the result just has no item."""
    actor.require_anywhere(Permission.VIEW)
    scan = domain.parse_scan(text, rt.clock.now().date())
    with rt.uow(read_only=True) as uow:
        return match_scan(uow.connection, actor.organization_id, scan)


def require_item(result: ScanResult) -> ScannedItem:
    """The scanned product, for screens that need one: unknown is ``ITEM_NOT_FOUND``, an NDC of
    unknown layout that matches nothing is ``AMBIGUOUS_NDC``."""
    if result.item is not None:
        return result.item
    scan, ndc = result.scan, result.ndc
    if ndc is not None and ndc.ambiguous:
        raise errors.AmbiguousNdc(
            f"the NDC digits fit {', '.join(c.ndc10 for c in ndc.candidates)} and the item "
            "master names none of them; type the NDC with its hyphens",
            candidates=[c.ndc10 for c in ndc.candidates],
        )
    named = scan.gtin or scan.sscc or (ndc.ndc.ndc10 if ndc and ndc.ndc else scan.text)
    raise errors.ItemNotFound(f"no item has GTIN or NDC {named}", query=named)


def match_scan(conn: Connection, org_id: int, scan: Scan) -> ScanResult:
    """The item and package level of a scanned product, and its NDC with the layout resolved."""
    reading = scan.ndc
    gtins = _gtins(scan)
    rows = _packages_by_gtin(conn, org_id, gtins) if gtins else []
    if not rows and reading is not None and _may_match_by_ndc(scan):
        rows = _items_by_ndc(conn, org_id, reading)
    items = {r.id for r in rows}
    if reading is not None:
        reading = domain.resolve_ndc(reading, _known_ndcs(rows))
        if reading.ambiguous and not rows:
            reading = domain.resolve_ndc(reading, _same_product(conn, org_id, reading))
    if len(items) != 1:
        return ScanResult(scan, reading)
    row = rows[0]
    item = ScannedItem(
        row.id, row.sku, row.name, row.strength, row.dosage_form, row.base_unit, row.ndc10
    )
    package = _package(conn, row, reading)
    return ScanResult(scan, reading, item, package)


def _gtins(scan: Scan) -> set[str]:
    if scan.gtin:
        return {scan.gtin}
    if scan.format == "ndc" and scan.ndc is not None:  # an 11-digit NDC of unknown layout
        return {c.to_gtin() for c in scan.ndc.candidates}
    return set()


def _may_match_by_ndc(scan: Scan) -> bool:
    """A typed NDC, or a unit-level GTIN (indicator 0): a case GTIN the master does not list is
    an unknown package, not the unit of the same NDC, so that quantities are never mistaken."""
    return scan.format == "ndc" or (scan.gtin is not None and scan.gtin[0] == "0")


def _packages_by_gtin(conn: Connection, org_id: int, gtins: set[str]) -> list[AnyRow]:
    p = t.item_packages
    statement = (
        select(
            *_ITEM_COLUMNS,
            p.c.level,
            p.c.base_units,
            p.c.gtin,
            p.c.description,
            p.c.ndc10.label("package_ndc10"),
        )
        .join(t.items, t.items.c.id == p.c.item_id)
        .where(p.c.organization_id == org_id, p.c.gtin.in_(sorted(gtins)))
    )
    return list(conn.execute(statement).all())


def _items_by_ndc(conn: Connection, org_id: int, reading: NdcReading) -> list[AnyRow]:
    forms = sorted({c.ndc11 for c in reading.candidates})
    statement = select(*_ITEM_COLUMNS).where(
        t.items.c.organization_id == org_id, t.items.c.ndc11.in_(forms)
    )
    return list(conn.execute(statement).all())


def _known_ndcs(rows: list[AnyRow]) -> list[Ndc]:
    labelled = {r.ndc10 for r in rows} | {getattr(r, "package_ndc10", None) for r in rows}
    return _parsed(labelled)


def _parsed(labelled: set[str | None]) -> list[Ndc]:
    """NDCs as the item master labels them; one it cannot read settles nothing."""
    found = []
    for text in sorted(n for n in labelled if n):
        try:
            found.append(Ndc.parse(text))
        except errors.InvalidIdentifier:
            continue
    return found


def _same_product(conn: Connection, org_id: int, reading: NdcReading) -> list[Ndc]:
    """NDCs on file with a candidate's labeler and product code (another package size): their
    layout is the candidate's. Billing forms share the 9-digit prefix, so the index serves."""
    ranges = [
        and_(t.items.c.ndc11 >= c.ndc11[:9] + "00", t.items.c.ndc11 <= c.ndc11[:9] + "99")
        for c in reading.candidates
    ]
    rows = conn.execute(
        select(t.items.c.ndc10)
        .where(t.items.c.organization_id == org_id, or_(*ranges), t.items.c.ndc10.is_not(None))
        .limit(20)
    ).all()
    return _parsed({r.ndc10 for r in rows})


def _package(conn: Connection, row: AnyRow, reading: NdcReading | None) -> ScannedPackage | None:
    """The matched package; after an NDC match, the package labelled with that NDC, if any."""
    if "level" in row._fields:
        return ScannedPackage(row.level, row.base_units, row.gtin, row.description)
    if reading is None or reading.ndc is None:
        return None
    p = t.item_packages
    found = conn.execute(
        select(p.c.level, p.c.base_units, p.c.gtin, p.c.description).where(
            p.c.item_id == row.id, p.c.ndc10 == reading.ndc.ndc10
        )
    ).first()
    if found is None:
        return None
    return ScannedPackage(found.level, found.base_units, found.gtin, found.description)
