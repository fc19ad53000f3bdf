"""Reading and writing shipment files, shipments, their expected lines and packages."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Row, Select, and_, insert, or_, select

from rxledger.adapters import tables as t
from rxledger.adapters import tables_receiving as r
from rxledger.domain.shipments import ShipmentData


def file_by_sha256(conn: Connection, org_id: int, sha256: str) -> Any:
    return conn.execute(
        select(r.shipment_files.c.id, r.shipment_files.c.filename).where(
            r.shipment_files.c.organization_id == org_id, r.shipment_files.c.sha256 == sha256
        )
    ).first()


def shipments_of_file(conn: Connection, file_id: int) -> list[Row[Any]]:
    return list(
        conn.execute(
            select(r.shipments).where(r.shipments.c.file_id == file_id).order_by(r.shipments.c.id)
        )
    )


def insert_file(
    conn: Connection,
    *,
    org_id: int,
    site_id: int | None,
    fmt: str,
    filename: str,
    sha256: str,
    content: bytes,
    received_by: str,
    received_at: datetime,
    retain_until: date,
) -> int:
    return int(
        conn.execute(
            insert(r.shipment_files)
            .values(
                organization_id=org_id,
                site_id=site_id,
                format=fmt,
                filename=filename,
                sha256=sha256,
                size=len(content),
                content=content,
                received_by=received_by,
                received_at=received_at,
                retain_until=retain_until,
            )
            .returning(r.shipment_files.c.id)
        ).scalar_one()
    )


def insert_shipment(
    conn: Connection,
    *,
    org_id: int,
    site_id: int | None,
    file_id: int,
    data: ShipmentData,
    summary: Mapping[str, Any],
    items_by_gtin: Mapping[str, int],
    items_by_ndc: Mapping[str, int],
) -> int:
    """Store one normalized shipment with its lines and packages, each matched to an item."""
    po = next((tx.id for tx in data.transactions if tx.type == "po"), None)
    shipment_id = int(
        conn.execute(
            insert(r.shipments)
            .values(
                organization_id=org_id,
                site_id=site_id,
                file_id=file_id,
                format=data.format,
                reference=data.shipment_id,
                shipped_at=data.shipped_at,
                sender=data.sender.id if data.sender else None,
                receiver=data.receiver.id if data.receiver else None,
                purchase_order_number=po,
                status="expected",
                summary=json.dumps(summary, default=str),
            )
            .returning(r.shipments.c.id)
        ).scalar_one()
    )
    if data.lines:
        conn.execute(
            insert(r.shipment_lines),
            [
                {
                    "organization_id": org_id,
                    "shipment_id": shipment_id,
                    "line_no": line.line_no,
                    "gtin": line.gtin,
                    "ndc": line.ndc,
                    "item_id": (
                        items_by_gtin.get(line.gtin or "") or items_by_ndc.get(line.ndc or "")
                    ),
                    "lot_number": line.lot,
                    "expiry": line.expiry,
                    "quantity": line.quantity,
                    "unit": line.unit,
                    "description": (line.description or "")[:300] or None,
                    "purchase_order_number": line.purchase_order,
                    "reference": line.reference,
                }
                for line in data.lines
            ],
        )
    if data.packages:
        conn.execute(
            insert(r.shipment_packages),
            [
                {
                    "organization_id": org_id,
                    "shipment_id": shipment_id,
                    "package_key": p.key,
                    "gtin": p.gtin,
                    "serial": p.serial,
                    "sscc": p.sscc,
                    "lot_number": p.lot,
                    "expiry": p.expiry,
                    "parent_key": p.parent,
                    "item_id": items_by_gtin.get(p.gtin or ""),
                }
                for p in data.packages
            ],
        )
    return shipment_id


def items_by_gtin(conn: Connection, org_id: int, gtins: Collection[str]) -> dict[str, int]:
    """The item of each GTIN the item master knows, at any package level."""
    if not gtins:
        return {}
    rows = conn.execute(
        select(t.item_packages.c.gtin, t.item_packages.c.item_id).where(
            t.item_packages.c.organization_id == org_id, t.item_packages.c.gtin.in_(sorted(gtins))
        )
    )
    return {row.gtin: row.item_id for row in rows}


def items_by_ndc11(conn: Connection, org_id: int, ndc11s: Collection[str]) -> dict[str, list[int]]:
    if not ndc11s:
        return {}
    rows = conn.execute(
        select(t.items.c.ndc11, t.items.c.id).where(
            t.items.c.organization_id == org_id, t.items.c.ndc11.in_(sorted(ndc11s))
        )
    )
    found: dict[str, list[int]] = {}
    for row in rows:
        found.setdefault(row.ndc11, []).append(row.id)
    return found


def packages_by_identifier(
    conn: Connection, org_id: int, keys: Sequence[tuple[str, str]]
) -> list[Row[Any]]:
    """Declared packages by (GTIN, serial), newest shipment first."""
    if not keys:
        return []
    p = r.shipment_packages.c
    return list(
        conn.execute(
            select(r.shipment_packages)
            .where(
                p.organization_id == org_id,
                or_(*[and_(p.gtin == gtin, p.serial == serial) for gtin, serial in keys]),
            )
            .order_by(p.shipment_id.desc())
        )
    )


def shipments_of_site(
    conn: Connection,
    org_id: int,
    site_id: int,
    *,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Row[Any]]:
    """A site's imported shipments with their file's name and import time, newest first."""
    s = r.shipments.c
    statement = _shipment_summaries(org_id).where(s.site_id == site_id)
    if status is not None:
        statement = statement.where(s.status == status)
    return list(conn.execute(statement.order_by(s.id.desc()).limit(limit).offset(offset)))


def shipment_summary(conn: Connection, org_id: int, shipment_id: int) -> Row[Any] | None:
    """One shipment as ``shipments_of_site`` lists it."""
    return conn.execute(_shipment_summaries(org_id).where(r.shipments.c.id == shipment_id)).first()


def _shipment_summaries(org_id: int) -> Select[Any]:
    s, f = r.shipments.c, r.shipment_files.c
    return (
        select(
            s.id,
            s.site_id,
            s.format,
            s.reference,
            s.sender,
            s.receiver,
            s.purchase_order_number,
            s.shipped_at,
            s.status,
            s.summary,
            f.filename,
            f.received_at,
            f.received_by,
        )
        .join_from(r.shipments, r.shipment_files, f.id == s.file_id)
        .where(s.organization_id == org_id)
    )
