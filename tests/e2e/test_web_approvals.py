"""A large adjustment on the web form waits in the approvals inbox; another user, a pharmacist,
approves it there and only then does it post."""

from __future__ import annotations

import re
from decimal import Decimal

from httpx import Response

from rxledger.domain.permissions import ALL_SITES, Grant, Role
from rxledger.services import approvals, queries
from tests.e2e.conftest import KEY, WebClient, WebWorld


def test_a_large_web_adjustment_is_held_then_approved_by_a_pharmacist(
    fresh_world: WebWorld,
) -> None:
    world = fresh_world
    world.usernames["manager"] = world.add_user("manager1", Grant(Role.MANAGER, world.central.id))
    world.usernames["pharmacist"] = world.add_user(
        "pharmacist1", Grant(Role.PHARMACIST, world.central.id)
    )
    pen = world.net.item("Insulin glargine pen", standard_cost=Decimal("30.00"))
    world.net.receive(pen, 100, "G1")
    lot_id = next(
        b.lot_id
        for b in queries.balances(world.rt, world.admin, location_id=world.central.storage.id)
        if b.item_id == pen.id
    )
    manager = world.client_for("manager")
    data = {
        "site_id": world.central.id,
        "location_id": world.central.storage.id,
        "item_id": pen.id,
        "lot_id": lot_id,
        "reason_code": "DAMAGED",
        "mode": "delta",
        "quantity": "-10",  # 300.00 at cost: above the 250.00 default
    }
    confirm = manager.post("/stock/adjust/confirm", data)
    key = KEY.search(confirm.text)
    assert key is not None

    held = manager.post("/stock/adjust", {**data, "idempotency_key": key.group(1)})

    assert held.status_code == 303
    assert "held+for+approval" in held.headers["location"]
    approval = re.search(r"approval=(\d+)", held.headers["location"])
    assert approval is not None
    on_hand = queries.balance(world.rt, world.admin, item_id=pen.id, site_id=world.central.id)
    assert on_hand == 100  # nothing moved yet

    pharmacist = world.client_for("pharmacist")
    inbox = pharmacist.get("/approvals")
    assert "Insulin glargine pen" in inbox.text
    approved = pharmacist.post(f"/approvals/{approval.group(1)}/approve", {})
    assert approved.status_code == 303, approved.text
    on_hand = queries.balance(world.rt, world.admin, item_id=pen.id, site_id=world.central.id)
    assert on_hand == 90


def test_an_administrator_keeps_the_approval_policies_on_the_web(fresh_world: WebWorld) -> None:
    world = fresh_world
    world.usernames["chief"] = world.add_user("chief1", Grant(Role.ADMIN, ALL_SITES))
    world.usernames["manager"] = world.add_user("manager1", Grant(Role.MANAGER, world.central.id))
    chief = world.client_for("chief")
    page = chief.get("/approvals/policies")
    assert page.status_code == 200
    assert 'data-policy="default-non_formulary_order"' in page.text
    assert "data-add-policy" in page.text

    def post(client: WebClient, url: str, data: dict[str, object]) -> Response:
        body = {**data, "csrf_token": client.csrf}
        response: Response = client.http.post(url, data=body, follow_redirects=False)
        return response

    added = post(
        chief,
        "/approvals/policies",
        {
            "action": "order",
            "site_id": "",
            "min_value": "1,500.00",
            "approver_roles": ["manager", "pharmacist"],
        },
    )
    assert added.status_code == 303, added.text
    found = re.search(r"policy=(\d+)", added.headers["location"])
    assert found is not None
    policy_id = int(found.group(1))
    [kept] = [p for p in approvals.list_policies(world.rt, world.admin) if p.id == policy_id]
    assert (kept.action, kept.min_value, kept.active) == ("order", Decimal("1500.00"), True)
    assert {r.value for r in kept.approver_roles} == {"manager", "pharmacist"}

    # retired (the active box unchecked), the threshold removed
    changed = post(
        chief,
        f"/approvals/policies/{policy_id}",
        {"min_value": "", "min_quantity": "", "approver_roles": ["manager"]},
    )
    assert changed.status_code == 303, changed.text
    [kept] = [p for p in approvals.list_policies(world.rt, world.admin) if p.id == policy_id]
    assert (kept.min_value, kept.active, kept.approver_roles) == (None, False, (Role.MANAGER,))

    # no role left: refused with the form again, nothing changed
    refused = post(chief, f"/approvals/policies/{policy_id}", {"active": "1"})
    assert refused.status_code == 422
    assert 'data-error-code="VALIDATION_ERROR"' in refused.text
    # a manager sees the policies but has no form, and a forged post is refused
    manager = world.client_for("manager")
    assert "data-add-policy" not in manager.get("/approvals/policies").text
    forged = post(
        manager, f"/approvals/policies/{policy_id}", {"active": "1", "approver_roles": ["manager"]}
    )
    assert forged.status_code == 403
    [kept] = [p for p in approvals.list_policies(world.rt, world.admin) if p.id == policy_id]
    assert kept.active is False
