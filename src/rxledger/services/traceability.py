"""DSCSA traceability: transaction information per product identifier and per shipment, and a
product's trace as an EPCIS 2.0 document.

Transaction information is what the sender's shipment data said (kept raw, with its SHA-256, for
six years) and what receiving did with the package; the trace is what the ledger did with it
afterwards — receipt, moves, dispense or destruction — read from the movements of its serial.
Everything shown belongs to sites the actor may view; an identifier the actor sees nothing of is
not found.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection

from rxledger.adapters import receiving_repository as rr
from rxledger.adapters import repository as repo
from rxledger.adapters import trace_repository as tr
from rxledger.adapters.ingest.epcis_export import (
    TraceEvent,
    build_epcis_document,
    location_uri,
    party_uri,
    sgtin_uri,
)
from rxledger.domain import errors
from rxledger.domain.identifiers import normalize_gtin
from rxledger.domain.model import DocumentType, LocationType
from rxledger.domain.permissions import Permission
from rxledger.domain.trace import Action, describe_movement
from rxledger.services.runtime import Actor, Runtime


@dataclass(frozen=True, slots=True)
class ShipmentFile:
    """The raw file as it arrived: never edited, retained at least six years."""

    id: int
    filename: str
    format: str
    sha256: str
    size: int
    received_by: str
    received_at: datetime
    retain_until: date


@dataclass(frozen=True, slots=True)
class DeclaredIn:
    """One shipment whose transaction information lists the product identifier."""

    shipment_id: int
    site_id: int | None
    format: str
    reference: str | None
    sender: str | None
    receiver: str | None
    shipped_at: datetime | None
    purchase_order_number: str | None
    status: str
    lot_number: str | None
    expiry: date | None
    package_key: str
    parent_key: str | None
    file: ShipmentFile


@dataclass(frozen=True, slots=True)
class ScannedIn:
    """One receiving session that scanned the package, and the receipt that posted it."""

    session_id: int
    site_id: int
    session_status: str
    shipment_id: int | None
    receipt_document_id: int | None
    disposition: str
    reason: str | None
    scanned_by: str
    scanned_at: datetime
    available_at: datetime | None


@dataclass(frozen=True, slots=True)
class TransactionInformation:
    gtin: str
    serial: str
    item_id: int | None
    item_name: str | None
    lot_number: str | None
    expiry: date | None
    in_stock_at: int | None  # the location holding the package now; None once it left
    declared_in: tuple[DeclaredIn, ...]
    scanned_in: tuple[ScannedIn, ...]
    investigations: tuple[dict[str, Any], ...]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ShipmentView:
    id: int
    site_id: int | None
    format: str
    reference: str | None
    shipped_at: datetime | None
    sender: str | None
    receiver: str | None
    purchase_order_number: str | None
    status: str
    summary: dict[str, Any]
    file: ShipmentFile
    lines: tuple[dict[str, Any], ...]
    packages: tuple[dict[str, Any], ...]
    sessions: tuple[dict[str, Any], ...]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class RawFile:
    filename: str
    format: str
    sha256: str
    content: bytes


@dataclass(frozen=True, slots=True)
class TraceStep:
    """One movement of the package, in the ledger's words and in EPCIS's."""

    document_id: int
    doc_type: str
    site_id: int
    occurred_at: datetime
    reference: str | None
    from_code: str
    from_type: str
    to_code: str
    to_type: str
    biz_step: str
    disposition: str | None
    action: Action


@dataclass(frozen=True)
class Trace:
    gtin: str
    serial: str
    steps: tuple[TraceStep, ...]
    epcis: dict[str, Any]


# --- per product identifier ---------------------------------------------------------------------


def transaction_information(
    rt: Runtime, actor: Actor, gtin: str, serial: str
) -> TransactionInformation:
    """What the sender declared for a product identifier, and how it was received."""
    key = normalize_gtin(gtin)
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        org = actor.organization_id
        declared = [
            _declared(r) for r in tr.declared_packages(conn, org, key, serial) if _sees(actor, r)
        ]
        scanned = [_scanned(r) for r in tr.scanned_lines(conn, org, key, serial) if _sees(actor, r)]
        cases = [
            {"id": i.id, "status": i.status, "opened_at": i.opened_at, "site_id": i.site_id}
            for i in tr.investigations_of(conn, org, key, serial)
            if _sees(actor, i)
        ]
        if not (declared or scanned or cases or _in_ledger(conn, actor, key, serial)):
            raise _unknown(key, serial)
        return _information(conn, actor, key, serial, declared, scanned, cases)


def _in_ledger(conn: Connection, actor: Actor, gtin: str, serial: str) -> bool:
    """A package posted without shipment data (a plain receipt) is known by its movements."""
    package = repo.serial_by_key(conn, actor.organization_id, gtin, serial)
    if package is None:
        return False
    rows = tr.serial_movements(conn, actor.organization_id, package.id)
    return any(actor.can(Permission.VIEW, r.site_id) for r in rows)


def _information(
    conn: Connection,
    actor: Actor,
    gtin: str,
    serial: str,
    declared: Sequence[DeclaredIn],
    scanned: Sequence[ScannedIn],
    cases: Sequence[dict[str, Any]],
) -> TransactionInformation:
    package = repo.serial_by_key(conn, actor.organization_id, gtin, serial)
    item = lot = None
    if package is not None:
        item = repo.items_by_id(conn, actor.organization_id, [package.item_id]).get(package.item_id)
        lot = repo.lots_by_id(conn, actor.organization_id, [package.lot_id]).get(package.lot_id)
    first = declared[0] if declared else None
    return TransactionInformation(
        gtin=gtin,
        serial=serial,
        item_id=item.id if item else None,
        item_name=item.name if item else None,
        lot_number=lot.lot_number if lot else (first.lot_number if first else None),
        expiry=lot.expiry if lot else (first.expiry if first else None),
        in_stock_at=package.location_id if package else None,
        declared_in=tuple(declared),
        scanned_in=tuple(scanned),
        investigations=tuple(cases),
    )


# --- per shipment -------------------------------------------------------------------------------


def shipment(rt: Runtime, actor: Actor, shipment_id: int) -> ShipmentView:
    """A shipment's transaction information: its lines, declared packages, raw file, and the
    receiving sessions that received it."""
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        row = _shipment_row(conn, actor, shipment_id)
        lines = tuple(_plain(r, _LINE_FIELDS) for r in rr.shipment_lines(conn, row.id))
        packages = tuple(
            _plain(r, _PACKAGE_FIELDS)
            for r in sorted(rr.shipment_packages(conn, row.id), key=lambda p: p.id)
        )
        sessions = tuple(dict(r._mapping) for r in tr.sessions_of_shipment(conn, row.id))
    return ShipmentView(
        id=row.id,
        site_id=row.site_id,
        format=row.format,
        reference=row.reference,
        shipped_at=row.shipped_at,
        sender=row.sender,
        receiver=row.receiver,
        purchase_order_number=row.purchase_order_number,
        status=row.status,
        summary=_summary(row.summary),
        file=_file(row, row.file_format),
        lines=lines,
        packages=packages,
        sessions=sessions,
    )


def shipment_file(rt: Runtime, actor: Actor, shipment_id: int) -> RawFile:
    """The shipment's file byte for byte, as the trading partner sent it."""
    with rt.uow(read_only=True) as uow:
        row = _shipment_row(uow.connection, actor, shipment_id)
        raw = tr.file_content(uow.connection, actor.organization_id, row.file_id)
    return RawFile(raw.filename, raw.format, raw.sha256, bytes(raw.content))


_LINE_FIELDS = (
    "line_no",
    "gtin",
    "ndc",
    "item_id",
    "lot_number",
    "expiry",
    "quantity",
    "unit",
    "description",
    "purchase_order_number",
    "reference",
)
_PACKAGE_FIELDS = (
    "package_key",
    "gtin",
    "serial",
    "sscc",
    "lot_number",
    "expiry",
    "parent_key",
    "item_id",
)


# --- the trace ----------------------------------------------------------------------------------


def trace(rt: Runtime, actor: Actor, gtin: str, serial: str) -> Trace:
    """A product identifier's trace: every ledger movement of its package at the sites the actor
    sees, as EPCIS 2.0 ObjectEvents in one document that validates against the schema."""
    key = normalize_gtin(gtin)
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        package = repo.serial_by_key(conn, actor.organization_id, key, serial)
        if package is None:
            raise _unknown(key, serial)
        rows = [
            r
            for r in tr.serial_movements(conn, actor.organization_id, package.id)
            if actor.can(Permission.VIEW, r.site_id)
        ]
        if not rows:
            raise _unknown(key, serial)
        partners = _receipt_partners(conn, actor, key, serial)
    steps = tuple(_step(r) for r in rows)
    events = [_event(key, serial, r, s, partners) for r, s in zip(rows, steps, strict=True)]
    return Trace(key, serial, steps, build_epcis_document(events, created_at=rt.clock.now()))


@dataclass(frozen=True, slots=True)
class _Partners:
    """Who sent a receipt, and the business transactions it answers (per receipt document)."""

    sender: str | None
    transactions: tuple[tuple[str, str], ...]


def _receipt_partners(
    conn: Connection, actor: Actor, gtin: str, serial: str
) -> dict[int, _Partners]:
    lines = tr.scanned_lines(conn, actor.organization_id, gtin, serial)
    shipments = tr.shipments_by_id(conn, {r.shipment_id for r in lines if r.shipment_id})
    found: dict[int, _Partners] = {}
    for line in lines:
        if line.receipt_document_id is None or line.shipment_id not in shipments:
            continue
        s = shipments[line.shipment_id]
        sender = s.sender if _is_gln(s.sender) else None
        found[line.receipt_document_id] = _Partners(sender, _transactions(s, sender))
    return found


def _transactions(shipment_row: Any, sender: str | None) -> tuple[tuple[str, str], ...]:
    """The despatch advice (the sender's) and the purchase order (the receiver's), as CBV
    business transaction identifiers."""
    found: list[tuple[str, str]] = []
    owner = shipment_row.receiver if _is_gln(shipment_row.receiver) else None
    if sender and shipment_row.reference:
        found.append(("desadv", _bt(sender, shipment_row.reference)))
    if owner and shipment_row.purchase_order_number:
        found.append(("po", _bt(owner, shipment_row.purchase_order_number)))
    return tuple(found)


def _bt(gln: str, number: str) -> str:
    return f"urn:epcglobal:cbv:bt:{gln}:{quote(number, safe='')}"


def _step(row: Any) -> TraceStep:
    cbv = describe_movement(
        DocumentType(row.doc_type), LocationType(row.from_type), LocationType(row.to_type)
    )
    return TraceStep(
        document_id=row.document_id,
        doc_type=row.doc_type,
        site_id=row.site_id,
        occurred_at=row.occurred_at,
        reference=row.reference,
        from_code=row.from_code,
        from_type=row.from_type,
        to_code=row.to_code,
        to_type=row.to_type,
        biz_step=cbv.biz_step,
        disposition=cbv.disposition,
        action=cbv.action,
    )


def _event(
    gtin: str, serial: str, row: Any, step: TraceStep, partners: dict[int, _Partners]
) -> TraceEvent:
    where = _place(row)
    receipt = partners.get(row.document_id) if row.from_type == LocationType.SUPPLIER else None
    site = party_uri(row.site_gln) if _is_gln(row.site_gln) else None
    sender = party_uri(receipt.sender) if receipt and receipt.sender else None
    return TraceEvent(
        event_time=step.occurred_at,
        biz_step=step.biz_step,
        disposition=step.disposition,
        epcs=(sgtin_uri(gtin, serial),),
        action=step.action,
        read_point=where,
        biz_location=where,
        biz_transactions=receipt.transactions if receipt else (),
        sources=(("owning_party", sender),) if sender else (),
        destinations=(("owning_party", site),) if receipt and site else (),
    )


def _place(row: Any) -> str | None:
    """The physical location of the event (a sub-location of the site's GLN, AI 254)."""
    if not _is_gln(row.site_gln):
        return None
    virtual = {t.value for t in LocationType if t.is_virtual}
    code = row.to_code if row.to_type not in virtual else row.from_code
    return f"{location_uri(row.site_gln)}/254/{quote(code, safe='')}"


# --- helpers ------------------------------------------------------------------------------------


def _sees(actor: Actor, row: Any) -> bool:
    if row.site_id is None:
        return actor.sees_all_sites
    return actor.can(Permission.VIEW, row.site_id)


def _unknown(gtin: str, serial: str) -> errors.SerialNotFound:
    return errors.SerialNotFound(
        f"nothing is known of serial {serial} of GTIN {gtin}", gtin=gtin, serial=serial
    )


def _is_gln(value: str | None) -> bool:
    return value is not None and len(value) == 13 and value.isascii() and value.isdigit()


def _shipment_row(conn: Connection, actor: Actor, shipment_id: int) -> Any:
    row = tr.shipment(conn, actor.organization_id, shipment_id)
    if row is None:
        raise errors.ShipmentNotFound(f"no shipment {shipment_id}", shipment_id=shipment_id)
    if row.site_id is None:
        actor.require_anywhere(Permission.RECEIVE)
    else:
        actor.require(Permission.VIEW, row.site_id)
    return row


def _file(row: Any, fmt: str) -> ShipmentFile:
    return ShipmentFile(
        id=row.file_id,
        filename=row.filename,
        format=fmt,
        sha256=row.sha256,
        size=row.size,
        received_by=row.received_by,
        received_at=row.received_at,
        retain_until=row.retain_until,
    )


def _declared(row: Any) -> DeclaredIn:
    return DeclaredIn(
        shipment_id=row.shipment_id,
        site_id=row.site_id,
        format=row.format,
        reference=row.reference,
        sender=row.sender,
        receiver=row.receiver,
        shipped_at=row.shipped_at,
        purchase_order_number=row.purchase_order_number,
        status=row.status,
        lot_number=row.lot_number,
        expiry=row.expiry,
        package_key=row.package_key,
        parent_key=row.parent_key,
        file=_file(row, row.format),
    )


def _scanned(row: Any) -> ScannedIn:
    return ScannedIn(
        session_id=row.session_id,
        site_id=row.site_id,
        session_status=row.session_status,
        shipment_id=row.shipment_id,
        receipt_document_id=row.receipt_document_id,
        disposition=row.disposition,
        reason=row.reason,
        scanned_by=row.scanned_by,
        scanned_at=row.scanned_at,
        available_at=row.available_at,
    )


def _plain(row: Any, fields: Sequence[str]) -> dict[str, Any]:
    return {name: getattr(row, name) for name in fields}


def _summary(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
