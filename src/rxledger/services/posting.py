"""The one place that writes to the ledger: a document and its movements, all or nothing.

``post`` checks the business time, honours idempotency keys, locks the touched balances in key
order, asks the domain to plan the movements, and writes document, movements, balance deltas and
serial locations in one transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from rxledger.adapters import counts_repository as cr
from rxledger.adapters import locking
from rxledger.adapters import repository as repo
from rxledger.domain import errors
from rxledger.domain.clock import as_utc
from rxledger.domain.ledger import (
    BalanceKey,
    Line,
    MoveLine,
    PlannedMovement,
    SetLine,
    Snapshot,
    check_occurred_at,
    fingerprint,
    plan_document,
)
from rxledger.domain.model import DocumentType, Lot
from rxledger.domain.permissions import permission_to_post
from rxledger.services import audit
from rxledger.services.runtime import Actor, Runtime
from rxledger.services.unit_of_work import with_retries


@dataclass(frozen=True, slots=True)
class Header:
    """What every posting command may carry besides its lines."""

    reference: str | None = None
    note: str | None = None
    reason_code: str | None = None
    occurred_at: datetime | None = None
    idempotency_key: str | None = None
    # Plan under the same locks and rules, return the would-be document, write nothing.
    dry_run: bool = False


AfterPosting = Callable[[Connection, int, Sequence[PlannedMovement]], None]


@dataclass(frozen=True, slots=True)
class Draft:
    """What a command resolves to inside the transaction: lines and the documents it points at."""

    site_id: int
    lines: Sequence[Line]
    related_id: int | None = None
    reverses_id: int | None = None
    counterpart_site_id: int | None = None
    # Records that belong to the document (a PO receipt, a receiving session's state), written in
    # the same transaction once the document and its movements are: all of it commits, or none.
    on_posted: AfterPosting | None = None


@dataclass(frozen=True, slots=True)
class PostedDocument:
    id: int
    doc_type: DocumentType
    site_id: int
    occurred_at: datetime
    recorded_at: datetime
    posted_by: str
    idempotency_key: str
    reference: str | None
    reason_code: str | None
    note: str | None
    reverses_id: int | None
    related_id: int | None
    counterpart_site_id: int | None
    movements: tuple[PlannedMovement, ...]
    replayed: bool = False
    dry_run: bool = False
    # A dry run's lots as planned (a receipt's new lot exists only inside the rolled-back plan).
    planned_lots: tuple[Lot, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "doc_type": self.doc_type.value,
            "site_id": self.site_id,
            "occurred_at": self.occurred_at.isoformat(),
            "recorded_at": self.recorded_at.isoformat(),
            "posted_by": self.posted_by,
            "idempotency_key": self.idempotency_key,
            "reference": self.reference,
            "reason_code": self.reason_code,
            "note": self.note,
            "reverses_id": self.reverses_id,
            "related_id": self.related_id,
            "counterpart_site_id": self.counterpart_site_id,
            "replayed": self.replayed,
            "dry_run": self.dry_run,
            "movements": [
                {
                    "line_no": m.line_no,
                    "item_id": m.item_id,
                    "lot_id": m.lot_id,
                    "serial_id": m.serial_id,
                    "from_location_id": m.from_location_id,
                    "to_location_id": m.to_location_id,
                    "quantity": m.quantity,
                    "reason_code": m.reason_code,
                    "note": m.note,
                }
                for m in self.movements
            ],
        }


Resolver = Callable[[Connection], Draft]


@dataclass
class _Attempt:
    rt: Runtime
    actor: Actor
    doc_type: DocumentType
    header: Header
    payload_hash: str
    key: str
    resolve: Resolver
    occurred_at: datetime
    recorded_at: datetime

    @property
    def key_given(self) -> bool:
        """A caller's key may have been used before; a generated one (a fresh UUID) cannot."""
        return self.header.idempotency_key is not None


def post(
    rt: Runtime,
    actor: Actor,
    doc_type: DocumentType,
    header: Header,
    payload: Mapping[str, Any],
    resolve: Resolver,
) -> PostedDocument:
    """Post one document atomically; a retry with the same idempotency key returns the original."""
    now = rt.clock.now()
    occurred_at = as_utc(header.occurred_at) if header.occurred_at else now
    check_occurred_at(
        occurred_at,
        now,
        backdate_window=rt.policy.backdate_window,
        future_tolerance=rt.policy.future_tolerance,
    )
    key = header.idempotency_key or f"auto:{uuid.uuid4()}"
    if not key.strip() or len(key) > 200:
        raise errors.ValidationFailed("an idempotency key is 1 to 200 characters", field="key")
    body = {"doc_type": doc_type.value, **payload}
    if header.occurred_at is not None:
        body["occurred_at"] = occurred_at.isoformat()
    attempt = _Attempt(
        rt, actor, doc_type, header, fingerprint(body), key, resolve, occurred_at, now
    )
    return with_retries(lambda: _post_once(attempt))


def _post_once(a: _Attempt) -> PostedDocument:
    with a.rt.uow() as uow:
        conn = uow.connection
        existing = (
            repo.document_by_key(conn, a.actor.organization_id, a.key) if a.key_given else None
        )
        if existing is not None:
            a.actor.require(permission_to_post(existing.doc_type), existing.site_id)
            return _replay(conn, existing, a.payload_hash)
        try:
            draft = a.resolve(conn)
            a.actor.require(permission_to_post(a.doc_type.value), draft.site_id)
            _refuse_frozen(conn, a.actor.organization_id, draft)
            snapshot, locked = _snapshot(a.rt, conn, a.actor.organization_id, draft, a.occurred_at)
            # A twin with the same key may have committed while we waited for the locks: its
            # result is the answer, not a refusal computed against the stock it consumed.
            # (SQLite serializes whole write transactions: no twin can slip in.)
            twin = (
                repo.document_by_key(conn, a.actor.organization_id, a.key)
                if a.key_given and uow.dialect != "sqlite"
                else None
            )
            if twin is not None:
                return _replay(conn, twin, a.payload_hash)
            plan = plan_document(a.doc_type, draft.lines, snapshot)
            if a.header.dry_run:
                lots = tuple(
                    snapshot.lots[lot] for lot in sorted({m.lot_id for m in plan.movements})
                )
                return _dry_run(a, draft, plan.movements, lots)  # leaving the block rolls back
        except errors.RxLedgerError:
            if not a.key_given:
                raise
            twin = repo.document_by_key(conn, a.actor.organization_id, a.key)
            if twin is None:
                raise
            return _replay(conn, twin, a.payload_hash)
        try:
            doc_id = repo.insert_document(conn, _document_values(a, draft))
        except IntegrityError:
            # Another transaction posted this idempotency key first; read its result.
            uow.connection.rollback()
            return _replay_after_race(a)
        repo.insert_movements(
            conn,
            org_id=a.actor.organization_id,
            document_id=doc_id,
            occurred_at=a.occurred_at,
            recorded_at=a.recorded_at,
            movements=plan.movements,
        )
        repo.apply_deltas(
            conn,
            org_id=a.actor.organization_id,
            deltas=plan.deltas,
            existing=locked,
            locations=snapshot.locations,
        )
        serial_moves = {
            m.serial_id: (
                None if snapshot.locations[m.to_location_id].is_virtual else m.to_location_id
            )
            for m in plan.movements
            if m.serial_id is not None
        }
        repo.set_serial_locations(conn, serial_moves)
        if draft.on_posted is not None:
            draft.on_posted(conn, doc_id, plan.movements)
        _record(conn, a, draft, doc_id, plan.movements, snapshot.balances, plan.deltas)
        uow.commit()
        return _posted(a, draft, plan.movements, doc_id)


def _record(
    conn: Connection,
    a: _Attempt,
    draft: Draft,
    doc_id: int,
    movements: Sequence[PlannedMovement],
    locked: Mapping[BalanceKey, int],
    deltas: Mapping[BalanceKey, int],
) -> None:
    """The document's audit row: its lines after, and before them the on-hand of the balances
    it changed, as locked (no extra read: a key without a locked row held nothing)."""
    audit.record(
        conn,
        a.actor,
        action=f"post {a.doc_type.value}",
        subject_type="document",
        subject_id=doc_id,
        site_id=draft.site_id,
        before={"on_hand": [[*key, locked.get(key, 0)] for key in sorted(deltas)]},
        after={
            "reference": a.header.reference,
            "reason": a.header.reason_code,
            "lines": [
                [m.item_id, m.lot_id, m.from_location_id, m.to_location_id, m.quantity]
                for m in movements
            ],
        },
        at=a.recorded_at,
    )


def _refuse_frozen(conn: Connection, org_id: int, draft: Draft) -> None:
    """No posting touches a location while a count that freezes it is open."""
    touched = {
        loc
        for line in draft.lines
        for loc in (
            (line.from_location_id, line.to_location_id)
            if isinstance(line, MoveLine)
            else (line.location_id,)
        )
    }
    frozen = cr.frozen_locations(conn, org_id, draft.site_id, touched)
    if frozen:
        location, count = next(iter(sorted(frozen.items())))
        raise errors.LocationFrozen(
            f"location {location} is frozen by count {count} until the count is submitted",
            location_id=location,
            count_id=count,
        )


def _dry_run(
    a: _Attempt, draft: Draft, movements: tuple[PlannedMovement, ...], lots: tuple[Lot, ...]
) -> PostedDocument:
    return _posted(a, draft, movements, 0, dry_run=True, planned_lots=lots)


def _posted(
    a: _Attempt,
    draft: Draft,
    movements: tuple[PlannedMovement, ...],
    doc_id: int,
    *,
    dry_run: bool = False,
    planned_lots: tuple[Lot, ...] = (),
) -> PostedDocument:
    return PostedDocument(
        id=doc_id,
        doc_type=a.doc_type,
        site_id=draft.site_id,
        occurred_at=a.occurred_at,
        recorded_at=a.recorded_at,
        posted_by=a.actor.username,
        idempotency_key=a.key,
        reference=a.header.reference,
        reason_code=a.header.reason_code,
        note=a.header.note,
        reverses_id=draft.reverses_id,
        related_id=draft.related_id,
        counterpart_site_id=draft.counterpart_site_id,
        movements=movements,
        dry_run=dry_run,
        planned_lots=planned_lots,
    )


def _replay_after_race(a: _Attempt) -> PostedDocument:
    with a.rt.uow(read_only=True) as uow:
        existing = repo.document_by_key(uow.connection, a.actor.organization_id, a.key)
        if existing is None:
            raise errors.LedgerIntegrityError("the document could not be written", key=a.key)
        return _replay(uow.connection, existing, a.payload_hash)


def _replay(conn: Connection, row: Any, payload_hash: str) -> PostedDocument:
    if row.payload_hash != payload_hash:
        raise errors.IdempotencyConflict(
            f"idempotency key {row.idempotency_key!r} was already used for a different write "
            f"(document {row.id})",
            key=row.idempotency_key,
            document_id=row.id,
        )
    return load_document(conn, row, replayed=True)


def load_document(conn: Connection, row: Any, *, replayed: bool = False) -> PostedDocument:
    return PostedDocument(
        id=row.id,
        doc_type=DocumentType(row.doc_type),
        site_id=row.site_id,
        occurred_at=row.occurred_at,
        recorded_at=row.recorded_at,
        posted_by=row.posted_by,
        idempotency_key=row.idempotency_key,
        reference=row.reference,
        reason_code=row.reason_code,
        note=row.note,
        reverses_id=row.reverses_id,
        related_id=row.related_id,
        counterpart_site_id=row.counterpart_site_id,
        movements=tuple(repo.movements_of(conn, [row.id])),
        replayed=replayed,
    )


def _document_values(a: _Attempt, draft: Draft) -> dict[str, Any]:
    return {
        "organization_id": a.actor.organization_id,
        "site_id": draft.site_id,
        "doc_type": a.doc_type.value,
        "reference": a.header.reference,
        "reason_code": a.header.reason_code,
        "note": a.header.note,
        "posted_by": a.actor.username,
        "occurred_at": a.occurred_at,
        "recorded_at": a.recorded_at,
        "idempotency_key": a.key,
        "payload_hash": a.payload_hash,
        "reverses_id": draft.reverses_id,
        "related_id": draft.related_id,
        "counterpart_site_id": draft.counterpart_site_id,
    }


def _snapshot(
    rt: Runtime, conn: Connection, org_id: int, draft: Draft, occurred_at: datetime
) -> tuple[Snapshot, set[BalanceKey]]:
    """Load what the lines name, then lock the balances they touch, in key order."""
    if not rt.references.site_exists(conn, org_id, draft.site_id):
        raise errors.SiteNotFound(f"no site {draft.site_id}", site_id=draft.site_id)
    item_ids, location_ids, lot_ids, serial_ids = set(), set(), set(), set()
    keys: set[BalanceKey] = set()
    scopes: set[tuple[int, int]] = set()
    followers: set[locking.Follower] = set()
    for line in draft.lines:
        item_ids.add(line.item_id)
        if isinstance(line, SetLine):
            location_ids |= {line.location_id, line.adjustment_location_id}
            lot_ids.add(line.lot_id)
            keys |= {
                (line.location_id, line.item_id, line.lot_id),
                (line.adjustment_location_id, line.item_id, line.lot_id),
            }
            continue
        assert isinstance(line, MoveLine)
        location_ids |= {line.from_location_id, line.to_location_id}
        if line.serial_id is not None:
            serial_ids.add(line.serial_id)
        if line.lot_id is not None:
            lot_ids.add(line.lot_id)
            keys |= {
                (line.from_location_id, line.item_id, line.lot_id),
                (line.to_location_id, line.item_id, line.lot_id),
            }
        elif line.serial_id is None:
            # FEFO: lock every lot of the item at the source before choosing, and the target rows
            # of those lots, all in one key-ordered statement.
            scopes.add((line.from_location_id, line.item_id))
            followers.add(
                locking.Follower(line.from_location_id, line.to_location_id, line.item_id)
            )
    serials = repo.serials_by_id(conn, org_id, serial_ids)
    for line in draft.lines:
        if isinstance(line, MoveLine) and line.serial_id in serials and line.lot_id is None:
            lot_id = serials[line.serial_id].lot_id
            lot_ids.add(lot_id)
            keys |= {
                (line.from_location_id, line.item_id, lot_id),
                (line.to_location_id, line.item_id, lot_id),
            }
    locations = rt.references.locations(conn, org_id, location_ids)
    _require_all(locations, location_ids, errors.LocationNotFound, "location")
    locked = locking.lock_balances(conn, org_id, keys, scopes, followers)
    items = locked.items
    if item_ids - set(items):  # items with no balance row among the locked
        items.update(repo.items_by_id(conn, org_id, item_ids - set(items)))
    _require_all(items, item_ids, errors.ItemNotFound, "item")
    balances = locked.on_hand
    lots = locked.lots
    lot_ids |= {k[2] for k in balances}
    if lot_ids - set(lots):  # lots named by a line but with no balance row among the locked
        lots.update(repo.lots_by_id(conn, org_id, lot_ids - set(lots)))
    _require_all(lots, lot_ids, errors.LotNotFound, "lot")
    snapshot = Snapshot(
        today=occurred_at.date(),
        site_id=draft.site_id,
        items=items,
        locations=locations,
        lots=lots,
        serials=serials,
        balances=balances,
    )
    return snapshot, set(balances)


def _require_all(
    found: Mapping[int, object], wanted: set[int], error: type[errors.RxLedgerError], noun: str
) -> None:
    missing = sorted(wanted - set(found))
    if missing:
        raise error(f"no {noun} {missing[0]}", **{f"{noun}_id": missing[0]})
