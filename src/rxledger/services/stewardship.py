"""Item-master stewardship: a GTIN the receiving dock did not know is linked to an existing item,
or proposed as a new item for a pharmacist's approval (rules in ``domain.stewardship``).

Linking needs ``manage_items``. A proposal is made by whoever receives at the site and waits in
the generic ``approvals`` table (subject ``item_proposal``, the same mechanism as purchasing); a
user holding ``approve_items`` there — a pharmacist or an administrator, never the proposer —
approves it, which creates the item through the catalog in the same transaction, or rejects it
with a reason. Afterwards the unknown lines of an open receiving session can be judged again
(``services.rejudging``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Row

from rxledger.adapters import purchasing_repository as pr
from rxledger.adapters import receiving_repository as rr
from rxledger.adapters import repository as repo
from rxledger.adapters import stewardship_repository as sr
from rxledger.domain import errors
from rxledger.domain.identifiers import Ndc, normalize_gtin
from rxledger.domain.model import Item
from rxledger.domain.permissions import Permission
from rxledger.domain.stewardship import (
    APPROVE_ITEM,
    PROPOSAL_SUBJECT,
    ProposalStatus,
    ProposedItem,
    check_checker,
    check_proposal,
    place_gtin,
    require_package_units,
)
from rxledger.services import catalog
from rxledger.services.catalog import NewItem, PackageSpec
from rxledger.services.queries import visible_site_ids
from rxledger.services.runtime import Actor, Runtime


@dataclass(frozen=True, slots=True)
class ProposalView:
    id: int
    site_id: int
    status: str
    gtin: str
    package_units: int
    package_level: str | None
    sku: str
    name: str
    generic_name: str
    strength: str
    dosage_form: str
    route: str
    base_unit: str
    ndc10: str | None
    cannabis_category: str | None
    note: str | None
    session_id: int | None
    proposed_by: str
    proposed_at: datetime
    approval_id: int
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    item_id: int | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class UnknownScan:
    """A package of an open receiving session whose GTIN the item master did not know."""

    session_id: int
    line_id: int
    gtin: str | None
    lot_number: str | None
    expiry: date | None
    serial: str | None
    quantity: int
    scanned_by: str
    scanned_at: datetime
    known_item_id: int | None  # linked (or approved) since: the session can be judged again
    pending_proposal_id: int | None


# --- linking ------------------------------------------------------------------------------------


def link_gtin(
    rt: Runtime,
    actor: Actor,
    item_id: int,
    gtin: str,
    base_units: int,
    *,
    level: str | None = None,
    ndc10: str | None = None,
) -> Item:
    """Add a scanned GTIN to an existing item as the package level of ``base_units``: a GTIN
    already on another item (or on this one with another size) is refused; the same link again
    changes nothing."""
    actor.require_anywhere(Permission.MANAGE_ITEMS)
    code = normalize_gtin(gtin)
    units = require_package_units(base_units)
    ndc = Ndc.parse(ndc10).ndc10 if ndc10 and ndc10.strip() else None
    with rt.uow() as uow:
        conn = uow.connection
        if item_id not in repo.items_by_id(conn, actor.organization_id, [item_id]):
            raise errors.ItemNotFound(f"no item {item_id}", item_id=item_id)
        owner = sr.gtin_owner(conn, actor.organization_id, code)
        if owner is None or (owner.item_id, owner.base_units) != (item_id, units):
            _refuse_assigned(owner, code)
            _add_package(conn, actor, item_id, code, units, level, ndc)
        uow.commit()
    return catalog.get_item(rt, actor, item_id)


def _refuse_assigned(owner: Row[Any] | None, gtin: str) -> None:
    if owner is not None:
        raise errors.GtinAlreadyAssigned(
            f"GTIN {gtin} is already the {owner.level} ({owner.base_units} base units) of item "
            f"{owner.item_id}",
            gtin=gtin,
            item_id=owner.item_id,
            level=owner.level,
        )


def _add_package(
    conn: Connection,
    actor: Actor,
    item_id: int,
    gtin: str,
    units: int,
    level: str | None,
    ndc10: str | None,
) -> None:
    placement = place_gtin(sr.packages_of(conn, item_id), units, level)
    if placement.fill:
        sr.fill_package_gtin(conn, item_id, placement.level, gtin, ndc10)
        return
    spec = PackageSpec(placement.level, units, gtin, ndc10)
    sr.insert_package(conn, {**catalog.package_values(actor, spec), "item_id": item_id})


# --- proposing and deciding ---------------------------------------------------------------------


def propose_item(rt: Runtime, actor: Actor, proposal: ProposedItem) -> ProposalView:
    """Propose a new item for a GTIN the item master does not know; it waits for the approval
    of a pharmacist at the site. A GTIN already known, or already proposed, is refused."""
    actor.require(Permission.RECEIVE, proposal.site_id)
    p = check_proposal(proposal)
    assert p.sku is not None
    with rt.uow() as uow:
        conn = uow.connection
        _require_site_and_session(rt, conn, actor, p)
        _refuse_assigned(sr.gtin_owner(conn, actor.organization_id, p.gtin), p.gtin)
        pending = sr.pending_proposal_for(conn, actor.organization_id, p.gtin)
        if pending is not None:
            raise errors.DuplicateCode(
                f"GTIN {p.gtin} is already proposed (proposal {pending})", proposal_id=pending
            )
        _refuse_sku(conn, actor, p.sku)
        proposal_id = _insert(rt, conn, actor, p)
        uow.commit()
    return get_proposal(rt, actor, proposal_id)


def approve_proposal(
    rt: Runtime, actor: Actor, proposal_id: int, note: str | None = None
) -> ProposalView:
    """Approve a pending proposal and create its item (with the proposed package) in the same
    transaction: by a user holding ``approve_items`` at the proposal's site who did not propose
    it."""
    with rt.uow() as uow:
        conn = uow.connection
        row = _pending(conn, actor, proposal_id)
        _decide(rt, conn, actor, row, ProposalStatus.APPROVED, note)
        _refuse_assigned(sr.gtin_owner(conn, actor.organization_id, row.gtin), row.gtin)
        _refuse_sku(conn, actor, row.sku)
        item_id = catalog.insert_item(conn, actor, _new_item(row))
        sr.set_proposal_item(conn, proposal_id, item_id)
        uow.commit()
    return get_proposal(rt, actor, proposal_id)


def reject_proposal(rt: Runtime, actor: Actor, proposal_id: int, note: str) -> ProposalView:
    """Reject a pending proposal with a reason, under the same rules as approving it."""
    reason = (note or "").strip()
    if not reason:
        raise errors.ValidationFailed("a rejection needs a reason", field="note")
    with rt.uow() as uow:
        conn = uow.connection
        row = _pending(conn, actor, proposal_id)
        _decide(rt, conn, actor, row, ProposalStatus.REJECTED, reason)
        uow.commit()
    return get_proposal(rt, actor, proposal_id)


# --- reading ------------------------------------------------------------------------------------


def get_proposal(rt: Runtime, actor: Actor, proposal_id: int) -> ProposalView:
    with rt.uow(read_only=True) as uow:
        return _view(_row(uow.connection, actor, proposal_id))


def list_proposals(
    rt: Runtime,
    actor: Actor,
    *,
    site_id: int | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[ProposalView]:
    """Proposals of the visible sites (or one site), oldest first, optionally of one status."""
    if site_id is not None:
        actor.require(Permission.VIEW, site_id)
    if status is not None and status not in {s.value for s in ProposalStatus}:
        raise errors.ValidationFailed(
            f"unknown status {status!r}", status=status, known=[s.value for s in ProposalStatus]
        )
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        sites = {site_id} if site_id is not None else visible_site_ids(conn, actor)
        rows = sr.proposals(conn, actor.organization_id, sites, status, limit=limit, offset=offset)
        return [_view(r) for r in rows]


def unknown_scans(
    rt: Runtime, actor: Actor, site_id: int, *, limit: int = 100
) -> list[UnknownScan]:
    """The packages of the site's open receiving sessions that wait for the item master: each
    says whether its GTIN is known by now, or proposed."""
    actor.require(Permission.VIEW, site_id)
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        rows = sr.unknown_lines_at_site(conn, site_id, limit=limit)
        gtins = sorted({r.gtin for r in rows if r.gtin})
        known = rr.package_units(conn, actor.organization_id, gtins)
        pending = {g: sr.pending_proposal_for(conn, actor.organization_id, g) for g in gtins}
    return [
        UnknownScan(
            r.session_id,
            r.id,
            r.gtin,
            r.lot_number,
            r.expiry,
            r.serial,
            r.quantity,
            r.scanned_by,
            r.scanned_at,
            known[r.gtin][0] if r.gtin in known else None,
            pending.get(r.gtin) if r.gtin else None,
        )
        for r in rows
    ]


# --- helpers ------------------------------------------------------------------------------------


def _require_site_and_session(rt: Runtime, conn: Connection, actor: Actor, p: ProposedItem) -> None:
    if not rt.references.site_exists(conn, actor.organization_id, p.site_id):
        raise errors.SiteNotFound(f"no site {p.site_id}", site_id=p.site_id)
    if p.session_id is not None:
        session = rr.session_by_id(conn, actor.organization_id, p.session_id)
        if session is None or session.site_id != p.site_id:
            raise errors.NotFound(
                f"no receiving session {p.session_id} at this site", session_id=p.session_id
            )


def _refuse_sku(conn: Connection, actor: Actor, sku: str) -> None:
    if sr.sku_taken(conn, actor.organization_id, sku):
        raise errors.DuplicateCode(f"an item with SKU {sku} exists; propose another", sku=sku)


def _insert(rt: Runtime, conn: Connection, actor: Actor, p: ProposedItem) -> int:
    now = rt.clock.now()
    values = {k: v for k, v in asdict(p).items() if k not in ("site_id",)}
    proposal_id = sr.insert_proposal(
        conn,
        {
            **values,
            "organization_id": actor.organization_id,
            "site_id": p.site_id,
            "proposed_by": actor.username,
            "proposed_at": now,
        },
    )
    pr.insert_approval(
        conn,
        {
            "organization_id": actor.organization_id,
            "site_id": p.site_id,
            "subject_type": PROPOSAL_SUBJECT,
            "subject_id": proposal_id,
            "action": APPROVE_ITEM,
            "quantity": p.package_units,
            "requested_by": actor.username,
            "requested_at": now,
            "status": ProposalStatus.PENDING.value,
        },
    )
    return proposal_id


def _pending(conn: Connection, actor: Actor, proposal_id: int) -> Row[Any]:
    """The proposal, once the actor may decide it at its site and did not propose it."""
    row = _row(conn, actor, proposal_id)
    actor.require(Permission.APPROVE_ITEMS, row.site_id)
    if row.status != ProposalStatus.PENDING.value:
        raise errors.StatusConflict(
            f"item proposal {proposal_id} is {row.status}", status=row.status
        )
    check_checker(actor.username, row.proposed_by, "proposed this item")
    return row


def _decide(
    rt: Runtime,
    conn: Connection,
    actor: Actor,
    row: Row[Any],
    status: ProposalStatus,
    note: str | None,
) -> None:
    text = (note or "").strip()[:2000] or None
    decided = {
        "status": status.value,
        "decided_by": actor.username,
        "decided_at": rt.clock.now(),
        "note": text,
    }
    if not sr.decide_pending(conn, row.approval_id, decided):
        raise errors.StatusConflict(
            f"item proposal {row.id} was decided meanwhile", proposal_id=row.id
        )


def _new_item(row: Row[Any]) -> NewItem:
    level = row.package_level or ("unit" if row.package_units == 1 else "package")
    return NewItem(
        sku=row.sku,
        name=row.name,
        base_unit=row.base_unit,
        generic_name=row.generic_name,
        strength=row.strength,
        dosage_form=row.dosage_form,
        route=row.route,
        ndc10=row.ndc10,
        cannabis_category=row.cannabis_category,
        packages=(PackageSpec(level, row.package_units, row.gtin, row.ndc10),),
    )


def _row(conn: Connection, actor: Actor, proposal_id: int) -> Row[Any]:
    row = sr.proposal_by_id(conn, actor.organization_id, proposal_id)
    if row is None:
        raise errors.ItemProposalNotFound(
            f"no item proposal {proposal_id}", proposal_id=proposal_id
        )
    actor.require(Permission.VIEW, row.site_id)
    return row


def _view(row: Row[Any]) -> ProposalView:
    return ProposalView(
        row.id,
        row.site_id,
        row.status,
        row.gtin,
        row.package_units,
        row.package_level,
        row.sku,
        row.name,
        row.generic_name,
        row.strength,
        row.dosage_form,
        row.route,
        row.base_unit,
        row.ndc10,
        row.cannabis_category,
        row.note,
        row.session_id,
        row.proposed_by,
        row.proposed_at,
        row.approval_id,
        row.decided_by,
        row.decided_at,
        row.decision_note,
        row.item_id,
    )
