"""Purchasing over HTTP on both engines: suppliers, requisitions and their approval by another
user, purchase orders, receipts against PO lines with the Idempotency-Key contract, and refusals
in the one error format with nothing written."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

from rxledger.adapters import tables_receiving as tr
from rxledger.domain.model import FormularyStatus, Item
from rxledger.services.runtime import Runtime
from tests.e2e.api_support import (
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
    return build_api_world(rt, ("org_admin", "buyer", "pharmacist", "manager"), app=app)


def supplier_with_offer(
    w: ApiWorld, item: Item, *, price: str = "12.50", minimum: str = "0", who: str = "buyer"
) -> tuple[int, int]:
    supplier = ok(
        w.api.post(
            "/suppliers",
            json={
                "code": f"S-{item.id}-{price}",
                "name": "Great Lakes Drug",
                "gln": "0614141000012",
                "lead_time_days": 2,
                "minimum_order_value": minimum,
            },
            who=who,
        ),
        201,
    )
    offer = ok(
        w.api.post(
            f"/suppliers/{supplier['id']}/items",
            json={"item_id": item.id, "pack_units": 100, "pack_price": price},
            who=who,
        ),
        201,
    )
    return supplier["id"], offer["id"]


def requisition(w: ApiWorld, supplier_id: int, offer_id: int, packs: int) -> dict[str, Any]:
    body = {
        "site_id": w.net.central.id,
        "supplier_id": supplier_id,
        "lines": [{"supplier_item_id": offer_id, "packs": packs}],
    }
    return ok(w.api.post("/requisitions", json=body, who="buyer"), 201)  # type: ignore[no-any-return]


def placed_order(w: ApiWorld, packs: int = 1) -> dict[str, Any]:
    item = w.net.item("Amoxicillin 500 mg capsule")
    supplier_id, offer_id = supplier_with_offer(w, item)
    draft = requisition(w, supplier_id, offer_id, packs)
    done = ok(w.api.post(f"/requisitions/{draft['id']}/submit", who="buyer"))
    assert done["status"] == "ordered", done
    return ok(w.api.get(f"/purchase-orders/{done['purchase_order_id']}"))  # type: ignore[no-any-return]


def receipt_body(w: ApiWorld, order: dict[str, Any], *lines: dict[str, Any]) -> dict[str, Any]:
    return {"location_id": w.net.central.receiving.id, "lines": list(lines)}


def po_line(order: dict[str, Any], quantity: int, lot: str = "L1", **extra: Any) -> dict[str, Any]:
    return {
        "line_id": order["lines"][0]["id"],
        "quantity": quantity,
        "lot_number": lot,
        "expiry": "2028-01-31",
        **extra,
    }


def test_a_requisition_is_approved_by_another_user_and_becomes_a_purchase_order(
    world: ApiWorld,
) -> None:
    w = world
    item = w.net.item("Amoxicillin 500 mg capsule")
    supplier_id, offer_id = supplier_with_offer(w, item)
    supplier = ok(w.api.get(f"/suppliers/{supplier_id}"))
    assert supplier["gln"] == "0614141000012"
    assert [(i["item_id"], i["pack_units"]) for i in supplier["items"]] == [(item.id, 100)]
    # given a requisition worth 1,250.00 (above the 1,000.00 threshold)
    draft = requisition(w, supplier_id, offer_id, 100)
    assert (draft["status"], draft["total_value"]) == ("draft", "1250.0000")
    waiting = ok(w.api.post(f"/requisitions/{draft['id']}/submit", who="buyer"))
    assert waiting["status"] == "submitted"
    assert waiting["approval"]["status"] == "pending"
    inbox = ok(w.api.get("/approvals", params={"site_id": w.net.central.id}, who="pharmacist"))
    assert [a["subject_id"] for a in inbox["items"]] == [draft["id"]]
    # when its requester, a buyer, approves it: refused (buyers do not approve orders)
    error(
        w.api.post(f"/requisitions/{draft['id']}/approve", json={}, who="buyer"), 403, "FORBIDDEN"
    )
    before = ledger_state(w.rt)
    # then another user approves and the purchase order is placed
    approved = ok(
        w.api.post(f"/requisitions/{draft['id']}/approve", json={"note": "ok"}, who="pharmacist")
    )
    assert approved["status"] == "ordered"
    assert approved["approval"]["decided_by"] == "pharmacist"
    assert approved["purchase_order_number"] == "PO-CENTRAL-000001"
    assert ledger_state(w.rt) != before
    order = ok(w.api.get(f"/purchase-orders/{approved['purchase_order_id']}"))
    assert order["number"] == "PO-CENTRAL-000001"
    assert (order["status"], order["receipt_status"]) == ("open", "open")
    assert [(x["ordered_units"], x["open_units"]) for x in order["lines"]] == [(10_000, 10_000)]
    listed = ok(w.api.get("/purchase-orders", params={"site_id": w.net.central.id}))
    assert [o["number"] for o in listed["items"]] == ["PO-CENTRAL-000001"]


def test_the_requester_may_not_approve_their_own_order(world: ApiWorld) -> None:
    w = world
    item = w.net.item("Amoxicillin 500 mg capsule")
    supplier_id, offer_id = supplier_with_offer(w, item, who="manager")
    body = {
        "site_id": w.net.central.id,
        "supplier_id": supplier_id,
        "lines": [{"supplier_item_id": offer_id, "packs": 100}],
    }
    draft = ok(w.api.post("/requisitions", json=body, who="manager"), 201)
    ok(w.api.post(f"/requisitions/{draft['id']}/submit", who="manager"))
    before = ledger_state(w.rt)
    refused = w.api.post(f"/requisitions/{draft['id']}/approve", json={}, who="manager")
    body = error(refused, 403, "SELF_APPROVAL_FORBIDDEN")
    assert body["details"] == {"username": "manager"}
    assert ledger_state(w.rt) == before
    rejected = ok(
        w.api.post(f"/requisitions/{draft['id']}/reject", json={"note": "dup"}, who="pharmacist")
    )
    assert rejected["status"] == "rejected"


def test_receipts_against_a_po_are_partial_idempotent_and_over_only_within_the_tolerance(
    world: ApiWorld,
) -> None:
    w = world
    order = placed_order(w)  # 100 ordered
    path = f"/purchase-orders/{order['id']}/receipts"
    key = {"Idempotency-Key": "dock-7"}
    # a partial receipt
    first = ok(w.api.post(path, json=receipt_body(w, order, po_line(order, 60)), headers=key), 201)
    assert first["document"]["reference"] == order["number"]
    assert first["purchase_order"]["lines"][0]["status"] == "partial"
    assert first["purchase_order"]["lines"][0]["open_units"] == 40
    # retried with the same key: the same document, nothing more
    again = ok(w.api.post(path, json=receipt_body(w, order, po_line(order, 60)), headers=key), 201)
    assert again["document"]["replayed"] is True
    assert again["document"]["id"] == first["document"]["id"]
    assert count_rows(w.rt, tr.purchase_receipts) == 1
    # beyond the 10 % tolerance: refused, nothing written
    before = ledger_state(w.rt)
    too_many = w.api.post(path, json=receipt_body(w, order, po_line(order, 51, "L2")))
    error(too_many, 409, "OVER_RECEIPT_LIMIT")
    assert ledger_state(w.rt) == before
    # within it: accepted and flagged
    over = ok(w.api.post(path, json=receipt_body(w, order, po_line(order, 45, "L2"))), 201)
    assert over["over_received_lines"] == [order["lines"][0]["id"]]
    assert over["purchase_order"]["receipt_status"] == "over"
    shown = ok(w.api.get(f"/purchase-orders/{order['id']}"))
    assert [r["units"] for r in shown["receipts"]] == [60, 45]


def test_a_substitute_needs_to_be_equivalent_or_a_reason(world: ApiWorld) -> None:
    w = world
    order = placed_order(w)
    other = w.net.item("Cefalexin 250 mg capsule", strength="250 mg")
    path = f"/purchase-orders/{order['id']}/receipts"
    before = ledger_state(w.rt)
    refused = w.api.post(
        path, json=receipt_body(w, order, po_line(order, 10, substitute_item_id=other.id))
    )
    error(refused, 422, "SUBSTITUTE_NOT_EQUIVALENT")
    assert ledger_state(w.rt) == before
    line = po_line(order, 10, substitute_item_id=other.id, substitute_reason="shortage")
    forced = ok(w.api.post(path, json=receipt_body(w, order, line)), 201)
    assert "shortage" in forced["document"]["note"]
    assert forced["purchase_order"]["lines"][0]["substitute_units"] == 10


def test_a_short_po_is_closed_and_leaves_the_open_quantities(world: ApiWorld) -> None:
    w = world
    order = placed_order(w, packs=2)
    on_order = ok(w.api.get("/on-order", params={"site_id": w.net.central.id}))
    assert [r["open_units"] for r in on_order["items"]] == [200]
    path = f"/purchase-orders/{order['id']}/receipts"
    ok(w.api.post(path, json=receipt_body(w, order, po_line(order, 150))), 201)
    assert [r["open_units"] for r in ok(w.api.get("/on-order"))["items"]] == [50]
    closed = ok(w.api.post(f"/purchase-orders/{order['id']}/close", json={"note": "short"}))
    assert closed["status"] == "closed"
    assert closed["lines"][0]["open_units"] == 50
    assert ok(w.api.get("/on-order"))["items"] == []
    error(w.api.post(path, json=receipt_body(w, order, po_line(order, 1))), 409, "STATUS_CONFLICT")
    error(w.api.post(f"/purchase-orders/{order['id']}/cancel", json={}), 409, "STATUS_CONFLICT")


def test_ordering_rules_answer_with_their_codes(world: ApiWorld) -> None:
    w = world
    item = w.net.item("Amoxicillin 500 mg capsule")
    supplier_id, offer_id = supplier_with_offer(w, item, minimum="500")
    small = requisition(w, supplier_id, offer_id, 2)
    before = ledger_state(w.rt)
    error(
        w.api.post(f"/requisitions/{small['id']}/submit", who="buyer"), 422, "MINIMUM_ORDER_NOT_MET"
    )
    assert ledger_state(w.rt) == before
    special = w.net.item("Rare 1 mg tablet", formulary_status=FormularyStatus.NON_FORMULARY)
    draft = requisition(w, *supplier_with_offer(w, special, price="1.00"), 1)
    waiting = ok(w.api.post(f"/requisitions/{draft['id']}/submit", who="buyer"))
    assert waiting["approval"]["pharmacist_required"] is True
    error(
        w.api.post(f"/requisitions/{draft['id']}/approve", json={}, who="manager"),
        403,
        "PHARMACIST_APPROVAL_REQUIRED",
    )
    assert (
        ok(w.api.post(f"/requisitions/{draft['id']}/approve", json={}, who="pharmacist"))["status"]
        == "ordered"
    )


@pytest.mark.parametrize(
    ("path", "body", "code"),
    [
        ("/suppliers", {"code": "X", "name": "X", "gln": "0614141000013"}, "INVALID_IDENTIFIER"),
        ("/suppliers", {"code": "X", "name": "X", "lead_time_days": "2"}, "VALIDATION_ERROR"),
        ("/suppliers", {"code": "X", "name": "X", "minimum_order_value": "-1"}, "VALIDATION_ERROR"),
        ("/suppliers", {"code": "X", "name": "X", "color": "red"}, "VALIDATION_ERROR"),
        ("/requisitions", {"site_id": 1, "supplier_id": 1, "lines": []}, "VALIDATION_ERROR"),
        (
            "/requisitions",
            {"site_id": 1, "supplier_id": 1, "lines": [{"supplier_item_id": 1, "packs": 1.5}]},
            "VALIDATION_ERROR",
        ),
    ],
)
def test_bad_input_is_refused_and_writes_nothing(
    world: ApiWorld, path: str, body: dict[str, Any], code: str
) -> None:
    before = ledger_state(world.rt)
    error(world.api.post(path, json=body), 422, code)
    assert ledger_state(world.rt) == before


def test_lists_are_paginated_and_unknown_ids_not_found(world: ApiWorld) -> None:
    w = world
    placed_order(w)
    placed_order(w)
    page = ok(w.api.get("/purchase-orders", params={"limit": 1}))
    assert (len(page["items"]), page["next_offset"]) == (1, 1)
    last = ok(w.api.get("/purchase-orders", params={"limit": 1, "offset": 1}))
    assert last["next_offset"] is None
    assert ok(w.api.get("/requisitions", params={"status": "ordered"}))["next_offset"] is None
    error(w.api.get("/requisitions", params={"status": "lost"}), 422, "VALIDATION_ERROR")
    error(w.api.get("/purchase-orders/999999"), 404, "PURCHASE_ORDER_NOT_FOUND")
    error(w.api.get("/requisitions/999999"), 404, "REQUISITION_NOT_FOUND")
    error(w.api.get("/suppliers/999999"), 404, "SUPPLIER_NOT_FOUND")
