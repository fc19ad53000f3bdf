"""Receiving sessions over HTTP, on SQLite and PostgreSQL: a session against an imported EPCIS
shipment is scanned (cases, bottles with GS or ``^`` separators, a foreign serial), counted,
closed (twice: the second replays) and put away; bad scans and bad bodies are refused with their
codes and record nothing; lists are paginated."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI

from rxledger.domain.clock import ManualClock
from rxledger.services import queries, receiving
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
from tests.receiving_builders import (
    BOTTLE_GTIN,
    CASE_1,
    bottle_scan,
    case_3_scan,
    epcis_item,
    import_epcis,
    sscc_scan,
)

SESSIONS = "/receiving-sessions"


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fast_password_hashing(monkeypatch)


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return idle_app()


@pytest.fixture
def world(rt: Runtime, app: FastAPI) -> ApiWorld:
    world = build_api_world(
        rt, ("technician", "auditor", "retail_technician", "org_admin"), app=app
    )
    epcis_item(world.net)
    return world


@pytest.fixture
def shipment(world: ApiWorld) -> int:
    return import_epcis(world.net)


def open_against(world: ApiWorld, shipment_id: int | None, who: str = "technician") -> Any:
    body: dict[str, Any] = {"site_id": world.net.central.id}
    if shipment_id is not None:
        body["shipment_id"] = shipment_id
    return ok(world.api.post(SESSIONS, who=who, json=body), 201)


def scan(world: ApiWorld, session_id: int, text: str, **extra: Any) -> Any:
    body = {"scan": text, **extra}
    return ok(world.api.post(f"{SESSIONS}/{session_id}/scans", who="technician", json=body), 201)


def on_hand(world: ApiWorld, location_id: int) -> int:
    rows = queries.balances(world.rt, world.net.actor, location_id=location_id)
    return sum(r.on_hand for r in rows)


def test_a_shipment_is_received_by_scanning_closed_twice_and_put_away(
    world: ApiWorld, shipment: int, clock: ManualClock
) -> None:
    central = world.net.central
    # given the imported shipment awaiting receipt
    awaiting = ok(world.api.get(f"/shipments?site_id={central.id}&status=expected", who="auditor"))
    assert [s["id"] for s in awaiting["items"]] == [shipment]
    assert awaiting["items"][0]["serials"] == 12
    # when a technician opens a session against it
    session = open_against(world, shipment)
    # then it expects 800 capsules of LOT-A1 and 400 of LOT/B2.7, and the shipment is in receipt
    assert session["status"] == "open"
    assert {(e["lot_number"], e["expected"], e["received"]) for e in session["expected"]} == {
        ("LOT-A1", 800, 0),
        ("LOT/B2.7", 400, 0),
    }
    receiving_now = ok(world.api.get(f"/shipments?site_id={central.id}&status=receiving"))
    assert [s["id"] for s in receiving_now["items"]] == [shipment]
    # when a case, a bottle (GS separator), a bottle (^ separator) and a foreign bottle are scanned
    case = scan(world, session["id"], sscc_scan(CASE_1))
    bottle = scan(world, session["id"], bottle_scan("100005"))
    caret = scan(world, session["id"], bottle_scan("100006", sep="^"))
    foreign = scan(world, session["id"], bottle_scan("FOREIGN1"))
    # then the case adds its four bottles, the bottles one each, and the foreign one is held
    assert (case["verdict"], len(case["lines"]), case["quarantined"]) == ("accepted", 4, 0)
    assert {ln["serial"] for ln in case["lines"]} == {"100001", "100002", "100003", "100004"}
    assert bottle["verdict"] == caret["verdict"] == "accepted"
    assert bottle["lines"][0]["lot_number"] == "LOT-A1"
    assert caret["lines"][0]["serial"] == "100006"
    assert foreign["verdict"] == "quarantined"
    assert foreign["message"].startswith("To quarantine")
    (held,) = foreign["lines"]
    assert (held["disposition"], held["reason"], held["quantity"]) == (
        "quarantine",
        "not_in_shipment",
        100,
    )
    # and the session shows 600 of 800 received, with the foreign serial's discrepancy
    now = ok(world.api.get(f"{SESSIONS}/{session['id']}", who="auditor"))
    a1 = next(e for e in now["expected"] if e["lot_number"] == "LOT-A1")
    assert (a1["received"], a1["outstanding"]) == (600, 200)
    assert [d["reason"] for d in now["discrepancies"]] == ["not_in_shipment"]
    # when the session is closed, twice
    receipt = ok(world.api.post(f"{SESSIONS}/{session['id']}/close", who="technician"), 201)
    again = world.api.post(
        f"{SESSIONS}/{session['id']}/close", who="technician", headers={"Idempotency-Key": "x"}
    )
    # then one receipt was posted, and the second close replayed it
    assert receipt["doc_type"] == "receipt"
    assert ok(again, 200)["id"] == receipt["id"]
    assert again.json()["replayed"] is True
    assert on_hand(world, central.receiving.id) == 600
    assert on_hand(world, central.quarantine.id) == 100
    # when the accepted stock is put away half an hour later by scanning the shelf label
    clock.advance(timedelta(minutes=30))
    put_away = world.api.post(
        f"{SESSIONS}/{session['id']}/put-away", who="technician", json={"location": "MAIN-A1"}
    )
    # then it is on the shelf, and each line knows when it became available
    assert ok(put_away, 201)["doc_type"] == "put_away"
    assert on_hand(world, central.receiving.id) == 0
    assert on_hand(world, central.shelf.id) == 600
    done = ok(world.api.get(f"{SESSIONS}/{session['id']}"))
    assert done["status"] == "posted"
    assert done["receipt_document_id"] == receipt["id"]
    accepted = [ln for ln in done["lines"] if ln["disposition"] == "accept"]
    assert {ln["available_after_seconds"] for ln in accepted} == {1800}
    assert next(ln for ln in done["lines"] if ln["serial"] == "FOREIGN1")["available_at"] is None
    posted = ok(world.api.get(f"/shipments?site_id={central.id}&status=received"))
    assert [s["id"] for s in posted["items"]] == [shipment]


def test_an_sgtin_case_and_counts_in_packages(world: ApiWorld, shipment: int) -> None:
    session = open_against(world, shipment)
    # given the SGTIN case, and two bottles counted from one label's bracketed text
    case = scan(world, session["id"], case_3_scan())
    loose = scan(world, session["id"], f"(01){BOTTLE_GTIN}(17)270331(10)LOT-A1", packages=2)
    assert {ln["lot_number"] for ln in case["lines"]} == {"LOT/B2.7"}
    (line,) = loose["lines"]
    assert (line["quantity"], line["packages"], line["package_units"]) == (200, 2, 100)
    # when the count is corrected to three bottles
    url = f"{SESSIONS}/{session['id']}/lines/{line['id']}"
    changed = ok(world.api.patch(url, who="technician", json={"packages": 3}))
    # then the line holds 300 capsules
    assert (changed["quantity"], changed["packages"]) == (300, 3)
    # and a serialized bottle is counted once
    serialized = case["lines"][0]["id"]
    refused = world.api.patch(
        f"{SESSIONS}/{session['id']}/lines/{serialized}", who="technician", json={"packages": 2}
    )
    error(refused, 422, "INVALID_QUANTITY")


def test_a_bad_scan_is_refused_with_its_code_and_records_nothing(
    world: ApiWorld, shipment: int
) -> None:
    session = open_against(world, shipment)
    before = ledger_state(world.rt)
    url = f"{SESSIONS}/{session['id']}/scans"
    wrong_check_digit = BOTTLE_GTIN[:-1] + "7"
    for body, status, code in (
        ({"scan": f"]d201{wrong_check_digit}21X1"}, 422, "INVALID_SCAN"),
        ({"scan": "hello"}, 422, "INVALID_SCAN"),
        ({"scan": BOTTLE_GTIN}, 422, "LOT_REQUIRED"),  # a lot-tracked bottle needs its lot
        ({"scan": f"(01){BOTTLE_GTIN}(10)LOT-A1"}, 422, "LOT_REQUIRED"),  # and its expiry
        ({"scan": sscc_scan("003123450000000042")}, 422, "VALIDATION_ERROR"),  # not listed
        ({"scan": bottle_scan("100001"), "packages": 0}, 422, "VALIDATION_ERROR"),
        ({"scan": bottle_scan("100001"), "packages": "2"}, 422, "VALIDATION_ERROR"),
        ({"scan": bottle_scan("100001"), "extra": 1}, 422, "VALIDATION_ERROR"),
        ({"scan": "0100312345678906\x00"}, 422, "VALIDATION_ERROR"),
    ):
        error(world.api.post(url, who="technician", json=body), status, code)
    assert ledger_state(world.rt) == before


def test_the_same_bottle_twice_and_a_closed_session_are_refused(
    world: ApiWorld, shipment: int
) -> None:
    session = open_against(world, shipment)
    scan(world, session["id"], bottle_scan("100001"))
    url = f"{SESSIONS}/{session['id']}"
    twice = world.api.post(f"{url}/scans", who="technician", json={"scan": bottle_scan("100001")})
    error(twice, 422, "VALIDATION_ERROR")
    # put away before the receipt is posted
    early = world.api.post(f"{url}/put-away", who="technician", json={"location": "MAIN-A1"})
    error(early, 422, "VALIDATION_ERROR")
    ok(world.api.post(f"{url}/close", who="technician"), 201)
    late = world.api.post(f"{url}/scans", who="technician", json={"scan": bottle_scan("100002")})
    error(late, 422, "VALIDATION_ERROR")
    # an unknown shelf label
    unknown = world.api.post(f"{url}/put-away", who="technician", json={"location": "NOPE"})
    error(unknown, 404, "LOCATION_NOT_FOUND")


def test_a_blind_dscsa_receipt_goes_to_quarantine_for_missing_transaction_data(
    world: ApiWorld,
) -> None:
    session = open_against(world, None)
    result = scan(world, session["id"], bottle_scan("100001"))
    assert result["verdict"] == "quarantined"
    assert result["lines"][0]["reason"] == "missing_transaction_data"
    assert session["expected"] == []


def test_opening_needs_a_known_shipment_and_purchase_order_of_the_site(
    world: ApiWorld, shipment: int
) -> None:
    central = world.net.central.id
    before = ledger_state(world.rt)
    for body, code in (
        ({"site_id": central, "shipment_id": shipment + 1000}, "NOT_FOUND"),
        ({"site_id": world.net.retail.id, "shipment_id": shipment}, "NOT_FOUND"),
        ({"site_id": central, "purchase_order_id": 999}, "PURCHASE_ORDER_NOT_FOUND"),
    ):
        error(world.api.post(SESSIONS, json=body), 404, code)
    error(world.api.get(f"{SESSIONS}/999999", who="auditor"), 404, "NOT_FOUND")
    assert ledger_state(world.rt) == before


def test_sessions_and_shipments_are_listed_a_page_at_a_time(world: ApiWorld, shipment: int) -> None:
    central = world.net.central.id
    opened = [open_against(world, None)["id"] for _ in range(3)]
    first = ok(world.api.get(f"{SESSIONS}?site_id={central}&limit=2", who="auditor"))
    rest = ok(world.api.get(f"{SESSIONS}?site_id={central}&limit=2&offset=2", who="auditor"))
    assert [s["id"] for s in first["items"] + rest["items"]] == opened[::-1]
    assert (first["next_offset"], rest["next_offset"]) == (2, None)
    assert set(first["items"][0]) == {
        "id",
        "site_id",
        "location_id",
        "quarantine_location_id",
        "purchase_order_id",
        "shipment_id",
        "status",
        "opened_by",
        "opened_at",
        "closed_at",
        "receipt_document_id",
    }
    posted = ok(world.api.get(f"{SESSIONS}?site_id={central}&status=posted"))
    assert posted["items"] == []
    shipments = ok(world.api.get(f"/shipments?site_id={central}&limit=1"))
    assert [s["id"] for s in shipments["items"]] == [shipment]
    assert shipments["items"][0]["filename"] == "dscsa_shipment.xml"
    error(world.api.get(f"{SESSIONS}?site_id={central}&status=lost"), 422, "VALIDATION_ERROR")
    error(world.api.get(f"{SESSIONS}"), 422, "VALIDATION_ERROR")


def test_another_sites_technician_neither_reads_nor_scans(world: ApiWorld, shipment: int) -> None:
    session = open_against(world, shipment)
    before = ledger_state(world.rt)
    url = f"{SESSIONS}/{session['id']}"
    error(world.api.get(url, who="retail_technician"), 403, "FORBIDDEN")
    body = {"scan": bottle_scan("100001")}
    error(world.api.post(f"{url}/scans", who="retail_technician", json=body), 403, "FORBIDDEN")
    central = world.net.central.id
    listed = world.api.get(f"/shipments?site_id={central}", who="retail_technician")
    error(listed, 403, "FORBIDDEN")
    assert ledger_state(world.rt) == before
    # and the auditor reads but does not receive
    error(world.api.post(f"{url}/scans", who="auditor", json=body), 403, "FORBIDDEN")
    assert receiving.get_session(world.rt, world.net.actor, session["id"]).lines == ()


def test_a_retried_scan_with_its_idempotency_key_is_counted_once(
    world: ApiWorld, shipment: int
) -> None:
    session = open_against(world, shipment)
    url = f"{SESSIONS}/{session['id']}/scans"
    body = {"scan": bottle_scan("100001")}
    headers = {"Idempotency-Key": "scanner-7:0001"}
    first = ok(world.api.post(url, who="technician", json=body, headers=headers), 201)
    again = ok(world.api.post(url, who="technician", json=body, headers=headers), 200)
    assert [x["id"] for x in again["lines"]] == [x["id"] for x in first["lines"]]
    other = world.api.post(
        url, who="technician", json={"scan": bottle_scan("100002")}, headers=headers
    )
    error(other, 409, "IDEMPOTENCY_CONFLICT")
    lines = ok(world.api.get(f"{SESSIONS}/{session['id']}", who="technician"), 200)["lines"]
    assert len(lines) == 1
