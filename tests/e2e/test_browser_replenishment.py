"""Suggested orders in a real Chromium: a buyer changes the packs of a suggestion, drafts the
requisition and finds it in purchasing; the item's forecast chart draws its history, forecast
and band."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from rxledger.domain.model import Item
from rxledger.domain.permissions import Role
from rxledger.services import purchasing
from rxledger.services.purchasing import NewSupplier, NewSupplierItem
from tests.e2e.conftest import PASSWORD, LiveServer, WebWorld, build_world, serve


@pytest.fixture(scope="module")
def live(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[WebWorld, LiveServer, Item]]:
    """Twelve weeks of 10 a day of an item received 900 at CENTRAL (60 left), sold by GLDW."""
    path = tmp_path_factory.mktemp("replenishment") / "rxledger.db"
    path.write_bytes(sqlite_template.read_bytes())
    world = build_world(path, (Role.BUYER,), outsider=False)
    item = world.net.item("Metformin 500 mg tablet")
    supplier = purchasing.create_supplier(
        world.rt, world.admin, NewSupplier("GLDW", "Great Lakes Drug")
    )
    purchasing.add_supplier_item(
        world.rt, world.admin, supplier.id, NewSupplierItem(item.id, 100, Decimal("4.00"))
    )
    world.net.receive(item, 900)
    for _ in range(84):
        world.net.dispense(item, 10)
        world.clock.advance(timedelta(days=1))
    world.clock.advance(timedelta(hours=-1))
    server = serve(world.app)
    yield world, server, item
    server.stop()
    world.rt.engine.dispose()


@pytest.fixture
def page(chromium: Browser, live: tuple[WebWorld, LiveServer, Item]) -> Iterator[Page]:
    context = chromium.new_context(base_url=live[1].url, viewport={"width": 1280, "height": 800})
    tab = context.new_page()
    problems: list[str] = []
    tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: problems.append(str(e)))
    yield tab
    context.close()
    assert problems == []


def sign_in(page: Page) -> None:
    page.goto("/replenishment")
    page.get_by_label("User name").fill("buyer1")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/replenishment$"))


def test_a_buyer_drafts_a_requisition_from_the_suggestions(
    page: Page, live: tuple[WebWorld, LiveServer, Item]
) -> None:
    world, _, item = live
    sign_in(page)
    row = page.locator(f'[data-suggestion="{item.sku}"]')
    expect(row).to_have_count(1)
    packs = row.get_by_label(f"Packs of {item.name}")
    suggested = int(packs.input_value())
    assert suggested >= 1
    packs.fill(str(suggested + 1))

    page.get_by_role("button", name="Draft requisition for GLDW").click()

    expect(page).to_have_url(re.compile(r"/purchasing\?done=drafted&requisition=\d+$"))
    expect(page.get_by_role("status")).to_contain_text("drafted")
    [drafted] = purchasing.list_requisitions(world.rt, world.admin)
    assert [line.packs for line in drafted.lines] == [suggested + 1]


def test_the_forecast_chart_of_a_suggested_item(
    page: Page, live: tuple[WebWorld, LiveServer, Item]
) -> None:
    _, _, item = live
    sign_in(page)
    page.get_by_role("link", name=item.name).click()

    expect(page).to_have_url(re.compile(rf"/replenishment/items/{item.id}$"))
    chart = page.locator("[data-forecast-chart] svg")
    expect(chart.locator("rect")).to_have_count(12)
    expect(chart.locator("[data-forecast-line]")).to_have_count(1)
    expect(chart.locator("[data-band]")).to_have_count(1)
    expect(page.locator("[data-model]")).not_to_have_text("none")
