"""What the receiving screens show: a session's lines and expected lines with the names, units and
pack sizes of their products, newest scan first, and the totals a close will post."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from rxledger.domain import errors
from rxledger.domain.model import Item
from rxledger.entrypoints.web.session import WebContext
from rxledger.services import catalog
from rxledger.services.receiving import ExpectedLine, ReceivingLine, ReceivingSession

MAX_SCAN_FIELD = 8192  # the parser refuses more than 4,096 characters with its own message
REASONS = {
    "unknown_gtin": "Unknown GTIN",
    "expired": "Expired",
    "short_dated": "Short-dated",
    "not_in_shipment": "Not in the shipment's data",
    "count_mismatch": "Count mismatch",
    "damaged": "Damaged",
    "missing_transaction_data": "No transaction data",
}


@dataclass(frozen=True, slots=True)
class LineRow:
    line: ReceivingLine
    item_name: str
    base_unit: str
    pack: str  # the scanned package level, e.g. "bottle of 100"
    reason: str
    available_after: str

    @property
    def count_editable(self) -> bool:
        """A line's count can be confirmed in packages; a serialized package is always one."""
        return self.line.serial is None and self.line.item_id is not None


@dataclass(frozen=True, slots=True)
class ExpectedRow:
    line: ExpectedLine
    item_name: str
    base_unit: str
    state: str  # complete | short | over

    @property
    def excess(self) -> int:
        return max(self.line.received - self.line.expected, 0)


@dataclass(frozen=True, slots=True)
class SessionView:
    session: ReceivingSession
    lines: tuple[LineRow, ...]  # newest scan first
    expected: tuple[ExpectedRow, ...]
    discrepancies: tuple[dict[str, str], ...]

    @property
    def accepted_units(self) -> int:
        return sum(r.line.quantity for r in self.lines if r.line.disposition == "accept")

    @property
    def quarantined_units(self) -> int:
        return sum(r.line.quantity for r in self.lines if r.line.disposition != "accept")

    @property
    def to_put_away(self) -> int:
        """Accepted lines of a posted session still on the dock."""
        if self.session.status != "posted":
            return 0
        return sum(
            1
            for r in self.lines
            if r.line.disposition == "accept" and r.line.item_id and r.line.available_at is None
        )


@dataclass(frozen=True, slots=True)
class CloseSummary:
    """What closing posts: accepted units to the dock, held ones to quarantine, and what the
    shipment's data lists that was not (or more than) accepted."""

    accepted: int
    quarantined: int
    unknown: int  # lines of products not in the item master: recorded, never stocked
    short: tuple[ExpectedRow, ...]
    over: tuple[ExpectedRow, ...]


def scan_text(value: object) -> str:
    """The scan as typed: only spaces and line ends are trimmed, never a GS (U+001D), which
    Python's ``str.strip`` would take for white space."""
    text = value if isinstance(value, str) else ""
    if len(text) > MAX_SCAN_FIELD:
        raise errors.InvalidScan(f"the scan is longer than {MAX_SCAN_FIELD} characters")
    return text.strip(" \t\r\n")


def session_view(ctx: WebContext, session: ReceivingSession) -> SessionView:
    """The session with its products' names, units and pack sizes."""
    items = _items(
        ctx, [ln.item_id for ln in session.lines] + [e.item_id for e in session.expected]
    )
    lines = tuple(_line_row(ln, items.get(ln.item_id or 0)) for ln in reversed(session.lines))
    expected = tuple(_expected_row(e, items.get(e.item_id or 0)) for e in session.expected)
    found = tuple(
        {"reason": REASONS.get(str(d["reason"]), str(d["reason"])), **_described(d)}
        for d in session.discrepancies
    )
    return SessionView(session, lines, expected, found)


def close_summary(view: SessionView) -> CloseSummary:
    stockable = [r.line for r in view.lines if r.line.item_id is not None]
    return CloseSummary(
        accepted=sum(ln.quantity for ln in stockable if ln.disposition == "accept"),
        quarantined=sum(ln.quantity for ln in stockable if ln.disposition != "accept"),
        unknown=sum(1 for r in view.lines if r.line.item_id is None),
        short=tuple(e for e in view.expected if e.state == "short"),
        over=tuple(e for e in view.expected if e.state == "over"),
    )


def _items(ctx: WebContext, ids: Iterable[int | None]) -> dict[int, Item]:
    return {i: catalog.get_item(ctx.rt, ctx.actor, i) for i in {i for i in ids if i}}


def _line_row(line: ReceivingLine, item: Item | None) -> LineRow:
    return LineRow(
        line,
        item.name if item else "Unknown product",
        item.base_unit if item else "units",
        _pack(item, line.gtin, line.package_units),
        REASONS.get(line.reason or "", line.reason or ""),
        _duration(line.available_after),
    )


def _expected_row(line: ExpectedLine, item: Item | None) -> ExpectedRow:
    if line.received == line.expected:
        state = "complete"
    else:
        state = "short" if line.received < line.expected else "over"
    name = item.name if item else (line.description or "Not in the item master")
    return ExpectedRow(line, name, item.base_unit if item else "units", state)


def _pack(item: Item | None, gtin: str | None, size: int | None) -> str:
    """The package level a line was counted in, named as the item master names it."""
    if item is None or not size:
        return ""
    level = next((p.level for p in item.packages if p.gtin and p.gtin == gtin), None)
    level = level or next((p.level for p in item.packages if p.base_units == size), "package")
    return level if size == 1 else f"{level} of {size:,}"


def _described(discrepancy: Mapping[str, Any]) -> dict[str, str]:
    """A discrepancy's details in words (a count mismatch carries them as JSON)."""
    details = str(discrepancy.get("details") or "")
    try:
        parsed = json.loads(details)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        details = (
            f"{parsed.get('note', 'count mismatch')}: lot {parsed.get('lot') or '—'}, expected "
            f"{int(parsed.get('expected', 0)):,}, received {int(parsed.get('received', 0)):,}"
        )
    return {
        "id": str(discrepancy.get("id", "")),
        "details": details,
        "status": str(discrepancy.get("status", "")),
    }


def _duration(value: timedelta | None) -> str:
    if value is None:
        return ""
    minutes = int(value.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours < 48 else f"{hours // 24} days"
