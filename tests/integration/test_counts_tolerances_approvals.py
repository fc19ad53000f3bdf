"""Count tolerances an organization keeps (by program and item class), and count lines awaiting
approval in the approvals inbox, on both engines."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from rxledger.adapters import tables_control as tc
from rxledger.adapters import tables_receiving as tr
from rxledger.domain import errors
from rxledger.domain.clock import ManualClock
from rxledger.domain.model import Item
from rxledger.domain.permissions import Role
from rxledger.services import approvals, counts, queries
from rxledger.services.runtime import Actor, Runtime
from tests.builders import Network, build_network
from tests.purchasing_builders import person


@pytest.fixture
def net(rt: Runtime) -> Network:
    return build_network(rt)


def _admin(net: Network) -> Actor:
    return Actor(net.actor.organization_id, "admin1")  # an administrator of every site


def _counted(net: Network, item: Item, counted: int, program: str = "manual") -> int:
    """A count of the item by the program, its line counted at ``counted`` and submitted."""
    manager = person(net, "manager1", Role.MANAGER)
    tech = person(net, "tech1", Role.TECHNICIAN)
    spec = counts.NewCount(net.central.id, f"{program} count", program=program, item_ids=[item.id])
    if program == "category":
        spec = counts.NewCount(
            net.central.id, "capsules", program="category", category="capsule", item_ids=[item.id]
        )
    count = counts.create_count(net.rt, manager, spec)
    [line] = count.lines
    counts.set_tally(net.rt, tech, line.id, counted)
    counts.submit(net.rt, tech, count.id)
    return line.id


def _line(net: Network, line_id: int) -> counts.LineView:
    admin = _admin(net)
    for view in counts.list_counts(net.rt, admin):
        for line in counts.get_count(net.rt, admin, view.id).lines:
            if line.id == line_id:
                return line
    raise AssertionError(line_id)


def _audit_actions(net: Network) -> list[str]:
    with net.rt.uow(read_only=True) as uow:
        return list(uow.connection.execute(select(tc.audit_log.c.action)).scalars())


def test_a_program_rule_of_the_organization_decides_the_variance(net: Network) -> None:
    item = net.item()  # class C, 0.125 a unit
    net.receive(item, 100)
    admin = _admin(net)
    # 8 missing is beyond the default for class C (5 units): a recount
    first = _counted(net, item, 92, "manual")
    assert _line(net, first).status == "recount"

    # the organization tolerates 10 units and 5.00 of class C in manual counts
    kept = counts.set_tolerance(net.rt, admin, "manual", "C", 10, Decimal("5"))
    assert (kept.units, kept.value, kept.default) == (10, Decimal("5.0000"), False)
    listed = {(x.program, x.item_class): x for x in counts.list_tolerances(net.rt, admin)}
    assert not listed["manual", "C"].default
    assert listed["*", "C"].default
    assert listed["*", "C"].units == 5
    assert listed["*", "A"].default
    assert listed["*", "controlled"].units == 0

    # a manual count: the same 8 missing (1.00 at cost) is accepted and settled at once
    second = _counted(net, item, 92, "manual")
    line = _line(net, second)
    assert line.status == "accepted"
    assert line.document_id is not None
    assert queries.balance(net.rt, net.actor, item_id=item.id, site_id=net.central.id) == 92

    # a category count of the same item: the manual rule does not apply, the default does
    third = _counted(net, item, 84, "category")
    assert _line(net, third).status == "recount"
    assert queries.balance(net.rt, net.actor, item_id=item.id, site_id=net.central.id) == 92

    # a rule for any program now covers category counts; the manual one still wins for manual
    counts.set_tolerance(net.rt, admin, "*", "C", 8, Decimal("1"))
    counts.set_tolerance(net.rt, admin, "manual", "C", 0, Decimal(0))
    assert _line(net, _counted(net, item, 84, "category")).status == "accepted"
    assert _line(net, _counted(net, item, 76, "manual")).status == "recount"

    # back to the default for manual counts: the any-program rule applies
    now = counts.remove_tolerance(net.rt, admin, "manual", "C")
    assert (now.program, now.units, now.default) == ("*", 8, False)
    assert _line(net, _counted(net, item, 76, "manual")).status == "accepted"
    assert queries.balance(net.rt, net.actor, item_id=item.id, site_id=net.central.id) == 76
    actions = _audit_actions(net)
    assert actions.count("set count tolerance") == 3
    assert actions.count("remove count tolerance") == 1


def test_tolerances_are_validated_and_kept_by_administrators_only(net: Network) -> None:
    admin = _admin(net)
    manager = person(net, "manager1", Role.MANAGER)
    with pytest.raises(errors.Forbidden):
        counts.set_tolerance(net.rt, manager, "*", "C", 1, Decimal(1))
    site_admin = person(net, "siteadmin", Role.ADMIN)  # one site only: not organization-wide
    with pytest.raises(errors.Forbidden):
        counts.set_tolerance(net.rt, site_admin, "*", "C", 1, Decimal(1))
    with pytest.raises(errors.ValidationFailed) as bad_program:
        counts.set_tolerance(net.rt, admin, "weekly", "C", 1, Decimal(1))
    assert bad_program.value.details["field"] == "program"
    with pytest.raises(errors.InvalidQuantity):
        counts.set_tolerance(net.rt, admin, "*", "C", -1, Decimal(1))
    with pytest.raises(errors.NotFound):
        counts.remove_tolerance(net.rt, admin, "*", "B")
    # listing needs no more than seeing a site
    assert len(counts.list_tolerances(net.rt, manager)) == 4
    # an upsert keeps one row per (program, class)
    counts.set_tolerance(net.rt, admin, "*", "B", 1, Decimal(1))
    counts.set_tolerance(net.rt, admin, "*", "B", 3, Decimal("2.5"))
    kept = [x for x in counts.list_tolerances(net.rt, admin) if not x.default]
    assert [(x.program, x.item_class, x.units, x.value) for x in kept] == [
        ("*", "B", 3, Decimal("2.5"))
    ]


def _awaiting_approval(net: Network, item: Item | None = None) -> tuple[Item, int]:
    """8 missing (1.00 at cost) counted by manager2, recounted by tech2, investigated by pharm1:
    the line waits for approval."""
    item = item or net.item()
    net.receive(item, 100)
    planner = person(net, "manager1", Role.MANAGER)
    counter = person(net, "manager2", Role.MANAGER)  # may adjust, but counted the line
    recounter = person(net, "tech2", Role.TECHNICIAN)
    investigator = person(net, "pharm1", Role.PHARMACIST)
    count = counts.create_count(
        net.rt, planner, counts.NewCount(net.central.id, "Shelf", item_ids=[item.id])
    )
    [line] = count.lines
    counts.set_tally(net.rt, counter, line.id, 92)
    counts.submit(net.rt, counter, count.id)
    counts.set_tally(net.rt, recounter, line.id, 92)
    counts.submit_recount(net.rt, recounter, line.id)
    counts.investigate(
        net.rt, investigator, line.id, findings="a box never put away", reason_code="DAMAGED"
    )
    return item, line.id


def _approval_row(net: Network, line_id: int) -> list[tuple[str, str | None]]:
    c = tr.approvals.c
    with net.rt.uow(read_only=True) as uow:
        rows = uow.connection.execute(
            select(c.status, c.decided_by)
            .where(c.subject_type == "count_line", c.subject_id == line_id)
            .order_by(c.id)
        ).all()
    return [(r.status, r.decided_by) for r in rows]


def test_a_count_line_awaiting_approval_is_decided_from_the_inbox(net: Network) -> None:
    item, line_id = _awaiting_approval(net)
    approver = person(net, "manager3", Role.MANAGER)
    counter = person(net, "manager2", Role.MANAGER)
    investigator = person(net, "pharm1", Role.PHARMACIST)

    [entry] = approvals.inbox(net.rt, approver)
    assert (entry.subject_type, entry.subject_id) == ("count_line", line_id)
    assert entry.action == "approve_count_adjustment"
    assert (entry.quantity, entry.value, entry.requested_by) == (8, Decimal("1.0000"), "pharm1")
    assert "variance -8" in entry.summary
    assert "a box never put away" in entry.summary
    # neither the counter nor the investigator sees it, and neither may decide it
    for who in (counter, investigator):
        assert approvals.inbox(net.rt, who) == []
        with pytest.raises(errors.SelfApproval):
            approvals.decide(net.rt, who, entry.id, True)
    assert queries.balance(net.rt, net.actor, item_id=item.id, site_id=net.central.id) == 100

    decision = approvals.decide(net.rt, approver, entry.id, True, "checked the bin")

    assert decision.document_id is not None
    assert decision.approval.status == "approved"
    assert queries.balance(net.rt, net.actor, item_id=item.id, site_id=net.central.id) == 92
    line = _line(net, line_id)
    assert (line.status, line.approved_by, line.document_id) == (
        "adjusted",
        "manager3",
        decision.document_id,
    )
    assert _approval_row(net, line_id) == [("approved", "manager3")]
    assert approvals.inbox(net.rt, approver) == []
    with pytest.raises(errors.StatusConflict):  # decided once
        approvals.decide(net.rt, approver, entry.id, True)
    assert "approve count adjustment" in _audit_actions(net)


def test_a_rejected_count_adjustment_goes_back_to_its_investigation(net: Network) -> None:
    item, line_id = _awaiting_approval(net)
    approver = person(net, "manager3", Role.MANAGER)
    investigator = person(net, "pharm1", Role.PHARMACIST)
    [entry] = approvals.inbox(net.rt, approver)
    with pytest.raises(errors.ValidationFailed):
        approvals.decide(net.rt, approver, entry.id, False, "  ")

    approvals.decide(net.rt, approver, entry.id, False, "look in the fridge")

    assert _line(net, line_id).status == "investigating"
    assert _approval_row(net, line_id) == [("rejected", "manager3")]
    assert approvals.inbox(net.rt, approver) == []
    assert queries.balance(net.rt, net.actor, item_id=item.id, site_id=net.central.id) == 100
    assert "reject count adjustment" in _audit_actions(net)

    # investigated again: a new approval, which approving the line directly also decides
    counts.investigate(
        net.rt, investigator, line_id, findings="not in the fridge either", reason_code="DAMAGED"
    )
    assert len(approvals.inbox(net.rt, approver)) == 1
    counts.approve(net.rt, approver, line_id)
    assert _approval_row(net, line_id) == [("rejected", "manager3"), ("approved", "manager3")]
    assert queries.balance(net.rt, net.actor, item_id=item.id, site_id=net.central.id) == 92


def test_a_line_is_judged_by_its_items_abc_class_at_the_site(
    net: Network, clock: ManualClock
) -> None:
    fast = net.item("Insulin glargine pen", standard_cost=Decimal("10"))
    slow = net.item("Calamine lotion", standard_cost=Decimal("0.10"))
    net.receive(fast, 200)
    net.receive(slow, 200)
    net.dispense(fast, 90)  # nearly all the site's consumption value: class A
    net.dispense(slow, 1)  # the last few percent: class C
    clock.advance(timedelta(days=14))  # weekly demand history, in whole weeks to yesterday
    manager = person(net, "manager1", Role.MANAGER)
    tech = person(net, "tech1", Role.TECHNICIAN)
    count = counts.create_count(
        net.rt,
        manager,
        counts.NewCount(net.central.id, "two items", program="manual", item_ids=[fast.id, slow.id]),
    )
    by_item = {line.item_id: line for line in count.lines}
    counts.set_tally(net.rt, tech, by_item[fast.id].id, 109)  # one unit missing of each
    counts.set_tally(net.rt, tech, by_item[slow.id].id, 198)
    counts.submit(net.rt, tech, count.id)
    # class A tolerates no difference: a recount; class C tolerates 5 units: accepted and posted
    assert _line(net, by_item[fast.id].id).status == "recount"
    assert _line(net, by_item[slow.id].id).status == "accepted"
    assert queries.balance(net.rt, net.actor, item_id=slow.id, site_id=net.central.id) == 198
    # the organization's class A rule for manual counts now lets one unit (10.00) through
    counts.set_tolerance(net.rt, _admin(net), "manual", "A", 1, Decimal("10"))
    again = counts.create_count(
        net.rt,
        manager,
        counts.NewCount(net.central.id, "the pen again", program="manual", item_ids=[fast.id]),
    )
    [line] = again.lines
    counts.set_tally(net.rt, tech, line.id, 109)
    counts.submit(net.rt, tech, again.id)
    assert _line(net, line.id).status == "accepted"


def test_a_large_count_adjustment_needs_the_adjustment_policys_approver(net: Network) -> None:
    # 8 missing at 50.00 a unit: 400.00, at or above the default adjustment policy (250.00)
    pen = net.item("Insulin glargine pen", standard_cost=Decimal("50"))
    item, line_id = _awaiting_approval(net, pen)
    manager = person(net, "manager3", Role.MANAGER)
    assert approvals.inbox(net.rt, manager) == []  # a manager may adjust, but not this much
    with pytest.raises(errors.PharmacistApprovalRequired):
        counts.approve(net.rt, manager, line_id)
    pharmacist = person(net, "pharm2", Role.PHARMACIST)
    [entry] = approvals.inbox(net.rt, pharmacist)
    with pytest.raises(errors.PharmacistApprovalRequired):
        approvals.decide(net.rt, manager, entry.id, True)
    assert queries.balance(net.rt, net.actor, item_id=item.id, site_id=net.central.id) == 100
    decision = approvals.decide(net.rt, pharmacist, entry.id, True)
    assert decision.document_id is not None
    assert queries.balance(net.rt, net.actor, item_id=item.id, site_id=net.central.id) == 92


def test_a_tolerance_never_lets_through_what_the_adjustment_policy_would_hold(
    net: Network,
) -> None:
    pen = net.item("Insulin glargine pen", standard_cost=Decimal("10"))
    net.receive(pen, 100)
    # a lax tolerance: 50 units and 1,000.00 of class C in any program
    counts.set_tolerance(net.rt, _admin(net), "*", "C", 50, Decimal("1000"))
    # 30 missing is within it, but 300.00 reaches the adjustment policy (250.00): a recount
    held_back = _counted(net, pen, 70)
    assert _line(net, held_back).status == "recount"
    assert queries.balance(net.rt, net.actor, item_id=pen.id, site_id=net.central.id) == 100
    # 20 missing (200.00) stays under the policy: accepted and posted
    accepted = _counted(net, pen, 80)
    assert _line(net, accepted).status == "accepted"
    assert queries.balance(net.rt, net.actor, item_id=pen.id, site_id=net.central.id) == 80
