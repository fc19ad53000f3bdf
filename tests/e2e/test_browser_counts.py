"""A blind count in a real Chromium, through to approval: a technician counts without seeing the
ledger, another recounts, a pharmacist investigates, a manager approves, and the ledger moves by
the variance."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from rxledger.domain.permissions import Grant, Role
from rxledger.services import counts, identity, queries
from tests.e2e.conftest import PASSWORD, LiveServer, WebWorld, build_world, serve


@pytest.fixture
def live(
    sqlite_template: Path, tmp_path: Path
) -> Iterator[tuple[WebWorld, LiveServer, counts.CountView]]:
    """CENTRAL's storage holds lots L1 (10,000) and L0 (5,000); a manager planned a blind count."""
    path = tmp_path / "rxledger.db"
    path.write_bytes(sqlite_template.read_bytes())
    world = build_world(path, (Role.TECHNICIAN, Role.PHARMACIST, Role.MANAGER), outsider=False)
    world.add_user("technician2", Grant(Role.TECHNICIAN, world.central.id))
    manager = identity.user_actor(world.rt, world.admin.organization_id, "manager1")
    count = counts.create_count(
        world.rt,
        manager,
        counts.NewCount(world.central.id, "Main store", location_ids=[world.central.storage.id]),
    )
    server = serve(world.app)
    yield world, server, count
    server.stop()
    world.rt.engine.dispose()


def signed_in(chromium: Browser, server: LiveServer, username: str, url: str) -> Page:
    context = chromium.new_context(base_url=server.url, viewport={"width": 1024, "height": 1366})
    page = context.new_page()
    page.goto(url)
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(re.escape(url) + "$"))
    return page


def test_a_blind_count_through_recount_investigation_and_approval(
    chromium: Browser, live: tuple[WebWorld, LiveServer, counts.CountView]
) -> None:
    world, server, count = live
    url = f"/counts/{count.id}"
    lot = {line.lot_number: line for line in count.lines}

    # a technician counts blind: no system column, one lot 10 short
    tech = signed_in(chromium, server, "technician1", url)
    expect(tech.locator("[data-system]")).to_have_count(0)
    tech.get_by_label(re.compile(r"Count of .* lot L0 ")).fill("5000")
    tech.get_by_label(re.compile(r"Count of .* lot L0 ")).press("Enter")
    expect(tech.get_by_role("status")).to_contain_text("Saved")
    tech.get_by_label(re.compile(r"Count of .* lot L1 ")).fill("9990")
    tech.get_by_label(re.compile(r"Count of .* lot L1 ")).press("Enter")
    tech.get_by_role("button", name="Submit the count").click()
    expect(tech.get_by_role("status")).to_contain_text("Submitted")
    expect(tech.locator(f'[data-line-id="{lot["L1"].id}"]')).to_have_attribute(
        "data-status", "recount"
    )
    # the first counter may not recount
    tech.get_by_label(re.compile(r"Count of .* lot L1 ")).fill("9990")
    tech.get_by_role("button", name="Submit recount").click()
    expect(tech.locator("[data-error-code]")).to_have_attribute(
        "data-error-code", "SELF_APPROVAL_FORBIDDEN"
    )
    tech.context.close()

    # a second technician recounts and finds the same
    other = signed_in(chromium, server, "technician2", url)
    other.get_by_label(re.compile(r"Count of .* lot L1 ")).fill("9990")
    other.get_by_role("button", name="Submit recount").click()
    expect(other.locator(f'[data-line-id="{lot["L1"].id}"]')).to_have_attribute(
        "data-status", "investigating"
    )
    other.context.close()

    # a pharmacist investigates
    pharmacist = signed_in(chromium, server, "pharmacist1", url)
    pharmacist.get_by_role("link", name="Investigate").click()
    expect(pharmacist.locator("[data-movements] tbody tr")).to_have_count(1)  # the receipt
    pharmacist.get_by_label("What was found").fill("a strip of ten found in the returns bin")
    pharmacist.get_by_label("Reason").select_option("DAMAGED")
    pharmacist.get_by_role("button", name="Record findings").click()
    expect(pharmacist.locator(f'[data-line-id="{lot["L1"].id}"]')).to_have_attribute(
        "data-status", "approval"
    )
    # the investigator may not approve
    pharmacist.get_by_role("button", name="Approve adjustment").click()
    expect(pharmacist.locator("[data-error-code]")).to_have_attribute(
        "data-error-code", "SELF_APPROVAL_FORBIDDEN"
    )
    pharmacist.context.close()

    # a manager approves; the ledger moves by the variance
    manager = signed_in(chromium, server, "manager1", url)
    expect(manager.locator(f'[data-line-id="{lot["L1"].id}"] [data-variance]')).to_have_text("-10")
    manager.get_by_role("button", name="Approve adjustment").click()
    expect(manager.get_by_role("status")).to_contain_text("Approved")
    expect(manager.locator(f'[data-line-id="{lot["L1"].id}"]')).to_have_attribute(
        "data-status", "adjusted"
    )
    manager.context.close()
    on_hand = queries.balance(
        world.rt, world.admin, item_id=world.item.id, location_id=world.central.storage.id
    )
    assert on_hand == 15_000 - 10
