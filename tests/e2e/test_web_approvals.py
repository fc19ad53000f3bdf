"""A large adjustment on the web form waits in the approvals inbox; another user, a pharmacist,
approves it there and only then does it post."""

from __future__ import annotations

import re
from decimal import Decimal

from rxledger.domain.permissions import Grant, Role
from rxledger.services import queries
from tests.e2e.conftest import KEY, WebWorld


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
