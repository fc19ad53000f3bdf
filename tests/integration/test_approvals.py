"""Approvals as one mechanism, on both engines: an adjustment above its policy is held until a
pharmacist who did not request it posts it (once) or rejects it; site policies override the
organization's; the inbox gathers requisitions and held adjustments alike."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from rxledger.adapters import tables as t
from rxledger.adapters import tables_control as tc
from rxledger.adapters import tables_receiving as tr
from rxledger.domain import errors
from rxledger.domain.model import Item
from rxledger.domain.permissions import Role
from rxledger.services import approvals, purchasing, queries, stock
from rxledger.services.posting import Header
from rxledger.services.runtime import Actor, Runtime
from tests.builders import Network, build_network
from tests.purchasing_builders import build_buying, person


@pytest.fixture
def net(rt: Runtime) -> Network:
    return build_network(rt)


def _stocked(net: Network) -> Item:
    item = net.item("Insulin glargine pen", standard_cost=Decimal("10"))
    net.receive(item, 100)
    return item


def _lot(net: Network, item: Item) -> int:
    [row] = queries.balances(net.rt, net.actor, item_id=item.id, site_id=net.central.id)
    return int(row.lot_id)


def _adjust(net: Network, item: Item, delta: int, *, counted: int | None = None) -> stock.Adjust:
    line = stock.AdjustLine(
        item.id,
        net.central.storage.id,
        _lot(net, item),
        "DAMAGED",
        None if counted is not None else delta,
        counted,
    )
    return stock.Adjust(net.central.id, [line], Header(note="dropped a box"))


def _on_hand(net: Network, item: Item) -> int:
    return queries.balance(net.rt, net.actor, item_id=item.id, site_id=net.central.id)


def _adjustment_documents(rt: Runtime) -> int:
    with rt.uow(read_only=True) as uow:
        return int(
            uow.connection.execute(
                select(func.count())
                .select_from(t.documents)
                .where(t.documents.c.doc_type == "adjustment")
            ).scalar_one()
        )


def _manager(net: Network) -> Actor:
    return person(net, "manager1", Role.MANAGER)


def test_a_small_adjustment_posts_at_once(net: Network) -> None:
    item = _stocked(net)
    outcome = approvals.request_adjustment(net.rt, _manager(net), _adjust(net, item, -5))
    assert not outcome.held
    assert outcome.document is not None
    assert outcome.value == Decimal(50)
    assert _on_hand(net, item) == 95


def test_a_large_adjustment_waits_for_a_pharmacist_who_did_not_request_it(net: Network) -> None:
    item = _stocked(net)
    manager = _manager(net)
    outcome = approvals.request_adjustment(net.rt, manager, _adjust(net, item, -30))
    assert outcome.held
    assert outcome.approval_id is not None
    assert outcome.value == Decimal(300)
    assert _on_hand(net, item) == 100  # nothing moved
    assert _adjustment_documents(net.rt) == 0

    pharmacist = person(net, "pharm1", Role.PHARMACIST)
    [entry] = approvals.inbox(net.rt, pharmacist)
    assert (entry.id, entry.subject_type, entry.requested_by) == (
        outcome.approval_id,
        "adjustment",
        "manager1",
    )
    assert entry.value == Decimal(300)
    assert entry.quantity == 30
    assert "Insulin glargine pen -30" in entry.summary
    # not the requester's, not a technician's or a buyer's to decide
    assert approvals.inbox(net.rt, manager) == []
    assert approvals.inbox(net.rt, person(net, "tech2", Role.TECHNICIAN)) == []
    with pytest.raises(errors.SelfApproval):
        approvals.decide(net.rt, manager, outcome.approval_id, True)
    for name, role in (("tech2", Role.TECHNICIAN), ("buyer1", Role.BUYER)):
        with pytest.raises(errors.Forbidden):
            approvals.decide(net.rt, person(net, name, role), outcome.approval_id, True)
    # a manager other than the requester may adjust stock, but this needs a pharmacist
    with pytest.raises(errors.PharmacistApprovalRequired):
        approvals.decide(net.rt, person(net, "manager2", Role.MANAGER), outcome.approval_id, True)
    assert _on_hand(net, item) == 100

    decision = approvals.decide(net.rt, pharmacist, outcome.approval_id, True, "seen the box")
    assert decision.approval.status == "approved"
    assert decision.approval.decided_by == "pharm1"
    assert decision.document_id is not None
    assert _on_hand(net, item) == 70
    document = queries.get_document(net.rt, net.actor, decision.document_id)
    assert document.posted_by == "pharm1"
    assert document.note is not None
    assert "requested by manager1" in document.note
    with pytest.raises(errors.StatusConflict):
        approvals.decide(net.rt, pharmacist, outcome.approval_id, True)
    assert _on_hand(net, item) == 70  # posted once
    assert _adjustment_documents(net.rt) == 1
    assert approvals.inbox(net.rt, pharmacist) == []
    with net.rt.uow(read_only=True) as uow:
        held = uow.connection.execute(select(tc.held_adjustments)).one()
    assert (held.status, held.document_id) == ("posted", decision.document_id)


def test_a_rejected_adjustment_posts_nothing(net: Network) -> None:
    item = _stocked(net)
    outcome = approvals.request_adjustment(net.rt, _manager(net), _adjust(net, item, -30))
    assert outcome.approval_id is not None
    pharmacist = person(net, "pharm1", Role.PHARMACIST)
    with pytest.raises(errors.ValidationFailed):
        approvals.decide(net.rt, pharmacist, outcome.approval_id, False, "  ")
    decision = approvals.decide(net.rt, pharmacist, outcome.approval_id, False, "count it again")
    assert decision.approval.status == "rejected"
    assert decision.approval.note is not None
    assert "count it again" in decision.approval.note
    assert decision.document_id is None
    assert _on_hand(net, item) == 100
    assert _adjustment_documents(net.rt) == 0
    with pytest.raises(errors.StatusConflict):
        approvals.decide(net.rt, pharmacist, outcome.approval_id, True)


def test_a_counted_line_is_held_as_the_delta_it_meant(net: Network) -> None:
    item = _stocked(net)
    outcome = approvals.request_adjustment(net.rt, _manager(net), _adjust(net, item, 0, counted=60))
    assert outcome.held
    assert outcome.approval_id is not None
    net.dispense(item, 10)  # stock moves while the adjustment waits
    approvals.decide(net.rt, person(net, "pharm1", Role.PHARMACIST), outcome.approval_id, True)
    assert _on_hand(net, item) == 50  # 100 - 40 missing - 10 dispensed


def test_a_site_policy_overrides_the_organizations(net: Network) -> None:
    item = _stocked(net)
    manager = _manager(net)
    approvals.create_policy(
        net.rt, net.actor, action="adjustment", approver_roles="pharmacist", min_value=Decimal(20)
    )
    approvals.create_policy(
        net.rt,
        net.actor,
        action="adjustment",
        approver_roles="manager,pharmacist",
        min_value=Decimal(1000),
        site_id=net.central.id,
    )
    # 300 is below the central site's own threshold: posted at once
    assert not approvals.request_adjustment(net.rt, manager, _adjust(net, item, -30)).held
    # at the retail site the organization's 20 applies
    retail_item = net.item("Heparin vial", standard_cost=Decimal("10"))
    net.receive(retail_item, 10, site=net.retail)
    [row] = queries.balances(net.rt, net.actor, item_id=retail_item.id, site_id=net.retail.id)
    line = stock.AdjustLine(retail_item.id, net.retail.storage.id, row.lot_id, "DAMAGED", -3)
    retail_manager = person(net, "manager-r", Role.MANAGER, net.retail)
    held = approvals.request_adjustment(net.rt, retail_manager, stock.Adjust(net.retail.id, [line]))
    assert held.held
    assert held.policy is not None
    assert held.policy.min_value == Decimal(20)
    # only an admin of every site keeps organization-wide policies
    with pytest.raises(errors.Forbidden):
        approvals.create_policy(
            net.rt, manager, action="adjustment", approver_roles="pharmacist", min_value=Decimal(1)
        )
    with pytest.raises(errors.ValidationFailed):
        approvals.create_policy(net.rt, net.actor, action="adjustment", approver_roles="chef")


def test_the_inbox_lists_requisitions_too(net: Network) -> None:
    buying = build_buying(net)
    draft = buying.requisition(100)  # 100 packs at 12.50: above the purchasing threshold
    submitted = purchasing.submit_requisition(net.rt, buying.buyer, draft.id)
    assert submitted.status == "submitted"
    item = _stocked(net)
    held = approvals.request_adjustment(net.rt, _manager(net), _adjust(net, item, -30))

    entries = approvals.inbox(net.rt, buying.pharmacist)
    assert [e.subject_type for e in entries] == ["requisition", "adjustment"]
    assert entries[0].subject_id == draft.id
    assert approvals.inbox(net.rt, buying.buyer) == []  # neither theirs to decide
    assert approvals.inbox(net.rt, net.actor) == [entries[0]]  # an admin approves orders

    decision = approvals.decide(net.rt, buying.pharmacist, entries[0].id, True)
    assert decision.approval.status == "approved"
    assert purchasing.get_requisition(net.rt, net.actor, draft.id).status == "ordered"
    assert [e.id for e in approvals.inbox(net.rt, buying.pharmacist)] == [held.approval_id]
    with net.rt.uow(read_only=True) as uow:
        statuses = sorted(uow.connection.execute(select(tr.approvals.c.status)).scalars())
    assert statuses == ["approved", "pending"]
