"""Reading and writing certificates of analysis, and the lot statuses their results decide."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update

from rxledger.adapters import tables as t
from rxledger.adapters import tables_receiving as r

_c = r.certificates.c
# Everything but the file itself: lists never carry the bytes.
_HEADER: tuple[Any, ...] = (
    _c.id,
    _c.organization_id,
    _c.item_id,
    _c.lot_id,
    _c.filename,
    _c.sha256,
    func.length(_c.content).label("size"),
    _c.laboratory,
    _c.lab_result,
    _c.attached_by,
    _c.attached_at,
    _c.decided_by,
    _c.decided_at,
)


def insert_certificate(conn: Connection, values: Mapping[str, Any]) -> int:
    statement = insert(r.certificates).values(**values).returning(_c.id)
    return int(conn.execute(statement).scalar_one())


def certificate_by_id(conn: Connection, org_id: int, certificate_id: int) -> Row[Any] | None:
    return conn.execute(
        select(*_HEADER).where(_c.organization_id == org_id, _c.id == certificate_id)
    ).first()


def certificate_content(conn: Connection, certificate_id: int) -> bytes:
    content = conn.execute(select(_c.content).where(_c.id == certificate_id)).scalar_one()
    return bytes(content)


def certificate_of_lot_by_hash(conn: Connection, lot_id: int, sha256: str) -> int | None:
    """The certificate of this lot with exactly these bytes, if one was attached before."""
    found = conn.execute(
        select(_c.id).where(_c.lot_id == lot_id, _c.sha256 == sha256).order_by(_c.id).limit(1)
    ).scalar_one_or_none()
    return None if found is None else int(found)


def certificates_of_lots(conn: Connection, org_id: int, lot_ids: Collection[int]) -> list[Row[Any]]:
    """The lots' certificates, oldest first."""
    if not lot_ids:
        return []
    return list(
        conn.execute(
            select(*_HEADER)
            .where(_c.organization_id == org_id, _c.lot_id.in_(sorted(lot_ids)))
            .order_by(_c.lot_id, _c.attached_at, _c.id)
        )
    )


def decide(conn: Connection, certificate_id: int, values: Mapping[str, Any]) -> bool:
    """Record a lab result on a pending certificate; False when it was decided already."""
    result = conn.execute(
        update(r.certificates)
        .where(_c.id == certificate_id, _c.lab_result == "pending")
        .values(**values)
    )
    return result.rowcount == 1


def current_results(conn: Connection, lot_ids: Collection[int]) -> dict[int, str]:
    """Each lot's lab result: that of its certificate decided last (lots without one are absent)."""
    if not lot_ids:
        return {}
    rows = conn.execute(
        select(_c.lot_id, _c.lab_result)
        .where(_c.lot_id.in_(sorted(lot_ids)), _c.lab_result != "pending")
        .order_by(_c.lot_id, _c.decided_at, _c.id)
    )
    return {row.lot_id: row.lab_result for row in rows}  # the last one of each lot wins


def set_lot_status(conn: Connection, lot_id: int, status: str) -> None:
    conn.execute(update(t.lots).where(t.lots.c.id == lot_id).values(status=status))
