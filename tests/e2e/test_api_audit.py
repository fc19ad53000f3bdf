"""The audit trail over HTTP: a posting through the API is found with its origin, filters and
paging, the CSV export, and sealing and verifying the chain (organization-wide admins and
auditors only), which names a movement altered behind rxledger's back."""

from __future__ import annotations

import csv
import io
import json

import pytest
from fastapi import FastAPI
from sqlalchemy import text

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
def world(rt: Runtime, app: FastAPI) -> tuple[ApiWorld, int]:
    """Stock at CENTRAL, and a dispense of 7 posted through the API by the CENTRAL technician."""
    w = build_api_world(rt, ("technician", "retail_technician", "auditor", "admin"), app=app)
    item = w.net.item()
    w.net.receive(item, 100)
    body = {
        "site_id": w.net.central.id,
        "location_id": w.net.central.storage.id,
        "lines": [{"item_id": item.id, "quantity": 7}],
    }
    posted = ok(w.api.post("/documents/dispenses", json=body, who="technician"), 201)
    return w, int(posted["id"])


def test_an_api_posting_is_in_the_trail_with_its_user_and_client(
    world: tuple[ApiWorld, int],
) -> None:
    w, doc_id = world
    # when
    page = ok(w.api.get(f"/audit?subject_type=document&subject_id={doc_id}", who="auditor"))
    # then
    [entry] = page["items"]
    assert entry["actor"] == "technician"
    assert entry["origin"] == "api testclient"
    assert entry["action"] == "post dispense"
    assert entry["site_id"] == w.net.central.id
    assert [line[-1] for line in entry["after"]["lines"]] == [7]
    assert page["next_offset"] is None


def test_filters_and_paging(world: tuple[ApiWorld, int]) -> None:
    w, doc_id = world
    # when listing the postings (a receipt, then the dispense) one at a time
    first = ok(w.api.get("/audit?action=post&limit=1", who="auditor"))
    offset = first["next_offset"]
    second = ok(w.api.get(f"/audit?action=post&limit=1&offset={offset}", who="auditor"))
    # then newest first, and the second page is the last
    assert [x["subject_id"] for x in first["items"]] == [str(doc_id)]
    assert [x["action"] for x in second["items"]] == ["post receipt"]
    assert (offset, second["next_offset"]) == (1, None)
    # and by user: the technician's own token and its dispense are in the trail
    mine = ok(w.api.get("/audit?actor=technician", who="auditor"))["items"]
    assert {x["action"] for x in mine} == {"post dispense", "create token"}
    # and by time: nothing before the world was built
    assert not ok(w.api.get("/audit?until=2000-01-01T00:00:00Z", who="auditor"))["items"]


def test_a_user_of_another_site_does_not_see_central_rows(world: tuple[ApiWorld, int]) -> None:
    w, _ = world
    rows = ok(w.api.get("/audit?limit=500", who="retail_technician"))["items"]
    assert rows
    assert w.net.central.id not in {x["site_id"] for x in rows}
    error(
        w.api.get(f"/audit?site_id={w.net.central.id}", who="retail_technician"), 403, "FORBIDDEN"
    )


def test_the_csv_export_has_every_matching_row(world: tuple[ApiWorld, int]) -> None:
    w, doc_id = world
    response = w.api.get("/audit.csv?subject_type=document", who="auditor")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["action"] for r in rows] == ["post dispense", "post receipt"]
    assert rows[0]["subject_id"] == str(doc_id)
    assert json.loads(rows[0]["after"])["lines"][0][-1] == 7


def test_verify_seals_and_names_an_altered_movement(world: tuple[ApiWorld, int]) -> None:
    w, _ = world
    # given a sealed, sound chain
    report = ok(w.api.post("/audit/verify", who="auditor"))
    assert report["ok"] is True
    assert report["links"] == report["movements"] + report["audit_rows"] > 0
    # when a movement is altered with its trigger switched off
    with w.rt.engine.begin() as conn:
        if w.rt.dialect == "sqlite":
            conn.execute(text("DROP TRIGGER movements_no_update"))
        else:
            conn.execute(text("ALTER TABLE movements DISABLE TRIGGER movements_immutable"))
        moved = conn.execute(text("SELECT MAX(id) FROM movements")).scalar_one()
        conn.execute(text(f"UPDATE movements SET quantity = 1 WHERE id = {moved}"))
    # then
    broken = ok(w.api.post("/audit/verify", who="auditor"))["broken"]
    assert (broken["kind"], broken["row_id"], broken["reason"]) == (
        "movement",
        moved,
        "content_changed",
    )


def test_only_organization_wide_admins_and_auditors_verify(world: tuple[ApiWorld, int]) -> None:
    w, _ = world
    error(w.api.post("/audit/verify", who="admin"), 403, "FORBIDDEN")  # admin of CENTRAL only
    error(w.api.post("/audit/verify", who="technician"), 403, "FORBIDDEN")
    error(w.api.post("/audit/verify", who=None), 401, "UNAUTHENTICATED")
