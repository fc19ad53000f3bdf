"""The tamper-evident audit trail: one audit row per command, and a hash chain over every movement
and audit row of an organization.

``record`` writes who did what, when, from where, with the subject before and after, in the
caller's transaction. The chain is sealed after the fact (``seal``), never in the posting
transaction: appending there would serialize every posting of an organization on its chain head.
``verify`` recomputes every link and names the first broken one.
"""

from __future__ import annotations

import csv
import enum
import hashlib
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from rxledger.adapters import audit_repository as ar
from rxledger.domain import errors
from rxledger.domain.permissions import Actor, Permission, Role
from rxledger.services.runtime import Runtime
from rxledger.services.unit_of_work import with_retries

SYSTEM_ORIGIN = "system"
SEAL_BATCH = 5000
# How far below the sealed watermark a seal looks for rows that committed late (a transaction
# that took its id before, and committed after, rows a seal has already passed).
LATE_WINDOW = 100_000
CSV_COLUMNS = (
    "id",
    "occurred_at",
    "actor",
    "origin",
    "action",
    "subject_type",
    "subject_id",
    "site_id",
    "before",
    "after",
)

_origin: ContextVar[str] = ContextVar("rxledger_audit_origin", default=SYSTEM_ORIGIN)


# --- where a command came from ------------------------------------------------------------------


def current_origin() -> str:
    return _origin.get()


def set_origin(value: str) -> Token[str]:
    """Name where the commands of this context come from: "api 10.0.0.7", "cli host", ..."""
    return _origin.set(value.strip()[:200] or SYSTEM_ORIGIN)


@contextmanager
def origin(value: str) -> Iterator[None]:
    token = set_origin(value)
    try:
        yield
    finally:
        _origin.reset(token)


# --- canonical content --------------------------------------------------------------------------


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    raise TypeError(f"cannot put {type(value).__name__} in the audit trail")


def canonical_json(value: object) -> str:
    """One text for one value: sorted keys, no spaces, decimals and dates as strings."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain
    )


def link_hash(prev_hash: str, kind: str, values: Sequence[object]) -> str:
    """SHA-256 of the previous link's hash and the row's canonical content (its kind, then every
    column in the fixed order of ``audit_repository``)."""
    content = canonical_json([kind, *values])
    return hashlib.sha256((prev_hash + content).encode()).hexdigest()


# --- recording ----------------------------------------------------------------------------------


def record(
    conn: Connection,
    actor: Actor,
    *,
    action: str,
    subject_type: str,
    subject_id: int | str,
    site_id: int | None,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    at: datetime,
) -> int:
    """Write one audit row in the caller's transaction: it commits with the command, or not at
    all. The origin is the context's (``set_origin``)."""
    return ar.insert_audit(
        conn,
        {
            "organization_id": actor.organization_id,
            "occurred_at": at,
            "actor": actor.username[:120],
            "origin": current_origin(),
            "action": action[:80],
            "subject_type": subject_type[:40],
            "subject_id": str(subject_id)[:80],
            "site_id": site_id,
            "before": None if before is None else canonical_json(before),
            "after": None if after is None else canonical_json(after),
        },
    )


# --- searching ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    occurred_at: datetime
    actor: str
    origin: str
    action: str
    subject_type: str
    subject_id: str
    site_id: int | None
    before: str | None  # canonical JSON text, as recorded
    after: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "occurred_at": self.occurred_at.isoformat(),
            "actor": self.actor,
            "origin": self.origin,
            "action": self.action,
            "subject_type": self.subject_type,
            "subject_id": self.subject_id,
            "site_id": self.site_id,
            "before": None if self.before is None else json.loads(self.before),
            "after": None if self.after is None else json.loads(self.after),
        }


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """What to look for; every field narrows the search, ``action`` by prefix."""

    actor: str | None = None
    action: str | None = None
    subject_type: str | None = None
    subject_id: str | None = None
    site_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None


def search(
    rt: Runtime,
    actor: Actor,
    query: AuditQuery = AuditQuery(),
    *,
    limit: int | None = 50,
    offset: int = 0,
) -> list[AuditEntry]:
    """Audit rows, newest first. A user with roles at some sites sees the rows of those sites and
    the rows of no site (the item master, people); organization-wide roles see everything."""
    actor.require_anywhere(Permission.VIEW)
    if query.site_id is not None:
        actor.require(Permission.VIEW, query.site_id)
    with rt.uow(read_only=True) as uow:
        rows = ar.search_audit(
            uow.connection,
            actor.organization_id,
            _filter(uow.connection, actor, query),
            limit=limit,
            offset=offset,
        )
    return [_entry(r) for r in rows]


def export_csv(rt: Runtime, actor: Actor, query: AuditQuery = AuditQuery()) -> str:
    """Every matching row the actor may see, newest first, as CSV (before/after as JSON text)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for e in search(rt, actor, query, limit=None):
        writer.writerow(
            [
                e.id,
                e.occurred_at.isoformat(),
                e.actor,
                e.origin,
                e.action,
                e.subject_type,
                e.subject_id,
                "" if e.site_id is None else e.site_id,
                e.before or "",
                e.after or "",
            ]
        )
    return out.getvalue()


def _filter(conn: Connection, actor: Actor, q: AuditQuery) -> ar.AuditFilter:
    # Not queries.visible_site_ids: posting records through this module, and queries imports
    # posting.
    visible = (
        None
        if actor.sees_all_sites
        else actor.visible_sites(ar.site_ids(conn, actor.organization_id))
    )
    return ar.AuditFilter(
        actor=q.actor or None,
        action=q.action or None,
        subject_type=q.subject_type or None,
        subject_id=q.subject_id or None,
        site_ids=None if visible is None else frozenset(visible),
        site_id=q.site_id,
        since=q.since,
        until=q.until,
    )


def _entry(r: Any) -> AuditEntry:
    return AuditEntry(
        r.id,
        r.occurred_at,
        r.actor,
        r.origin,
        r.action,
        r.subject_type,
        r.subject_id,
        r.site_id,
        r.before,
        r.after,
    )


# --- the chain ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BrokenLink:
    seq: int
    kind: str
    row_id: int
    reason: str  # content_changed | row_missing | link_missing | link_hash_wrong | head_mismatch
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "kind": self.kind,
            "row_id": self.row_id,
            "reason": self.reason,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class ChainReport:
    organization_id: int
    links: int
    movements: int
    audit_rows: int
    unsealed_movements: int
    unsealed_audit_rows: int
    head_seq: int
    head_hash: str
    broken: BrokenLink | None

    @property
    def ok(self) -> bool:
        return self.broken is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "organization_id": self.organization_id,
            "ok": self.ok,
            "links": self.links,
            "movements": self.movements,
            "audit_rows": self.audit_rows,
            "unsealed_movements": self.unsealed_movements,
            "unsealed_audit_rows": self.unsealed_audit_rows,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "broken": None if self.broken is None else self.broken.as_dict(),
        }


def seal(rt: Runtime, organization_id: int) -> int:
    """Append a link for every movement and audit row of the organization not yet in its chain;
    return how many. Batches commit one by one, each under the lock of the chain head."""
    total = 0
    while True:
        added, more = with_retries(lambda: _seal_batch(rt, organization_id))
        total += added
        if not more:
            return total


def _seal_batch(rt: Runtime, org_id: int) -> tuple[int, bool]:
    with rt.uow() as uow:
        conn = uow.connection
        head = ar.lock_head(conn, org_id)
        found = {
            kind: ar.unsealed(
                conn, kind, org_id, above=above, late_window=LATE_WINDOW, limit=SEAL_BATCH
            )
            for kind, above in ((ar.MOVEMENT, head.movement_id), (ar.AUDIT, head.audit_id))
        }
        now = rt.clock.now()
        seq, prev = head.seq, head.hash
        links = []
        for kind, rows in found.items():
            for values in rows:
                seq += 1
                digest = link_hash(prev, kind, values)
                links.append(
                    {
                        "organization_id": org_id,
                        "seq": seq,
                        "kind": kind,
                        "row_id": values[0],
                        "prev_hash": prev,
                        "hash": digest,
                        "sealed_at": now,
                    }
                )
                prev = digest
        if not links:
            return 0, False
        ar.insert_links(conn, links)
        ar.advance_head(
            conn,
            ar.Head(
                org_id,
                seq,
                prev,
                max([head.movement_id, *(int(v[0]) for v in found[ar.MOVEMENT])]),
                max([head.audit_id, *(int(v[0]) for v in found[ar.AUDIT])]),
            ),
        )
        uow.commit()
    return len(links), any(len(rows) == SEAL_BATCH for rows in found.values())


def verify(rt: Runtime, organization_id: int) -> ChainReport:
    """Recompute every link of the organization's chain in seq order; the first link whose row
    changed or vanished, or whose hashes do not follow from the previous link, is reported."""
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        head = ar.read_head(conn, organization_id)
        walk = _Walk()
        for row in ar.links_with_rows(conn, organization_id):
            walk.step(row)
        walk.finish(head)
        unsealed = {k: ar.count_unsealed(conn, k, organization_id) for k in (ar.MOVEMENT, ar.AUDIT)}
    return ChainReport(
        organization_id,
        walk.links,
        walk.counts[ar.MOVEMENT],
        walk.counts[ar.AUDIT],
        unsealed[ar.MOVEMENT],
        unsealed[ar.AUDIT],
        head.seq if head else 0,
        head.hash if head else ar.GENESIS,
        walk.broken,
    )


class _Walk:
    """The state of a verification: the link expected next, counts, and the first break."""

    def __init__(self) -> None:
        self.seq, self.prev = 1, ar.GENESIS
        self.links = 0
        self.counts = {ar.MOVEMENT: 0, ar.AUDIT: 0}
        self.broken: BrokenLink | None = None

    def step(self, row: Any) -> None:
        self.links += 1
        self.counts[row.kind] = self.counts.get(row.kind, 0) + 1
        if self.broken is None:
            self.broken = self._judge(row)
        self.seq, self.prev = row.seq + 1, row.hash

    def _judge(self, row: Any) -> BrokenLink | None:
        def broken(reason: str, message: str) -> BrokenLink:
            return BrokenLink(row.seq, row.kind, row.row_id, reason, message)

        if row.seq != self.seq:
            return BrokenLink(
                self.seq,
                row.kind,
                row.row_id,
                "link_missing",
                f"link {self.seq} is missing: the chain jumps to link {row.seq}",
            )
        if row.prev_hash != self.prev:
            return broken(
                "link_hash_wrong", f"link {row.seq} does not follow from link {row.seq - 1}"
            )
        prefix = "m_" if row.kind == ar.MOVEMENT else "a_"
        columns = ar.MOVEMENT_COLUMNS if row.kind == ar.MOVEMENT else ar.AUDIT_COLUMNS
        values = [getattr(row, prefix + name) for name in columns]
        if values[0] is None:
            return broken(
                "row_missing", f"{row.kind} {row.row_id} sealed by link {row.seq} is gone"
            )
        if link_hash(row.prev_hash, row.kind, values) != row.hash:
            return broken(
                "content_changed",
                f"{row.kind} {row.row_id} is not what link {row.seq} sealed: "
                "the row (or the link's hash) was changed after sealing",
            )
        return None

    def finish(self, head: ar.Head | None) -> None:
        if self.broken is not None or (head is None and self.links == 0):
            return
        last_seq = self.seq - 1
        if head is None or head.seq != last_seq or head.hash != self.prev:
            self.broken = BrokenLink(
                head.seq if head else 0,
                "head",
                0,
                "head_mismatch",
                f"the chain head (link {head.seq if head else 0}) does not match the last link "
                f"({last_seq})",
            )


@dataclass(frozen=True, slots=True)
class ChainStatus:
    """The head of an organization's chain, read without walking it."""

    seq: int
    hash: str


def chain_status(rt: Runtime, actor: Actor) -> ChainStatus:
    """How far the actor's organization's chain is sealed (link 0: never sealed)."""
    actor.require_anywhere(Permission.VIEW)
    with rt.uow(read_only=True) as uow:
        head = ar.read_head(uow.connection, actor.organization_id)
    return ChainStatus(head.seq, head.hash) if head else ChainStatus(0, ar.GENESIS)


def may_verify(actor: Actor) -> bool:
    """Verifying reads the whole organization's record: organization-wide admins and auditors."""
    return any(g.site_id is None and g.role in (Role.ADMIN, Role.AUDITOR) for g in actor.grants)


def seal_and_verify(rt: Runtime, actor: Actor) -> ChainReport:
    """Seal, then verify, the actor's organization's chain: an organization-wide administrator's
    or auditor's task (it reads the whole organization's record)."""
    if not may_verify(actor):
        raise errors.Forbidden(
            f"{actor.username} may not verify the audit chain: an organization-wide "
            "administrator or auditor does",
            permission="verify_audit_chain",
        )
    seal(rt, actor.organization_id)
    return verify(rt, actor.organization_id)


def check_all(rt: Runtime) -> list[ChainReport]:
    """Seal and verify the chain of every organization (``rxledger check``)."""
    with rt.uow(read_only=True) as uow:
        organizations = ar.organization_ids(uow.connection)
    reports = []
    for org_id in organizations:
        seal(rt, org_id)
        reports.append(verify(rt, org_id))
    return reports
