"""The receiving screens over HTTP: the dock lists shipments awaiting receipt and open sessions; a
session is opened against an imported EPCIS shipment, scanned through htmx (the verdict comes
back as the page's panel), counted, confirmed, posted and put away; refusals show their code in
place; CSRF and permissions hold. A SQLite copy per test."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from httpx import Response

from rxledger.domain.model import Item
from rxledger.domain.permissions import Role
from rxledger.services import queries, receiving
from tests.e2e.api_support import use_fast_password_hashing
from tests.e2e.conftest import OUTSIDER, WebClient, WebWorld, build_world
from tests.receiving_builders import (
    BOTTLE_GTIN,
    CASE_1,
    GS,
    bottle_scan,
    epcis_item,
    import_epcis,
    sscc_scan,
)

HTMX = {"HX-Request": "true"}


@dataclass
class Dock:
    web: WebWorld
    item: Item
    shipment: int

    def on_hand(self, location_id: int) -> int:
        rows = queries.balances(
            self.web.rt, self.web.admin, item_id=self.item.id, location_id=location_id
        )
        return sum(r.on_hand for r in rows)


@pytest.fixture
def dock(sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Dock]:
    use_fast_password_hashing(monkeypatch)
    path = tmp_path / "rxledger.db"
    shutil.copyfile(sqlite_template, path)
    web = build_world(path, (Role.TECHNICIAN, Role.AUDITOR, Role.BUYER), outsider=True)
    item = epcis_item(web.net)
    yield Dock(web, item, import_epcis(web.net))
    web.rt.engine.dispose()


def open_session(browser: WebClient, shipment: int | None) -> int:
    data = {} if shipment is None else {"shipment_id": shipment}
    response = browser.post("/receiving/sessions", data)
    assert response.status_code == 303, response.text
    found = re.fullmatch(r"/receiving/(\d+)", response.headers["location"])
    assert found, response.headers["location"]
    return int(found.group(1))


def htmx_post(browser: WebClient, url: str, data: dict[str, str]) -> Response:
    """What htmx sends: the form fields, and the CSRF token as a header."""
    headers = {**HTMX, "X-CSRF-Token": browser.csrf}
    response: Response = browser.http.post(url, data=data, headers=headers, follow_redirects=False)
    return response


def scan(browser: WebClient, session_id: int, text: str, **extra: str) -> Response:
    return htmx_post(browser, f"/receiving/{session_id}/scans", {"scan": text, **extra})


def verdict(html: str) -> str:
    found = re.search(r'data-verdict="([a-z_]+)"', html)
    assert found, html
    return found.group(1)


def test_the_dock_lists_the_shipment_awaiting_receipt_and_opens_a_session(dock: Dock) -> None:
    browser = dock.web.client_for("technician")
    # given the imported shipment
    page = browser.get("/receiving")
    assert page.status_code == 200, page.text
    assert 'href="/receiving"' in page.text  # in the navigation
    assert f'data-open-shipment="{dock.shipment}"' in page.text
    assert "data-open-blind" in page.text
    # when a session is opened against it
    session_id = open_session(browser, dock.shipment)
    # then the session page waits for a scan and shows what the shipment lists
    session = browser.get(f"/receiving/{session_id}")
    assert session.status_code == 200, session.text
    field = re.search(r"<input[^>]*data-receiving-scan[^>]*>", session.text)
    assert field
    assert "autofocus" in field.group(0)
    assert 'data-expected-lot="LOT-A1"' in session.text
    assert 'data-expected-lot="LOT/B2.7"' in session.text
    # and the dock lists it as open, the shipment no longer as awaiting
    page = browser.get("/receiving")
    assert f'data-session="{session_id}"' in page.text
    assert f'data-open-shipment="{dock.shipment}"' not in page.text


def test_scans_come_back_as_verdicts_and_a_gs_survives_the_form_post(dock: Dock) -> None:
    browser = dock.web.client_for("technician")
    session_id = open_session(browser, dock.shipment)
    # when a case, a bottle with a GS before its serial, and a foreign bottle are scanned
    case = scan(browser, session_id, sscc_scan(CASE_1))
    bottle = scan(browser, session_id, bottle_scan("100005"))
    foreign = scan(browser, session_id, bottle_scan("FOREIGN1"))
    # then each answer is the panel alone, with its verdict
    assert case.status_code == bottle.status_code == foreign.status_code == 200
    assert "<html" not in case.text
    assert 'id="receiving-panel"' in case.text
    assert verdict(case.text) == "accepted"
    assert "4 units" in case.text
    assert verdict(bottle.text) == "accepted"
    assert verdict(foreign.text) == "quarantined"
    assert 'data-reason="not_in_shipment"' in foreign.text
    # and the GS kept the lot and the serial apart
    lines = receiving.get_session(dock.web.rt, dock.web.admin, session_id).lines
    bottle_line = next(ln for ln in lines if ln.serial == "100005")
    assert (bottle_line.lot_number, bottle_line.disposition) == ("LOT-A1", "accept")
    # and the panel shows 500 of 800 received for LOT-A1
    assert re.search(r"data-received-units>500<", foreign.text), foreign.text


@pytest.mark.parametrize(
    "text",
    [
        bottle_scan("100006", sep="^"),
        bottle_scan("100006", sep="|"),
        f"(01){BOTTLE_GTIN}(17)270331(10)LOT-A1(21)100006",
        f"  {bottle_scan('100006')}\r\n",
    ],
    ids=["caret", "bar", "bracketed", "padded"],
)
def test_other_separators_and_padding_read_the_same(dock: Dock, text: str) -> None:
    browser = dock.web.client_for("technician")
    session_id = open_session(browser, dock.shipment)
    response = scan(browser, session_id, text)
    assert verdict(response.text) == "accepted", response.text
    (line,) = receiving.get_session(dock.web.rt, dock.web.admin, session_id).lines
    assert (line.lot_number, line.serial) == ("LOT-A1", "100006")


def test_a_refused_scan_shows_its_code_in_the_panel_and_records_nothing(dock: Dock) -> None:
    browser = dock.web.client_for("technician")
    session_id = open_session(browser, dock.shipment)
    for text, code in (
        (f"]d201{BOTTLE_GTIN[:-1]}721X1", "INVALID_SCAN"),
        ("not a barcode", "INVALID_SCAN"),
        (BOTTLE_GTIN, "LOT_REQUIRED"),
        ("", "INVALID_SCAN"),
    ):
        response = scan(browser, session_id, text)
        assert response.status_code == 422, response.text
        assert f'data-error-code="{code}"' in response.text
        assert verdict(response.text) == "error"
        assert "Traceback" not in response.text
        assert "<html" not in response.text
    assert receiving.get_session(dock.web.rt, dock.web.admin, session_id).lines == ()
    # the scan is echoed with the GS made visible
    shown = scan(browser, session_id, f"]d201{BOTTLE_GTIN[:-1]}7{GS}21X1")
    assert "\u241d21X1" in shown.text


def test_without_javascript_a_scan_posts_and_returns_to_the_page(dock: Dock) -> None:
    browser = dock.web.client_for("technician")
    session_id = open_session(browser, dock.shipment)
    done = browser.post(f"/receiving/{session_id}/scans", {"scan": bottle_scan("100001")})
    assert done.status_code == 303
    assert done.headers["location"] == f"/receiving/{session_id}"
    refused = browser.post(f"/receiving/{session_id}/scans", {"scan": "garbage"})
    assert refused.status_code == 422
    assert "<html" in refused.text
    assert 'data-error-code="INVALID_SCAN"' in refused.text
    assert 'data-disposition="accept"' in refused.text  # the page, with the line scanned before


def test_a_count_is_changed_in_packages(dock: Dock) -> None:
    browser = dock.web.client_for("technician")
    session_id = open_session(browser, dock.shipment)
    scan(browser, session_id, f"(01){BOTTLE_GTIN}(17)270331(10)LOT-A1", packages="2")
    (line,) = receiving.get_session(dock.web.rt, dock.web.admin, session_id).lines
    page = browser.get(f"/receiving/{session_id}")
    assert f'data-count-form="{line.id}"' in page.text
    # when the technician confirms three bottles
    response = htmx_post(browser, f"/receiving/{session_id}/lines/{line.id}", {"packages": "3"})
    # then the panel shows 300 capsules
    assert response.status_code == 200, response.text
    assert re.search(r"<span data-units>300</span>", response.text)
    refused = htmx_post(browser, f"/receiving/{session_id}/lines/{line.id}", {"packages": "0"})
    assert 'data-error-code="INVALID_QUANTITY"' in refused.text


def test_close_is_confirmed_posted_once_then_put_away_by_shelf_label(dock: Dock) -> None:
    browser = dock.web.client_for("technician")
    central = dock.web.central
    session_id = open_session(browser, dock.shipment)
    scan(browser, session_id, sscc_scan(CASE_1))
    scan(browser, session_id, bottle_scan("FOREIGN1"))
    documents = dock.web.last_document_id()
    # when the technician asks to close: a confirmation, nothing posted yet
    confirm = browser.get(f"/receiving/{session_id}/close")
    assert confirm.status_code == 200, confirm.text
    assert re.search(r"data-accepted>400<", confirm.text)
    assert re.search(r"data-quarantined>100<", confirm.text)
    assert "data-short" in confirm.text
    assert dock.web.last_document_id() == documents
    # when it is posted (twice: a double click)
    posted = browser.post(f"/receiving/{session_id}/close", {})
    again = browser.post(f"/receiving/{session_id}/close", {})
    # then one receipt, and the dock holds the accepted bottles
    assert posted.status_code == again.status_code == 303
    assert posted.headers["location"] == again.headers["location"]
    assert dock.web.last_document_id() == documents + 1
    assert dock.on_hand(central.receiving.id) == 400
    assert dock.on_hand(central.quarantine.id) == 100
    page = browser.get(posted.headers["location"])
    assert "data-put-away-form" in page.text
    assert "data-receiving-scan" not in page.text  # a posted session takes no more scans
    # when the shelf label is scanned
    moved = browser.post(f"/receiving/{session_id}/put-away", {"location": "MAIN-A1"})
    assert moved.status_code == 303, moved.text
    # then the bottles are on the shelf, and each line says when it became available
    assert dock.on_hand(central.receiving.id) == 0
    assert dock.on_hand(central.shelf.id) == 400
    page = browser.get(f"/receiving/{session_id}")
    assert page.text.count("data-available") == 4
    assert "data-put-away-form" not in page.text
    # and an unknown shelf label is shown on the page
    unknown = browser.post(f"/receiving/{session_id}/put-away", {"location": "NOWHERE"})
    assert unknown.status_code == 422
    assert 'data-error-code="VALIDATION_ERROR"' in unknown.text


def test_a_post_without_the_csrf_token_records_nothing(dock: Dock) -> None:
    browser = dock.web.client_for("technician")
    session_id = open_session(browser, dock.shipment)
    response = browser.post(
        f"/receiving/{session_id}/scans", {"scan": bottle_scan("100001")}, csrf=False
    )
    assert response.status_code == 403
    assert 'data-error-code="CSRF_REJECTED"' in response.text
    forged = browser.http.post(
        f"/receiving/{session_id}/scans",
        data={"scan": bottle_scan("100001")},
        headers={**HTMX, "X-CSRF-Token": "forged"},
    )
    assert forged.status_code == 403
    assert receiving.get_session(dock.web.rt, dock.web.admin, session_id).lines == ()
    assert browser.post("/receiving/sessions", {}, csrf=False).status_code == 403


def test_an_auditor_reads_and_another_sites_manager_does_not(dock: Dock) -> None:
    technician = dock.web.client_for("technician")
    session_id = open_session(technician, dock.shipment)
    auditor = dock.web.client_for("auditor")
    page = auditor.get(f"/receiving/{session_id}")
    assert page.status_code == 200
    assert "data-receiving-scan" not in page.text
    assert "data-open-shipment" not in auditor.get("/receiving").text
    refused = scan(auditor, session_id, bottle_scan("100001"))
    assert 'data-error-code="FORBIDDEN"' in refused.text
    assert auditor.post("/receiving/sessions", {}).status_code == 403
    outsider = dock.web.client_for(OUTSIDER)
    assert outsider.get(f"/receiving/{session_id}").status_code == 403
    assert receiving.get_session(dock.web.rt, dock.web.admin, session_id).lines == ()


def test_a_scan_is_answered_fast(dock: Dock) -> None:
    browser = dock.web.client_for("technician")
    session_id = open_session(browser, dock.shipment)
    scan(browser, session_id, sscc_scan(CASE_1))  # warm up
    timings = []
    for serial in ("100005", "100006", "100007"):
        response = scan(browser, session_id, bottle_scan(serial))
        found = re.search(r"app;dur=([0-9.]+)", response.headers["Server-Timing"])
        assert found
        timings.append(float(found.group(1)))
    assert min(timings) < 200, timings  # milliseconds of server time, on a shared test machine


def test_a_mis_scan_is_removed_and_a_session_cancelled(dock: Dock) -> None:
    browser = dock.web.client_for("technician")
    session_id = open_session(browser, dock.shipment)
    scan(browser, session_id, f"(01){BOTTLE_GTIN}(17)270331(10)LOT-A1")
    (line,) = receiving.get_session(dock.web.rt, dock.web.admin, session_id).lines
    page = browser.get(f"/receiving/{session_id}")
    assert f'data-remove-form="{line.id}"' in page.text
    # when the technician takes the line back
    response = htmx_post(browser, f"/receiving/{session_id}/lines/{line.id}/remove", {})
    # then the panel comes back without it
    assert response.status_code == 200, response.text
    assert f'data-line="{line.id}"' not in response.text
    assert receiving.get_session(dock.web.rt, dock.web.admin, session_id).lines == ()
    # and cancelling the session returns to the dock with nothing posted
    cancelled = browser.post(f"/receiving/{session_id}/cancel", {})
    assert (cancelled.status_code, cancelled.headers["location"]) == (303, "/receiving")
    assert receiving.get_session(dock.web.rt, dock.web.admin, session_id).status == "cancelled"
