"""The read side of quarantine: discrepancies and DSCSA investigations as views, and what each
discrepancy holds in the quarantine location.

A discrepancy holds stock when its receiving session has posted and it put something into
quarantine: a refused package of a known product (its line's quantity), or the units counted above
the shipment's data that the receipt split off into quarantine (``services.receiving`` splits the
excess of non-serialized lines only).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection

from rxledger.adapters import investigations_repository as ir
from rxledger.adapters import repository as repo
from rxledger.domain.receiving import Reason

POSTED = "posted"


@dataclass(frozen=True, slots=True)
class DiscrepancyView:
    id: int
    site_id: int
    session_id: int | None
    line_id: int | None
    reason: str
    details: str
    summary: str  # the details in words
    status: str
    opened_by: str
    opened_at: datetime
    resolved_by: str | None
    resolved_at: datetime | None
    resolution: dict[str, Any] | None
    item_id: int | None
    item_name: str | None
    gtin: str | None
    lot_number: str | None
    expiry: date | None
    serial: str | None
    quantity: int | None
    held: int  # base units this discrepancy holds in quarantine now (0 once resolved)
    session_status: str | None
    receipt_document_id: int | None
    shipment_id: int | None
    investigation_id: int | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class NoteView:
    id: int
    written_by: str
    written_at: datetime
    note: str


@dataclass(frozen=True, slots=True)
class InvestigationView:
    id: int
    site_id: int
    kind: str
    gtin: str | None
    serial: str | None
    lot_number: str | None
    item_id: int | None
    item_name: str | None
    discrepancy_id: int | None
    status: str
    opened_by: str
    opened_at: datetime
    closed_by: str | None
    closed_at: datetime | None
    outcome: dict[str, Any] | None
    notification_reference: str | None
    notified_at: datetime | None
    notes: tuple[NoteView, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Mismatch:
    """A count discrepancy's details: per (item, lot), expected against accepted base units."""

    item_id: int
    lot: str | None
    expected: int
    received: int


def record(text: str | None) -> dict[str, Any] | None:
    """A stored resolution or outcome (JSON written by this service; older text kept as is)."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return {"text": text}
    return value if isinstance(value, dict) else {"text": text}


def mismatch(row: Any) -> Mismatch | None:
    if row.reason != Reason.COUNT_MISMATCH.value or row.line_id is not None:
        return None
    data = record(row.details) or {}
    try:
        return Mismatch(
            int(data["item_id"]), data.get("lot"), int(data["expected"]), int(data["received"])
        )
    except (KeyError, TypeError, ValueError):
        return None


def held(row: Any, session_lines: Sequence[Any]) -> int:
    """What the discrepancy holds in quarantine (see the module's docstring)."""
    if row.status != "open" or row.session_status != POSTED:
        return 0
    if row.line_id is not None:
        return int(row.quantity) if row.item_id is not None else 0
    count = mismatch(row)
    if count is None or count.received <= count.expected:
        return 0
    split = any(
        ln.disposition == "accept"
        and ln.serial is None
        and ln.item_id == count.item_id
        and ln.lot_number == count.lot
        for ln in session_lines
    )
    return count.received - count.expected if split else 0


def discrepancy_views(conn: Connection, org_id: int, rows: Iterable[Any]) -> list[DiscrepancyView]:
    """Views of discrepancy rows: one read of their investigations, of the sessions' lines that
    count mismatches need, and of the names of the items those name."""
    rows = list(rows)
    investigations = ir.investigations_of_discrepancies(conn, [r.id for r in rows])
    lines: dict[int, list[Any]] = {}
    counted: set[int] = set()
    for r in rows:
        count = mismatch(r)
        if count is None or r.session_id is None:
            continue
        counted.add(count.item_id)
        if r.session_id not in lines:
            lines[r.session_id] = ir.session_lines(conn, r.session_id)
    names = {i.id: i.name for i in repo.items_by_id(conn, org_id, counted).values()}
    return [
        discrepancy_view(r, lines.get(r.session_id or 0, []), investigations.get(r.id), names)
        for r in rows
    ]


def discrepancy_view(
    row: Any,
    session_lines: Sequence[Any],
    investigation_id: int | None,
    names: Mapping[int, str] | None = None,
) -> DiscrepancyView:
    count = mismatch(row)
    return DiscrepancyView(
        id=row.id,
        site_id=row.site_id,
        session_id=row.session_id,
        line_id=row.line_id,
        reason=row.reason,
        details=row.details,
        summary=(
            f"the shipment's data lists {count.expected:,} base units; {count.received:,} accepted"
            if count
            else row.details
        ),
        status=row.status,
        opened_by=row.opened_by,
        opened_at=row.opened_at,
        resolved_by=row.resolved_by,
        resolved_at=row.resolved_at,
        resolution=record(row.resolution),
        item_id=count.item_id if count else row.item_id,
        item_name=(names or {}).get(count.item_id) if count else row.item_name,
        gtin=row.gtin,
        lot_number=count.lot if count else row.lot_number,
        expiry=row.expiry,
        serial=row.serial,
        quantity=abs(count.received - count.expected) if count else row.quantity,
        held=held(row, session_lines),
        session_status=row.session_status,
        receipt_document_id=row.receipt_document_id,
        shipment_id=row.shipment_id,
        investigation_id=investigation_id,
    )


def investigation_view(row: Any, notes: Sequence[Any] = ()) -> InvestigationView:
    return InvestigationView(
        id=row.id,
        site_id=row.site_id,
        kind=row.kind,
        gtin=row.gtin,
        serial=row.serial,
        lot_number=row.lot_number,
        item_id=row.item_id,
        item_name=row.item_name,
        discrepancy_id=row.discrepancy_id,
        status=row.status,
        opened_by=row.opened_by,
        opened_at=row.opened_at,
        closed_by=row.closed_by,
        closed_at=row.closed_at,
        outcome=record(row.outcome),
        notification_reference=row.notification_reference,
        notified_at=row.notified_at,
        notes=tuple(NoteView(n.id, n.written_by, n.written_at, n.note) for n in notes),
    )
