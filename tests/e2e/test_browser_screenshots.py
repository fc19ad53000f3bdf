"""The main screens in a real Chromium, at desktop (1280x800) and tablet (820x1180) sizes: each
renders without a script or CSP error, and is saved as a screenshot.

Goods coming in are set up through the services first: the DSCSA shipment of
``tests/fixtures/epcis/dscsa_shipment.xml`` imported for the site (and a wholesaler's ASN still
awaiting receipt), a receiving session against it with a case accepted and a bottle the sender never
declared sent to quarantine (under investigation), a damaged bottle received blind and held, and,
in the small world, a supplier with a purchase order and a requisition waiting for approval (the
demo network has its own).

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
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from rxledger.adapters.database import create_db_engine
from rxledger.demo.people import DEMO_USERS
from rxledger.domain import errors
from rxledger.domain.clock import SystemClock
from rxledger.domain.permissions import Actor, Grant, Role
from rxledger.domain.purchasing import ReceiptStatus
from rxledger.entrypoints.api.app import create_app
from rxledger.services import (
    approvals,
    catalog,
    counts,
    identity,
    imports,
    purchasing,
    queries,
    receiving,
    replenishment,
    stock,
)
from rxledger.services.catalog import NewItem, PackageSpec
from rxledger.services.posting import Header
from rxledger.services.purchasing import (
    NewRequisition,
    NewSupplier,
    NewSupplierItem,
    RequisitionLineSpec,
)
from rxledger.services.runtime import Runtime
from tests.e2e.conftest import PASSWORD, LiveServer, build_world, serve
from tests.receiving_builders import BOTTLE_GTIN, CASE_1, EPCIS_XML, bottle_scan, sscc_scan

DEMO_PHARMACIST = next(u for u in DEMO_USERS if u.username == "pharmacist")
DESKTOP = {"width": 1280, "height": 800}
TABLET = {"width": 820, "height": 1180}
ASN = Path(__file__).parents[1] / "fixtures" / "x12" / "wholesaler_856.edi"
FOREIGN_SERIAL = "100731"  # a bottle of lot LOT-A1 the shipment's data never lists
DAMAGED_SERIAL, DAMAGED_LOT = "200418", ("LOT/B2.7", "270930")  # a crushed bottle, received blind


@dataclass
class Screens:
    server: LiveServer
    username: str
    item_id: int
    site_id: int
    location_id: int
    session_id: int  # a receiving session in progress: accepted and quarantined lines
    order_id: int  # a purchase order of the site
    out: Path
    chart_item_id: int = 0  # an item whose forecast chart is shown (default: item_id)
    count_id: int = 0  # an open blind count, partly counted
    approver: tuple[str, str] = ("", "")  # a pharmacist (user name, password) with work waiting

    def __post_init__(self) -> None:
        self.chart_item_id = self.chart_item_id or self.item_id


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
        central = world.central
        session_id = _receiving_in_progress(rt, world.admin, world.admin, central.id)
        order_id = _small_purchasing(rt, world.admin, central.id, world.item.id)
        world.add_user("pharm1", Grant(Role.PHARMACIST, central.id))
        count_id = _small_control(rt, world.admin, central.id, world.item.id)
        screens = Screens(
            serve(world.app),
            "admin1",
            world.item.id,
            central.id,
            central.storage.id,
            session_id,
            order_id,
            out,
            count_id=count_id,
            approver=("pharm1", PASSWORD),
        )
    yield screens
    screens.server.stop()
    rt.engine.dispose()


def _on_the_demo(rt: Runtime, out: Path) -> Screens:
    """A copy of the demo network, with an organization-wide administrator to look around, and
    the demo's technician receiving a shipment at the first site (central)."""
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
    try:
        technician = identity.user_actor(rt, organization.id, "tech")
    except errors.Unauthenticated:  # a demo built without its users
        technician = system
    session_id = _receiving_in_progress(rt, system, technician, site.id)
    # the demo's own orders: the one partly received at central if there is one, else the newest
    orders = purchasing.list_purchase_orders(rt, system, site_id=site.id)
    partial = [o for o in orders if o.receipt_status is ReceiptStatus.PARTIAL]
    order_id = (partial or orders)[0].id
    return Screens(
        serve(create_app(rt)),
        "pharmacy.admin",
        busiest.item_id,
        site.id,
        busiest.location_id,
        session_id,
        order_id,
        out,
        _most_ordered(rt, system, site.id),
        next((c.id for c in counts.list_counts(rt, system, status="open")), 0),
        (DEMO_PHARMACIST.username, DEMO_PHARMACIST.password),
    )


def _small_control(rt: Runtime, admin: Actor, site_id: int, item_id: int) -> int:
    """A blind count of the site's stock with its first line counted, and a write-off of the
    item worth more than the adjustment policy lets through, waiting for a pharmacist. The id
    of the count."""
    manager = Actor(admin.organization_id, "manager1", None, (Grant(Role.MANAGER, site_id),))
    [lot] = [
        b
        for b in queries.balances(rt, admin, site_id=site_id, item_id=item_id)
        if b.on_hand >= 2500
    ][:1]
    count = counts.create_count(
        rt,
        manager,
        counts.NewCount(
            site_id, "Shelf count · storage", location_ids=[lot.location_id], assigned_to="tech1"
        ),
    )
    first = count.lines[0]
    counts.set_tally(rt, manager, first.id, lot.on_hand if first.lot_id == lot.lot_id else 0)
    crushed = stock.AdjustLine(item_id, lot.location_id, lot.lot_id, "DAMAGED", -2400)  # 300.00
    approvals.request_adjustment(
        rt, manager, stock.Adjust(site_id, [crushed], Header(note="a carton crushed on the dock"))
    )
    return count.id


def _most_ordered(rt: Runtime, system: Actor, site_id: int) -> int:
    """The item with the dearest suggested order at the site (0 when nothing is suggested)."""
    suggestions = replenishment.plan(rt, system, site_id=site_id).suggestions
    if suggestions.empty:
        return 0
    return int(suggestions.sort_values("order_value").iloc[-1]["item_id"])


def _receiving_in_progress(rt: Runtime, admin: Actor, receiver: Actor, site_id: int) -> int:
    """The DSCSA shipment imported for the site and a session against it, in which a case (four
    bottles) was accepted and a bottle the sender never declared went to quarantine; a
    wholesaler's ASN waits on the dock, and a damaged bottle received blind is held in quarantine
    (a discrepancy to resolve). The id of the session in progress."""
    try:
        catalog.find_item(rt, admin, BOTTLE_GTIN)
    except errors.ItemNotFound:
        catalog.create_item(rt, admin, _epcis_product())
    blind = receiving.open_session(rt, receiver, site_id)
    receiving.scan(rt, receiver, blind.id, bottle_scan(DAMAGED_SERIAL, *DAMAGED_LOT), damaged=True)
    receiving.close(rt, receiver, blind.id)
    shipment = imports.import_shipment(
        rt, receiver, "epcis", EPCIS_XML.read_bytes(), filename=EPCIS_XML.name, site_id=site_id
    )
    imports.import_shipment(
        rt, receiver, "asn", ASN.read_bytes(), filename=ASN.name, site_id=site_id
    )
    session = receiving.open_session(rt, receiver, site_id, shipment_id=shipment.shipment_ids[0])
    receiving.scan(rt, receiver, session.id, sscc_scan(CASE_1))
    receiving.scan(rt, receiver, session.id, bottle_scan(FOREIGN_SERIAL))
    return session.id


def _epcis_product() -> NewItem:
    """The bottle of 100 capsules the shipment's file lists (NDC 12345-678-90)."""
    return NewItem(
        sku="AMOX500-100",
        name="Amoxicillin 500 mg capsule",
        base_unit="capsule",
        generic_name="amoxicillin",
        strength="500 mg",
        dosage_form="capsule",
        route="oral",
        ndc10="12345-678-90",
        standard_cost=Decimal("0.125"),
        packages=(PackageSpec("bottle", 100, gtin=BOTTLE_GTIN, ndc10="12345-678-90"),),
    )


def _small_purchasing(rt: Runtime, admin: Actor, site_id: int, item_id: int) -> int:
    """A supplier selling the item by the bottle, a purchase order placed by a buyer and a larger
    requisition of theirs waiting for approval. The id of the purchase order."""
    supplier = purchasing.create_supplier(
        rt, admin, NewSupplier("GLDW", "Great Lakes Drug Wholesale", 1, Decimal("100.00"))
    )
    offer = purchasing.add_supplier_item(
        rt, admin, supplier.id, NewSupplierItem(item_id, 100, Decimal("12.50"))
    )
    buyer = Actor(admin.organization_id, "buyer1", None, (Grant(Role.BUYER, site_id),))

    def submitted(packs: int) -> purchasing.RequisitionView:
        spec = NewRequisition(site_id, supplier.id, [RequisitionLineSpec(offer.id, packs)])
        draft = purchasing.create_requisition(rt, buyer, spec)
        return purchasing.submit_requisition(rt, buyer, draft.id)

    ordered = submitted(12)  # 150.00: ordered at once
    submitted(100)  # 1,250.00, above the approval threshold: waits in the inbox
    assert ordered.purchase_order_id is not None
    return ordered.purchase_order_id


def shoot(page: Page, screens: Screens, name: str, *, full_page: bool = False) -> None:
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(screens.out / f"{name}.png"), full_page=full_page)


def signed_in_page(
    chromium: Browser,
    screens: Screens,
    viewport: dict[str, int],
    user: tuple[str, str] | None = None,
) -> Page:
    context = chromium.new_context(base_url=screens.server.url, viewport=viewport)  # type: ignore[arg-type]
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.problems = problems  # type: ignore[attr-defined]
    page.goto("/signin")
    username, password = user or (screens.username, PASSWORD)
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    return page


def visit(page: Page, url: str) -> None:
    """Open a page that must answer 200 (an error page would render cleanly too)."""
    response = page.goto(url)
    assert response is not None, url
    assert response.status == 200, url
    page.wait_for_load_state("networkidle")


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


def test_goods_coming_in_at_desktop_size(chromium: Browser, screens: Screens) -> None:
    page = signed_in_page(chromium, screens, DESKTOP)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard")
    visit(page, "/receiving")
    assert page.locator(f'[data-open-sessions] [data-session="{screens.session_id}"]').count() == 1
    assert page.locator("[data-posted-sessions] [data-session]").count() >= 1
    shoot(page, screens, "receiving")
    visit(page, f"/receiving/{screens.session_id}")
    assert page.locator('[data-disposition="accept"]').count() == 4
    assert page.locator('[data-disposition="quarantine"]').count() == 1
    shoot(page, screens, "receiving-session", full_page=True)  # the verdicts are below the fold
    visit(page, "/purchasing")
    assert page.locator("[data-approvals] [data-requisition]").count() >= 1
    shoot(page, screens, "purchasing")
    visit(page, f"/purchasing/orders/{screens.order_id}")
    assert page.locator("[data-po-lines] [data-line]").count() >= 1
    shoot(page, screens, "purchase-order")
    visit(page, "/quarantine")
    assert page.locator("[data-investigation]").count() >= 1
    assert page.locator("[data-resolve]").count() >= 1
    shoot(page, screens, "quarantine")
    visit(page, "/replenishment")
    shoot(page, screens, "replenishment")
    visit(page, f"/replenishment/items/{screens.chart_item_id}")
    shoot(page, screens, "forecast-chart")
    assert page.problems == []  # type: ignore[attr-defined]
    page.context.close()


def test_inventory_control_at_desktop_size(chromium: Browser, screens: Screens) -> None:
    page = signed_in_page(chromium, screens, DESKTOP, screens.approver)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard")
    visit(page, "/approvals")
    assert page.locator('[data-inbox] [data-subject="adjustment"]').count() >= 1
    shoot(page, screens, "approvals")
    visit(page, "/approvals/policies")
    assert page.locator("[data-policies] [data-policy]").count() >= 3
    shoot(page, screens, "approval-policies")
    visit(page, "/counts")
    shoot(page, screens, "counts")
    visit(page, f"/counts/{screens.count_id}")
    shoot(page, screens, "count")
    visit(page, "/audit")
    shoot(page, screens, "audit")
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


def test_goods_coming_in_at_tablet_size(chromium: Browser, screens: Screens) -> None:
    """The dock's own device: the session page is kept as a screenshot; the others only render."""
    page = signed_in_page(chromium, screens, TABLET)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard")
    visit(page, f"/receiving/{screens.session_id}")
    shoot(page, screens, "receiving-session-tablet", full_page=True)
    for url in ("/receiving", "/purchasing", f"/purchasing/orders/{screens.order_id}"):
        visit(page, url)
    visit(page, "/quarantine")
    assert page.problems == []  # type: ignore[attr-defined]
    page.context.close()
