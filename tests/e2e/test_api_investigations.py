"""Quarantine, DSCSA investigations and traceability over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from fastapi import FastAPI
from sqlalchemy import update

from rxledger.adapters import tables as t
from rxledger.adapters import tables_control as tc
from rxledger.adapters.ingest.epcis_schema import epcis_validator
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
from tests.quarantine_builders import (
    CASES,
    GTIN,
    QuarantineCase,
    dscsa_item,
    dscsa_shipment,
    quarantine_case,
    receive_scans,
)

WRONG_CHECK_DIGIT = GTIN[:-1] + str((int(GTIN[-1]) + 1) % 10)
NOTICE = {
    "outcome": "illegitimate",
    "note": "counterfeit",
    "notification_reference": "FDA-3911-7",
    "notified_at": "2026-06-01T12:00:00Z",
}


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fast_password_hashing(monkeypatch)


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return idle_app()


@pytest.fixture
def world(rt: Runtime, app: FastAPI) -> ApiWorld:
    world = build_api_world(rt, ("pharmacist", "technician", "retail_technician"), app=app)
    dscsa_item(world.net)
    return world


@pytest.fixture
def case(world: ApiWorld) -> QuarantineCase:
    return quarantine_case(world.net)


def test_discrepancies_are_listed_and_resolved_once(world: ApiWorld, case: QuarantineCase) -> None:
    # given the open discrepancies at CENTRAL
    site = world.net.central.id
    listed = ok(world.api.get(f"/discrepancies?site_id={site}", who="pharmacist"))
    held = {d["reason"]: (d["held"], d["investigation_id"]) for d in listed}
    assert held["expired"] == (100, None)
    assert held["not_in_shipment"] == (100, case.investigation_id)
    # when the expired bottle is destroyed
    url = f"/discrepancies/{case.expired_discrepancy_id}/resolution"
    body = ok(world.api.post(url, who="pharmacist", json={"outcome": "destroy", "note": "bin"}))
    # then a destruction document was posted and the discrepancy records it
    assert body["document"]["doc_type"] == "destruction"
    assert body["document"]["reason_code"] == "EXPIRED"
    assert body["discrepancy"]["status"] == "resolved"
    assert body["discrepancy"]["resolution"]["document_id"] == body["document"]["id"]
    # and a second resolution is refused, changing nothing
    before = ledger_state(world.rt)
    error(
        world.api.post(url, who="pharmacist", json={"outcome": "destroy"}),
        409,
        "DISCREPANCY_ALREADY_RESOLVED",
    )
    assert ledger_state(world.rt) == before
    # and the suspect bottle's discrepancy belongs to its investigation
    suspect = f"/discrepancies/{case.suspect_discrepancy_id}/resolution"
    error(
        world.api.post(suspect, who="pharmacist", json={"outcome": "release"}),
        409,
        "UNDER_INVESTIGATION",
    )


def test_a_technician_and_another_site_cannot_resolve(
    world: ApiWorld, case: QuarantineCase
) -> None:
    url = f"/discrepancies/{case.expired_discrepancy_id}/resolution"
    before = ledger_state(world.rt)
    for who in ("technician", "retail_technician"):
        error(world.api.post(url, who=who, json={"outcome": "destroy"}), 403, "FORBIDDEN")
        close = f"/investigations/{case.investigation_id}/close"
        error(world.api.post(close, who=who, json=NOTICE), 403, "FORBIDDEN")
    assert ledger_state(world.rt) == before
    assert ok(world.api.get("/discrepancies", who="retail_technician")) == []


def test_an_investigation_is_noted_and_closed_as_illegitimate_once(
    world: ApiWorld, case: QuarantineCase
) -> None:
    base = f"/investigations/{case.investigation_id}"
    listed = ok(world.api.get("/investigations", who="pharmacist"))
    assert [(i["id"], i["serial"], i["status"]) for i in listed] == [
        (case.investigation_id, "FAKE1", "open")
    ]
    noted = ok(
        world.api.post(f"{base}/notes", who="pharmacist", json={"note": "label misprinted"}), 201
    )
    assert [(n["written_by"], n["note"]) for n in noted["notes"]] == [
        ("pharmacist", "label misprinted")
    ]
    # when closed as illegitimate without the notification, then with it
    missing = {"outcome": "illegitimate"}
    error(
        world.api.post(f"{base}/close", who="pharmacist", json=missing),
        422,
        "NOTIFICATION_REQUIRED",
    )
    closed = ok(world.api.post(f"{base}/close", who="pharmacist", json=NOTICE))
    # then the package was destroyed and the notice recorded
    assert closed["document"]["doc_type"] == "destruction"
    assert closed["document"]["reason_code"] == "ILLEGITIMATE"
    shown = ok(world.api.get(base, who="technician"))
    assert (shown["status"], shown["closed_by"], shown["notification_reference"]) == (
        "illegitimate",
        "pharmacist",
        "FDA-3911-7",
    )
    assert shown["notified_at"].startswith("2026-06-01T12:00:00")
    # and a second close is refused
    cleared = {"outcome": "cleared"}
    error(
        world.api.post(f"{base}/close", who="pharmacist", json=cleared),
        409,
        "INVESTIGATION_ALREADY_CLOSED",
    )


def test_a_cleared_package_is_released_to_a_named_shelf(
    world: ApiWorld, case: QuarantineCase
) -> None:
    body = {"outcome": "cleared", "location_id": world.net.central.shelf.id}
    closed = ok(
        world.api.post(
            f"/investigations/{case.investigation_id}/close", who="pharmacist", json=body
        )
    )
    assert closed["document"]["doc_type"] == "move"
    assert [m["to_location_id"] for m in closed["document"]["movements"]] == [
        world.net.central.shelf.id
    ]
    assert closed["investigation"]["status"] == "cleared"


def test_the_trace_is_epcis_json_ld_that_validates(world: ApiWorld, case: QuarantineCase) -> None:
    close = f"/investigations/{case.investigation_id}/close"
    ok(world.api.post(close, who="pharmacist", json=NOTICE))
    response = world.api.get(f"/products/{GTIN}/FAKE1/trace", who="technician")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/ld+json")
    document = json.loads(response.content)
    assert list(epcis_validator().iter_errors(document)) == []
    steps = [e["bizStep"] for e in document["epcisBody"]["eventList"]]
    assert steps == ["receiving", "destroying"]


def test_transaction_information_per_identifier_and_per_shipment(world: ApiWorld) -> None:
    # given a case received against the shipment's data
    shipment = dscsa_shipment(world.net, sha="c")
    receive_scans(world.net, "]C100" + CASES[0], shipment=shipment)
    # when
    info = ok(world.api.get(f"/products/{GTIN}/S01/transaction-information", who="technician"))
    shown = ok(world.api.get(f"/shipments/{shipment}", who="technician"))
    raw = world.api.get(f"/shipments/{shipment}/file", who="technician")
    # then
    (declared,) = info["declared_in"]
    assert (declared["shipment_id"], declared["lot_number"], declared["file"]["sha256"]) == (
        shipment,
        "A1",
        "c" * 64,
    )
    assert [s["disposition"] for s in info["scanned_in"]] == ["accept"]
    assert (len(shown["lines"]), len(shown["packages"]), shown["file"]["sha256"]) == (
        2,
        16,
        "c" * 64,
    )
    assert raw.status_code == 200
    assert raw.content == b"<epcis/>"
    assert raw.headers["X-Content-SHA256"] == "c" * 64
    # and another site's technician sees none of it
    hidden = f"/products/{GTIN}/S01/transaction-information"
    error(world.api.get(hidden, who="retail_technician"), 404, "SERIAL_NOT_FOUND")
    error(world.api.get(f"/shipments/{shipment}", who="retail_technician"), 403, "FORBIDDEN")


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/investigations/999999", 404, "INVESTIGATION_NOT_FOUND"),
        ("/shipments/999999", 404, "SHIPMENT_NOT_FOUND"),
        (f"/products/{GTIN}/NOPE/trace", 404, "SERIAL_NOT_FOUND"),
        (f"/products/{WRONG_CHECK_DIGIT}/S01/trace", 422, "INVALID_IDENTIFIER"),
        ("/discrepancies?status=lost", 422, "VALIDATION_ERROR"),
    ],
)
def test_unknown_and_invalid_requests_are_clear_errors(
    world: ApiWorld, path: str, status: int, code: str
) -> None:
    error(world.api.get(path, who="pharmacist"), status, code)


def test_stock_is_destroyed_through_the_api_with_a_reason(world: ApiWorld) -> None:
    # given stock on the shelf
    item = world.net.item("Gauze pad", expiry_tracked=False)
    world.net.receive(item, 50, location=world.net.central.shelf)
    body = {
        "site_id": world.net.central.id,
        "from_location_id": world.net.central.shelf.id,
        "reason_code": "DAMAGED",
        "to": "reverse_distributor",
        "lines": [{"item_id": item.id, "quantity": 20}],
    }
    # when a pharmacist sends 20 to the reverse distributor, and a technician tries
    posted = ok(world.api.post("/documents/destructions", who="pharmacist", json=body), 201)
    refused = world.api.post("/documents/destructions", who="technician", json=body)
    unknown = world.api.post(
        "/documents/destructions", who="pharmacist", json={**body, "reason_code": "WHIM"}
    )
    # then one destruction document, with its reason on every line
    assert (posted["doc_type"], posted["reason_code"]) == ("destruction", "DAMAGED")
    assert [(m["quantity"], m["reason_code"]) for m in posted["movements"]] == [(20, "DAMAGED")]
    error(refused, 403, "FORBIDDEN")
    error(unknown, 422, "REASON_CODE_UNKNOWN")


def test_schedule_ii_suspect_product_is_destroyed_with_a_witness(rt: Runtime, app: FastAPI) -> None:
    # given a schedule II bottle with a foreign serial under investigation at CENTRAL
    world = build_api_world(rt, ("pharmacist", "manager", "technician"), app=app)
    item = dscsa_item(world.net)
    with rt.uow() as uow:
        uow.connection.execute(
            update(t.items).where(t.items.c.id == item.id).values(dea_schedule="CII")
        )
        uow.commit()
    case = quarantine_case(world.net)
    url = f"/investigations/{case.investigation_id}/close"
    # when closed as illegitimate without a witness, or with a wrong witness password
    before = ledger_state(rt)
    error(world.api.post(url, who="pharmacist", json=NOTICE), 422, "WITNESS_REQUIRED")
    wrong = {**NOTICE, "witness": {"username": "manager", "password": "not the password"}}
    refused = error(
        world.api.post(url, who="pharmacist", json=wrong), 403, "WITNESS_CREDENTIALS_INVALID"
    )
    # then nothing changed
    assert refused["details"] == {"witness": "manager"}
    assert ledger_state(rt) == before
    assert (
        ok(world.api.get(f"/investigations/{case.investigation_id}", who="pharmacist"))["status"]
        == "open"
    )
    # when the manager witnesses it, the destruction posts and records the witness
    good = {**NOTICE, "witness": {"username": "manager", "password": PASSWORD}}
    closed = ok(world.api.post(url, who="pharmacist", json=good))
    assert closed["document"]["doc_type"] == "destruction"
    assert closed["investigation"]["status"] == "illegitimate"
    assert count_rows(rt, tc.document_witnesses) == 1
    # and the expired schedule II bottle's destruction takes a witness the same way
    expired = f"/discrepancies/{case.expired_discrepancy_id}/resolution"
    destroy = {"outcome": "destroy", "note": "bin"}
    error(world.api.post(expired, who="pharmacist", json=destroy), 422, "WITNESS_REQUIRED")
    witnessed = {**destroy, "witness": {"username": "manager", "password": PASSWORD}}
    body = ok(world.api.post(expired, who="pharmacist", json=witnessed))
    assert body["document"]["doc_type"] == "destruction"
    assert count_rows(rt, tc.document_witnesses) == 2
