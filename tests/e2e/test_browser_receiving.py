"""A receiving session in a real headless Chromium (Debian's) against a live server on SQLite: a
technician opens a session against an imported EPCIS shipment and types each scan into the scan
field followed by Enter, as a keyboard-wedge scanner does (GS characters included); every verdict
is shown at once without a page load and the focus stays in the field; then the session is closed
after its confirmation and put away by typing a shelf label, and the stock is where it should be."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from rxledger.domain.model import Item
from rxledger.domain.permissions import Role
from rxledger.services import queries
from tests.e2e.conftest import PASSWORD, LiveServer, WebWorld, build_world, serve
from tests.receiving_builders import CASE_1, bottle_scan, epcis_item, import_epcis, sscc_scan


@pytest.fixture(scope="module")
def live(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[WebWorld, LiveServer, Item, int]]:
    path = tmp_path_factory.mktemp("browser-receiving") / "rxledger.db"
    path.write_bytes(sqlite_template.read_bytes())
    world = build_world(path, (Role.TECHNICIAN,), outsider=False)
    item = epcis_item(world.net)
    shipment = import_epcis(world.net)
    server = serve(world.app)
    yield world, server, item, shipment
    server.stop()
    world.rt.engine.dispose()


@pytest.fixture
def page(chromium: Browser, live: tuple[WebWorld, LiveServer, Item, int]) -> Iterator[Page]:
    # a tablet at the dock, in landscape
    context = chromium.new_context(base_url=live[1].url, viewport={"width": 1024, "height": 768})
    tab = context.new_page()
    problems: list[str] = []
    tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: problems.append(str(e)))
    yield tab
    context.close()
    # A refused scan (422) is logged by Chromium as a failed resource; anything else is a problem.
    assert [p for p in problems if "status of 4" not in p] == []


def sign_in(page: Page, username: str = "technician1") -> None:
    page.goto("/dashboard")
    expect(page).to_have_url(re.compile(r"/signin\?next=/dashboard$"))
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))


def type_scan(field: Locator, text: str) -> None:
    """What a keyboard-wedge scanner does: type every character, then press Enter."""
    field.press_sequentially(text)
    field.press("Enter")


def on_hand(world: WebWorld, item: Item, location_id: int) -> int:
    rows = queries.balances(world.rt, world.admin, item_id=item.id, location_id=location_id)
    return sum(r.on_hand for r in rows)


def test_a_shipment_is_received_by_typing_scans_with_enter(
    page: Page, live: tuple[WebWorld, LiveServer, Item, int]
) -> None:
    world, _, item, shipment = live
    central = world.central
    sign_in(page)
    # given the shipment awaiting receipt on the dock's page
    page.get_by_role("link", name="Receiving").click()
    expect(page).to_have_url(re.compile(r"/receiving$"))
    page.locator(f'[data-open-shipment="{shipment}"]').click()
    # then the session page waits for a scan, and lists what the shipment holds
    expect(page).to_have_url(re.compile(r"/receiving/\d+$"))
    field = page.locator("[data-receiving-scan]")
    expect(field).to_be_focused()
    expect(page.locator('[data-expected-lot="LOT-A1"] [data-received-units]')).to_have_text("0")
    url = page.url
    verdict = page.locator("[data-verdict]")

    # when the first case's label is scanned
    type_scan(field, sscc_scan(CASE_1))
    # then its four bottles are accepted, in place, and the field is ready for the next scan
    expect(verdict).to_have_attribute("data-verdict", "accepted")
    expect(verdict).to_contain_text("Accepted")
    expect(verdict).to_contain_text("4 units")
    expect(field).to_be_focused()
    expect(field).to_have_value("")
    assert page.url == url

    # when a bottle's DataMatrix is scanned, a GS between its lot and its serial
    type_scan(field, bottle_scan("100005"))
    expect(page.locator('[data-lines-table] [data-disposition="accept"]')).to_have_count(5)
    expect(verdict).to_have_attribute("data-verdict", "accepted")
    expect(page.locator("[data-lines-table] tbody tr").first).to_contain_text("100005")
    expect(page.locator("[data-lines-table] tbody tr").first).to_contain_text("LOT-A1")

    # when two bottles are scanned in quick succession (the second while the first is in flight)
    field.press_sequentially(bottle_scan("100006", sep="^"))
    field.press("Enter")
    field.press_sequentially(bottle_scan("100007"))
    field.press("Enter")
    # then both are recorded, in order
    expect(page.locator('[data-lines-table] [data-disposition="accept"]')).to_have_count(7)
    expect(page.locator("[data-lines-table] tbody tr").first).to_contain_text("100007")
    expect(field).to_be_focused()

    # when a bottle the shipment never listed is scanned
    type_scan(field, bottle_scan("FOREIGN1"))
    # then it goes to quarantine, said in red and in words, with the reason
    expect(verdict).to_have_attribute("data-verdict", "quarantined")
    expect(verdict).to_contain_text("To quarantine")
    expect(verdict).to_contain_text("FOREIGN1")
    expect(verdict).to_have_css("background-color", "rgb(253, 236, 234)")
    held = page.locator('[data-lines-table] [data-disposition="quarantine"]')
    expect(held).to_contain_text("Not in the shipment")
    expect(field).to_be_focused()

    # when something that is not a barcode is typed
    type_scan(field, "hello")
    # then the refusal is shown in place with its code, and nothing is recorded
    expect(verdict).to_have_attribute("data-verdict", "error")
    expect(verdict).to_contain_text("INVALID_SCAN")
    expect(page.locator("[data-lines-table] tbody tr")).to_have_count(8)
    expect(field).to_be_focused()
    received = page.locator('[data-expected-lot="LOT-A1"] [data-received-units]')
    expect(received).to_have_text("700")
    expect(page.locator("[data-quarantined-units]")).to_have_text("100")

    # when the session is closed: a confirmation first
    page.locator("[data-close]").click()
    expect(page.get_by_role("heading", name=re.compile("Confirm: close and post"))).to_be_visible()
    expect(page.locator("[data-accepted]")).to_have_text("700")
    expect(page.locator("[data-quarantined]")).to_have_text("100")
    assert on_hand(world, item, central.receiving.id) == 0
    page.get_by_role("button", name="Post receipt").click()
    # then the receipt is posted, and the page asks for the shelf label
    expect(page.locator(".alert-ok")).to_contain_text("Posted document")
    expect(page.locator("[data-status]")).to_have_text("posted")
    assert on_hand(world, item, central.receiving.id) == 700
    assert on_hand(world, item, central.quarantine.id) == 100
    shelf = page.locator("[data-shelf-scan]")
    expect(shelf).to_be_focused()

    # when the shelf label is scanned
    type_scan(shelf, "MAIN-A1")
    # then the accepted bottles are on the shelf and available, the quarantined one is not
    expect(page.locator(".alert-ok")).to_contain_text("Posted document")
    expect(page.locator("[data-available]")).to_have_count(7)
    expect(page.locator("[data-shelf-scan]")).to_have_count(0)
    assert on_hand(world, item, central.receiving.id) == 0
    assert on_hand(world, item, central.shelf.id) == 700
    assert on_hand(world, item, central.quarantine.id) == 100
    # and the product's page counts both at the site: 700 on the shelf, 100 held in quarantine
    page.goto(f"/items/{item.id}")
    expect(page.locator("[data-on-hand]")).to_have_attribute("data-on-hand", "800")
