"""Count tolerances and count adjustments in the approvals inbox, through the API."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from rxledger.domain.permissions import Grant, Role
from rxledger.services.runtime import Runtime
from tests.e2e.api_support import (
    ApiWorld,
    build_api_world,
    enroll,
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
    w = build_api_world(rt, ("org_admin", "manager", "pharmacist", "technician"), app=app)
    w.users["tech2"] = w.api.users["tech2"] = enroll(
        w.net, "tech2", Grant(Role.TECHNICIAN, w.net.central.id)
    )
    return w


def test_tolerances_are_listed_by_anyone_and_kept_by_an_organization_administrator(
    world: ApiWorld,
) -> None:
    api = world.api
    listed = ok(api.get("/count-tolerances", who="technician"))
    assert [(t["program"], t["item_class"], t["units"], t["default"]) for t in listed] == [
        ("*", "A", 0, True),
        ("*", "B", 2, True),
        ("*", "C", 5, True),
        ("*", "controlled", 0, True),
    ]
    body = {"units": 10, "value": "5.00"}
    error(api.put("/count-tolerances/manual/C", who="manager", json=body), 403, "FORBIDDEN")
    assert api.put("/count-tolerances/weekly/C", who="org_admin", json=body).status_code == 422
    assert api.put("/count-tolerances/manual/D", who="org_admin", json=body).status_code == 422
    bad = {"units": -1, "value": "5"}
    assert api.put("/count-tolerances/manual/C", who="org_admin", json=bad).status_code == 422

    kept = ok(api.put("/count-tolerances/manual/C", who="org_admin", json=body))
    assert (kept["units"], kept["default"], kept["set_by"]) == (10, False, "org-admin")
    listed = ok(api.get("/count-tolerances", who="technician"))
    assert ("manual", "C", 10, False) in [
        (t["program"], t["item_class"], t["units"], t["default"]) for t in listed
    ]

    now = ok(api.delete("/count-tolerances/manual/C", who="org_admin"))
    assert (now["program"], now["units"], now["default"]) == ("*", 5, True)
    error(api.delete("/count-tolerances/manual/C", who="org_admin"), 404, "NOT_FOUND")


def test_a_count_adjustment_is_approved_from_the_approvals_inbox(world: ApiWorld) -> None:
    api, net = world.api, world.net
    item = net.item()
    net.receive(item, 100)
    count = ok(
        api.post(
            "/counts",
            who="manager",
            json={"site_id": net.central.id, "title": "Shelf", "item_ids": [item.id]},
        ),
        201,
    )
    line = count["lines"][0]["id"]
    ok(api.post(f"/count-lines/{line}/tally", who="technician", json={"quantity": 92}))
    submitted = ok(api.post(f"/counts/{count['id']}/submit", who="technician"))
    assert submitted["lines"][0]["status"] == "recount"
    ok(api.post(f"/count-lines/{line}/tally", who="tech2", json={"quantity": 92}))
    ok(api.post(f"/count-lines/{line}/recount", who="tech2"))
    ok(
        api.post(
            f"/count-lines/{line}/investigate",
            who="pharmacist",
            json={"findings": "never put away", "reason_code": "DAMAGED"},
        )
    )

    assert ok(api.get("/approvals/inbox", who="pharmacist")) == []  # the investigator
    [entry] = ok(api.get("/approvals/inbox", who="manager"))
    assert (entry["subject_type"], entry["subject_id"], entry["quantity"]) == (
        "count_line",
        line,
        8,
    )
    assert entry["requested_by"] == "pharmacist"
    error(
        api.post(f"/approvals/{entry['id']}/approve", who="pharmacist", json={}),
        403,
        "SELF_APPROVAL_FORBIDDEN",
    )

    decided = ok(api.post(f"/approvals/{entry['id']}/approve", who="manager", json={"note": "ok"}))

    assert decided["approval"]["status"] == "approved"
    document = ok(api.get(f"/documents/{decided['document_id']}", who="manager"))
    assert document["posted_by"] == "manager"
    assert document["reason_code"] == "DAMAGED"
    settled = ok(api.get(f"/counts/{count['id']}", who="manager"))
    assert (settled["status"], settled["lines"][0]["status"]) == ("closed", "adjusted")
    assert ok(api.get("/approvals/inbox", who="manager")) == []
    # the shrinkage it settled, by quarter and by year; another period is refused
    [quarter] = ok(
        api.get(
            "/counts/accuracy", who="manager", params={"site_id": net.central.id, "period": "Q"}
        )
    )
    assert "-Q" in quarter["period"]
    assert (quarter["lines_counted"], quarter["lines_accurate"], quarter["shrinkage_units"]) == (
        1,
        0,
        8,
    )
    [year] = ok(api.get("/counts/accuracy", who="manager", params={"period": "Y"}))
    assert year["period"] == quarter["period"][:4]
    assert api.get("/counts/accuracy", who="manager", params={"period": "W"}).status_code == 422
