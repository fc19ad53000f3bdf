"""Cycle counts on both engines: the variance is exact when stock moves while the count is open
(including a back-dated dispense recorded after the count), the recount is someone else's, and
the approver is neither a counter nor the investigator."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from rxledger.domain import errors
from rxledger.domain.clock import ManualClock
from rxledger.domain.counts import CountPolicy, VarianceRule
from rxledger.domain.permissions import Role
from rxledger.services import counts, queries, stock
from rxledger.services.catalog import PackageSpec
from rxledger.services.posting import Header
from rxledger.services.runtime import Runtime
from tests.builders import Network, build_network
from tests.purchasing_builders import person

STRICT = CountPolicy(
    rules={
        "controlled": VarianceRule(0, Decimal(0)),
        "A": VarianceRule(0, Decimal(0)),
        "B": VarianceRule(0, Decimal(0)),
        "C": VarianceRule(0, Decimal(0)),
    }
)


@pytest.fixture
def net(rt: Runtime) -> Network:
    return build_network(rt)


def counted_with_traffic(net: Network, clock: ManualClock) -> tuple[counts.CountView, int]:
    """100 received; a count opened; 5 dispensed before the count but recorded only after it;
    92 on the shelf when counted (3 missing); then 10 dispensed and 20 received while the count
    is still open. The ledger at the count instant says 95: the variance is -3."""
    item = net.item()
    net.receive(item, 100)
    manager = person(net, "manager1", Role.MANAGER)
    tech = person(net, "tech1", Role.TECHNICIAN)
    count = counts.create_count(
        net.rt,
        manager,
        counts.NewCount(net.central.id, "Aisle A", location_ids=[net.central.storage.id]),
    )
    [line] = count.lines
    before_count = clock.now() + timedelta(minutes=30)
    clock.advance(timedelta(hours=1))
    counts.set_tally(net.rt, tech, line.id, 92)  # counted at +1 h
    clock.advance(timedelta(hours=1))
    stock.dispense(
        net.rt,
        net.actor,
        stock.Dispense(
            net.central.id,
            net.central.storage.id,
            [stock.StockLine(item.id, 5)],
            Header(reference="RX-LATE", occurred_at=before_count),
        ),
    )
    net.dispense(item, 10)
    net.receive(item, 20)
    return count, item.id


def test_the_variance_is_against_the_balance_when_counted(net: Network, clock: ManualClock) -> None:
    count, item_id = counted_with_traffic(net, clock)
    tech = person(net, "tech1", Role.TECHNICIAN)

    # a technician's blind count hides the system quantity from them
    seen = counts.get_count(net.rt, tech, count.id)
    assert seen.lines[0].system_quantity is None

    submitted = counts.submit(net.rt, tech, count.id)

    manager = person(net, "manager1", Role.MANAGER)
    [line] = counts.get_count(net.rt, manager, count.id).lines
    [entry] = line.entries
    assert entry.counted == 92
    assert entry.system_at_count == 95  # 100 less the back-dated 5; not the 10 or 20 after
    assert entry.variance == -3
    # -3 at 0.125 a capsule is within class C's tolerance: settled by a COUNT adjustment
    assert line.status == "accepted"
    assert line.document_id is not None
    assert submitted.status == "closed"
    # the ledger now holds what it held, less the 3 found missing: 100 - 5 - 10 + 20 - 3
    assert queries.balance(net.rt, net.actor, item_id=item_id, site_id=net.central.id) == 102


def test_a_persistent_variance_is_recounted_investigated_and_approved_by_three_people(
    net: Network, clock: ManualClock
) -> None:
    count, item_id = counted_with_traffic(net, clock)
    tech = person(net, "tech1", Role.TECHNICIAN)
    other_tech = person(net, "tech2", Role.TECHNICIAN)
    pharmacist = person(net, "pharm1", Role.PHARMACIST)
    manager = person(net, "manager1", Role.MANAGER)
    counts.submit(net.rt, tech, count.id, STRICT)
    [line] = counts.get_count(net.rt, manager, count.id).lines
    assert line.status == "recount"

    # the first counter may not recount
    with pytest.raises(errors.SelfApproval):
        counts.set_tally(net.rt, tech, line.id, 92)
    clock.advance(timedelta(minutes=10))
    # since the first count 10 left and 20 came: the shelf holds 102, the ledger 105
    counts.set_tally(net.rt, other_tech, line.id, 102)
    counts.submit_recount(net.rt, other_tech, line.id, STRICT)
    [line] = counts.get_count(net.rt, manager, count.id).lines
    assert line.status == "investigating"
    assert [e.variance for e in line.entries] == [-3, -3]

    # the investigator sees every movement since the last good count, and a look-alike dispensed
    # near the count
    look_alike = net.item("Amoxicillin 250 mg capsule", strength="250 mg")
    net.receive(look_alike, 50, lot="LA")
    net.dispense(look_alike, 3)
    seen = counts.investigation(net.rt, pharmacist, line.id)
    assert sorted(m.change for m in seen.movements) == [-10, -5, 20, 100]
    assert any("Amoxicillin 250 mg capsule" in e for e in seen.explanations)

    counts.investigate(
        net.rt, pharmacist, line.id, findings="three capsules found crushed", reason_code="DAMAGED"
    )
    # neither the investigator nor a counter may approve
    for who in (pharmacist, other_tech, tech):
        with pytest.raises(errors.Forbidden):
            counts.approve(net.rt, who, line.id)
    assert queries.balance(net.rt, net.actor, item_id=item_id, site_id=net.central.id) == 105

    done = counts.approve(net.rt, manager, line.id)

    [line] = done.lines
    assert line.status == "adjusted"
    assert line.approved_by == "manager1"
    assert done.status == "closed"
    assert queries.balance(net.rt, net.actor, item_id=item_id, site_id=net.central.id) == 102
    document = queries.get_document(net.rt, net.actor, line.document_id or 0)
    assert document.reason_code == "DAMAGED"
    assert document.posted_by == "manager1"
    [accuracy] = counts.accuracy(net.rt, manager, site_id=net.central.id)
    assert (accuracy.lines_counted, accuracy.lines_accurate) == (1, 0)
    assert accuracy.shrinkage_units == 3
    assert accuracy.shrinkage_value == Decimal("0.38")  # 3 x 0.125, rounded to cents
    counted_on = net.rt.clock.now()
    [by_quarter] = counts.accuracy(net.rt, manager, site_id=net.central.id, period="Q")
    assert by_quarter.period == f"{counted_on:%Y}-Q{(counted_on.month - 1) // 3 + 1}"
    assert (by_quarter.lines_counted, by_quarter.shrinkage_units) == (1, 3)
    [by_year] = counts.accuracy(net.rt, manager, site_id=net.central.id, period="Y")
    assert by_year.period == f"{counted_on:%Y}"
    with pytest.raises(errors.ValidationFailed):
        counts.accuracy(net.rt, manager, period="W")


def test_every_line_is_counted_before_submitting_and_zero_is_confirmed(net: Network) -> None:
    item = net.item()
    net.receive(item, 10)
    net.receive(item, 5, lot="L2", location=net.central.shelf)
    manager = person(net, "manager1", Role.MANAGER)
    tech = person(net, "tech1", Role.TECHNICIAN)
    count = counts.create_count(
        net.rt, manager, counts.NewCount(net.central.id, "Everything", item_ids=[item.id])
    )
    assert [line.location_code for line in count.lines] == ["MAIN", "MAIN-A1"]  # walking order
    counts.set_tally(net.rt, tech, count.lines[0].id, 10)
    with pytest.raises(errors.ValidationFailed):
        counts.submit(net.rt, tech, count.id)
    counts.set_tally(net.rt, tech, count.lines[1].id, 0)  # the bin is empty: confirmed
    done = counts.submit(net.rt, tech, count.id)
    assert [line.status for line in done.lines] == ["accepted", "accepted"]
    assert queries.balance(net.rt, net.actor, item_id=item.id, site_id=net.central.id) == 10


def test_counting_needs_a_count_in_progress_and_the_right_people(net: Network) -> None:
    item = net.item()
    net.receive(item, 10)
    manager = person(net, "manager1", Role.MANAGER)
    buyer = person(net, "buyer1", Role.BUYER)
    tech = person(net, "tech1", Role.TECHNICIAN)
    with pytest.raises(errors.Forbidden):
        counts.create_count(net.rt, tech, counts.NewCount(net.central.id, "Mine"))
    count = counts.create_count(net.rt, manager, counts.NewCount(net.central.id, "All"))
    with pytest.raises(errors.Forbidden):
        counts.set_tally(net.rt, buyer, count.lines[0].id, 3)
    counts.cancel(net.rt, manager, count.id)
    with pytest.raises(errors.StatusConflict):
        counts.set_tally(net.rt, tech, count.lines[0].id, 3)


def test_daily_counts_split_the_due_lines_across_technicians(net: Network) -> None:
    for n in range(5):
        net.receive(net.item(f"Item {n} tablet"), 10 + n)
    manager = person(net, "manager1", Role.MANAGER)

    made = counts.daily_counts(
        net.rt, manager, net.central.id, ["tech1", "tech2", "tech3"], lines_per_counter=2
    )

    assert [c.assigned_to for c in made] == ["tech1", "tech2", "tech3"]
    assert [len(c.lines) for c in made] == [2, 2, 1]
    assert all(c.blind for c in made)
    # once counted and settled, nothing is due again this month
    for c in made:
        counter = person(net, c.assigned_to or "", Role.TECHNICIAN)
        for line in c.lines:
            on_hand = queries.balance(
                net.rt, net.actor, item_id=line.item_id, location_id=line.location_id
            )
            counts.set_tally(net.rt, counter, line.id, on_hand)
        assert counts.submit(net.rt, counter, c.id).status == "closed"
    assert counts.daily_counts(net.rt, manager, net.central.id, ["tech1"]) == []


def test_the_abc_program_counts_class_a_monthly_and_class_c_twice_a_year(
    net: Network, clock: ManualClock
) -> None:
    # two items dispensed for four weeks: the fast one carries 95% of the consumption value
    # (100 a day at 2.00 against 1 a day at 10.00), though the slow one holds far more stock
    # value (4,972 at 10.00 against 200 at 2.00): ranked by stock value it would be the A item
    fast = net.item("Apixaban 5 mg tablet", standard_cost=Decimal("2.00"))
    slow = net.item("Zinc oxide 20% ointment", standard_cost=Decimal("10.00"))
    net.receive(fast, 3000)
    net.receive(slow, 5000)
    for _ in range(28):
        net.dispense(fast, 100)
        net.dispense(slow, 1)
        clock.advance(timedelta(days=1))
    manager = person(net, "manager1", Role.MANAGER)
    tech = person(net, "tech1", Role.TECHNICIAN)
    # both counted and settled today
    everything = counts.create_count(net.rt, manager, counts.NewCount(net.central.id, "All"))
    for line in everything.lines:
        on_hand = queries.balance(net.rt, net.actor, item_id=line.item_id, site_id=net.central.id)
        counts.set_tally(net.rt, tech, line.id, on_hand)
    counts.submit(net.rt, tech, everything.id)

    clock.advance(timedelta(days=35))
    due = counts.create_count(
        net.rt, manager, counts.NewCount(net.central.id, "Due", program="abc")
    )

    # a month later only the A item is due; the C item waits for its six months
    assert [line.item_id for line in due.lines] == [fast.id]


def test_the_risk_program_puts_recent_variances_first(net: Network) -> None:
    manager = person(net, "manager1", Role.MANAGER)
    tech = person(net, "tech1", Role.TECHNICIAN)
    items = [net.item(f"Item {n} tablet") for n in range(60)]
    for item in items:
        net.receive(item, 100)
    # the last item was miscounted last week (and settled within tolerance)
    last = counts.create_count(
        net.rt, manager, counts.NewCount(net.central.id, "One", item_ids=[items[-1].id])
    )
    counts.set_tally(net.rt, tech, last.lines[0].id, 98)
    counts.submit(net.rt, tech, last.id)

    risky = counts.create_count(
        net.rt, manager, counts.NewCount(net.central.id, "Risk", program="risk")
    )

    # 60 items of equal value and stock: at most 50 lines, and the miscounted one among them
    assert len(risky.lines) == 50
    assert items[-1].id in {line.item_id for line in risky.lines}


def test_a_freezing_count_holds_its_locations_until_it_is_submitted(net: Network) -> None:
    item = net.item()
    net.receive(item, 10)
    net.receive(item, 10, lot="L2", location=net.central.shelf)
    manager = person(net, "manager1", Role.MANAGER)
    tech = person(net, "tech1", Role.TECHNICIAN)
    count = counts.create_count(
        net.rt,
        manager,
        counts.NewCount(
            net.central.id, "Frozen", location_ids=[net.central.storage.id], freeze=True
        ),
    )

    with pytest.raises(errors.LocationFrozen):
        net.dispense(item, 1)  # from storage, which is being counted
    with pytest.raises(errors.LocationFrozen):  # no second freezing count over the same place
        counts.create_count(
            net.rt,
            manager,
            counts.NewCount(
                net.central.id, "Again", location_ids=[net.central.storage.id], freeze=True
            ),
        )
    net.dispense(item, 1, location=net.central.shelf)  # elsewhere, stock moves on
    counts.set_tally(net.rt, tech, count.lines[0].id, 10)
    counts.submit(net.rt, tech, count.id)
    net.dispense(item, 1)  # counted: the location is free again

    assert queries.balance(net.rt, net.actor, item_id=item.id, site_id=net.central.id) == 18


def test_a_serialized_package_scanned_twice_is_counted_once(net: Network) -> None:
    unit_gtin = "00300000000124"
    item = net.item("Enoxaparin 40 mg syringe", packages=(PackageSpec("unit", 1, gtin=unit_gtin),))
    net.receive(item, 2, "E1")
    manager = person(net, "manager1", Role.MANAGER)
    tech = person(net, "tech1", Role.TECHNICIAN)
    count = counts.create_count(
        net.rt, manager, counts.NewCount(net.central.id, "Syringes", item_ids=[item.id])
    )

    def scan(serial: str) -> counts.CountView:
        return counts.scan(net.rt, tech, count.id, f"(01){unit_gtin}(17)271231(10)E1(21){serial}")

    scan("S1")
    with pytest.raises(errors.ValidationFailed, match="already counted"):
        scan("S1")
    view = scan("S2")

    assert view.lines[0].tally == 2
    done = counts.submit(net.rt, tech, count.id)
    assert done.lines[0].status == "accepted"
