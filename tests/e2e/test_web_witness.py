"""A schedule II adjustment on the web form: refused without a witness; with one, the confirm
page asks the witness's password again instead of carrying it, and the posting records them."""

from __future__ import annotations

from sqlalchemy import select, update

from rxledger.adapters import tables as t
from rxledger.adapters import tables_control as tc
from rxledger.domain.permissions import Grant, Role
from rxledger.services import queries
from tests.e2e.conftest import PASSWORD, WebWorld
from tests.quarantine_builders import dscsa_item, quarantine_case


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


def test_a_wrong_witness_password_is_a_403_on_the_form_and_keeps_the_user_signed_in(
    fresh_world: WebWorld,
) -> None:
    world = fresh_world
    world.usernames["pharmacist"] = world.add_user(
        "pharmacist1", Grant(Role.PHARMACIST, world.central.id)
    )
    world.add_user("manager1", Grant(Role.MANAGER, world.central.id))
    oxycodone = world.net.controlled()
    receipt = world.net.receive(oxycodone, 100, "OX1", location=world.central.vault)
    browser = world.client_for("pharmacist")
    form = {
        "site_id": world.central.id,
        "location_id": world.central.vault.id,
        "item_id": oxycodone.id,
        "lot_id": receipt.movements[0].lot_id,
        "reason_code": "DAMAGED",
        "mode": "delta",
        "quantity": "-2",
        "witness": "manager1",
        "witness_password": "not the password",
    }
    refused = browser.post("/stock/adjust/confirm", form)
    # the form again with a clear message, not the sign-in page
    assert refused.status_code == 403
    assert 'data-error-code="WITNESS_CREDENTIALS_INVALID"' in refused.text
    assert "witness manager1: user name or password is wrong" in refused.text
    assert "not the password" not in refused.text
    assert browser.get("/stock/adjust").status_code == 200
    assert (
        queries.balance(world.rt, world.admin, item_id=oxycodone.id, site_id=world.central.id)
        == 100
    )


def test_schedule_ii_suspect_product_is_destroyed_on_the_web_with_a_witness(
    fresh_world: WebWorld,
) -> None:
    # given a schedule II bottle with a foreign serial under investigation at CENTRAL
    world = fresh_world
    world.usernames["pharmacist"] = world.add_user(
        "pharmacist1", Grant(Role.PHARMACIST, world.central.id)
    )
    world.add_user("manager1", Grant(Role.MANAGER, world.central.id))
    item = dscsa_item(world.net)
    with world.rt.uow() as uow:
        uow.connection.execute(
            update(t.items).where(t.items.c.id == item.id).values(dea_schedule="CII")
        )
        uow.commit()
    case = quarantine_case(world.net)
    browser = world.client_for("pharmacist")
    url = f"/quarantine/investigations/{case.investigation_id}"
    assert 'name="witness_password" type="password"' in browser.get(url).text
    form = {
        "outcome": "illegitimate",
        "location_id": "",
        "notification_reference": "FDA-3911-5",
        "notified_at": "2026-06-01T12:00",
    }
    # when reviewed without a witness: refused
    refused = browser.post(f"{url}/confirm", form)
    assert refused.status_code == 422
    assert 'data-error-code="WITNESS_REQUIRED"' in refused.text
    # when reviewed with the manager as witness: the confirm page asks the password again
    witnessed = {**form, "witness": "manager1", "witness_password": PASSWORD}
    confirm = browser.post(f"{url}/confirm", witnessed)
    assert confirm.status_code == 200, confirm.text
    assert PASSWORD not in confirm.text
    assert 'name="witness_password" type="password"' in confirm.text
    closed = browser.post(f"{url}/close", witnessed)
    assert closed.status_code == 303, closed.text
    # then destroyed, witnessed
    assert 'data-case-status="illegitimate"' in browser.get(url).text
    with world.rt.uow(read_only=True) as uow:
        witnesses = uow.connection.execute(select(tc.document_witnesses.c.witness)).scalars()
        assert list(witnesses) == ["manager1"]
