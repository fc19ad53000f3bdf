"""The main screens in a real Chromium, at desktop (1280x800) and tablet (820x1180) sizes: each
renders without a script or CSP error, and is saved as a screenshot.

The screenshots go to a temporary directory; the ones in docs/screenshots come from the demo
network::

    rxledger demo   # into var/rxledger.db
    RXLEDGER_SCREENSHOT_DB=var/rxledger.db RXLEDGER_SCREENSHOT_DIR=docs/screenshots \\
        pytest tests/e2e/test_browser_screenshots.py
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from rxledger.adapters.database import create_db_engine
from rxledger.domain.clock import SystemClock
from rxledger.domain.permissions import Actor, Grant, Role
from rxledger.entrypoints.api.app import create_app
from rxledger.services import catalog, identity, queries
from rxledger.services.runtime import Runtime
from tests.e2e.conftest import PASSWORD, LiveServer, build_world, serve

DESKTOP = {"width": 1280, "height": 800}
TABLET = {"width": 820, "height": 1180}


@dataclass
class Screens:
    server: LiveServer
    username: str
    item_id: int
    site_id: int
    location_id: int
    out: Path


@pytest.fixture(scope="module")
def screens(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Screens]:
    work = tmp_path_factory.mktemp("screens")
    out = Path(os.environ.get("RXLEDGER_SCREENSHOT_DIR") or work / "png")
    out.mkdir(parents=True, exist_ok=True)
    demo = os.environ.get("RXLEDGER_SCREENSHOT_DB")
    if demo:
        shutil.copyfile(demo, work / "demo.db")
        rt = Runtime(engine=create_db_engine(f"sqlite:///{work / 'demo.db'}"), clock=SystemClock())
        screens = _on_the_demo(rt, out)
    else:
        shutil.copyfile(sqlite_template, work / "small.db")
        world = build_world(work / "small.db", (Role.ADMIN,), outsider=False)
        rt = world.rt
        server = serve(world.app)
        central = world.central
        screens = Screens(server, "admin1", world.item.id, central.id, central.storage.id, out)
    yield screens
    screens.server.stop()
    rt.engine.dispose()


def _on_the_demo(rt: Runtime, out: Path) -> Screens:
    """A copy of the demo network, with an organization-wide administrator to look around."""
    organization = catalog.organization_by_code(rt)
    system = Actor.system(organization.id)
    identity.create_user(
        rt,
        system,
        username="pharmacy.admin",
        full_name="Pharmacy Administrator",
        password=PASSWORD,
        grants=[Grant(Role.ADMIN, None)],
    )
    site = catalog.list_sites(rt, system)[0]
    stocked = [b for b in queries.balances(rt, system, site_id=site.id) if b.on_hand > 0]
    busiest = max(stocked, key=lambda b: b.on_hand)
    return Screens(
        serve(create_app(rt)), "pharmacy.admin", busiest.item_id, site.id, busiest.location_id, out
    )


def shoot(page: Page, screens: Screens, name: str) -> None:
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(screens.out / f"{name}.png"))


def signed_in_page(chromium: Browser, screens: Screens, viewport: dict[str, int]) -> Page:
    context = chromium.new_context(base_url=screens.server.url, viewport=viewport)  # type: ignore[arg-type]
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.problems = problems  # type: ignore[attr-defined]
    page.goto("/signin")
    page.get_by_label("User name").fill(screens.username)
    page.get_by_label("Password").fill(PASSWORD)
    return page


def test_the_main_screens_at_desktop_size(chromium: Browser, screens: Screens) -> None:
    page = signed_in_page(chromium, screens, DESKTOP)
    shoot(page, screens, "signin")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard")
    shoot(page, screens, "dashboard")
    page.goto(f"/items/{screens.item_id}")
    shoot(page, screens, "item")
    page.goto(f"/stock/dispense?item_id={screens.item_id}&location_id={screens.location_id}")
    page.locator("#f-quantity").fill("2")
    page.locator("#f-reference").fill("RX-20931")
    page.get_by_role("button", name="Review dispense").click()
    page.wait_for_url("**/stock/dispense/confirm")
    shoot(page, screens, "confirm-dispense")
    page.goto("/documents")
    shoot(page, screens, "documents")
    page.goto("/users")
    shoot(page, screens, "users")
    assert page.problems == []  # type: ignore[attr-defined]
    page.context.close()


def test_the_item_page_at_tablet_size(chromium: Browser, screens: Screens) -> None:
    page = signed_in_page(chromium, screens, TABLET)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard")
    page.goto(f"/items/{screens.item_id}")
    shoot(page, screens, "item-tablet")
    page.goto(f"/stock/dispense?item_id={screens.item_id}")
    shoot(page, screens, "dispense-tablet")
    assert page.problems == []  # type: ignore[attr-defined]
    page.context.close()
