"""The audit trail page through HTTP: a posting from the web is listed with its user and origin,
filters and CSV export, rows of other sites stay hidden, and an organization-wide auditor seals
and verifies the chain from the page."""

from __future__ import annotations

import csv
import io
import re

from sqlalchemy import text

from rxledger.domain.permissions import Grant, Role
from tests.e2e.conftest import OUTSIDER, WebWorld


def rows_of(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'data-audit-row="(\d+)"', html)]


def test_a_web_posting_is_listed_with_its_user_and_origin(web_world: WebWorld) -> None:
    # given a put-away posted through the web by the CENTRAL technician
    browser = web_world.client_for("technician")
    central = web_world.central
    data = {
        "site_id": central.id,
        "from_location_id": central.storage.id,
        "to_location_id": central.shelf.id,
        "item_id": web_world.item.id,
        "quantity": 3,
        "put_away": 1,
    }
    _, posted = browser.confirm_and_post("move", data)
    assert posted.status_code == 303
    doc_id = web_world.last_document_id()
    # when the technician searches the trail for that user's postings
    page = browser.get("/audit?actor=technician1&action=post")
    # then the posting is there, with the web as its origin, and only postings are listed
    assert page.status_code == 200, page.text
    assert f'href="/documents/{doc_id}">document {doc_id}</a>' in page.text
    assert "web testclient" in page.text
    assert "post put_away" in page.text
    assert len(rows_of(page.text)) == 1
    assert 'href="/audit.csv?actor=technician1&amp;action=post"' in page.text
    # and the CSV link exports the same row
    exported = browser.get("/audit.csv?actor=technician1&action=post")
    assert exported.headers["content-type"].startswith("text/csv")
    [row] = list(csv.DictReader(io.StringIO(exported.text)))
    assert (row["subject_id"], row["origin"]) == (str(doc_id), "web testclient")


def test_a_user_of_another_site_sees_none_of_centrals_rows(web_world: WebWorld) -> None:
    outsider = web_world.client_for(OUTSIDER)
    page = outsider.get("/audit?action=post")
    assert page.status_code == 200
    assert rows_of(page.text)  # RETAIL's receipt
    assert f'data-site="{web_world.central.id}"' not in page.text
    assert f'data-site="{web_world.retail.id}"' in page.text
    # and no verify button for a site manager
    assert "/audit/verify" not in page.text


def test_dates_filter_and_a_bad_date_is_refused(web_world: WebWorld) -> None:
    browser = web_world.client_for("auditor")
    assert rows_of(browser.get("/audit?until=2000-01-01").text) == []
    refused = browser.get("/audit?since=yesterday")
    assert refused.status_code == 422
    assert 'data-error-code="VALIDATION_ERROR"' in refused.text


def test_an_organization_wide_auditor_verifies_and_sees_a_tampered_movement(
    web_world: WebWorld,
) -> None:
    # given an organization-wide auditor on the audit page
    name = web_world.add_user("orgauditor1", Grant(Role.AUDITOR, None))
    browser = web_world.client_for(name)
    page = browser.get("/audit")
    assert 'action="/audit/verify"' in page.text
    # when sealing and verifying
    verified = browser.post("/audit/verify", {})
    # then the chain is sound
    assert verified.status_code == 200, verified.text
    assert "data-chain-ok" in verified.text
    # when a movement is altered behind rxledger's back
    with web_world.rt.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER IF EXISTS movements_no_update"))
        moved = conn.execute(text("SELECT MIN(id) FROM movements")).scalar_one()
        conn.execute(text(f"UPDATE movements SET note = 'edited' WHERE id = {moved}"))
    # then the page names the broken link, at link 1
    broken = browser.post("/audit/verify", {})
    assert 'data-chain-broken="1"' in broken.text
    assert f"movement {moved}, content_changed" in broken.text
    # and a CENTRAL admin may not verify
    refused = web_world.client_for("admin").post("/audit/verify", {})
    assert refused.status_code == 403
