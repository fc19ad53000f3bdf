"""Importing shipment data: the file is kept byte for byte, and normalized into expected lines.

A trading partner's file (EPCIS 1.2 XML or 2.0 JSON, an X12 856 ship notice, a METRC transfer
manifest) is parsed completely before anything is written; a rejected file writes nothing. The raw
bytes are stored with their SHA-256 and retained for at least six years (DSCSA transaction data);
importing the same bytes again finds the first import and creates nothing. ``check=True`` parses
and reports only, so a partner's file can be vetted before it arrives.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Literal

from rxledger.adapters import repository as repo
from rxledger.adapters import shipments_repository as shipments_repo
from rxledger.adapters.ingest import epcis_json, epcis_xml, metrc, x12_856
from rxledger.adapters.ingest.limits import MAX_FILE_BYTES, require_size
from rxledger.domain import errors
from rxledger.domain.identifiers import Ndc, is_ascii_digits, ndc10_candidates, ndc_from_gtin
from rxledger.domain.model import Site
from rxledger.domain.permissions import Permission
from rxledger.domain.shipments import ShipmentData
from rxledger.services.runtime import Actor, Runtime

ImportFormat = Literal["epcis", "asn", "manifest"]
FORMATS: tuple[ImportFormat, ...] = ("epcis", "asn", "manifest")
__all__ = ["FORMATS", "MAX_FILE_BYTES", "ImportResult", "import_shipment", "parse_shipment"]
RETENTION_YEARS = 6  # DSCSA: transaction information and statements are kept six years


@dataclass(frozen=True)
class ImportResult:
    """What an import found and did; ``summary`` carries the counts ``rxledger import`` prints."""

    summary: dict[str, Any]
    sha256: str
    file_id: int | None = None
    shipment_ids: tuple[int, ...] = ()
    duplicate: bool = False
    check: bool = False
    unmatched: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.summary,
            "sha256": self.sha256,
            "file_id": self.file_id,
            "shipment_ids": list(self.shipment_ids),
            "duplicate": self.duplicate,
            "check": self.check,
            "unmatched_products": list(self.unmatched),
        }


def import_shipment(
    rt: Runtime,
    actor: Actor,
    fmt: str,
    content: bytes,
    *,
    filename: str,
    site_id: int | None = None,
    check: bool = False,
) -> ImportResult:
    """Parse a shipment data file; unless ``check``, store it and its expected lines for a site."""
    if site_id is None:
        if not check:
            raise errors.ValidationFailed("an import names the receiving site", field="site")
        actor.require_anywhere(Permission.RECEIVE)
    else:
        actor.require(Permission.RECEIVE, site_id)
    data = parse_shipment(fmt, content)
    sha256 = hashlib.sha256(content).hexdigest()
    with rt.uow(read_only=check) as uow:
        conn = uow.connection
        site = _site(conn, actor, site_id)
        data = _checked_for_site(data, site)
        gtins, ndcs = _match_products(conn, actor.organization_id, data)
        unmatched = _unmatched(data, gtins, ndcs)
        summary = data.summary() | {"shipment_id": data.shipment_id}
        if check:
            return ImportResult(summary, sha256, check=True, unmatched=unmatched)
        existing = shipments_repo.file_by_sha256(conn, actor.organization_id, sha256)
        if existing is not None:
            ids = tuple(s.id for s in shipments_repo.shipments_of_file(conn, existing.id))
            return ImportResult(summary, sha256, existing.id, ids, duplicate=True)
        now = rt.clock.now()
        file_id = shipments_repo.insert_file(
            conn,
            org_id=actor.organization_id,
            site_id=site_id,
            fmt=data.format,
            filename=filename[:255] or "upload",
            sha256=sha256,
            content=content,
            received_by=actor.username,
            received_at=now,
            retain_until=_years_later(now.date(), RETENTION_YEARS),
        )
        shipment_id = shipments_repo.insert_shipment(
            conn,
            org_id=actor.organization_id,
            site_id=site_id,
            file_id=file_id,
            data=data,
            summary=summary,
            items_by_gtin=gtins,
            items_by_ndc=ndcs,
        )
        uow.commit()
    return ImportResult(summary, sha256, file_id, (shipment_id,), unmatched=unmatched)


def parse_shipment(fmt: str, content: bytes) -> ShipmentData:
    """Read a file in the named format; EPCIS is XML (1.2) or JSON (2.0) by its first character."""
    require_size(content)
    reader = _READERS.get(fmt)
    if reader is None:
        raise errors.ValidationFailed(
            f"{fmt!r} is not an import format; use one of {', '.join(FORMATS)}", field="format"
        )
    return reader(content)


def _read_epcis(content: bytes) -> ShipmentData:
    start = content.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if start == b"<":
        return epcis_xml.read_epcis_xml(content)
    if start in (b"{", b"["):
        return epcis_json.read_epcis_json(content)
    raise errors.ShipmentDataRejected(
        "an EPCIS file is XML (EPCIS 1.2) or JSON (EPCIS 2.0); this is neither"
    )


_READERS: dict[str, Callable[[bytes], ShipmentData]] = {
    "epcis": _read_epcis,
    "asn": x12_856.read_856,
    "manifest": metrc.read_manifest,
}


def _site(conn: Any, actor: Actor, site_id: int | None) -> Site | None:
    if site_id is None:
        return None
    site = repo.site_by_id(conn, actor.organization_id, site_id)
    if site is None:
        raise errors.SiteNotFound(f"no site {site_id}", site_id=site_id)
    return site


def _checked_for_site(data: ShipmentData, site: Site | None) -> ShipmentData:
    """A METRC manifest must be addressed to the site's licence; other formats warn on a GLN
    that is not the site's (a network may receive at several GLNs)."""
    if site is None:
        return data
    if data.format == "metrc-manifest":
        licence = (site.state_license or "").strip()
        if not licence:
            raise errors.ShipmentDataRejected(
                f"site {site.code} has no state licence: it cannot receive a METRC manifest"
            )
        receiver = data.receiver.id if data.receiver else None
        if receiver != licence:
            raise errors.ShipmentDataRejected(
                f"the manifest is addressed to licence {receiver!r}, not to {site.code}'s "
                f"licence {licence!r}",
                receiver=receiver,
                site_licence=licence,
            )
        if data.sender is not None and data.sender.id == licence:
            warning = f"the shipper's licence {licence} is the receiving site's own"
            return replace(data, warnings=(*data.warnings, warning))
        return data
    addressed = [p.id for p in (data.receiver, data.ship_to) if p is not None and p.scheme == "gln"]
    if site.gln and addressed and site.gln not in addressed:
        warning = f"addressed to GLN {', '.join(addressed)}; site {site.code} is {site.gln}"
        return replace(data, warnings=(*data.warnings, warning))
    return data


def _match_products(
    conn: Any, org_id: int, data: ShipmentData
) -> tuple[dict[str, int], dict[str, int]]:
    """Items by the GTINs and by the NDCs (as the sender wrote them) the file names."""
    gtins = {g for g in _gtins(data) if g}
    by_gtin = shipments_repo.items_by_gtin(conn, org_id, gtins)
    wanted: dict[str, set[str]] = {}
    for ndc in {line.ndc for line in data.lines if line.ndc} | {
        p.ndc for p in data.products if p.ndc
    }:
        wanted[ndc] = _ndc11_forms(ndc)
    for gtin in gtins - set(by_gtin):
        inner = ndc_from_gtin(gtin)
        if inner:
            wanted[gtin] = _ndc11_forms(inner)
    found = shipments_repo.items_by_ndc11(conn, org_id, set().union(*wanted.values()))
    by_ndc: dict[str, int] = {}
    for given, forms in wanted.items():
        ids = {i for form in forms for i in found.get(form, [])}
        if len(ids) == 1:
            target = by_gtin if given in gtins else by_ndc
            target[given] = ids.pop()
    return by_gtin, by_ndc


def _gtins(data: ShipmentData) -> Iterable[str | None]:
    yield from (line.gtin for line in data.lines)
    yield from (p.gtin for p in data.packages)
    yield from (p.gtin for p in data.products)


def _ndc11_forms(ndc: str) -> set[str]:
    """Every 11-digit billing form an NDC as written could be (one, unless ambiguous)."""
    text = ndc.strip()
    digits = text.replace("-", "")
    if not is_ascii_digits(digits):
        return set()
    try:
        if "-" in text:
            return {Ndc.parse(text).ndc11}
        if len(digits) == 11:
            return {digits}
        if len(digits) == 10:
            return {n.ndc11 for n in ndc10_candidates(digits)}
    except errors.InvalidIdentifier:
        return set()
    return set()


def _unmatched(data: ShipmentData, gtins: dict[str, int], ndcs: dict[str, int]) -> tuple[str, ...]:
    missing = {
        line.gtin or line.ndc or ""
        for line in data.lines
        if not (gtins.get(line.gtin or "") or ndcs.get(line.ndc or ""))
    }
    return tuple(sorted(m for m in missing if m))


def _years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)
