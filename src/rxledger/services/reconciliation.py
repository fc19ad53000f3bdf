"""Reconciliation with external systems: another system's on-hand figures against the ledger (and a
physical count), adjustments that settle the differences, and the end-of-day check of POS sales.

- **A snapshot** is an imported export: METRC packages (one line per UID tag) or an on-hand CSV
  of a POS or any system (one line per SKU/NDC/GTIN and lot). It is stored with its SHA-256 per
  site: the same file again creates nothing and answers with the first import.
- **The comparison** has one row per package (METRC) or per item and lot (CSV): the ledger's
  on-hand at the site's physical locations, the external figure, the latest counted quantity
  of a count session when one is named, the difference (external − ledger) and a status:
  ``match``, ``missing_external`` (the ledger holds it, the export does not list it),
  ``extra_external`` (the export lists it, the ledger does not hold it) or ``mismatch``.
  A package's ledger figure is its (location, item, lot) balance when it is that balance's only
  package, else its own base units (lot-level adjustments cannot say which package they touched).
- **Settling** takes, for each chosen row, the figure the user trusts (``external``, ``ledger``
  or ``count``): the ledger is adjusted to it (one adjustment document with the reason code,
  through ``approvals.request_adjustment``: below the adjustment policy it posts, above it it is
  held for a pharmacist's approval; schedule II stock needs a witness), and for METRC packages
  the record to send to METRC says how the state's figure must change to agree (``POST
  /packages/v2/adjust``: signed ``Quantity`` in the package's unit). Trusting the external
  figure therefore sends nothing; trusting the ledger posts nothing; trusting the count may do
  both. A held settlement gives no METRC records (the ledger has not changed yet): its rows show
  the approval they await and are left alone by further settlements until it is decided; once
  it is approved and posted, settling again gives the METRC records alone.
- **End of day**: units sold per SKU in a POS sales export against the ledger's dispenses net of
  returns and reversals on that UTC day at the site.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import Connection, Row

from rxledger.adapters import reconciliation_repository as rr
from rxledger.adapters import repository as repo
from rxledger.adapters.ingest import snapshots as readers
from rxledger.adapters.ingest.snapshots import SnapshotLine
from rxledger.domain import errors
from rxledger.domain.permissions import Permission
from rxledger.services import approvals, catalog, stock
from rxledger.services.controlled import Witness
from rxledger.services.posting import Header, PostedDocument
from rxledger.services.runtime import Actor, Runtime

Status = Literal["match", "missing_external", "extra_external", "mismatch"]
Trust = Literal["external", "ledger", "count"]
SOURCES = readers.SOURCES
TRUSTS: tuple[Trust, ...] = ("external", "ledger", "count")


@dataclass(frozen=True)
class SnapshotImport:
    snapshot_id: int
    site_id: int
    source: str
    sha256: str
    lines: int
    duplicate: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ComparisonRow:
    """One package (``kind="package"``, ``key`` its tag) or item and lot (``key`` SKU[/lot])."""

    key: str
    kind: Literal["package", "item"]
    status: Status
    ledger: int
    external: int | None
    difference: int  # external − ledger, base units (a missing external figure counts zero)
    item_id: int | None = None
    sku: str | None = None
    name: str | None = None
    lot_number: str | None = None
    location_id: int | None = None
    lot_id: int | None = None
    counted: int | None = None
    unit: str | None = None  # the unit the external system counts the package in
    note: str | None = None
    approval_id: int | None = None  # a settlement of the row held for this approval, pending


@dataclass(frozen=True)
class Comparison:
    snapshot_id: int
    site_id: int
    source: str
    file_name: str
    imported_at: datetime
    count_session_id: int | None
    rows: tuple[ComparisonRow, ...]

    def totals(self) -> dict[str, int]:
        found: dict[str, int] = dict.fromkeys(
            ("match", "missing_external", "extra_external", "mismatch"), 0
        )
        for row in self.rows:
            found[row.status] += 1
        return found

    def as_dict(self) -> dict[str, Any]:
        return {
            "snapshot_id": self.snapshot_id,
            "site_id": self.site_id,
            "source": self.source,
            "file_name": self.file_name,
            "imported_at": self.imported_at.isoformat(),
            "count_session_id": self.count_session_id,
            "totals": self.totals(),
            "rows": [asdict(r) for r in self.rows],
        }


@dataclass(frozen=True)
class Proposal:
    """What a proposal did: the ledger adjustment posted (if any) or held for approval
    (``approval_id``, ``held_adjustment_id``, worth ``value`` at standard cost), the METRC records
    to send (none while the adjustment is held), and the rows left alone with the reason."""

    document: PostedDocument | None
    metrc: tuple[dict[str, Any], ...]
    skipped: tuple[tuple[str, str], ...] = field(default=())
    approval_id: int | None = None
    held_adjustment_id: int | None = None
    value: Decimal | None = None

    @property
    def held(self) -> bool:
        return self.approval_id is not None

    def as_dict(self) -> dict[str, Any]:
        return {
            "document": self.document.as_dict() if self.document else None,
            "held": self.held,
            "approval_id": self.approval_id,
            "held_adjustment_id": self.held_adjustment_id,
            "value": None if self.value is None else str(self.value),
            "metrc": [
                {**r, "Quantity": float(r["Quantity"])} for r in self.metrc
            ],  # a JSON number, as METRC takes it
            "skipped": [{"key": k, "reason": why} for k, why in self.skipped],
        }


@dataclass(frozen=True)
class SalesRow:
    sku: str
    item_id: int | None
    name: str | None
    pos_units: int
    ledger_units: int
    difference: int  # POS − ledger
    status: Literal["match", "mismatch", "unknown_sku"]


# --- import ---------------------------------------------------------------------------------------


def import_snapshot(
    rt: Runtime, actor: Actor, site_id: int, source: str, file_name: str, data: bytes
) -> SnapshotImport:
    """Read an on-hand export completely, then store it once per site (by its SHA-256)."""
    actor.require(Permission.ADJUST, site_id)
    lines = _read(source, data, file_name)
    sha256 = hashlib.sha256(data).hexdigest()
    with rt.uow() as uow:
        conn = uow.connection
        if repo.site_by_id(conn, actor.organization_id, site_id) is None:
            raise errors.SiteNotFound(f"no site {site_id}", site_id=site_id)
        existing = rr.snapshot_by_sha256(conn, actor.organization_id, site_id, sha256)
        if existing is not None:
            count = len(rr.lines_of(conn, existing.id))
            return SnapshotImport(existing.id, site_id, existing.source, sha256, count, True)
        snapshot_id = rr.insert_snapshot(
            conn,
            {
                "organization_id": actor.organization_id,
                "site_id": site_id,
                "source": source,
                "kind": "on_hand",
                "file_name": file_name[:300] or "upload",
                "sha256": sha256,
                "imported_by": actor.username,
                "imported_at": rt.clock.now(),
            },
        )
        items = _items_for(conn, actor.organization_id, lines)
        rr.insert_lines(conn, [_line_values(actor, snapshot_id, ln, items) for ln in lines])
        uow.commit()
    return SnapshotImport(snapshot_id, site_id, source, sha256, len(lines), False)


def list_snapshots(
    rt: Runtime, actor: Actor, site_id: int, *, limit: int = 30
) -> list[dict[str, Any]]:
    """The site's imported snapshots, newest first: ``id, source, kind, file_name, imported_by,
    imported_at``."""
    actor.require(Permission.VIEW, site_id)
    with rt.uow(read_only=True) as uow:
        rows = rr.snapshots_of(uow.connection, actor.organization_id, site_id, limit)
    keys = ("id", "source", "kind", "file_name", "imported_by", "imported_at")
    return [{k: getattr(r, k) for k in keys} for r in rows]


def _read(source: str, data: bytes, name: str) -> list[SnapshotLine]:
    if source == "metrc":
        return readers.read_metrc_packages(data, name=name)
    if source in ("pos", "csv"):
        return readers.read_on_hand_csv(data, name=name)
    raise errors.ValidationFailed(
        f"unknown source {source!r}: one of {', '.join(SOURCES)}", source=source
    )


def _items_for(conn: Connection, org_id: int, lines: Sequence[SnapshotLine]) -> dict[str, int]:
    """The item of each external id: a package's by its tag, else by SKU, GTIN or NDC (one
    match only; an unknown or ambiguous id stays unresolved and is reported as extra)."""
    ids = {ln.external_id for ln in lines}
    if any(ln.identifier == "label" for ln in lines):
        return {label: p.item_id for label, p in rr.packages_by_label(conn, org_id, ids).items()}
    found: dict[str, int] = {}
    for value in ids:
        matches = catalog._item_ids_for(conn, org_id, value)
        if len(matches) == 1:
            found[value] = matches.pop()
    return found


def _line_values(
    actor: Actor, snapshot_id: int, line: SnapshotLine, items: dict[str, int]
) -> dict[str, Any]:
    return {
        "organization_id": actor.organization_id,
        "snapshot_id": snapshot_id,
        "line_no": line.line_no,
        "external_id": line.external_id[:120],
        "item_id": items.get(line.external_id),
        "lot_number": line.lot[:40] if line.lot else None,
        "quantity": line.quantity,
        "unit": line.unit,
        "day": None,
    }


# --- comparison -----------------------------------------------------------------------------------


def compare(
    rt: Runtime, actor: Actor, snapshot_id: int, count_session_id: int | None = None
) -> Comparison:
    """Ledger against the snapshot (and the count session's latest counts), row by row."""
    with rt.uow(read_only=True) as uow:
        return _compare(uow.connection, actor, snapshot_id, count_session_id)


def _compare(
    conn: Connection, actor: Actor, snapshot_id: int, count_session_id: int | None
) -> Comparison:
    org = actor.organization_id
    snap = rr.snapshot_by_id(conn, org, snapshot_id)
    if snap is None or not actor.can(Permission.VIEW, snap.site_id):
        raise errors.NotFound(f"no reconciliation snapshot {snapshot_id}", snapshot_id=snapshot_id)
    counts = _counts(conn, org, snap.site_id, count_session_id)
    lines = rr.lines_of(conn, snapshot_id)
    stock_rows = rr.site_stock(conn, org, snap.site_id)
    if snap.source == "metrc":
        rows = _package_rows(conn, org, snap.site_id, lines, stock_rows, counts)
    else:
        rows = _item_rows(conn, org, lines, stock_rows, counts)
    awaiting = _awaiting(conn, org, snap.site_id)
    if awaiting:
        rows = [
            replace(r, approval_id=awaiting[(r.kind, r.key)]) if (r.kind, r.key) in awaiting else r
            for r in rows
        ]
    return Comparison(
        snap.id,
        snap.site_id,
        snap.source,
        snap.file_name,
        snap.imported_at,
        count_session_id,
        tuple(rows),
    )


REFERENCE = "reconciliation"  # the settlement's document reference: "reconciliation <snapshot>"


def _awaiting(conn: Connection, org: int, site_id: int) -> dict[tuple[str, str], int]:
    """The rows (kind, key) a pending held settlement at the site adjusts, with its approval:
    of any snapshot, since a package's tag and an item's SKU[/lot] are the same in the next
    export. Read from the held lines' notes, which ``_Plan`` writes as "kind key: a -> b"."""
    found: dict[tuple[str, str], int] = {}
    for hold in rr.pending_holds(conn, org, site_id):
        payload = json.loads(hold.payload)
        if hold.approval_id is None or not str(payload.get("reference") or "").startswith(
            f"{REFERENCE} "
        ):
            continue
        for line in payload.get("lines", ()):
            head, sep, _ = str(line.get("note") or "").rpartition(": ")
            kind, _, key = head.partition(" ")
            if sep and kind in ("package", "item") and key:
                found.setdefault((kind, key), hold.approval_id)
    return found


def _status(ledger: int, external: int | None) -> Status:
    if external is None:
        return "missing_external"
    if ledger == 0 and external != 0:
        return "extra_external"
    return "match" if ledger == external else "mismatch"


Key = tuple[int, int, int]  # location, item, lot


def _counts(
    conn: Connection, org: int, site_id: int, session_id: int | None
) -> list[Row[Any]] | None:
    if session_id is None:
        return None
    session = rr.count_session(conn, org, session_id)
    if session is None or session.site_id != site_id:
        raise errors.NotFound(
            f"no count session {session_id} at the snapshot's site", count_session_id=session_id
        )
    return rr.latest_counts(conn, session_id)


def _package_rows(
    conn: Connection,
    org: int,
    site_id: int,
    lines: Sequence[Row[Any]],
    stock_rows: Sequence[Row[Any]],
    counts: Sequence[Row[Any]] | None,
) -> list[ComparisonRow]:
    balances: dict[Key, int] = {(s.location_id, s.item_id, s.lot_id): s.on_hand for s in stock_rows}
    here = rr.site_packages(conn, org, site_id)
    sharing: dict[Key, int] = defaultdict(int)
    for p in here:
        sharing[(p.location_id, p.item_id, p.lot_id)] += 1
    counted = {(c.location_id, c.item_id, c.lot_id): c for c in counts or ()}
    external = {ln.external_id: ln for ln in lines}
    elsewhere = rr.packages_by_label(conn, org, set(external) - {p.serial for p in here})
    items = rr.items_by_id(
        conn, org, {p.item_id for p in here} | {p.item_id for p in elsewhere.values()}
    )
    rows: list[ComparisonRow] = []
    for p in here:
        key: Key = (p.location_id, p.item_id, p.lot_id)
        alone = sharing[key] == 1
        ledger = balances.get(key, 0) if alone else p.base_units
        note = (
            None
            if alone
            else (
                f"shares lot {p.lot_number or '-'} at location {p.location_id} with "
                f"{sharing[key] - 1} other package(s); the lot holds {balances.get(key, 0)}"
            )
        )
        line = external.get(p.serial)
        theirs = int(line.quantity) if line is not None else None
        if ledger == 0 and theirs is None:
            continue  # adjusted out here and unknown to the state: nothing to reconcile
        rows.append(
            _row(p.serial, "package", ledger, theirs, items.get(p.item_id), p, line,
                 _package_count(counted.get(key), p, alone), note)
        )  # fmt: skip
    held_here = {p.serial for p in here}
    for label, line in external.items():
        if label in held_here:
            continue
        known = elsewhere.get(label)
        note = "not a package of the ledger" if known is None else "not at this site's shelves"
        item = items.get(known.item_id) if known is not None else None
        rows.append(_row(label, "package", 0, int(line.quantity), item, None, line, None, note))
    return sorted(rows, key=lambda r: r.key)


def _package_count(count: Row[Any] | None, p: Row[Any], alone: bool) -> int | None:
    """A package's counted quantity: its line's count when it is alone in it, else its base units
    if its tag was scanned in the count (zero if not)."""
    if count is None:
        return None
    if alone:
        return int(count.counted)
    scanned = set((count.serials or "").split())
    return p.base_units if p.serial in scanned else 0


def _row(
    key: str,
    kind: Literal["package", "item"],
    ledger: int,
    external: int | None,
    item: Row[Any] | None,
    package: Row[Any] | None,
    line: Row[Any] | None,
    counted: int | None,
    note: str | None,
    lot_number: str | None = None,
) -> ComparisonRow:
    return ComparisonRow(
        key=key,
        kind=kind,
        status=_status(ledger, external),
        ledger=ledger,
        external=external,
        difference=(external or 0) - ledger,
        item_id=item.id if item is not None else None,
        sku=item.sku if item is not None else None,
        name=item.name if item is not None else (line.external_id if line is not None else None),
        lot_number=package.lot_number if package is not None else (
            line.lot_number if line is not None else lot_number
        ),
        location_id=package.location_id if package is not None else None,
        lot_id=package.lot_id if package is not None else None,
        counted=counted,
        unit=line.unit if line is not None else None,
        note=note,
    )  # fmt: skip


def _item_rows(
    conn: Connection,
    org: int,
    lines: Sequence[Row[Any]],
    stock_rows: Sequence[Row[Any]],
    counts: Sequence[Row[Any]] | None,
) -> list[ComparisonRow]:
    """Per item: a row per lot the export names, and one for the rest of the item's stock (the
    export's lines without a lot, against the ledger's lots it does not name)."""
    ext: dict[tuple[int, str | None], int] = defaultdict(int)
    unknown: dict[str, int] = defaultdict(int)
    for ln in lines:
        if ln.item_id is None:
            unknown[ln.external_id] += int(ln.quantity)
        else:
            ext[(ln.item_id, ln.lot_number)] += int(ln.quantity)
    named = {(item, lot) for item, lot in ext if lot is not None}
    ledger: dict[tuple[int, str | None], int] = defaultdict(int)
    lot_ids: dict[tuple[int, str | None], int] = {}
    for s in stock_rows:
        lot = s.lot_number if (s.item_id, s.lot_number) in named else None
        ledger[(s.item_id, lot)] += s.on_hand
        lot_ids[(s.item_id, s.lot_number)] = s.lot_id
    counted: dict[tuple[int, str | None], int] = defaultdict(int)
    lot_numbers = _lot_numbers(stock_rows)
    for c in counts or ():
        number = lot_numbers.get(c.lot_id) if c.lot_id is not None else None
        counted[(c.item_id, number if (c.item_id, number) in named else None)] += c.counted
    items = rr.items_by_id(conn, org, {item for item, _ in set(ext) | set(ledger)})
    rows = []
    for item_id, lot in sorted(set(ext) | set(ledger), key=lambda k: (k[0], k[1] or "")):
        mine, theirs = ledger.get((item_id, lot), 0), ext.get((item_id, lot))
        if mine == 0 and theirs is None:
            continue
        item = items[item_id]
        key = f"{item.sku}/{lot}" if lot is not None else item.sku
        seen = counted.get((item_id, lot)) if counts is not None else None
        rows.append(_row(key, "item", mine, theirs, item, None, None, seen, None, lot))
    for external_id, quantity in sorted(unknown.items()):
        rows.append(
            ComparisonRow(external_id, "item", _status(0, quantity), 0, quantity, quantity,
                          note="not an item of the item master")
        )  # fmt: skip
    return rows


def _lot_numbers(stock_rows: Iterable[Row[Any]]) -> dict[int, str]:
    return {s.lot_id: s.lot_number for s in stock_rows}


# --- settling -------------------------------------------------------------------------------------


def propose(
    rt: Runtime,
    actor: Actor,
    snapshot_id: int,
    reason_code: str,
    *,
    keys: Sequence[str] | None = None,
    trust: Trust = "external",
    count_session_id: int | None = None,
    external_reason: str | None = None,
    note: str | None = None,
    idempotency_key: str | None = None,
    witness: Witness | None = None,
) -> Proposal:
    """Adjust the ledger to the trusted figure of each chosen row (all rows that differ when no
    keys are given) and return the METRC adjustments that bring the state's figures to it.

    The adjustment follows the approval policies (``approvals.request_adjustment``): above the
    policy it is held, the proposal names the approval, and no METRC record is given until it
    posts. Rows a pending held settlement adjusts are left alone. Schedule II stock needs the
    ``witness``."""
    if trust not in TRUSTS:
        raise errors.ValidationFailed(f"trust is one of {', '.join(TRUSTS)}", trust=trust)
    if trust == "count" and count_session_id is None:
        raise errors.ValidationFailed("trusting the count needs a count session", trust=trust)
    comparison = compare(rt, actor, snapshot_id, count_session_id)
    actor.require(Permission.ADJUST, comparison.site_id)
    with rt.uow(read_only=True) as uow:
        active = repo.active_reason_codes(uow.connection, actor.organization_id)
        stock_rows = rr.site_stock(uow.connection, actor.organization_id, comparison.site_id)
    if reason_code not in active:
        raise errors.UnknownReasonCode(
            f"{reason_code!r} is not an active reason code", reason_code=reason_code
        )
    chosen, skipped = [], []
    for row in _chosen(comparison, keys):
        if row.approval_id is None:
            chosen.append(row)
        else:
            skipped.append((row.key, f"awaiting approval {row.approval_id}"))
    named_lots = {
        (r.item_id, r.lot_number)
        for r in comparison.rows
        if r.kind == "item" and r.lot_number is not None
    }
    plan = _Plan(reason_code, stock_rows, named_lots)
    plan.skipped.extend(skipped)
    for row in chosen:
        plan.add(row, _trusted(row, trust), comparison.source == "metrc")
    outcome = None
    if plan.lines:
        # settling the same rows of the same snapshot twice (two tabs, a retry) posts or holds once
        key = idempotency_key or _settlement_key(
            rt, actor, f"reconcile:{snapshot_id}:{trust}:{','.join(sorted(r.key for r in chosen))}"
        )
        header = Header(
            reference=f"{REFERENCE} {snapshot_id}",
            reason_code=reason_code,
            note=note,
            idempotency_key=key,
        )
        command = stock.Adjust(comparison.site_id, plan.lines, header, witness)
        outcome = approvals.request_adjustment(rt, actor, command)
    if outcome is not None and outcome.held:
        withheld = f"awaiting approval {outcome.approval_id}: settle again once it is posted"
        plan.skipped.extend((label, withheld) for label, _, _ in plan.external)
        return Proposal(
            None,
            (),
            tuple(plan.skipped),
            approval_id=outcome.approval_id,
            held_adjustment_id=outcome.held_id,
            value=outcome.value,
        )
    document = outcome.document if outcome is not None else None
    today = rt.clock.now().astimezone(UTC).date().isoformat()
    reason = external_reason or _description(rt, actor, reason_code)
    records = tuple(
        {
            "Label": label,
            "Quantity": quantity,
            "UnitOfMeasure": unit,
            "AdjustmentReason": reason,
            "AdjustmentDate": today,
            "ReasonNote": note or f"rxledger reconciliation of snapshot {snapshot_id}",
        }
        for label, quantity, unit in plan.external
    )
    value = outcome.value if outcome is not None else None
    return Proposal(document, records, tuple(plan.skipped), value=value)


def _settlement_key(rt: Runtime, actor: Actor, base: str) -> str:
    """The derived idempotency key of a settlement: a retry finds the first result (posted at
    once, held and pending, or approved and posted), but after a rejection the same rows may be
    settled again, as a new request. Settling the same rows again once a settlement posted is
    refused (``IDEMPOTENCY_CONFLICT``): the snapshot is older than the stock it settled, so a
    second settlement to it would undo what moved since; import a new snapshot instead."""
    key = base[:200]
    with rt.uow(read_only=True) as uow:
        for _ in range(100):
            hold = rr.hold_by_key(uow.connection, actor.organization_id, key)
            if hold is None or hold.status != "rejected":
                return key
            suffix = f":after-{hold.id}"
            key = base[: 200 - len(suffix)] + suffix
    return key


def _chosen(comparison: Comparison, keys: Sequence[str] | None) -> list[ComparisonRow]:
    if keys is None:
        return [
            r for r in comparison.rows if r.status != "match" or r.counted not in (None, r.ledger)
        ]
    by_key = {r.key: r for r in comparison.rows}
    unknown = [k for k in keys if k not in by_key]
    if unknown:
        raise errors.ValidationFailed(
            f"no row {', '.join(unknown)} in the comparison", keys=unknown
        )
    return [by_key[k] for k in dict.fromkeys(keys)]


def _trusted(row: ComparisonRow, trust: Trust) -> int | None:
    if trust == "external":
        return row.external or 0
    if trust == "ledger":
        return row.ledger
    return row.counted


def _description(rt: Runtime, actor: Actor, code: str) -> str:
    return dict(catalog.list_reason_codes(rt, actor)).get(code, code)


class _Plan:
    """The ledger's adjustment lines and the external deltas for the chosen rows."""

    def __init__(
        self,
        reason_code: str,
        stock_rows: Sequence[Row[Any]],
        named_lots: set[tuple[int | None, str]],
    ) -> None:
        self.reason_code = reason_code
        self.stock = stock_rows
        self.named_lots = named_lots
        self.lines: list[stock.AdjustLine] = []
        self.external: list[tuple[str, Decimal, str]] = []
        self.skipped: list[tuple[str, str]] = []

    def add(self, row: ComparisonRow, target: int | None, metrc: bool) -> None:
        if target is None:
            self.skipped.append((row.key, "not counted"))
            return
        if target != row.ledger:
            self._adjust_ledger(row, target - row.ledger)
        if metrc and target != (row.external or 0):
            self._adjust_external(row, target - (row.external or 0))

    def _adjust_ledger(self, row: ComparisonRow, delta: int) -> None:
        note = f"{row.kind} {row.key}: {row.ledger} -> {row.ledger + delta}"
        if row.kind == "package":
            if row.location_id is None or row.lot_id is None or row.item_id is None:
                self.skipped.append(
                    (row.key, "the ledger does not hold the package here: receive it")
                )
                return
            self.lines.append(
                stock.AdjustLine(
                    row.item_id, row.location_id, row.lot_id, self.reason_code, delta, note=note
                )
            )
            return
        held = [
            s
            for s in self.stock
            if s.item_id == row.item_id
            and (
                s.lot_number == row.lot_number
                if row.lot_number is not None
                # the item's other stock: not the lots the export lists on rows of their own
                else (s.item_id, s.lot_number) not in self.named_lots
            )
            and s.on_hand > 0
        ]
        held.sort(key=lambda s: (-s.on_hand, s.location_id, s.lot_id))
        if not held:
            self.skipped.append((row.key, "no location of the site holds it: receive or move it"))
            return
        if delta > 0:
            top = held[0]
            self.lines.append(
                stock.AdjustLine(
                    top.item_id, top.location_id, top.lot_id, self.reason_code, delta, note=note
                )
            )
            return
        remaining = -delta
        for s in held:
            take = min(remaining, s.on_hand)
            self.lines.append(
                stock.AdjustLine(
                    s.item_id, s.location_id, s.lot_id, self.reason_code, -take, note=note
                )
            )
            remaining -= take
            if remaining == 0:
                break

    def _adjust_external(self, row: ComparisonRow, delta: int) -> None:
        if row.external is None or row.unit is None:
            self.skipped.append(
                (row.key, "METRC does not list the package: nothing to adjust there")
            )
            return
        self.external.append((row.key, readers.in_package_unit(delta, row.unit), row.unit))


# --- end of day -----------------------------------------------------------------------------------


def sales_reconciliation(
    rt: Runtime, actor: Actor, site_id: int, data: bytes, day: date, *, file_name: str = "sales.csv"
) -> list[SalesRow]:
    """Units sold per SKU on ``day`` in a POS sales export against the ledger's dispenses net of
    returns and reversals that UTC day; rows of other days in the export are left out."""
    actor.require(Permission.VIEW, site_id)
    sold: dict[str, int] = defaultdict(int)
    for sale in readers.read_sales_csv(data, name=file_name):
        if sale.day == day:
            sold[sale.sku] += sale.quantity
    start = datetime.combine(day, time(), UTC)
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        if repo.site_by_id(conn, actor.organization_id, site_id) is None:
            raise errors.SiteNotFound(f"no site {site_id}", site_id=site_id)
        dispensed = rr.net_dispensed(
            conn, actor.organization_id, site_id, start, start + timedelta(days=1)
        )
        by_sku = rr.items_by_sku(conn, actor.organization_id, set(sold))
        by_id = rr.items_by_id(conn, actor.organization_id, set(dispensed))
    rows: dict[str, SalesRow] = {}
    for sku, units in sold.items():
        item = by_sku.get(sku)
        if item is None:
            rows[sku] = SalesRow(sku, None, None, units, 0, units, "unknown_sku")
            continue
        ledger = dispensed.get(item.id, 0)
        rows[sku] = _sales_row(sku, item, units, ledger)
    for item_id, ledger in dispensed.items():
        item = by_id[item_id]
        if item.sku not in rows and ledger != 0:
            rows[item.sku] = _sales_row(item.sku, item, 0, ledger)
    return [rows[sku] for sku in sorted(rows)]


def _sales_row(sku: str, item: Row[Any], pos: int, ledger: int) -> SalesRow:
    status: Literal["match", "mismatch"] = "match" if pos == ledger else "mismatch"
    return SalesRow(sku, item.id, item.name, pos, ledger, pos - ledger, status)
