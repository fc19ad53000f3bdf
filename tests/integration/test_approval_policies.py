"""Approval policies as one mechanism: held adjustments replayed by their idempotency key,
policies edited and retired, requisitions judged by the same policies."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from rxledger.adapters import tables_control as tc
from rxledger.domain import errors
from rxledger.domain.model import FormularyStatus, Item
from rxledger.domain.permissions import Role
from rxledger.services import approvals, audit, purchasing, queries, stock
from rxledger.services.audit import AuditQuery
from rxledger.services.posting import Header
from rxledger.services.runtime import Runtime
from tests.builders import Network, build_network
from tests.purchasing_builders import build_buying, person


@pytest.fixture
def net(rt: Runtime) -> Network:
    return build_network(rt)


def _stocked(net: Network) -> Item:
    item = net.item("Insulin glargine pen", standard_cost=Decimal("10"))
    net.receive(item, 100)
    return item


def _adjust(net: Network, item: Item, delta: int, key: str | None) -> stock.Adjust:
    [row] = queries.balances(net.rt, net.actor, item_id=item.id, site_id=net.central.id)
    line = stock.AdjustLine(item.id, net.central.storage.id, int(row.lot_id), "DAMAGED", delta)
    return stock.Adjust(net.central.id, [line], Header(note="dropped", idempotency_key=key))


def _holds(rt: Runtime) -> int:
    with rt.uow(read_only=True) as uow:
        return int(
            uow.connection.execute(
                select(func.count()).select_from(tc.held_adjustments)
            ).scalar_one()
        )


def _on_hand(net: Network, item: Item) -> int:
    return queries.balance(net.rt, net.actor, item_id=item.id, site_id=net.central.id)


def test_a_retried_held_adjustment_finds_its_hold(net: Network) -> None:
    item = _stocked(net)
    manager = person(net, "manager1", Role.MANAGER)
    command = _adjust(net, item, -30, "adj-0001")
    first = approvals.request_adjustment(net.rt, manager, command)
    again = approvals.request_adjustment(net.rt, manager, command)
    assert first.held
    assert again.held
    assert (again.approval_id, again.held_id) == (first.approval_id, first.held_id)
    assert _holds(net.rt) == 1
    assert len(approvals.inbox(net.rt, person(net, "pharm1", Role.PHARMACIST))) == 1

    # the same key for another adjustment is a conflict, and holds nothing
    with pytest.raises(errors.IdempotencyConflict):
        approvals.request_adjustment(net.rt, manager, _adjust(net, item, -31, "adj-0001"))
    assert _holds(net.rt) == 1

    # once approved, the retry answers with the posted document, and stock moves once
    assert first.approval_id is not None
    decision = approvals.decide(
        net.rt, person(net, "pharm1", Role.PHARMACIST), first.approval_id, True
    )
    after = approvals.request_adjustment(net.rt, manager, command)
    assert after.document is not None
    assert after.document.id == decision.document_id
    assert after.document.replayed
    assert _on_hand(net, item) == 70


def test_a_retry_of_a_rejected_hold_is_told_so(net: Network) -> None:
    item = _stocked(net)
    manager = person(net, "manager1", Role.MANAGER)
    command = _adjust(net, item, -30, "adj-0003")
    held = approvals.request_adjustment(net.rt, manager, command)
    assert held.approval_id is not None
    approvals.decide(net.rt, person(net, "pharm1", Role.PHARMACIST), held.approval_id, False, "no")
    with pytest.raises(errors.StatusConflict) as refused:
        approvals.request_adjustment(net.rt, manager, command)
    assert refused.value.details["approval_id"] == held.approval_id
    assert _holds(net.rt) == 1
    assert _on_hand(net, item) == 100


def test_holds_without_a_key_are_each_their_own(net: Network) -> None:
    item = _stocked(net)
    manager = person(net, "manager1", Role.MANAGER)
    approvals.request_adjustment(net.rt, manager, _adjust(net, item, -30, None))
    approvals.request_adjustment(net.rt, manager, _adjust(net, item, -30, None))
    assert _holds(net.rt) == 2


# --- requisitions under the same policies -------------------------------------------------------


def test_an_organizations_order_policy_decides_which_orders_wait_and_who_approves(
    net: Network,
) -> None:
    buying = build_buying(net)
    approvals.create_policy(
        net.rt, net.actor, action="order", approver_roles="manager", min_value=Decimal("100")
    )
    # 10 packs x 12.50 = 125.00 reaches the organization's 100.00 (the default is 1,000.00)
    draft = buying.requisition(10)
    waiting = purchasing.submit_requisition(net.rt, buying.buyer, draft.id)
    assert waiting.status == "submitted"
    assert waiting.approval is not None
    # a pharmacist is not named by this policy: not in their inbox, refused when trying
    assert approvals.inbox(net.rt, buying.pharmacist) == []
    with pytest.raises(errors.Forbidden):
        purchasing.approve_requisition(net.rt, buying.pharmacist, draft.id)
    with pytest.raises(errors.Forbidden):
        purchasing.reject_requisition(net.rt, buying.pharmacist, draft.id, "no")
    manager = person(net, "manager1", Role.MANAGER)
    [entry] = approvals.inbox(net.rt, manager)
    decision = approvals.decide(net.rt, manager, entry.id, True, "fine")
    assert decision.approval.status == "approved"
    assert purchasing.get_requisition(net.rt, net.actor, draft.id).status == "ordered"
    # 7 packs (87.50) stay under it: ordered at once
    small = buying.requisition(7)
    assert purchasing.submit_requisition(net.rt, buying.buyer, small.id).status == "ordered"


def test_the_non_formulary_policy_names_who_approves_and_retired_the_default_is_back(
    net: Network,
) -> None:
    buying = build_buying(net)
    special = net.item("Rare 10 mg tablet", formulary_status=FormularyStatus.NON_FORMULARY)
    offer = buying.offer_of(special)
    manager = person(net, "manager1", Role.MANAGER)
    first = buying.requisition(1, offer=offer)
    waiting = purchasing.submit_requisition(net.rt, buying.buyer, first.id)
    assert waiting.approval is not None
    assert waiting.approval.pharmacist_required
    with pytest.raises(errors.PharmacistApprovalRequired):
        purchasing.approve_requisition(net.rt, manager, first.id)

    # the organization lets managers approve non-formulary orders too
    kept = approvals.create_policy(
        net.rt, net.actor, action="non_formulary_order", approver_roles="pharmacist,manager"
    )
    assert kept.id is not None
    # the waiting order is judged by the policies in force now
    approved = purchasing.approve_requisition(net.rt, manager, first.id)
    assert approved.status == "ordered"

    # retired, the built-in default (a pharmacist's) is in force again
    approvals.update_policy(net.rt, net.actor, kept.id, active=False)
    second = buying.requisition(1, offer=offer)
    assert purchasing.submit_requisition(net.rt, buying.buyer, second.id).status == "submitted"
    with pytest.raises(errors.PharmacistApprovalRequired):
        purchasing.approve_requisition(net.rt, manager, second.id)
    assert purchasing.approve_requisition(net.rt, buying.pharmacist, second.id).status == "ordered"


def test_only_an_organization_administrator_keeps_policies_even_for_a_site(net: Network) -> None:
    site_admin = person(net, "siteadmin", Role.ADMIN)  # administrator of CENTRAL only
    with pytest.raises(errors.Forbidden):
        approvals.create_policy(
            net.rt,
            site_admin,
            action="non_formulary_order",
            approver_roles="buyer",
            site_id=net.central.id,
        )
    kept = approvals.create_policy(
        net.rt, net.actor, action="adjustment", approver_roles="pharmacist", site_id=net.central.id
    )
    assert kept.id is not None
    with pytest.raises(errors.Forbidden):
        approvals.update_policy(net.rt, site_admin, kept.id, min_value=Decimal(10**9))


def test_a_policy_change_is_audited_and_only_by_an_administrator(net: Network) -> None:
    policy = approvals.create_policy(
        net.rt, net.actor, action="adjustment", approver_roles="pharmacist", min_value=Decimal(5)
    )
    assert policy.id is not None
    with pytest.raises(errors.Forbidden):
        approvals.update_policy(
            net.rt, person(net, "manager1", Role.MANAGER), policy.id, active=False
        )
    changed = approvals.update_policy(
        net.rt, net.actor, policy.id, min_value=None, min_quantity=10, approver_roles="manager"
    )
    assert (changed.min_value, changed.min_quantity, changed.approver_roles) == (
        None,
        10,
        (Role.MANAGER,),
    )
    with pytest.raises(errors.ValidationFailed):
        approvals.update_policy(net.rt, net.actor, policy.id, approver_roles="")
    with pytest.raises(errors.NotFound):
        approvals.update_policy(net.rt, net.actor, 10**9, active=False)
    [row] = audit.search(net.rt, net.actor, AuditQuery(action="change approval policy"))
    assert '"min_quantity":10' in (row.after or "").replace(" ", "")
    assert [p for p in approvals.list_policies(net.rt, net.actor) if p.id == policy.id] == [changed]


def test_a_policy_names_only_roles_that_can_decide_its_action(net: Network) -> None:
    for action, roles in (("adjustment", "pharmacist,buyer"), ("order", "technician")):
        with pytest.raises(errors.ValidationFailed) as refused:
            approvals.create_policy(net.rt, net.actor, action=action, approver_roles=roles)
        assert refused.value.details["field"] == "approver_roles"
    kept = approvals.create_policy(
        net.rt, net.actor, action="order", approver_roles="manager", min_value=Decimal(1)
    )
    assert kept.id is not None
    with pytest.raises(errors.ValidationFailed):
        approvals.update_policy(net.rt, net.actor, kept.id, approver_roles="auditor")


def test_a_policy_kept_before_the_role_rule_can_still_be_retired(net: Network) -> None:
    # a row written before policies were checked for roles that can decide their action
    with net.rt.uow() as uow:
        uow.connection.execute(
            tc.approval_policies.insert().values(
                organization_id=net.actor.organization_id,
                site_id=None,
                action="adjustment",
                min_value=Decimal(100),
                min_quantity=None,
                approver_roles="technician",
                active=True,
                created_by="someone",
                created_at=net.rt.clock.now(),
            )
        )
        uow.commit()
    [stuck] = [p for p in approvals.list_policies(net.rt, net.actor) if p.id is not None]
    assert stuck.id is not None
    retired = approvals.update_policy(net.rt, net.actor, stuck.id, active=False)
    assert retired.active is False
    with pytest.raises(errors.ValidationFailed):  # its roles, changed, are judged
        approvals.update_policy(net.rt, net.actor, stuck.id, approver_roles="technician,buyer")
