"""Judge again the packages of an open receiving session whose GTIN was unknown when scanned.

Once the GTIN is linked to an item, or an item proposal for it is approved, each such line is
matched again and judged by the same rules as a fresh scan (``domain.receiving.judge``, against
the session's shipment data and today's date): it is accepted, or held with its new reason. The
unknown-GTIN discrepancy of the line is resolved either way, and a new one (with an investigation
for a suspect serial) is opened when the package is still held. A line whose GTIN is still unknown
is left as it is, and so is one of a lot-tracked product scanned without its lot or expiry: that
package must be scanned again with the barcode that carries them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection

from rxledger.adapters import locking
from rxledger.adapters import receiving_repository as rr
from rxledger.adapters import repository as repo
from rxledger.adapters import stewardship_repository as sr
from rxledger.domain import errors
from rxledger.domain.model import Item
from rxledger.domain.permissions import Permission
from rxledger.domain.receiving import (
    Disposition,
    ExpectedContent,
    ReceivedUnit,
    ReceivingPolicy,
    judge,
    was_marked_damaged,
)
from rxledger.services import receiving
from rxledger.services.runtime import Actor, Runtime


@dataclass(frozen=True, slots=True)
class Rejudged:
    """What happened to one line: ``accepted``, ``quarantined`` (with its new reason),
    ``unknown`` (still not in the item master) or ``rescan`` (its lot or expiry is missing)."""

    line_id: int
    outcome: str
    item_id: int | None = None
    reason: str | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class RejudgeResult:
    session_id: int
    lines: tuple[Rejudged, ...]

    def count(self, outcome: str) -> int:
        return sum(1 for line in self.lines if line.outcome == outcome)

    def as_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "accepted": self.count("accepted"),
            "quarantined": self.count("quarantined"),
            "unknown": self.count("unknown"),
            "rescan": self.count("rescan"),
            "lines": [
                {
                    "line_id": x.line_id,
                    "outcome": x.outcome,
                    "item_id": x.item_id,
                    "reason": x.reason,
                    "detail": x.detail,
                }
                for x in self.lines
            ],
        }


def rejudge_unknown(
    rt: Runtime, actor: Actor, session_id: int, *, policy: ReceivingPolicy | None = None
) -> RejudgeResult:
    """Match and judge again the unknown-GTIN lines of an open session (receivers of its site)."""
    today = rt.clock.now().date()
    with rt.uow() as uow:
        conn = uow.connection
        row = rr.session_by_id(conn, actor.organization_id, session_id)
        if row is None:
            raise errors.NotFound(f"no receiving session {session_id}", session_id=session_id)
        actor.require(Permission.RECEIVE, row.site_id)
        if locking.lock_receiving_session(conn, session_id) != "open":
            raise errors.ValidationFailed(
                f"receiving session {session_id} is closed: only an open session is judged again"
            )
        lines = sr.unknown_lines(conn, session_id)
        known = rr.package_units(conn, actor.organization_id, [ln.gtin for ln in lines if ln.gtin])
        items = repo.items_by_id(conn, actor.organization_id, {v[0] for v in known.values()})
        context = _Context(
            receiving.expected_content(conn, row.shipment_id),
            policy or rt.receiving_policy,
            today,
            rt.clock.now(),
        )
        done = tuple(_rejudge(conn, actor, row, ln, known, items, context) for ln in lines)
        uow.commit()
    return RejudgeResult(session_id, done)


@dataclass(frozen=True, slots=True)
class _Context:
    expected: ExpectedContent
    policy: ReceivingPolicy
    today: date
    now: datetime


def _rejudge(
    conn: Connection,
    actor: Actor,
    session: Any,
    line: Any,
    known: Mapping[str, tuple[int, int]],
    items: Mapping[int, Item],
    ctx: _Context,
) -> Rejudged:
    if line.gtin not in known:
        return Rejudged(line.id, "unknown")
    item_id, per_package = known[line.gtin]
    item = items[item_id]
    missing = _missing(item, line)
    if missing:
        return Rejudged(line.id, "rescan", item.id, detail=f"scan it again with its {missing}")
    packages = max(line.quantity // (line.package_units or 1), 1)
    unit = ReceivedUnit(
        item, line.gtin, line.lot_number, line.expiry, line.serial, packages * per_package
    )
    verdict = judge(
        unit, ctx.expected, ctx.policy, ctx.today, damaged=was_marked_damaged(line.note)
    )
    if not sr.rejudge_line(conn, line.id, _line_values(unit, per_package, verdict)):
        return Rejudged(line.id, "unknown")  # judged by a concurrent call meanwhile
    sr.resolve_unknown_discrepancy(conn, line.id, _resolution(actor, item, verdict, ctx.now))
    if verdict.quarantine:
        receiving.open_discrepancy(conn, actor, session, line.id, unit, verdict, ctx.now)
        reason = verdict.reason.value if verdict.reason else None
        return Rejudged(line.id, "quarantined", item.id, reason, verdict.detail)
    return Rejudged(line.id, "accepted", item.id)


def _missing(item: Item, line: Any) -> str | None:
    """What a lot-tracked product's package lacks to be posted (the scan carried only a GTIN)."""
    if item.lot_tracked and not line.lot_number:
        return "lot number"
    if item.lot_tracked and item.expiry_tracked and line.expiry is None:
        return "expiry date"
    return None


def _line_values(unit: ReceivedUnit, per_package: int, verdict: Disposition) -> dict[str, Any]:
    assert unit.item is not None
    return {
        "item_id": unit.item.id,
        "package_units": per_package,
        "quantity": unit.quantity,
        "disposition": "quarantine" if verdict.quarantine else "accept",
        "reason": verdict.reason.value if verdict.reason else None,
        "note": verdict.detail or None,
    }


def _resolution(actor: Actor, item: Item, verdict: Disposition, now: datetime) -> dict[str, Any]:
    return {
        "status": "resolved",
        "resolved_by": actor.username,
        "resolved_at": now,
        "resolution": json.dumps(
            {
                "outcome": "rejudged",
                "item_id": item.id,
                "disposition": "quarantine" if verdict.quarantine else "accept",
                "reason": verdict.reason.value if verdict.reason else None,
            }
        ),
    }
