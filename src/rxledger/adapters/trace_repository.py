"""Reading what the network knows of one product identifier (GTIN + serial): the ledger
movements of its package, the shipments that declared it, the receiving lines that scanned it, and
the raw shipment files behind them.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, Row, select

from rxledger.adapters import tables as t
from rxledger.adapters import tables_receiving as r


def serial_movements(conn: Connection, org_id: int, serial_id: int) -> list[Row[Any]]:
    """Every movement of a serialized package with its document and both locations, in the order
    they happened."""
    m, d = t.movements.c, t.documents.c
    source, target = t.locations.alias("source"), t.locations.alias("target")
    return list(
        conn.execute(
            select(
                m.id,
                m.document_id,
                m.quantity,
                m.occurred_at,
                m.reason_code,
                d.doc_type,
                d.site_id,
                d.reference,
                d.posted_by,
                t.sites.c.gln.label("site_gln"),
                source.c.code.label("from_code"),
                source.c.type.label("from_type"),
                target.c.code.label("to_code"),
                target.c.type.label("to_type"),
            )
            .select_from(t.movements)
            .join(t.documents, d.id == m.document_id)
            .join(t.sites, t.sites.c.id == d.site_id)
            .join(source, source.c.id == m.from_location_id)
            .join(target, target.c.id == m.to_location_id)
            .where(m.organization_id == org_id, m.serial_id == serial_id)
            .order_by(m.occurred_at, m.id)
        )
    )


def declared_packages(conn: Connection, org_id: int, gtin: str, serial: str) -> list[Row[Any]]:
    """The shipments whose data declared this product identifier, with their raw file (its
    metadata, not its bytes), newest first."""
    p, s, f = r.shipment_packages.c, r.shipments.c, r.shipment_files.c
    return list(
        conn.execute(
            select(
                p.shipment_id,
                p.package_key,
                p.parent_key,
                p.lot_number,
                p.expiry,
                s.site_id,
                s.format,
                s.reference,
                s.shipped_at,
                s.sender,
                s.receiver,
                s.purchase_order_number,
                s.status,
                s.file_id,
                f.filename,
                f.sha256,
                f.size,
                f.received_at,
                f.received_by,
                f.retain_until,
            )
            .select_from(r.shipment_packages)
            .join(r.shipments, s.id == p.shipment_id)
            .join(r.shipment_files, f.id == s.file_id)
            .where(p.organization_id == org_id, p.gtin == gtin, p.serial == serial)
            .order_by(s.id.desc())
        )
    )


def scanned_lines(conn: Connection, org_id: int, gtin: str, serial: str) -> list[Row[Any]]:
    """The receiving lines that scanned this product identifier, with their session."""
    ln, s = r.receiving_lines.c, r.receiving_sessions.c
    return list(
        conn.execute(
            select(
                ln.id,
                ln.session_id,
                ln.disposition,
                ln.reason,
                ln.scanned_by,
                ln.scanned_at,
                ln.available_at,
                s.site_id,
                s.status.label("session_status"),
                s.shipment_id,
                s.receipt_document_id,
            )
            .select_from(r.receiving_lines)
            .join(r.receiving_sessions, s.id == ln.session_id)
            .where(ln.organization_id == org_id, ln.gtin == gtin, ln.serial == serial)
            .order_by(ln.scanned_at, ln.id)
        )
    )


def investigations_of(conn: Connection, org_id: int, gtin: str, serial: str) -> list[Row[Any]]:
    i = r.investigations.c
    return list(
        conn.execute(
            select(r.investigations)
            .where(i.organization_id == org_id, i.gtin == gtin, i.serial == serial)
            .order_by(i.id)
        )
    )


def shipment(conn: Connection, org_id: int, shipment_id: int) -> Row[Any] | None:
    """A shipment with its raw file's metadata."""
    s, f = r.shipments.c, r.shipment_files.c
    return conn.execute(
        select(
            r.shipments,
            f.filename,
            f.sha256,
            f.size,
            f.format.label("file_format"),
            f.received_at,
            f.received_by,
            f.retain_until,
        )
        .select_from(r.shipments)
        .join(r.shipment_files, f.id == s.file_id)
        .where(s.organization_id == org_id, s.id == shipment_id)
    ).first()


def sessions_of_shipment(conn: Connection, shipment_id: int) -> list[Row[Any]]:
    s = r.receiving_sessions.c
    return list(
        conn.execute(
            select(s.id, s.status, s.receipt_document_id, s.opened_at, s.closed_at)
            .where(s.shipment_id == shipment_id)
            .order_by(s.id)
        )
    )


def file_content(conn: Connection, org_id: int, file_id: int) -> Any:
    f = r.shipment_files.c
    return conn.execute(
        select(f.filename, f.format, f.sha256, f.content).where(
            f.organization_id == org_id, f.id == file_id
        )
    ).first()


def shipments_by_id(conn: Connection, shipment_ids: Collection[int]) -> dict[int, Any]:
    if not shipment_ids:
        return {}
    s = r.shipments.c
    rows = conn.execute(
        select(s.id, s.reference, s.sender, s.receiver, s.purchase_order_number).where(
            s.id.in_(sorted(shipment_ids))
        )
    )
    return {int(row.id): row for row in rows}
