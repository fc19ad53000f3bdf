"""The Quarantine & investigations screen over HTTP: list, confirm, resolve, close, with CSRF and
permissions, on a SQLite copy per test."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from rxledger.domain.permissions import Role
from rxledger.services import investigations, queries
from tests.e2e.api_support import use_fast_password_hashing
from tests.e2e.conftest import OUTSIDER, WebWorld, build_world
from tests.quarantine_builders import QuarantineCase, dscsa_item, quarantine_case


@pytest.fixture
def world(
    sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[WebWorld, QuarantineCase]]:
    use_fast_password_hashing(monkeypatch)
    path = tmp_path / "rxledger.db"
    shutil.copyfile(sqlite_template, path)
    web = build_world(path, (Role.TECHNICIAN, Role.PHARMACIST), outsider=True)
    dscsa_item(web.net)
    yield web, quarantine_case(web.net)
    web.rt.engine.dispose()


def _held(web: WebWorld) -> int:
    return sum(
        b.on_hand
        for b in queries.balances(web.rt, web.admin, location_id=web.central.quarantine.id)
    )


def test_the_screen_lists_what_is_held_and_what_is_investigated(
    world: tuple[WebWorld, QuarantineCase],
) -> None:
    web, case = world
    page = web.client_for("pharmacist").get("/quarantine")
    assert page.status_code == 200, page.text
    assert 'href="/quarantine"' in page.text
    assert f'data-investigation="{case.investigation_id}"' in page.text
    assert f'data-resolve="{case.expired_discrepancy_id}"' in page.text
    # the suspect bottle's discrepancy is closed by its investigation, not by a form
    assert f'data-resolve="{case.suspect_discrepancy_id}"' not in page.text
    assert f"investigation #{case.investigation_id}" in page.text


def test_a_discrepancy_is_confirmed_then_resolved(world: tuple[WebWorld, QuarantineCase]) -> None:
    web, case = world
    browser = web.client_for("pharmacist")
    form = {"outcome": "destroy", "location_id": "", "reason_code": "", "note": "crushed"}
    url = f"/quarantine/discrepancies/{case.expired_discrepancy_id}"
    # when the pharmacist reviews the destruction
    confirm = browser.post(f"{url}/confirm", form)
    # then the page shows the plan and nothing changed yet
    assert confirm.status_code == 200, confirm.text
    assert "data-preview-lines" in confirm.text
    assert "WASTE" in confirm.text
    assert _held(web) == 200
    # when confirmed
    done = browser.post(f"{url}/resolve", form)
    # then the document was posted and the discrepancy resolved
    assert done.status_code == 303, done.text
    assert done.headers["location"].startswith("/quarantine?done=")
    assert _held(web) == 100
    resolved = investigations.get_discrepancy(web.rt, web.admin, case.expired_discrepancy_id)
    assert (resolved.status, resolved.resolved_by) == ("resolved", "pharmacist1")
    # and a second resolve shows the page again with the error
    again = browser.post(f"{url}/resolve", form)
    assert again.status_code == 409
    assert 'data-error-code="DISCREPANCY_ALREADY_RESOLVED"' in again.text


def test_a_post_without_the_csrf_token_changes_nothing(
    world: tuple[WebWorld, QuarantineCase],
) -> None:
    web, case = world
    url = f"/quarantine/discrepancies/{case.expired_discrepancy_id}/resolve"
    refused = web.client_for("pharmacist").post(url, {"outcome": "destroy"}, csrf=False)
    assert refused.status_code == 403
    assert "CSRF_REJECTED" in refused.text
    assert _held(web) == 200


def test_a_technician_sees_but_cannot_resolve(world: tuple[WebWorld, QuarantineCase]) -> None:
    web, case = world
    browser = web.client_for("technician")
    page = browser.get("/quarantine")
    assert page.status_code == 200
    assert "data-resolve=" not in page.text
    url = f"/quarantine/discrepancies/{case.expired_discrepancy_id}/resolve"
    refused = browser.post(url, {"outcome": "destroy"})
    assert refused.status_code == 403
    assert 'data-error-code="FORBIDDEN"' in refused.text
    assert _held(web) == 200
    outsider = web.client_for(OUTSIDER).get(f"/quarantine/investigations/{case.investigation_id}")
    assert outsider.status_code == 403


def test_an_investigation_is_noted_and_closed_as_illegitimate(
    world: tuple[WebWorld, QuarantineCase],
) -> None:
    web, case = world
    browser = web.client_for("pharmacist")
    url = f"/quarantine/investigations/{case.investigation_id}"
    noted = browser.post(f"{url}/notes", {"note": "manufacturer has no such serial"})
    assert noted.status_code == 303
    page = browser.get(url)
    assert "manufacturer has no such serial" in page.text
    # when closed as illegitimate without the notification
    form = {"outcome": "illegitimate", "location_id": "", "note": "counterfeit"}
    refused = browser.post(f"{url}/confirm", form)
    assert refused.status_code == 422
    assert 'data-error-code="NOTIFICATION_REQUIRED"' in refused.text
    # when the notification is given, reviewed, and confirmed
    form |= {"notification_reference": "FDA-3911-5", "notified_at": "2026-06-01T12:00"}
    confirm = browser.post(f"{url}/confirm", form)
    assert confirm.status_code == 200, confirm.text
    assert re.search(r"QUAR.*→.*WASTE", confirm.text, re.S)
    closed = browser.post(f"{url}/close", form)
    assert closed.status_code == 303, closed.text
    shown = browser.get(url)
    assert 'data-case-status="illegitimate"' in shown.text
    assert "FDA-3911-5" in shown.text
    assert _held(web) == 100
