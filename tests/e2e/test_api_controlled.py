"""The API's witness field on schedule II postings, and the controlled-substance reports."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi import FastAPI

from rxledger.adapters import tables_control as tc
from rxledger.services.runtime import Runtime
from tests.e2e.api_support import (
    PASSWORD,
    ApiWorld,
    build_api_world,
    count_rows,
    error,
    idle_app,
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
    return build_api_world(rt, ("technician", "pharmacist", "manager", "org_admin"), app=app)


def test_a_schedule_ii_waste_needs_a_witness_over_the_api(world: ApiWorld) -> None:
    # given 20 tablets of a CII item at CENTRAL
    net = world.net
    oxy = net.controlled()
    net.receive(oxy, 20)
    body = {
        "site_id": net.central.id,
        "from_location_id": net.central.storage.id,
        "reason_code": "EXPIRED",
        "lines": [{"item_id": oxy.id, "quantity": 5}],
    }
    # when the pharmacist posts without a witness, as their own witness, with a wrong password,
    # or with the technician
    api = world.api
    error(api.post("/documents/destructions", who="pharmacist", json=body), 422, "WITNESS_REQUIRED")
    mine = {**body, "witness": {"username": "pharmacist", "password": PASSWORD}}
    error(
        api.post("/documents/destructions", who="pharmacist", json=mine), 403, "WITNESS_NOT_ALLOWED"
    )
    wrong = {**body, "witness": {"username": "manager", "password": "not the password"}}
    response = api.post("/documents/destructions", who="pharmacist", json=wrong)
    refused = error(response, 403, "WITNESS_CREDENTIALS_INVALID")
    assert refused["details"] == {"witness": "manager"}
    # a wrong witness password is not a failed sign-in: no challenge, the poster's token still works
    assert "www-authenticate" not in response.headers
    ok(api.get("/me", who="pharmacist"))
    tech = {**body, "witness": {"username": "technician", "password": PASSWORD}}
    error(
        api.post("/documents/destructions", who="pharmacist", json=tech), 403, "WITNESS_NOT_ALLOWED"
    )
    assert count_rows(world.rt, tc.document_witnesses) == 0
    # then the manager's password posts it, witnessed
    good = {**body, "witness": {"username": "manager", "password": PASSWORD}}
    doc = ok(api.post("/documents/destructions", who="pharmacist", json=good), 201)
    assert count_rows(world.rt, tc.document_witnesses) == 1
    log = ok(
        api.get(f"/controlled/log?site_id={net.central.id}&item_id={oxy.id}", who="technician")
    )
    assert [
        (r["doc_type"], r["quantity_out"], r["balance"], r["witness"]) for r in log["rows"]
    ] == [
        ("receipt", 0, 20, None),
        ("destruction", 5, 15, "manager"),
    ]
    assert log["rows"][1]["document_id"] == doc["id"]


def test_the_adjustment_and_transfer_endpoints_take_the_witness(world: ApiWorld) -> None:
    net = world.net
    oxy = net.controlled()
    lot_id = net.receive(oxy, 20).movements[0].lot_id
    line = {
        "item_id": oxy.id,
        "location_id": net.central.storage.id,
        "lot_id": lot_id,
        "reason_code": "LOST",
        "delta": -1,
    }
    adjustment = {"site_id": net.central.id, "lines": [line]}
    api = world.api
    error(
        api.post("/documents/adjustments", who="pharmacist", json=adjustment),
        422,
        "WITNESS_REQUIRED",
    )
    witnessed = {**adjustment, "witness": {"username": "manager", "password": PASSWORD}}
    ok(api.post("/documents/adjustments", who="pharmacist", json=witnessed), 201)
    transfer = {
        "site_id": net.central.id,
        "from_location_id": net.central.storage.id,
        "to_site_id": net.retail.id,
        "lines": [{"item_id": oxy.id, "quantity": 4}],
    }
    error(
        api.post("/documents/transfers", who="pharmacist", json=transfer), 422, "WITNESS_REQUIRED"
    )
    shipped = ok(
        api.post(
            "/documents/transfers",
            who="pharmacist",
            json={**transfer, "witness": {"username": "manager", "password": PASSWORD}},
        ),
        201,
    )
    receipt = {"location_id": net.retail.storage.id}
    path = f"/documents/{shipped['id']}/transfer-receipts"
    error(api.post(path, who="org_admin", json=receipt), 422, "WITNESS_REQUIRED")
    assert count_rows(world.rt, tc.document_witnesses) == 2


def test_reports_as_csv_and_pdf_over_the_api(world: ApiWorld) -> None:
    net = world.net
    oxy = net.controlled()
    net.receive(oxy, 20, "A1")
    net.dispense(oxy, 8)
    site = net.central.id
    response = world.api.get(
        f"/controlled/log?site_id={site}&item_id={oxy.id}&format=csv", who="technician"
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["in"], r["out"], r["balance"]) for r in rows] == [
        ("20", "0", "20"),
        ("0", "8", "12"),
    ]
    sheet = world.api.get(f"/controlled/inventory?site_id={site}&format=pdf", who="technician")
    assert sheet.status_code == 200
    assert sheet.headers["content-type"] == "application/pdf"
    assert sheet.content.startswith(b"%PDF-")
    listed = ok(world.api.get(f"/controlled/inventory?site_id={site}", who="technician"))
    assert [(ln["lot_number"], ln["system_on_hand"], ln["counted"]) for ln in listed["lines"]] == [
        ("A1", 12, None)
    ]
    plain = net.item()
    error(
        world.api.get(f"/controlled/log?site_id={site}&item_id={plain.id}", who="technician"),
        422,
        "VALIDATION_ERROR",
    )
