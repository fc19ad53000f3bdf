"""The count tolerances on the counts screen: listed for everyone, kept by an administrator of
every site through a CSRF-protected form."""

from __future__ import annotations

from decimal import Decimal

from rxledger.domain.permissions import Grant, Role
from rxledger.services import approvals, counts, queries
from rxledger.services.runtime import Actor
from tests.e2e.conftest import WebWorld


def _kept(world: WebWorld) -> list[tuple[str, str, int, Decimal]]:
    return [
        (t.program, t.item_class, t.units, t.value)
        for t in counts.list_tolerances(world.rt, world.admin)
        if not t.default
    ]


def test_an_administrator_keeps_a_count_tolerance_on_the_counts_screen(
    fresh_world: WebWorld,
) -> None:
    world = fresh_world
    world.usernames["manager"] = world.add_user("manager1", Grant(Role.MANAGER, world.central.id))
    world.usernames["org_admin"] = world.add_user("orgadmin1", Grant(Role.ADMIN, None))
    manager = world.client_for("manager")
    page = manager.get("/counts")
    assert page.status_code == 200
    assert 'data-tolerance="*/C"' in page.text  # the defaults are listed
    assert "data-set-tolerance" not in page.text  # a site manager may not keep them
    refused = manager.post(
        "/counts/tolerances", {"program": "manual", "item_class": "C", "units": "9", "value": "1"}
    )
    assert refused.status_code != 303
    assert _kept(world) == []

    admin = world.client_for("org_admin")
    assert "data-set-tolerance" in admin.get("/counts").text
    form = {"program": "manual", "item_class": "C", "units": "10", "value": "5.00"}
    unprotected = admin.post("/counts/tolerances", form, csrf=False)
    assert unprotected.status_code == 403
    assert _kept(world) == []
    bad = admin.post("/counts/tolerances", {**form, "units": "-1"})
    assert bad.status_code != 303
    assert "units" in bad.text

    kept = admin.post("/counts/tolerances", form)

    assert kept.status_code == 303
    assert _kept(world) == [("manual", "C", 10, Decimal("5.0000"))]
    assert 'data-tolerance="manual/C"' in manager.get("/counts").text

    removed = admin.post(
        "/counts/tolerances", {"program": "manual", "item_class": "C", "remove": "1"}
    )
    assert removed.status_code == 303
    assert _kept(world) == []


def test_a_count_adjustment_is_approved_on_the_approvals_screen(fresh_world: WebWorld) -> None:
    world = fresh_world
    world.usernames["manager"] = world.add_user("manager1", Grant(Role.MANAGER, world.central.id))
    org, central = world.admin.organization_id, world.central.id
    planner = Actor(org, "planner1", None, (Grant(Role.MANAGER, central),))
    first = Actor(org, "counter1", None, (Grant(Role.TECHNICIAN, central),))
    second = Actor(org, "counter2", None, (Grant(Role.TECHNICIAN, central),))
    looker = Actor(org, "investigator1", None, (Grant(Role.PHARMACIST, central),))
    item = world.net.item("Cetirizine 10 mg tablet")
    world.net.receive(item, 100, "CT1")
    count = counts.create_count(
        world.rt, planner, counts.NewCount(central, "Cetirizine", item_ids=[item.id])
    )
    [line] = count.lines
    counts.set_tally(world.rt, first, line.id, 90)
    counts.submit(world.rt, first, count.id)
    counts.set_tally(world.rt, second, line.id, 90)
    counts.submit_recount(world.rt, second, line.id)
    counts.investigate(world.rt, looker, line.id, findings="ten sold", reason_code="DAMAGED")

    manager = world.client_for("manager")
    inbox = manager.get("/approvals")
    assert 'data-subject="count_line"' in inbox.text
    assert "Cetirizine 10 mg tablet" in inbox.text
    [entry] = approvals.inbox(world.rt, world.admin)

    approved = manager.post(f"/approvals/{entry.id}/approve", {})

    assert approved.status_code == 303, approved.text
    [settled] = counts.get_count(world.rt, world.admin, count.id).lines
    assert (settled.status, settled.approved_by) == ("adjusted", "manager1")
    on_hand = queries.balance(world.rt, world.admin, item_id=item.id, site_id=central)
    assert on_hand == 90
