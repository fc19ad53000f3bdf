"""Settling a reconciliation over HTTP, on SQLite and PostgreSQL: schedule II rows need a witness
(a wrong password is 403, not a failed sign-in), and a settlement above the adjustment policy
answers 202 and waits in a pharmacist's inbox, settled once."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from rxledger.adapters import tables_control as tc
from rxledger.services import queries
from rxledger.services.runtime import Runtime
from tests.e2e.api_support import (
    PASSWORD,
    ApiWorld,
    build_api_world,
    count_rows,
    error,
    idle_app,
    ledger_state,
    ok,
    use_fast_password_hashing,
)


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fast_password_hashing(monkeypatch)


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return idle_app()


@pytest.fixture
def world(rt: Runtime, app: FastAPI) -> ApiWorld:
    return build_api_world(rt, ("pharmacist", "manager", "technician"), app=app)


def test_settling_takes_a_witness_and_follows_the_approval_policy(world: ApiWorld) -> None:
    # given 100 oxycodone (CII) and 4,000 amoxicillin capsules at CENTRAL; the export says 98, 1000
    net, api = world.net, world.api
    oxy, amoxicillin = net.controlled(), net.item()
    net.receive(oxy, 100)
    net.receive(amoxicillin, 4000)
    csv = f"sku,quantity\n{oxy.sku},98\n{amoxicillin.sku},1000\n"
    imported = ok(
        api.post(
            f"/reconciliation/snapshots?site_id={net.central.id}&source=csv&filename=onhand.csv",
            who="manager",
            content=csv.encode(),
            headers={"Content-Type": "text/csv"},
        ),
        201,
    )
    url = f"/reconciliation/snapshots/{imported['snapshot_id']}/adjust"
    oxy_row = {"reason_code": "COUNT", "keys": [oxy.sku]}

    def on_hand(item_id: int) -> int:
        return queries.balance(world.rt, net.actor, item_id=item_id, site_id=net.central.id)

    # when the CII row is settled without a witness, or with a wrong witness password
    error(api.post(url, who="manager", json=oxy_row), 422, "WITNESS_REQUIRED")
    before = ledger_state(world.rt)
    wrong = {**oxy_row, "witness": {"username": "pharmacist", "password": "not it"}}
    response = api.post(url, who="manager", json=wrong)
    # then 403 WITNESS_CREDENTIALS_INVALID, not 401: nothing changed, the token still works
    refused = error(response, 403, "WITNESS_CREDENTIALS_INVALID")
    assert refused["details"] == {"witness": "pharmacist"}
    assert "www-authenticate" not in response.headers
    assert ledger_state(world.rt) == before
    ok(api.get("/me", who="manager"))
    # when the pharmacist witnesses it: posted, witnessed
    good = {**oxy_row, "witness": {"username": "pharmacist", "password": PASSWORD}}
    posted = ok(api.post(url, who="manager", json=good))
    assert (posted["held"], posted["approval_id"]) == (False, None)
    assert posted["document"] is not None
    assert count_rows(world.rt, tc.document_witnesses) == 1
    assert on_hand(oxy.id) == 98
    # when the amoxicillin row, worth 375.00 at standard cost, is settled: 202, held
    amox_row = {"reason_code": "COUNT", "keys": [amoxicillin.sku]}
    held = ok(api.post(url, who="manager", json=amox_row), 202)
    assert (held["held"], held["document"], held["metrc"]) == (True, None, [])
    assert held["value"] == "375.0000"
    assert on_hand(amoxicillin.id) == 4000
    inbox = ok(api.get("/approvals/inbox", who="pharmacist"))
    assert [(e["id"], e["subject_type"]) for e in inbox] == [(held["approval_id"], "adjustment")]
    # and the comparison shows it awaiting; settling again holds nothing more
    shown = ok(api.get(f"/reconciliation/snapshots/{imported['snapshot_id']}", who="technician"))
    awaiting = {r["key"]: r["approval_id"] for r in shown["rows"]}
    assert awaiting == {oxy.sku: None, amoxicillin.sku: held["approval_id"]}
    again = ok(api.post(url, who="manager", json=amox_row))
    assert (again["held"], again["document"]) == (False, None)
    assert again["skipped"] == [
        {"key": amoxicillin.sku, "reason": f"awaiting approval {held['approval_id']}"}
    ]
    assert count_rows(world.rt, tc.held_adjustments) == 1
    # when the pharmacist approves it, it posts once
    ok(api.post(f"/approvals/{held['approval_id']}/approve", who="pharmacist", json={}))
    assert on_hand(amoxicillin.id) == 1000
