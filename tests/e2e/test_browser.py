"""The web application in a real headless Chromium (Debian's), against a live server on SQLite:
a technician signs in, dispenses from the item page by scanning a GTIN, and sees the balance and
the ledger change; a refused dispense changes nothing; the users page stays closed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from rxledger.domain.permissions import Role
from rxledger.services import queries
from tests.e2e.conftest import PASSWORD, UNIT_GTIN, LiveServer, WebWorld, build_world, serve


@pytest.fixture(scope="module")
def live(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[WebWorld, LiveServer]]:
    path = tmp_path_factory.mktemp("browser") / "rxledger.db"
    path.write_bytes(sqlite_template.read_bytes())
    world = build_world(path, (Role.TECHNICIAN,), outsider=False)
    server = serve(world.app)
    yield world, server
    server.stop()
    world.rt.engine.dispose()


@pytest.fixture
def page(chromium: Browser, live: tuple[WebWorld, LiveServer]) -> Iterator[Page]:
    context = chromium.new_context(base_url=live[1].url, viewport={"width": 1280, "height": 800})
    tab = context.new_page()
    problems: list[str] = []
    tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: problems.append(str(e)))
    yield tab
    context.close()
    # A 4xx page is logged by Chromium as a failed resource; anything else is a real problem.
    assert [p for p in problems if "status of 4" not in p] == []


def sign_in(page: Page, username: str = "technician1") -> None:
    page.goto("/dashboard")
    expect(page).to_have_url(re.compile(r"/signin\?next=/dashboard$"))
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect(page.locator(".who")).to_have_text(username)


def on_hand(page: Page) -> int:
    return int(page.locator("[data-on-hand]").get_attribute("data-on-hand") or "0")


def open_item_by_scanning(page: Page, world: WebWorld) -> None:
    scan = page.get_by_placeholder("Scan or search products")
    expect(scan).to_be_focused()  # the dashboard waits for a scan
    scan.type(UNIT_GTIN)
    scan.press("Enter")
    expect(page).to_have_url(re.compile(rf"/items/{world.item.id}$"))


def scan_in_dispense_panel(page: Page, code: str) -> None:
    field = page.locator(".card-action input[data-scan]")
    field.fill("")
    field.type(code)
    field.press("Enter")


def test_a_technician_dispenses_from_the_item_page_by_scanning(
    page: Page, live: tuple[WebWorld, LiveServer]
) -> None:
    world, _ = live
    sign_in(page)
    open_item_by_scanning(page, world)
    start = on_hand(page)
    # when the package is scanned in the dispense panel (a keyboard wedge: digits, then Enter)
    scan_in_dispense_panel(page, UNIT_GTIN)
    # then the product is confirmed in place, the form is not submitted, the quantity is next
    expect(page.locator(".card-action [data-picked]")).to_contain_text("Amoxicillin")
    expect(page).to_have_url(re.compile(rf"/items/{world.item.id}$"))
    quantity = page.locator("#f-quantity")
    expect(quantity).to_be_focused()
    quantity.type("12")
    quantity.press("Enter")
    # the confirm page shows the lot first to expire and the balance after
    expect(page.get_by_role("heading", name="Confirm: dispense")).to_be_visible()
    lines = page.locator("[data-preview-lines]")
    expect(lines).to_contain_text("L0")
    expect(lines).to_contain_text("PATIENT")
    expect(page.locator("[data-preview-balances] [data-after]")).to_have_text(f"{start - 12:,}")
    page.get_by_role("button", name="Post dispense").click()
    # back on the item page: the new balance and the new ledger line
    expect(page).to_have_url(re.compile(rf"/items/{world.item.id}\?posted=\d+$"))
    expect(page.locator(".alert-ok")).to_contain_text("Posted document")
    assert on_hand(page) == start - 12
    newest = page.locator("[data-ledger] tbody tr").first
    expect(newest).to_contain_text("Dispense")
    expect(newest).to_contain_text("-12")
    expect(newest).to_contain_text(f"{start - 12:,}")
    expect(newest).to_contain_text("technician1")


def test_a_refused_dispense_shows_the_error_and_changes_nothing(
    page: Page, live: tuple[WebWorld, LiveServer]
) -> None:
    world, _ = live
    sign_in(page)
    page.goto(f"/items/{world.item.id}")
    start, documents = on_hand(page), world.last_document_id()
    scan_in_dispense_panel(page, UNIT_GTIN)
    quantity = page.locator("#f-quantity")
    expect(quantity).to_be_focused()
    quantity.type("999999")
    quantity.press("Enter")
    # the form again, with the stable code and the reason
    alert = page.locator(".alert-error")
    expect(alert).to_contain_text("INSUFFICIENT_STOCK")
    expect(alert).to_contain_text("999999")
    expect(page.locator("#f-quantity")).to_have_value("999999")
    # and nothing changed
    assert world.last_document_id() == documents
    page.goto(f"/items/{world.item.id}")
    assert on_hand(page) == start
    site = world.central.id
    rows = queries.balances(world.rt, world.admin, site_id=site, item_id=world.item.id)
    assert sum(r.on_hand for r in rows) == start


def test_an_unknown_barcode_is_reported_in_the_picker(
    page: Page, live: tuple[WebWorld, LiveServer]
) -> None:
    sign_in(page)
    page.goto("/stock/dispense")
    field = page.locator("input[data-scan]")
    expect(field).to_be_focused()
    field.type("00012345678905")
    field.press("Enter")
    expect(page.locator(".picker .field-error")).to_contain_text("ITEM_NOT_FOUND")
    # a name search lists products to choose from; choosing one moves on to the quantity
    field = page.locator("input[data-scan]")
    field.fill("")
    field.type("amoxi")
    page.locator(".result").first.click()
    expect(page.locator("[data-picked]")).to_contain_text("Amoxicillin")
    expect(page.locator("#f-quantity")).to_be_focused()


def test_a_technician_cannot_open_the_users_page(
    page: Page, live: tuple[WebWorld, LiveServer]
) -> None:
    sign_in(page)
    expect(page.locator("nav.sidenav")).not_to_contain_text("Users")
    response = page.goto("/users")
    assert response is not None
    assert response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.locator(".alert-error")).to_contain_text("FORBIDDEN")


def test_signing_out_needs_signing_in_again(page: Page, live: tuple[WebWorld, LiveServer]) -> None:
    sign_in(page)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/signin$"))
    page.goto("/dashboard")
    expect(page).to_have_url(re.compile(r"/signin\?next=/dashboard$"))
