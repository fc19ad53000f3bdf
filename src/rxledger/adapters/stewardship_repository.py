"""Reading and writing item-master stewardship: package levels added for scanned GTINs, item
proposals with their approval, and the receiving lines of unknown products."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import Connection, Row, and_, insert, select, update

from rxledger.adapters import tables as t
from rxledger.adapters import tables_receiving as r
from rxledger.domain.model import Package
from rxledger.domain.stewardship import PROPOSAL_SUBJECT

UNKNOWN_GTIN = "unknown_gtin"

# --- package levels -----------------------------------------------------------------------------


def gtin_owner(conn: Connection, org_id: int, gtin: str) -> Row[Any] | None:
    """The item and package level a GTIN names, if any."""
    p = t.item_packages.c
    columns: tuple[Any, ...] = (p.item_id, p.level, p.base_units)
    return conn.execute(select(*columns).where(p.organization_id == org_id, p.gtin == gtin)).first()


def packages_of(conn: Connection, item_id: int) -> list[Package]:
    p = t.item_packages.c
    rows = conn.execute(select(t.item_packages).where(p.item_id == item_id).order_by(p.base_units))
    return [Package(x.level, x.base_units, x.gtin, x.ndc10, x.description) for x in rows]


def fill_package_gtin(
    conn: Connection, item_id: int, level: str, gtin: str, ndc10: str | None
) -> None:
    """Give a level that has no GTIN yet its GTIN (and its NDC, when it has none)."""
    p = t.item_packages.c
    values: dict[str, Any] = {"gtin": gtin}
    if ndc10 is not None:
        values["ndc10"] = ndc10
    conn.execute(
        update(t.item_packages)
        .where(p.item_id == item_id, p.level == level, p.gtin.is_(None))
        .values(**values)
    )


def insert_package(conn: Connection, values: Mapping[str, Any]) -> None:
    conn.execute(insert(t.item_packages).values(**values))


# --- proposals ----------------------------------------------------------------------------------

_a = r.approvals.c
_p = r.item_proposals.c
_PROPOSAL_COLUMNS = (
    r.item_proposals,
    _a.id.label("approval_id"),
    _a.status,
    _a.decided_by,
    _a.decided_at,
    _a.note.label("decision_note"),
)
_JOIN = r.item_proposals.join(
    r.approvals, and_(_a.subject_type == PROPOSAL_SUBJECT, _a.subject_id == _p.id)
)


def insert_proposal(conn: Connection, values: Mapping[str, Any]) -> int:
    statement = insert(r.item_proposals).values(**values).returning(_p.id)
    return int(conn.execute(statement).scalar_one())


def proposal_by_id(conn: Connection, org_id: int, proposal_id: int) -> Row[Any] | None:
    """A proposal with its approval's status and decision."""
    return conn.execute(
        select(*_PROPOSAL_COLUMNS)
        .select_from(_JOIN)
        .where(_p.organization_id == org_id, _p.id == proposal_id)
    ).first()


def proposals(
    conn: Connection,
    org_id: int,
    site_ids: Collection[int] | None,
    status: str | None,
    *,
    limit: int,
    offset: int,
) -> list[Row[Any]]:
    """Proposals, oldest first; ``site_ids`` None: every site."""
    statement = select(*_PROPOSAL_COLUMNS).select_from(_JOIN).where(_p.organization_id == org_id)
    if site_ids is not None:
        statement = statement.where(_p.site_id.in_(sorted(site_ids)))
    if status is not None:
        statement = statement.where(_a.status == status)
    statement = statement.order_by(_p.proposed_at, _p.id).limit(limit).offset(offset)
    return list(conn.execute(statement))


def pending_proposal_for(conn: Connection, org_id: int, gtin: str) -> int | None:
    """The proposal of this GTIN still waiting for a decision, if any."""
    found = conn.execute(
        select(_p.id)
        .select_from(_JOIN)
        .where(_p.organization_id == org_id, _p.gtin == gtin, _a.status == "pending")
        .limit(1)
    ).scalar_one_or_none()
    return None if found is None else int(found)


def set_proposal_item(conn: Connection, proposal_id: int, item_id: int) -> None:
    conn.execute(update(r.item_proposals).where(_p.id == proposal_id).values(item_id=item_id))


def decide_pending(conn: Connection, approval_id: int, values: Mapping[str, Any]) -> bool:
    """Decide an approval that is still pending; False when someone decided it first."""
    result = conn.execute(
        update(r.approvals).where(_a.id == approval_id, _a.status == "pending").values(**values)
    )
    return result.rowcount == 1


def sku_taken(conn: Connection, org_id: int, sku: str) -> bool:
    i = t.items.c
    found = conn.execute(select(i.id).where(i.organization_id == org_id, i.sku == sku)).first()
    return found is not None


# --- receiving lines of unknown products --------------------------------------------------------

_l = r.receiving_lines.c
_s = r.receiving_sessions.c


def unknown_lines(conn: Connection, session_id: int) -> list[Row[Any]]:
    """A session's lines held because their GTIN was not in the item master, in scan order."""
    return list(
        conn.execute(
            select(r.receiving_lines)
            .where(_l.session_id == session_id, _l.reason == UNKNOWN_GTIN, _l.item_id.is_(None))
            .order_by(_l.line_no)
        )
    )


def unknown_lines_at_site(conn: Connection, site_id: int, *, limit: int) -> list[Row[Any]]:
    """The unknown-product lines of a site's open sessions, oldest scan first."""
    return list(
        conn.execute(
            select(r.receiving_lines)
            .join(r.receiving_sessions, _s.id == _l.session_id)
            .where(
                _s.site_id == site_id,
                _s.status == "open",
                _l.reason == UNKNOWN_GTIN,
                _l.item_id.is_(None),
            )
            .order_by(_l.scanned_at, _l.id)
            .limit(limit)
        )
    )


def rejudge_line(conn: Connection, line_id: int, values: Mapping[str, Any]) -> bool:
    """Record a line's new match and verdict, if it is still an unknown product's line."""
    result = conn.execute(
        update(r.receiving_lines)
        .where(_l.id == line_id, _l.reason == UNKNOWN_GTIN, _l.item_id.is_(None))
        .values(**values)
    )
    return result.rowcount == 1


def resolve_unknown_discrepancy(conn: Connection, line_id: int, values: Mapping[str, Any]) -> int:
    """Resolve the open unknown-GTIN discrepancy of a line; how many rows it changed."""
    d = r.discrepancies.c
    result = conn.execute(
        update(r.discrepancies)
        .where(d.line_id == line_id, d.reason == UNKNOWN_GTIN, d.status == "open")
        .values(**values)
    )
    return result.rowcount
