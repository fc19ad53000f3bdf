"""Quarantine and DSCSA investigations: resolve what receiving refused, investigate suspect product.

A discrepancy is resolved by releasing its stock from quarantine (a move to the dock or a storage
location), returning it (a destruction document to the reverse distributor), destroying it (to
waste), or closing it when nothing of it is held. A suspect product's investigation is closed as
cleared (its package is released) or illegitimate (destroyed, with the notification recorded).
Each outcome posts its document through ``services.stock`` and records who, when and what in the
same transaction (the ``on_posted`` hook): the document and the record commit together or not at
all, and a second close finds the record closed and is refused. Only a signed-in user holding
INVESTIGATE at the site resolves or investigates. Destroying or returning schedule II stock needs a
witness (``witness``, checked by ``stock.destroy`` like any destruction); a release moves stock
between the site's own locations and takes none (a witness given with it is not used).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from rxledger.adapters import investigations_repository as ir
from rxledger.adapters import receiving_repository as rr
from rxledger.adapters import repository as repo
from rxledger.domain import errors
from rxledger.domain import investigations as rules
from rxledger.domain.investigations import Finding, Resolution
from rxledger.domain.model import NO_LOT, LocationType
from rxledger.domain.permissions import Permission
from rxledger.services import queries, stock
from rxledger.services.controlled import Witness
from rxledger.services.investigation_views import (
    POSTED,
    DiscrepancyView,
    InvestigationView,
    discrepancy_views,
    investigation_view,
    mismatch,
)
from rxledger.services.posting import Header, PostedDocument
from rxledger.services.runtime import Actor, Runtime

__all__ = [
    "CloseInvestigation",
    "DiscrepancyView",
    "InvestigationView",
    "Outcome",
    "ResolveDiscrepancy",
    "add_note",
    "close_investigation",
    "get_discrepancy",
    "get_investigation",
    "list_discrepancies",
    "list_investigations",
    "resolve_discrepancy",
]

DISCREPANCY_STATUSES = ("open", "resolved")
INVESTIGATION_STATUSES = ("open", "cleared", "illegitimate")
MAX_NOTE = 4000

# Records an outcome: with the posted document's id and movements, or with none and nothing.
_Hook = Callable[[Connection, int | None, Sequence[Any]], None]


@dataclass(frozen=True, slots=True)
class ResolveDiscrepancy:
    """Resolve one discrepancy; ``location_id`` is where released stock goes (else the dock)."""

    discrepancy_id: int
    resolution: Resolution
    location_id: int | None = None
    reason_code: str | None = None
    note: str | None = None
    dry_run: bool = False
    witness: Witness | None = None  # returning or destroying schedule II stock


@dataclass(frozen=True, slots=True)
class CloseInvestigation:
    """Close a DSCSA investigation; an illegitimate product needs its notification."""

    investigation_id: int
    finding: Finding
    note: str | None = None
    location_id: int | None = None
    notification_reference: str | None = None
    notified_at: datetime | None = None
    dry_run: bool = False
    witness: Witness | None = None  # destroying schedule II suspect product


@dataclass(frozen=True)
class Outcome:
    """What a resolution or close did: the record as it now stands, and the document it posted
    (a dry run's would-be document; none when no stock moved)."""

    record: DiscrepancyView | InvestigationView
    document: PostedDocument | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "record": self.record.as_dict(),
            "document": self.document.as_dict() if self.document else None,
        }


@dataclass(frozen=True, slots=True)
class _Package:
    """Stock held in quarantine for a discrepancy or an investigation: one stock line at a site."""

    site_id: int
    location_id: int
    dock_id: int
    line: stock.StockLine | None  # None: nothing is held


# --- discrepancies ------------------------------------------------------------------------------


def list_discrepancies(
    rt: Runtime, actor: Actor, site_id: int | None = None, status: str | None = "open"
) -> list[DiscrepancyView]:
    """A site's discrepancies (or those of every site the actor sees), newest first."""
    _check_status(status, DISCREPANCY_STATUSES)
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        sites = _sites(conn, actor, site_id)
        rows = ir.discrepancies(conn, actor.organization_id, sites, status)
        return discrepancy_views(conn, actor.organization_id, rows)


def get_discrepancy(rt: Runtime, actor: Actor, discrepancy_id: int) -> DiscrepancyView:
    with rt.uow(read_only=True) as uow:
        row = _discrepancy_row(uow.connection, actor, discrepancy_id)
        actor.require(Permission.VIEW, row.site_id)
        return discrepancy_views(uow.connection, actor.organization_id, [row])[0]


def resolve_discrepancy(rt: Runtime, actor: Actor, cmd: ResolveDiscrepancy) -> Outcome:
    """Release, return or destroy what a discrepancy holds in quarantine, or close one that holds
    nothing; a suspect package's discrepancy is closed by its investigation instead."""
    view = get_discrepancy(rt, actor, cmd.discrepancy_id)
    _require_investigator(actor, view.site_id)
    _require_resolvable(view)
    with rt.uow(read_only=True) as uow:
        if ir.open_investigations_of(uow.connection, view.id):
            raise errors.UnderInvestigation(
                f"discrepancy {view.id} is a suspect product: close investigation "
                f"{view.investigation_id} instead",
                investigation_id=view.investigation_id,
            )
        package = _discrepancy_package(uow.connection, actor, view)
    rules.check_resolution(cmd.resolution, package.line.quantity if package.line else 0)
    reason = rules.destruction_reason(cmd.resolution, view.reason, cmd.reason_code)
    hook = _resolving(rt, actor, cmd, view)
    document = _settle(rt, actor, package, cmd.resolution, cmd.location_id, reason, hook, cmd)
    return Outcome(get_discrepancy(rt, actor, view.id), document)


def _require_resolvable(view: DiscrepancyView) -> None:
    if view.status != "open":
        raise errors.DiscrepancyAlreadyResolved(
            f"discrepancy {view.id} was resolved by {view.resolved_by}", discrepancy_id=view.id
        )
    if view.session_status != POSTED:
        raise errors.StatusConflict(
            f"receiving session {view.session_id} is not posted yet: close it first",
            session_id=view.session_id,
        )


def _resolving(rt: Runtime, actor: Actor, cmd: ResolveDiscrepancy, view: DiscrepancyView) -> _Hook:
    now = rt.clock.now()

    def record(conn: Connection, document_id: int | None, movements: Sequence[Any]) -> None:
        target = movements[0].to_location_id if movements else None
        resolution = {
            "outcome": cmd.resolution.value,
            "document_id": document_id,
            "location_id": target,
            "note": cmd.note,
        }
        if not ir.resolve_discrepancy(conn, view.id, _resolved(actor, now, resolution)):
            raise errors.DiscrepancyAlreadyResolved(
                f"discrepancy {view.id} was resolved meanwhile", discrepancy_id=view.id
            )
        if (
            view.line_id is not None
            and target is not None
            and _is_available(rt, conn, actor, target)
        ):
            rr.mark_available(conn, [view.line_id], now)

    return record


def _discrepancy_package(conn: Connection, actor: Actor, view: DiscrepancyView) -> _Package:
    row = _discrepancy_row(conn, actor, view.id)
    count = mismatch(row)
    line = None
    if view.held > 0 and view.item_id is not None:
        lot_id = _lot_id(conn, actor, view.item_id, count.lot if count else view.lot_number)
        serial_id = None
        if count is None and view.serial is not None and view.gtin is not None:
            found = repo.serial_by_key(conn, actor.organization_id, view.gtin, view.serial)
            serial_id = found.id if found else None
        line = stock.StockLine(view.item_id, view.held, lot_id, serial_id)
    return _Package(view.site_id, row.quarantine_location_id, row.dock_location_id, line)


# --- DSCSA investigations -----------------------------------------------------------------------


def list_investigations(
    rt: Runtime, actor: Actor, site_id: int | None = None, status: str | None = "open"
) -> list[InvestigationView]:
    _check_status(status, INVESTIGATION_STATUSES)
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        rows = ir.investigations(conn, actor.organization_id, _sites(conn, actor, site_id), status)
        return [investigation_view(r) for r in rows]


def get_investigation(rt: Runtime, actor: Actor, investigation_id: int) -> InvestigationView:
    """An investigation with its notes, oldest first."""
    with rt.uow(read_only=True) as uow:
        row = _investigation_row(uow.connection, actor, investigation_id)
        actor.require(Permission.VIEW, row.site_id)
        return investigation_view(row, ir.notes_of(uow.connection, row.id))


def add_note(rt: Runtime, actor: Actor, investigation_id: int, note: str) -> InvestigationView:
    """Add a signed, timestamped note; notes are kept after the close too (agency answers)."""
    text = note.strip()
    if not text or len(text) > MAX_NOTE or "\x00" in text:
        raise errors.ValidationFailed(f"a note is 1 to {MAX_NOTE} characters", field="note")
    with rt.uow() as uow:
        row = _investigation_row(uow.connection, actor, investigation_id)
        _require_investigator(actor, row.site_id)
        ir.insert_note(
            uow.connection,
            {
                "organization_id": actor.organization_id,
                "investigation_id": row.id,
                "written_by": actor.username,
                "written_at": rt.clock.now(),
                "note": text,
            },
        )
        uow.commit()
    return get_investigation(rt, actor, investigation_id)


def close_investigation(rt: Runtime, actor: Actor, cmd: CloseInvestigation) -> Outcome:
    """Cleared: release the package from quarantine. Illegitimate: destroy it and record the
    notification. An investigation is closed once."""
    view = get_investigation(rt, actor, cmd.investigation_id)
    _require_investigator(actor, view.site_id)
    if view.status != "open":
        raise errors.InvestigationAlreadyClosed(
            f"investigation {view.id} was closed as {view.status} by {view.closed_by}",
            investigation_id=view.id,
            status=view.status,
        )
    notice = rules.require_notification(
        cmd.finding,
        cmd.notification_reference,
        cmd.notified_at,
        opened_at=view.opened_at,
        now=rt.clock.now(),
        tolerance=rt.policy.future_tolerance,
    )
    with rt.uow(read_only=True) as uow:
        package = _suspect_package(uow.connection, actor, view)
    hook = _closing(rt, actor, cmd, view, notice)
    resolution = Resolution.RELEASE if cmd.finding is Finding.CLEARED else Resolution.DESTROY
    document = _settle(
        rt, actor, package, resolution, cmd.location_id, rules.ILLEGITIMATE, hook, cmd
    )
    return Outcome(get_investigation(rt, actor, view.id), document)


def _closing(
    rt: Runtime,
    actor: Actor,
    cmd: CloseInvestigation,
    view: InvestigationView,
    notice: rules.Notification | None,
) -> _Hook:
    now = rt.clock.now()

    def record(conn: Connection, document_id: int | None, movements: Sequence[Any]) -> None:
        target = movements[0].to_location_id if movements else None
        outcome = {"document_id": document_id, "location_id": target, "note": cmd.note}
        values = {
            "status": cmd.finding.value,
            "closed_by": actor.username,
            "closed_at": now,
            "outcome": _json(outcome),
            "notification_reference": notice.reference if notice else None,
            "notified_at": notice.notified_at if notice else None,
        }
        if not ir.close_investigation(conn, view.id, values):
            raise errors.InvestigationAlreadyClosed(
                f"investigation {view.id} was closed meanwhile", investigation_id=view.id
            )
        if view.discrepancy_id is not None:
            done = "release" if cmd.finding is Finding.CLEARED else "destroy"
            resolution = {**outcome, "outcome": done, "investigation_id": view.id}
            ir.resolve_discrepancy(conn, view.discrepancy_id, _resolved(actor, now, resolution))

    return record


def _suspect_package(conn: Connection, actor: Actor, view: InvestigationView) -> _Package:
    """Where the suspect package is now; a package its session has not posted yet cannot be
    judged, one never stocked closes without moving anything."""
    if view.discrepancy_id is not None:
        row = _discrepancy_row(conn, actor, view.discrepancy_id)
        if row.session_status != POSTED:
            raise errors.StatusConflict(
                f"receiving session {row.session_id} is not posted yet: close it first",
                session_id=row.session_id,
            )
        dock_id, held_at = row.dock_location_id, row.quarantine_location_id
    else:
        dock = rr.location_of_type(conn, view.site_id, LocationType.RECEIVING.value)
        quarantine = rr.location_of_type(conn, view.site_id, LocationType.QUARANTINE.value)
        dock_id = dock.id if dock else 0
        held_at = quarantine.id if quarantine else 0
    found = (
        repo.serial_by_key(conn, actor.organization_id, view.gtin, view.serial)
        if view.gtin and view.serial
        else None
    )
    if found is None or found.location_id is None:
        return _Package(view.site_id, held_at, dock_id, None)
    line = stock.StockLine(found.item_id, found.base_units, found.lot_id, found.id)
    return _Package(view.site_id, found.location_id, dock_id, line)


# --- posting ------------------------------------------------------------------------------------


def _settle(
    rt: Runtime,
    actor: Actor,
    package: _Package,
    resolution: Resolution,
    location_id: int | None,
    reason: str,
    hook: _Hook,
    cmd: ResolveDiscrepancy | CloseInvestigation,
) -> PostedDocument | None:
    """Post the outcome's document — a move out of quarantine, or a destruction — with the hook
    recording it in the same transaction; with nothing held, record it alone (not in a dry run).
    """
    if package.line is None:
        if not cmd.dry_run:
            with rt.uow() as uow:
                hook(uow.connection, None, ())
                uow.commit()
        return None
    header = Header(
        reference=_reference(cmd),
        note=cmd.note,
        dry_run=cmd.dry_run,
    )
    destination = resolution.destination
    if destination is None:
        move = stock.Move(
            package.site_id,
            package.location_id,
            location_id or package.dock_id,
            [package.line],
            header,
        )
        return stock.move(rt, actor, move, on_posted=hook)
    destroy = stock.Destroy(
        package.site_id,
        package.location_id,
        [package.line],
        reason,
        destination,
        header,
        cmd.witness,
    )
    return stock.destroy(rt, actor, destroy, on_posted=hook)


def _reference(cmd: ResolveDiscrepancy | CloseInvestigation) -> str:
    if isinstance(cmd, ResolveDiscrepancy):
        return f"DISCREPANCY-{cmd.discrepancy_id}"
    return f"INVESTIGATION-{cmd.investigation_id}"


# --- helpers ------------------------------------------------------------------------------------


def _require_investigator(actor: Actor, site_id: int) -> None:
    """INVESTIGATE at the site, as a user with an account: the record names who decided."""
    actor.require(Permission.INVESTIGATE, site_id)
    if actor.user_id is None:
        raise errors.SignedInUserRequired(
            f"{actor.username} is not signed in with a user account: investigations and their "
            "outcomes are signed by a user",
            username=actor.username,
        )


def _sites(conn: Connection, actor: Actor, site_id: int | None) -> set[int] | None:
    if site_id is not None:
        actor.require(Permission.VIEW, site_id)
        return {site_id}
    return queries.visible_site_ids(conn, actor)


def _check_status(status: str | None, known: tuple[str, ...]) -> None:
    if status is not None and status not in known:
        raise errors.ValidationFailed(
            f"{status!r} is not a status; use one of {', '.join(known)}", field="status"
        )


def _discrepancy_row(conn: Connection, actor: Actor, discrepancy_id: int) -> Any:
    row = ir.discrepancy_by_id(conn, actor.organization_id, discrepancy_id)
    if row is None:
        raise errors.DiscrepancyNotFound(
            f"no discrepancy {discrepancy_id}", discrepancy_id=discrepancy_id
        )
    return row


def _investigation_row(conn: Connection, actor: Actor, investigation_id: int) -> Any:
    row = ir.investigation_by_id(conn, actor.organization_id, investigation_id)
    if row is None:
        raise errors.InvestigationNotFound(
            f"no investigation {investigation_id}", investigation_id=investigation_id
        )
    return row


def _lot_id(conn: Connection, actor: Actor, item_id: int, lot_number: str | None) -> int:
    """The lot a receipt line landed in (an item that is not lot-tracked has the implicit lot)."""
    item = repo.items_by_id(conn, actor.organization_id, [item_id]).get(item_id)
    if item is None:
        raise errors.ItemNotFound(f"no item {item_id}", item_id=item_id)
    number = (lot_number or "").strip() if item.lot_tracked else NO_LOT
    lot = repo.lots_by_number(conn, [(item_id, number)]).get((item_id, number))
    if lot is None:
        raise errors.LotNotFound(f"no lot {number!r} of {item.name}", item_id=item_id)
    return lot.id


def _is_available(rt: Runtime, conn: Connection, actor: Actor, location_id: int) -> bool:
    found = rt.references.locations(conn, actor.organization_id, [location_id])
    return location_id in found and found[location_id].type.holds_available_stock


def _resolved(actor: Actor, now: datetime, resolution: dict[str, Any]) -> dict[str, Any]:
    return {"resolved_by": actor.username, "resolved_at": now, "resolution": _json(resolution)}


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, default=str)
