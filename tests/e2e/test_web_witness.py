"""A schedule II adjustment on the web form: refused without a witness; with one, the confirm
page asks the witness's password again instead of carrying it, and the posting records them."""

from __future__ import annotations

from sqlalchemy import select

from rxledger.adapters import tables_control as tc
from rxledger.domain.permissions import Grant, Role
from rxledger.services import queries
from tests.e2e.conftest import PASSWORD, WebWorld


def test_a_schedule_ii_adjustment_needs_a_witness_who_types_their_password(
    fresh_world: WebWorld,
) -> None:
    world = fresh_world
    pharmacist = world.add_user("pharmacist1", Grant(Role.PHARMACIST, world.central.id))
    manager = world.add_user("manager1", Grant(Role.MANAGER, world.central.id))
    world.usernames.update({"pharmacist": pharmacist, "manager": manager})
    oxycodone = world.net.controlled()
    world.net.receive(oxycodone, 100, "OX1", location=world.central.vault)
    lot_id = next(
        b.lot_id
        for b in queries.balances(world.rt, world.admin, location_id=world.central.vault.id)
        if b.item_id == oxycodone.id
    )
    browser = world.client_for("pharmacist")
    base = {
        "site_id": world.central.id,
        "location_id": world.central.vault.id,
        "item_id": oxycodone.id,
        "lot_id": lot_id,
        "reason_code": "DAMAGED",
        "mode": "delta",
        "quantity": "-2",
    }

    refused = browser.post("/stock/adjust/confirm", base)
    assert refused.status_code == 422
    assert 'data-error-code="WITNESS_REQUIRED"' in refused.text

    witnessed = {**base, "witness": "manager1", "witness_password": PASSWORD}
    confirm = browser.post("/stock/adjust/confirm", witnessed)
    assert confirm.status_code == 200, confirm.text
    assert PASSWORD not in confirm.text  # asked again, never carried in the page
    assert 'name="witness_password" type="password"' in confirm.text
    key = confirm.text.split('name="idempotency_key" value="', 1)[1].split('"', 1)[0]
    posted = browser.post("/stock/adjust", {**witnessed, "idempotency_key": key})
    assert posted.status_code == 303, posted.text

    with world.rt.uow(read_only=True) as uow:
        witnesses = uow.connection.execute(select(tc.document_witnesses.c.witness)).scalars()
        assert list(witnesses) == ["manager1"]
    assert (
        queries.balance(world.rt, world.admin, item_id=oxycodone.id, site_id=world.central.id) == 98
    )
