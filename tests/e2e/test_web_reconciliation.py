"""The reconciliation screens through HTTP: a POS on-hand CSV uploaded, compared with the ledger,
and a ticked row settled by adjusting the ledger to the export's figure."""

from __future__ import annotations

import re

from sqlalchemy import select

from rxledger.adapters import tables_control as tc
from rxledger.domain.permissions import Grant, Role
from rxledger.services import queries
from tests.e2e.conftest import PASSWORD, WebClient, WebWorld


def test_an_export_is_uploaded_compared_and_a_row_settled(fresh_world: WebWorld) -> None:
    world = fresh_world
    world.usernames["manager"] = world.add_user("manager1", Grant(Role.MANAGER, world.central.id))
    item = world.net.item("Saline 10 mL")
    world.net.receive(item, 100, "S1")
    browser = world.client_for("manager")
    data = f"sku,lot,quantity\n{item.sku},S1,90\n".encode()

    uploaded = browser.http.post(
        "/reconciliation",
        data={"csrf_token": browser.csrf, "source": "pos"},
        files={"file": ("pos.csv", data, "text/csv")},
        follow_redirects=False,
    )
    assert uploaded.status_code == 303, uploaded.text
    page = browser.get(uploaded.headers["location"])
    assert page.status_code == 200
    key = f"{item.sku}/S1"
    row = re.search(rf'<tr data-row="{re.escape(key)}" data-status="(\w+)">', page.text)
    assert row is not None
    assert row.group(1) == "mismatch"

    snapshot = uploaded.headers["location"].rsplit("/", 1)[1]
    settled = browser.post(
        f"/reconciliation/{snapshot}/settle",
        {f"row:{key}": "1", "trust": "external", "reason_code": "COUNT"},
    )
    assert settled.status_code == 200, settled.text
    assert "data-settled" in settled.text
    assert queries.balance(world.rt, world.admin, item_id=item.id, site_id=world.central.id) == 90
    # the index lists the import
    assert "pos.csv" in browser.get("/reconciliation").text


def _upload(browser: WebClient, data: bytes) -> str:
    uploaded = browser.http.post(
        "/reconciliation",
        data={"csrf_token": browser.csrf, "source": "csv"},
        files={"file": ("onhand.csv", data, "text/csv")},
        follow_redirects=False,
    )
    assert uploaded.status_code == 303, uploaded.text
    return str(uploaded.headers["location"]).rsplit("/", 1)[1]


def test_a_schedule_ii_row_is_settled_with_a_witness_and_a_large_one_is_held(
    fresh_world: WebWorld,
) -> None:
    # given two pharmacists, 100 oxycodone (CII) and 4,000 amoxicillin capsules at CENTRAL
    world = fresh_world
    world.usernames["pharmacist"] = world.add_user(
        "pharmacist1", Grant(Role.PHARMACIST, world.central.id)
    )
    world.add_user("carol", Grant(Role.PHARMACIST, world.central.id))
    oxy, amoxicillin = world.net.controlled(), world.net.item()
    world.net.receive(oxy, 100, "OX1")
    world.net.receive(amoxicillin, 4000, "L1")
    browser = world.client_for("pharmacist")
    snapshot = _upload(browser, f"sku,quantity\n{oxy.sku},98\n{amoxicillin.sku},1000\n".encode())
    url = f"/reconciliation/{snapshot}/settle"
    settle_oxy = {f"row:{oxy.sku}": "1", "trust": "external", "reason_code": "COUNT"}

    def on_hand(item_id: int) -> int:
        return queries.balance(world.rt, world.admin, item_id=item_id, site_id=world.central.id)

    # when settled without a witness: refused, the form shown again
    refused = browser.post(url, settle_oxy)
    assert refused.status_code == 422
    assert 'data-error-code="WITNESS_REQUIRED"' in refused.text
    # when the witness's password is wrong: 403, a clear message, still signed in, nothing posted
    wrong = browser.post(url, {**settle_oxy, "witness": "carol", "witness_password": "guess"})
    assert wrong.status_code == 403
    assert 'data-error-code="WITNESS_CREDENTIALS_INVALID"' in wrong.text
    assert "witness carol" in wrong.text
    assert "guess" not in wrong.text  # the password is never shown again
    assert 'name="witness" autocomplete="off" maxlength="120" value="carol"' in wrong.text
    assert browser.get(f"/reconciliation/{snapshot}").status_code == 200  # not signed out
    assert on_hand(oxy.id) == 100
    # when carol witnesses it: posted, witnessed
    settled = browser.post(url, {**settle_oxy, "witness": "carol", "witness_password": PASSWORD})
    assert settled.status_code == 200, settled.text
    assert "data-settled" in settled.text
    assert PASSWORD not in settled.text
    assert on_hand(oxy.id) == 98
    with world.rt.uow(read_only=True) as uow:
        witnesses = uow.connection.execute(select(tc.document_witnesses.c.witness)).scalars()
        assert list(witnesses) == ["carol"]
    # when the amoxicillin row (3,000 at 0.125 = 375.00) is settled: held, not posted
    held = browser.post(
        url, {f"row:{amoxicillin.sku}": "1", "trust": "external", "reason_code": "COUNT"}
    )
    assert held.status_code == 200, held.text
    assert "data-held" in held.text
    assert "data-metrc" not in held.text
    assert on_hand(amoxicillin.id) == 4000
    # and the row shows the approval it awaits, with nothing to tick
    page = browser.get(f"/reconciliation/{snapshot}").text
    assert "data-awaiting=" in page
    assert f'name="row:{amoxicillin.sku}"' not in page
