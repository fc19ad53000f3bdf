"""Approvals through the API: a large adjustment answers 202 and waits in a pharmacist's inbox;
the requester cannot approve it; the pharmacist's approval posts it once; policies are read by
anyone and kept by an organization administrator."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI

from rxledger.services.runtime import Runtime
from tests.e2e.api_support import (
    ApiWorld,
    build_api_world,
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
    return build_api_world(rt, ("org_admin", "manager", "pharmacist", "technician"), app=app)


def _adjustment(w: ApiWorld, delta: int) -> dict[str, Any]:
    net = w.net
    item = net.item("Insulin glargine pen", standard_cost=Decimal(10))
    lot = net.receive(item, 100).movements[0].lot_id
    return {
        "site_id": net.central.id,
        "lines": [
            {
                "item_id": item.id,
                "location_id": net.central.storage.id,
                "lot_id": lot,
                "reason_code": "DAMAGED",
                "delta": delta,
            }
        ],
        "note": "a dropped box",
    }


def test_a_large_adjustment_is_held_until_a_pharmacist_approves_it(world: ApiWorld) -> None:
    api = world.api
    small = ok(api.post("/documents/adjustments", who="manager", json=_adjustment(world, -5)), 201)
    assert small["doc_type"] == "adjustment"

    held = ok(api.post("/documents/adjustments", who="manager", json=_adjustment(world, -30)), 202)
    assert held["held"] is True
    assert held["value"] == "300.0000"
    approval = held["approval_id"]

    assert ok(api.get("/approvals/inbox", who="manager")) == []
    assert ok(api.get("/approvals/inbox", who="technician")) == []
    [entry] = ok(api.get("/approvals/inbox", who="pharmacist"))
    assert (entry["id"], entry["subject_type"], entry["requested_by"]) == (
        approval,
        "adjustment",
        "manager",
    )
    assert entry["value"] == "300.0000"

    error(
        api.post(f"/approvals/{approval}/approve", who="manager", json={}),
        403,
        "SELF_APPROVAL_FORBIDDEN",
    )
    error(
        api.post(f"/approvals/{approval}/approve", who="technician", json={}),
        403,
        "PHARMACIST_APPROVAL_REQUIRED",
    )
    decided = ok(api.post(f"/approvals/{approval}/approve", who="pharmacist", json={"note": "ok"}))
    assert decided["approval"]["status"] == "approved"
    assert decided["approval"]["decided_by"] == "pharmacist"
    document = ok(api.get(f"/documents/{decided['document_id']}", who="pharmacist"))
    assert document["posted_by"] == "pharmacist"
    error(
        api.post(f"/approvals/{approval}/approve", who="pharmacist", json={}),
        409,
        "STATUS_CONFLICT",
    )
    assert ok(api.get("/approvals/inbox", who="pharmacist")) == []


def test_a_rejection_needs_a_reason_and_posts_nothing(world: ApiWorld) -> None:
    api = world.api
    held = ok(api.post("/documents/adjustments", who="manager", json=_adjustment(world, -30)), 202)
    approval = held["approval_id"]
    assert api.post(f"/approvals/{approval}/reject", who="pharmacist", json={}).status_code == 422
    decided = ok(
        api.post(f"/approvals/{approval}/reject", who="pharmacist", json={"note": "recount"})
    )
    assert decided["approval"]["status"] == "rejected"
    assert decided["document_id"] is None


def test_policies_are_read_by_anyone_and_kept_by_an_administrator(world: ApiWorld) -> None:
    api = world.api
    defaults = ok(api.get("/approval-policies", who="technician"))
    assert [(p["action"], p["min_value"], p["approver_roles"]) for p in defaults] == [
        ("adjustment", "250.0000", ["pharmacist"]),
        ("order", "1000.0000", ["pharmacist", "manager", "admin"]),
        ("non_formulary_order", None, ["pharmacist"]),
    ]
    assert defaults[0] == {
        "id": None,
        "action": "adjustment",
        "approver_roles": ["pharmacist"],
        "min_value": "250.0000",
        "min_quantity": None,
        "site_id": None,
        "active": True,
    }
    body = {"action": "adjustment", "approver_roles": "pharmacist,manager", "min_value": "1000"}
    error(api.post("/approval-policies", who="manager", json=body), 403, "FORBIDDEN")
    created = ok(api.post("/approval-policies", who="org_admin", json=body), 201)
    assert created["approver_roles"] == ["pharmacist", "manager"]
    error(
        api.post("/approval-policies", who="org_admin", json={**body, "action": "lunch"}),
        422,
        "VALIDATION_ERROR",
    )
    # 300 is below the organization's new threshold: posted at once
    ok(api.post("/documents/adjustments", who="manager", json=_adjustment(world, -30)), 201)


def test_a_policy_is_changed_and_retired_by_an_administrator(world: ApiWorld) -> None:
    api = world.api
    body = {"action": "adjustment", "approver_roles": "pharmacist", "min_value": "100"}
    policy = ok(api.post("/approval-policies", who="org_admin", json=body), 201)
    # 300 reaches the 100.00 threshold: held
    ok(api.post("/documents/adjustments", who="manager", json=_adjustment(world, -30)), 202)
    change = {"min_value": "500", "approver_roles": "pharmacist,manager"}
    error(
        api.patch(f"/approval-policies/{policy['id']}", who="manager", json=change),
        403,
        "FORBIDDEN",
    )
    changed = ok(api.patch(f"/approval-policies/{policy['id']}", who="org_admin", json=change))
    assert (changed["min_value"], changed["approver_roles"]) == (
        "500.0000",
        ["pharmacist", "manager"],
    )
    # 300 is below 500 now: posted at once
    ok(api.post("/documents/adjustments", who="manager", json=_adjustment(world, -30)), 201)
    # retired, the organization keeps no active adjustment policy: the default (250.00) is back
    retired = ok(
        api.patch(f"/approval-policies/{policy['id']}", who="org_admin", json={"active": False})
    )
    assert retired["active"] is False
    ok(api.post("/documents/adjustments", who="manager", json=_adjustment(world, -90)), 202)
    # a threshold removed with null: the policy (active again) always applies
    always = ok(
        api.patch(
            f"/approval-policies/{policy['id']}",
            who="org_admin",
            json={"active": True, "min_value": None},
        )
    )
    assert always["min_value"] is None
    ok(api.post("/documents/adjustments", who="manager", json=_adjustment(world, -1)), 202)
    error(
        api.patch(
            f"/approval-policies/{policy['id']}", who="org_admin", json={"approver_roles": "chef"}
        ),
        422,
        "VALIDATION_ERROR",
    )
    error(
        api.patch("/approval-policies/999999", who="org_admin", json={"active": False}),
        404,
        "NOT_FOUND",
    )
    trail = ok(api.get("/audit", who="org_admin", params={"action": "change approval policy"}))
    assert len(trail["items"]) == 3


def test_rxledgers_own_idempotency_keys_are_refused_to_clients(world: ApiWorld) -> None:
    api = world.api
    held = ok(api.post("/documents/adjustments", who="manager", json=_adjustment(world, -30)), 202)
    own = f"held-adjustment:{held['held_adjustment_id']}"
    taken = api.post(
        "/documents/adjustments",
        who="manager",
        json=_adjustment(world, -1),
        headers={"Idempotency-Key": own},
    )
    error(taken, 422, "VALIDATION_ERROR")
    # so the approver's posting, under that key, still goes through
    decided = ok(api.post(f"/approvals/{held['approval_id']}/approve", who="pharmacist", json={}))
    assert decided["document_id"] is not None
