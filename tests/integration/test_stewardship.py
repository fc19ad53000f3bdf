"""Item-master stewardship on both engines: a GTIN unknown at the dock is linked to an existing
item, or proposed as a new item for a pharmacist's approval; the session's unknown packages are
then judged again."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from rxledger.adapters import tables_receiving as tr
from rxledger.domain import errors
from rxledger.domain.identifiers import Ndc
from rxledger.domain.permissions import Actor, Grant, Role
from rxledger.domain.stewardship import ProposedItem
from rxledger.services import catalog, queries, receiving, stewardship
from rxledger.services.catalog import PackageSpec
from rxledger.services.rejudging import rejudge_unknown
from rxledger.services.runtime import Runtime
from tests.builders import Network, build_network
from tests.stewardship_builders import (
    OTHER_GTIN,
    UNKNOWN_GTIN,
    People,
    datamatrix,
    open_session_with_unknown,
    people,
)


@pytest.fixture
def net(rt: Runtime) -> Network:
    return build_network(rt)


@pytest.fixture
def who(net: Network) -> People:
    return people(net)


def _proposal(net: Network, **changes: object) -> ProposedItem:
    values: dict[str, object] = {
        "site_id": net.central.id,
        "name": "Cetirizine 10 mg tablet",
        "base_unit": "tablet",
        "gtin": UNKNOWN_GTIN,
        "package_units": 30,
        "strength": "10 mg",
        "dosage_form": "tablet",
        "generic_name": "cetirizine",
    }
    values.update(changes)
    return ProposedItem(**values)  # type: ignore[arg-type]


def _discrepancies(net: Network, session_id: int) -> list[tuple[str, str]]:
    with net.rt.uow(read_only=True) as uow:
        rows = uow.connection.execute(
            select(tr.discrepancies.c.reason, tr.discrepancies.c.status)
            .where(tr.discrepancies.c.session_id == session_id)
            .order_by(tr.discrepancies.c.id)
        ).all()
    return [(r.reason, r.status) for r in rows]


# --- linking ------------------------------------------------------------------------------------


def test_a_linked_gtin_lets_the_session_accept_and_stock_the_package(net: Network) -> None:
    # given a session in which 2 packages of an unknown GTIN were scanned
    item = net.item("Cetirizine 10 mg tablet")
    session_id = open_session_with_unknown(net, packages=2)
    # when the GTIN is linked to the item as its box of 30, and the session is judged again
    linked = stewardship.link_gtin(net.rt, net.actor, item.id, UNKNOWN_GTIN, 30)
    result = rejudge_unknown(net.rt, net.actor, session_id)
    # then the box is a package level of the item and the line is accepted in base units
    assert ("package", 30, UNKNOWN_GTIN) in {
        (p.level, p.base_units, p.gtin) for p in linked.packages
    }
    assert (result.count("accepted"), result.lines[0].item_id) == (1, item.id)
    line = receiving.get_session(net.rt, net.actor, session_id).lines[0]
    assert (line.item_id, line.quantity, line.package_units, line.disposition, line.reason) == (
        item.id,
        60,
        30,
        "accept",
        None,
    )
    assert _discrepancies(net, session_id) == [("unknown_gtin", "resolved")]
    # and the session now posts it onto the dock
    receiving.close(net.rt, net.actor, session_id)
    dock = queries.balance(net.rt, net.actor, item_id=item.id, location_id=net.central.receiving.id)
    assert dock == 60


def test_a_gtin_names_one_package_of_one_item(net: Network, who: People) -> None:
    first, second = net.item("Cetirizine 10 mg tablet"), net.item("Loratadine 10 mg tablet")
    stewardship.link_gtin(net.rt, who.pharmacist, first.id, UNKNOWN_GTIN, 30)
    # when linked again the same way, nothing changes
    again = stewardship.link_gtin(net.rt, who.buyer, first.id, UNKNOWN_GTIN, 30)
    assert [p.gtin for p in again.packages].count(UNKNOWN_GTIN) == 1
    # when linked to another item, or to the same item with another size
    for item_id, units in ((second.id, 30), (first.id, 90)):
        with pytest.raises(errors.GtinAlreadyAssigned) as refused:
            stewardship.link_gtin(net.rt, net.actor, item_id, UNKNOWN_GTIN, units)
        assert refused.value.code == "GTIN_ALREADY_ASSIGNED"
        assert refused.value.details["item_id"] == first.id
    # and a technician may not link at all
    with pytest.raises(errors.Forbidden):
        stewardship.link_gtin(net.rt, who.technician, second.id, OTHER_GTIN, 30)


def test_a_linked_gtin_fills_a_level_of_its_size_or_adds_a_named_one(net: Network) -> None:
    item = net.item("Cetirizine 10 mg tablet", packages=(PackageSpec("bottle", 100),))
    # the unit level (no GTIN yet) takes a unit GTIN; a size the item lacks becomes a new level
    stewardship.link_gtin(net.rt, net.actor, item.id, UNKNOWN_GTIN, 1)
    stewardship.link_gtin(net.rt, net.actor, item.id, OTHER_GTIN, 30)
    ndc = Ndc.parse("0777-3105-02")
    done = stewardship.link_gtin(net.rt, net.actor, item.id, ndc.to_gtin(), 30, ndc10=ndc.ndc10)
    levels = {(p.level, p.base_units, p.gtin, p.ndc10) for p in done.packages}
    assert levels == {
        ("unit", 1, UNKNOWN_GTIN, None),
        ("bottle", 100, None, None),
        ("package", 30, OTHER_GTIN, None),
        ("package-2", 30, ndc.to_gtin(), ndc.ndc10),
    }
    with pytest.raises(errors.DuplicateCode):
        stewardship.link_gtin(net.rt, net.actor, item.id, "00012345600012", 12, level="bottle")
    with pytest.raises(errors.InvalidIdentifier):
        stewardship.link_gtin(net.rt, net.actor, item.id, "09506000134353", 30)
    with pytest.raises(errors.InvalidQuantity):
        stewardship.link_gtin(net.rt, net.actor, item.id, "00012345600012", 0)


# --- proposing and approving --------------------------------------------------------------------


def test_a_proposal_is_approved_by_another_pharmacist_and_creates_the_item(
    net: Network, who: People
) -> None:
    # given a technician's proposal for the GTIN scanned in a session
    session_id = open_session_with_unknown(net)
    proposal = stewardship.propose_item(
        net.rt, who.technician, _proposal(net, session_id=session_id, ndc10="0777-3105-02")
    )
    assert (proposal.status, proposal.proposed_by, proposal.sku) == (
        "pending",
        "tech-ann",
        "00777310502",
    )
    # then it waits in the generic approvals table, and is listed
    with net.rt.uow(read_only=True) as uow:
        approval = uow.connection.execute(
            select(tr.approvals).where(tr.approvals.c.id == proposal.approval_id)
        ).one()
    assert (approval.subject_type, approval.subject_id, approval.action) == (
        "item_proposal",
        proposal.id,
        "approve_item",
    )
    listed = stewardship.list_proposals(net.rt, who.pharmacist, status="pending")
    assert [p.id for p in listed] == [proposal.id]
    # when the technician or its proposer tries to approve it
    with pytest.raises(errors.Forbidden):
        stewardship.approve_proposal(net.rt, who.technician, proposal.id)
    proposer = Actor(net.actor.organization_id, "TECH-ANN", grants=who.pharmacist.grants)
    with pytest.raises(errors.SelfApproval):
        stewardship.approve_proposal(net.rt, proposer, proposal.id)
    # when a pharmacist approves it
    approved = stewardship.approve_proposal(net.rt, who.pharmacist, proposal.id, "checked label")
    # then the item exists with its package, and the session accepts the package
    assert (approved.status, approved.decided_by, approved.decision_note) == (
        "approved",
        "pharm-bo",
        "checked label",
    )
    assert approved.item_id is not None
    item = catalog.get_item(net.rt, net.actor, approved.item_id)
    assert (item.name, item.ndc10, item.sku) == (
        "Cetirizine 10 mg tablet",
        "0777-3105-02",
        "00777310502",
    )
    assert {(p.level, p.base_units, p.gtin) for p in item.packages} == {
        ("unit", 1, None),
        ("package", 30, UNKNOWN_GTIN),
    }
    # (a product with an NDC, received blind: held for its missing transaction data)
    result = rejudge_unknown(net.rt, who.technician, session_id)
    assert [(x.outcome, x.reason) for x in result.lines] == [
        ("quarantined", "missing_transaction_data")
    ]
    assert _discrepancies(net, session_id) == [
        ("unknown_gtin", "resolved"),
        ("missing_transaction_data", "open"),
    ]


def test_a_rejected_proposal_needs_a_reason_and_is_decided_once(net: Network, who: People) -> None:
    proposal = stewardship.propose_item(net.rt, who.technician, _proposal(net))
    with pytest.raises(errors.ValidationFailed, match="reason"):
        stewardship.reject_proposal(net.rt, who.pharmacist, proposal.id, " ")
    rejected = stewardship.reject_proposal(net.rt, who.pharmacist, proposal.id, "a duplicate")
    assert (rejected.status, rejected.decision_note, rejected.item_id) == (
        "rejected",
        "a duplicate",
        None,
    )
    with pytest.raises(errors.StatusConflict) as refused:
        stewardship.approve_proposal(net.rt, who.other_pharmacist, proposal.id)
    assert refused.value.code == "STATUS_CONFLICT"
    # a rejected GTIN may be proposed again
    again = stewardship.propose_item(net.rt, who.technician, _proposal(net, sku="CET-10"))
    assert again.status == "pending"


def test_a_known_or_already_proposed_gtin_is_not_proposed(net: Network, who: People) -> None:
    net.item("Loratadine", packages=(PackageSpec("box", 30, gtin=OTHER_GTIN),))
    with pytest.raises(errors.GtinAlreadyAssigned):
        stewardship.propose_item(net.rt, who.technician, _proposal(net, gtin=OTHER_GTIN))
    stewardship.propose_item(net.rt, who.technician, _proposal(net))
    with pytest.raises(errors.DuplicateCode, match="already proposed"):
        stewardship.propose_item(net.rt, who.technician, _proposal(net, sku="OTHER"))
    with pytest.raises(errors.Forbidden):
        stewardship.propose_item(
            net.rt, who.technician, _proposal(net, site_id=net.retail.id, gtin=UNKNOWN_GTIN)
        )
    with pytest.raises(errors.ValidationFailed):
        stewardship.propose_item(net.rt, who.technician, _proposal(net, name=" "))
    with pytest.raises(errors.ItemProposalNotFound) as missing:
        stewardship.approve_proposal(net.rt, who.pharmacist, 999_999)
    assert missing.value.code == "ITEM_PROPOSAL_NOT_FOUND"


def test_approval_is_refused_when_the_gtin_was_linked_meanwhile(net: Network, who: People) -> None:
    proposal = stewardship.propose_item(net.rt, who.technician, _proposal(net))
    item = net.item("Cetirizine 10 mg tablet")
    stewardship.link_gtin(net.rt, net.actor, item.id, UNKNOWN_GTIN, 30)
    with pytest.raises(errors.GtinAlreadyAssigned):
        stewardship.approve_proposal(net.rt, who.pharmacist, proposal.id)
    # the refusal rolled back the decision too
    assert stewardship.get_proposal(net.rt, net.actor, proposal.id).status == "pending"


# --- judging again ------------------------------------------------------------------------------


def test_judged_again_by_the_same_rules(net: Network) -> None:
    # given a session with a damaged package, a short-dated one, a GTIN-only scan (no lot) and
    # one whose GTIN stays unknown
    item = net.item("Cetirizine 10 mg tablet")
    session_id = open_session_with_unknown(net)
    rt, actor = net.rt, net.actor
    receiving.scan(rt, actor, session_id, datamatrix(UNKNOWN_GTIN, lot="D1"), damaged=True)
    receiving.scan(rt, actor, session_id, datamatrix(UNKNOWN_GTIN, lot="S1", expiry="260701"))
    receiving.scan(rt, actor, session_id, f"]d201{UNKNOWN_GTIN}")
    receiving.scan(rt, actor, session_id, datamatrix(OTHER_GTIN))
    # when the GTIN is linked and the session judged again
    stewardship.link_gtin(rt, actor, item.id, UNKNOWN_GTIN, 30)
    result = rejudge_unknown(rt, actor, session_id)
    # then each package gets the verdict a fresh scan would
    assert [(x.outcome, x.reason) for x in result.lines] == [
        ("accepted", None),
        ("quarantined", "damaged"),
        ("quarantined", "short_dated"),
        ("rescan", None),
        ("unknown", None),
    ]
    assert result.as_dict()["rescan"] == 1
    # and judging again changes nothing more
    assert [x.outcome for x in rejudge_unknown(rt, actor, session_id).lines] == [
        "rescan",
        "unknown",
    ]


def test_only_an_open_session_is_judged_again_by_its_receivers(net: Network, who: People) -> None:
    item = net.item("Cetirizine 10 mg tablet")
    session_id = open_session_with_unknown(net)
    receiving.scan(net.rt, net.actor, session_id, datamatrix(OTHER_GTIN, lot="K2"))
    stewardship.link_gtin(net.rt, net.actor, item.id, OTHER_GTIN, 30)
    retail = Actor(
        net.actor.organization_id, "tech-ret", grants=(Grant(Role.TECHNICIAN, net.retail.id),)
    )
    with pytest.raises(errors.Forbidden):
        rejudge_unknown(net.rt, retail, session_id)
    rejudge_unknown(net.rt, who.technician, session_id)
    receiving.close(net.rt, net.actor, session_id)
    with pytest.raises(errors.ValidationFailed, match="closed"):
        rejudge_unknown(net.rt, net.actor, session_id)
    with pytest.raises(errors.NotFound):
        rejudge_unknown(net.rt, net.actor, 999_999)


def test_the_unknown_scans_of_a_site_say_what_became_of_their_gtin(
    net: Network, who: People
) -> None:
    session_id = open_session_with_unknown(net)
    receiving.scan(net.rt, net.actor, session_id, datamatrix(OTHER_GTIN))
    item = net.item("Cetirizine 10 mg tablet")
    stewardship.link_gtin(net.rt, net.actor, item.id, OTHER_GTIN, 30)
    proposal = stewardship.propose_item(net.rt, who.technician, _proposal(net))
    found = stewardship.unknown_scans(net.rt, who.technician, net.central.id)
    assert [(u.gtin, u.known_item_id, u.pending_proposal_id) for u in found] == [
        (UNKNOWN_GTIN, None, proposal.id),
        (OTHER_GTIN, item.id, None),
    ]
    assert stewardship.unknown_scans(net.rt, net.actor, net.retail.id) == []
    assert json.dumps(proposal.as_dict(), default=str)
