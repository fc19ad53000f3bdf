"""Item-master stewardship and certificates of analysis over HTTP, on SQLite and PostgreSQL: an
unknown GTIN scanned at the dock is linked or proposed, approved by a pharmacist and judged again;
a cannabis lot's certificate is uploaded as the raw body, fetched byte for byte and passed, which
is what lets its package be dispensed."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from fastapi import FastAPI

from rxledger.domain.certificates import MAX_CERTIFICATE_BYTES
from rxledger.services.runtime import Runtime
from tests.e2e.api_support import (
    ApiWorld,
    build_api_world,
    error,
    idle_app,
    ledger_state,
    ok,
    use_fast_password_hashing,
)
from tests.stewardship_builders import (
    PDF,
    UNKNOWN_GTIN,
    cannabis_item,
    lot_of,
    metrc_tag,
    open_session_with_unknown,
    receive_packages,
)


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fast_password_hashing(monkeypatch)


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return idle_app()


@pytest.fixture
def world(rt: Runtime, app: FastAPI) -> ApiWorld:
    return build_api_world(rt, ("technician", "pharmacist", "buyer", "org_admin"), app=app)


def _proposal(world: ApiWorld, **changes: Any) -> dict[str, Any]:
    return {
        "site_id": world.net.central.id,
        "name": "Cetirizine 10 mg tablet",
        "base_unit": "tablet",
        "gtin": UNKNOWN_GTIN,
        "package_units": 30,
        "strength": "10 mg",
        **changes,
    }


def test_an_unknown_gtin_is_proposed_approved_and_judged_again(world: ApiWorld) -> None:
    # given a session in which an unknown product was scanned
    api = world.api
    session_id = open_session_with_unknown(world.net)
    # when the technician proposes it
    proposal = ok(
        api.post(
            "/item-proposals",
            who="technician",
            json=_proposal(world, session_id=session_id, note="new supplier"),
        ),
        201,
    )
    assert (proposal["status"], proposal["sku"], proposal["proposed_by"]) == (
        "pending",
        f"GTIN-{UNKNOWN_GTIN}",
        "technician",
    )
    # then the pharmacist sees it pending, and the generic approvals inbox lists it too
    listed = ok(api.get("/item-proposals?status=pending", who="pharmacist"))
    assert [p["id"] for p in listed["items"]] == [proposal["id"]]
    inbox = ok(api.get("/approvals", who="pharmacist"))
    assert ("item_proposal", proposal["id"]) in {
        (a["subject_type"], a["subject_id"]) for a in inbox["items"]
    }
    # when the technician tries to approve, then the pharmacist approves
    url = f"/item-proposals/{proposal['id']}"
    error(api.post(f"{url}/approve", who="technician", json={}), 403, "FORBIDDEN")
    approved = ok(api.post(f"{url}/approve", who="pharmacist", json={"note": "label checked"}))
    assert approved["status"] == "approved"
    item = ok(api.get(f"/items/{approved['item_id']}", who="technician"))
    assert {(p["level"], p["base_units"], p["gtin"]) for p in item["packages"]} >= {
        ("package", 30, UNKNOWN_GTIN)
    }
    # and the session's package is accepted when judged again
    result = ok(api.post(f"/receiving-sessions/{session_id}/rejudge", who="technician"))
    assert (result["accepted"], result["lines"][0]["outcome"]) == (1, "accepted")
    session = ok(api.get(f"/receiving-sessions/{session_id}", who="technician"))
    assert session["lines"][0]["item_id"] == approved["item_id"]
    # and a decided proposal is not decided again
    error(api.post(f"{url}/reject", who="org_admin", json={"note": "no"}), 409, "STATUS_CONFLICT")


def test_the_proposer_cannot_approve_and_a_rejection_needs_a_reason(world: ApiWorld) -> None:
    api = world.api
    proposal = ok(api.post("/item-proposals", who="pharmacist", json=_proposal(world)), 201)
    url = f"/item-proposals/{proposal['id']}"
    before = ledger_state(world.rt)
    error(api.post(f"{url}/approve", who="pharmacist", json={}), 403, "SELF_APPROVAL_FORBIDDEN")
    refused = api.post(f"{url}/reject", who="org_admin", json={"note": ""})
    assert refused.status_code == 422
    assert ledger_state(world.rt) == before
    rejected = ok(api.post(f"{url}/reject", who="org_admin", json={"note": "duplicate"}))
    assert (rejected["status"], rejected["decision_note"]) == ("rejected", "duplicate")
    error(api.get("/item-proposals/999999", who="pharmacist"), 404, "ITEM_PROPOSAL_NOT_FOUND")


def test_a_gtin_is_linked_to_one_item_only(world: ApiWorld) -> None:
    api = world.api
    first, second = world.net.item("Cetirizine"), world.net.item("Loratadine")
    body = {"gtin": UNKNOWN_GTIN, "base_units": 30}
    linked = ok(api.post(f"/items/{first.id}/packages", who="buyer", json=body), 201)
    assert UNKNOWN_GTIN in {p["gtin"] for p in linked["packages"]}
    refused = error(
        api.post(f"/items/{second.id}/packages", who="pharmacist", json=body),
        409,
        "GTIN_ALREADY_ASSIGNED",
    )
    assert refused["details"]["item_id"] == first.id
    error(api.post(f"/items/{second.id}/packages", who="technician", json=body), 403, "FORBIDDEN")
    bad = api.post(f"/items/{second.id}/packages", who="buyer", json={**body, "base_units": "30"})
    assert bad.status_code == 422
    error(
        api.post(f"/items/{second.id}/packages", who="buyer", json={**body, "gtin": "12345678"}),
        422,
        "INVALID_IDENTIFIER",
    )


def test_a_certificate_is_uploaded_fetched_and_passed_before_the_sale(world: ApiWorld) -> None:
    # given a tagged cannabis package received: its lot is on hold
    api, net = world.api, world.net
    item = cannabis_item(net)
    receipt = receive_packages(net, item, [metrc_tag(1)])
    lot_id = lot_of(net, item)
    assert ok(api.get(f"/lots/{lot_id}", who="technician"))["status"] == "on_hold"
    sale = {
        "site_id": net.central.id,
        "location_id": net.central.storage.id,
        "lines": [{"item_id": item.id, "quantity": 1, "serial_id": receipt.movements[0].serial_id}],
    }
    error(api.post("/documents/dispenses", who="technician", json=sale), 409, "LOT_UNAVAILABLE")
    # when the technician uploads the laboratory's PDF as the request body
    url = f"/lots/{lot_id}/certificates?filename=coa%201.pdf&laboratory=Evio"
    coa = ok(api.post(url, who="technician", content=PDF), 201)
    assert (coa["lab_result"], coa["sha256"], coa["size"]) == (
        "pending",
        hashlib.sha256(PDF).hexdigest(),
        len(PDF),
    )
    # then it is listed and fetched byte for byte
    listed = ok(api.get(f"/lots/{lot_id}/certificates", who="pharmacist"))
    assert [c["id"] for c in listed["items"]] == [coa["id"]]
    file = api.get(f"/certificates/{coa['id']}", who="pharmacist")
    assert (file.status_code, file.content) == (200, PDF)
    assert file.headers["content-type"] == "application/pdf"
    assert file.headers["content-disposition"] == 'attachment; filename="coa1.pdf"'
    assert file.headers["x-content-sha256"] == coa["sha256"]
    # when the technician who attached it marks it, or a pharmacist sends no result
    result = f"/certificates/{coa['id']}/result"
    error(api.post(result, who="technician", json={"result": "passed"}), 403, "FORBIDDEN")
    assert api.post(result, who="pharmacist", json={"result": "maybe"}).status_code == 422
    # and releasing the lot by hand is refused
    error(
        api.put(f"/lots/{lot_id}/status", who="pharmacist", json={"status": "available"}),
        409,
        "CERTIFICATE_REQUIRED",
    )
    # when the pharmacist passes it, the package is sold
    passed = ok(api.post(result, who="pharmacist", json={"result": "passed"}))
    assert (passed["lab_result"], passed["decided_by"]) == ("passed", "pharmacist")
    assert ok(api.get(f"/lots/{lot_id}", who="technician"))["status"] == "available"
    ok(api.post("/documents/dispenses", who="technician", json=sale), 201)


def test_an_oversized_certificate_is_refused_and_nothing_stored(world: ApiWorld) -> None:
    item = cannabis_item(world.net)
    receive_packages(world.net, item, [metrc_tag(1)])
    lot_id = lot_of(world.net, item)
    before = ledger_state(world.rt)
    big = b"%PDF-" + b"0" * MAX_CERTIFICATE_BYTES
    response = world.api.post(f"/lots/{lot_id}/certificates", who="technician", content=big)
    error(response, 413, "FILE_TOO_LARGE")
    error(
        world.api.post(f"/lots/{lot_id}/certificates", who="technician", content=b""),
        422,
        "VALIDATION_ERROR",
    )
    error(world.api.get("/certificates/999999", who="technician"), 404, "CERTIFICATE_NOT_FOUND")
    assert ledger_state(world.rt) == before
