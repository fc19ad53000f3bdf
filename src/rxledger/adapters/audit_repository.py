"""SQL of the audit trail: audit rows, and the hash chain that seals them with the movements.

The chain is appended by sealers that lock the organization's ``chain_heads`` row; the rows a
link seals are read here column by column in the fixed order the hash is computed over.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    and_,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from rxledger.adapters import tables as t
from rxledger.adapters import tables_control as tc

GENESIS = "0" * 64
MOVEMENT, AUDIT = "movement", "audit"

# Every column of a sealed row, in the order its canonical content lists them. Never reorder:
# existing links were hashed over this order.
MOVEMENT_COLUMNS: tuple[str, ...] = (
    "id",
    "organization_id",
    "document_id",
    "line_no",
    "item_id",
    "lot_id",
    "serial_id",
    "from_location_id",
    "to_location_id",
    "quantity",
    "reason_code",
    "note",
    "occurred_at",
    "recorded_at",
)
AUDIT_COLUMNS: tuple[str, ...] = (
    "id",
    "organization_id",
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
_TABLES = {MOVEMENT: (t.movements, MOVEMENT_COLUMNS), AUDIT: (tc.audit_log, AUDIT_COLUMNS)}


@dataclass(frozen=True, slots=True)
class Head:
    organization_id: int
    seq: int
    hash: str
    movement_id: int
    audit_id: int


@dataclass(frozen=True, slots=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None  # a prefix: "post" finds every posting
    subject_type: str | None = None
    subject_id: str | None = None
    site_ids: frozenset[int] | None = None  # None: every site (see the visibility rule below)
    site_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None


# --- audit rows -----------------------------------------------------------------------------------

PEOPLE_SUBJECTS = ("user", "token")


# Built once: every posting writes an audit row, and building the statement with its values
# each time cost more client CPU than the rest of the row's work.
_INSERT_AUDIT = insert(tc.audit_log).returning(tc.audit_log.c.id)


def insert_audit(conn: Connection, values: Mapping[str, Any]) -> int:
    return int(conn.execute(_INSERT_AUDIT, dict(values)).scalar_one())


def _conditions(org_id: int, f: AuditFilter) -> list[ColumnElement[bool]]:
    a = tc.audit_log
    where: list[ColumnElement[bool]] = [a.c.organization_id == org_id]
    if f.actor:
        where.append(a.c.actor == f.actor)
    if f.action:
        where.append(a.c.action.startswith(f.action, autoescape=True))
    if f.subject_type:
        where.append(a.c.subject_type == f.subject_type)
    if f.subject_id:
        where.append(a.c.subject_id == f.subject_id)
    if f.site_id is not None:
        where.append(a.c.site_id == f.site_id)
    if f.site_ids is not None:
        # rows about people (users, their grants, tokens) carry no site: only those who see
        # every site read them; other site-less rows (the item master) are everyone's
        organization_level = and_(a.c.site_id.is_(None), a.c.subject_type.not_in(PEOPLE_SUBJECTS))
        where.append(or_(organization_level, a.c.site_id.in_(sorted(f.site_ids))))
    if f.since is not None:
        where.append(a.c.occurred_at >= f.since)
    if f.until is not None:
        where.append(a.c.occurred_at < f.until)
    return where


def search_audit(
    conn: Connection, org_id: int, f: AuditFilter, *, limit: int | None, offset: int = 0
) -> Sequence[Any]:
    """Matching audit rows, newest first (by id: the order they were written)."""
    a = tc.audit_log
    statement = select(a).where(*_conditions(org_id, f)).order_by(a.c.id.desc()).offset(offset)
    if limit is not None:
        statement = statement.limit(limit)
    return conn.execute(statement).all()


# --- the chain ------------------------------------------------------------------------------------


def lock_head(conn: Connection, org_id: int) -> Head:
    """The organization's chain head, created at the genesis if missing, locked until commit (on
    PostgreSQL; SQLite runs one writer at a time)."""
    h = tc.chain_heads
    genesis = {
        "organization_id": org_id,
        "seq": 0,
        "hash": GENESIS,
        "movement_id": 0,
        "audit_id": 0,
    }
    if conn.dialect.name == "postgresql":
        conn.execute(postgresql.insert(h).values(**genesis).on_conflict_do_nothing())
        row = conn.execute(select(h).where(h.c.organization_id == org_id).with_for_update()).one()
    else:
        conn.execute(sqlite.insert(h).values(**genesis).on_conflict_do_nothing())
        row = conn.execute(select(h).where(h.c.organization_id == org_id)).one()
    return Head(org_id, int(row.seq), row.hash, int(row.movement_id), int(row.audit_id))


def read_head(conn: Connection, org_id: int) -> Head | None:
    h = tc.chain_heads
    row = conn.execute(select(h).where(h.c.organization_id == org_id)).first()
    if row is None:
        return None
    return Head(org_id, int(row.seq), row.hash, int(row.movement_id), int(row.audit_id))


def _sealed(kind: str, id_column: Column[Any]) -> ColumnElement[bool]:
    links = tc.chain_links
    return exists().where(links.c.kind == kind, links.c.row_id == id_column)


def unsealed(
    conn: Connection, kind: str, org_id: int, *, above: int, late_window: int, limit: int
) -> list[tuple[Any, ...]]:
    """Rows of one kind not yet in the chain, in id order: those above the head's watermark, and
    those at most ``late_window`` ids below it that committed after a seal had passed them."""
    table, columns = _TABLES[kind]
    id_ = table.c.id
    statement = (
        select(*(table.c[name] for name in columns))
        .where(
            table.c.organization_id == org_id,
            id_ > above - late_window,
            ~_sealed(kind, id_),
        )
        .order_by(id_)
        .limit(limit)
    )
    return [tuple(r) for r in conn.execute(statement)]


def insert_links(conn: Connection, links: Sequence[Mapping[str, Any]]) -> None:
    if links:
        conn.execute(insert(tc.chain_links), list(links))


def advance_head(conn: Connection, head: Head) -> None:
    conn.execute(
        update(tc.chain_heads)
        .where(tc.chain_heads.c.organization_id == head.organization_id)
        .values(seq=head.seq, hash=head.hash, movement_id=head.movement_id, audit_id=head.audit_id)
    )


def links_with_rows(conn: Connection, org_id: int, *, batch: int = 2000) -> Iterator[Any]:
    """Every link of the organization in seq order, each with the columns of the row it seals
    (``m_*`` for a movement, ``a_*`` for an audit row; all null when the row is gone)."""
    links, m, a = tc.chain_links, t.movements, tc.audit_log
    statement = (
        select(
            links.c.seq,
            links.c.kind,
            links.c.row_id,
            links.c.prev_hash,
            links.c.hash,
            *(m.c[name].label(f"m_{name}") for name in MOVEMENT_COLUMNS),
            *(a.c[name].label(f"a_{name}") for name in AUDIT_COLUMNS),
        )
        .select_from(links)
        .outerjoin(m, and_(links.c.kind == literal(MOVEMENT), m.c.id == links.c.row_id))
        .outerjoin(a, and_(links.c.kind == literal(AUDIT), a.c.id == links.c.row_id))
        .where(links.c.organization_id == org_id)
        .order_by(links.c.seq)
        .execution_options(stream_results=True, yield_per=batch)
    )
    yield from conn.execute(statement)


def count_unsealed(conn: Connection, kind: str, org_id: int) -> int:
    """Rows of the organization that no link seals (new since the last seal, or slipped in)."""
    table, _ = _TABLES[kind]
    return int(
        conn.execute(
            select(func.count())
            .select_from(table)
            .where(table.c.organization_id == org_id, ~_sealed(kind, table.c.id))
        ).scalar_one()
    )


def site_ids(conn: Connection, org_id: int) -> list[int]:
    sites = t.sites
    return [
        int(r.id) for r in conn.execute(select(sites.c.id).where(sites.c.organization_id == org_id))
    ]


def organization_ids(conn: Connection) -> list[int]:
    return [int(r.id) for r in conn.execute(select(t.organizations.c.id).order_by("id"))]
