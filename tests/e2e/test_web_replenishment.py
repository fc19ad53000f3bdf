"""The replenishment screens through HTTP: suggested orders per supplier, accepting them as a draft
requisition with packs changed, the CSV export, an item's forecast chart, and refusals."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest

from rxledger.domain.model import Item
from rxledger.domain.permissions import Grant, Role
from rxledger.services import purchasing
from rxledger.services.purchasing import NewSupplier, NewSupplierItem, SupplierItemView
from tests.e2e.conftest import WebWorld


@pytest.fixture
def world(fresh_world: WebWorld) -> tuple[WebWorld, Item, SupplierItemView]:
    """Twelve weeks of 10 a day of an item received 900 at CENTRAL: 60 left."""
    w = fresh_world
    item = w.net.item("Metformin 500 mg tablet")
    supplier = purchasing.create_supplier(w.rt, w.admin, NewSupplier("GLDW", "Great Lakes Drug"))
    offer = purchasing.add_supplier_item(
        w.rt, w.admin, supplier.id, NewSupplierItem(item.id, 100, Decimal("4.00"))
    )
    w.net.receive(item, 900)
    for _ in range(84):
        w.net.dispense(item, 10)
        w.clock.advance(timedelta(days=1))
    w.clock.advance(timedelta(hours=-1))
    w.usernames["buyer"] = w.add_user("buyer1", Grant(Role.BUYER, w.central.id))
    w.usernames["auditor"] = w.add_user("auditor1", Grant(Role.AUDITOR, None))
    return w, item, offer


def test_a_buyer_accepts_a_suggestion_with_changed_packs(
    world: tuple[WebWorld, Item, SupplierItemView],
) -> None:
    w, item, offer = world
    browser = w.client_for("buyer")

    page = browser.get("/replenishment")

    assert page.status_code == 200, page.text
    row = re.search(rf'<tr data-suggestion="{item.sku}">(.*?)</tr>', page.text, re.S)
    assert row is not None
    packs = re.search(rf'name="packs_{offer.id}"[^>]*value="(\d+)"', row.group(1))
    assert packs is not None, row.group(1)
    assert int(packs.group(1)) >= 1
    assert "Draft requisition for GLDW" in page.text

    done = browser.post(
        "/replenishment/accept",
        {
            "supplier_id": offer.supplier_item.supplier_id,
            f"take_{offer.id}": "1",
            f"packs_{offer.id}": str(int(packs.group(1)) + 2),
        },
    )

    assert done.status_code == 303, done.text
    assert "/purchasing?done=drafted" in done.headers["location"]
    [drafted] = purchasing.list_requisitions(w.rt, w.admin)
    assert drafted.status == "draft"
    assert [line.packs for line in drafted.lines] == [int(packs.group(1)) + 2]


def test_nothing_ticked_is_refused_and_nothing_drafted(
    world: tuple[WebWorld, Item, SupplierItemView],
) -> None:
    w, _, offer = world
    page = w.client_for("buyer").post(
        "/replenishment/accept", {"supplier_id": offer.supplier_item.supplier_id}
    )
    assert page.status_code == 422
    assert 'data-error-code="VALIDATION_ERROR"' in page.text
    assert purchasing.list_requisitions(w.rt, w.admin) == []


def test_an_auditor_sees_suggestions_but_cannot_accept(
    world: tuple[WebWorld, Item, SupplierItemView],
) -> None:
    w, item, offer = world
    auditor = w.client_for("auditor")
    page = auditor.get("/replenishment")
    assert page.status_code == 200
    assert item.sku in page.text
    assert "Draft requisition" not in page.text
    refused = auditor.post(
        "/replenishment/accept",
        {
            "supplier_id": offer.supplier_item.supplier_id,
            f"take_{offer.id}": "1",
            f"packs_{offer.id}": "1",
        },
    )
    assert refused.status_code == 403
    assert purchasing.list_requisitions(w.rt, w.admin) == []


def test_the_export_and_the_forecast_chart(
    world: tuple[WebWorld, Item, SupplierItemView],
) -> None:
    w, item, _ = world
    browser = w.client_for("buyer")

    exported = browser.get("/replenishment/suggestions.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    [row] = [r for r in csv.DictReader(io.StringIO(exported.text)) if r["sku"] == item.sku]
    assert int(row["order_units"]) > 0

    chart = browser.get(f"/replenishment/items/{item.id}")
    assert chart.status_code == 200, chart.text
    assert chart.text.count("<rect ") == 12  # twelve whole weeks of history
    assert "data-forecast-line" in chart.text
    assert "data-band" in chart.text
    model = re.search(r"<strong data-model>([^<]+)</strong>", chart.text)
    assert model is not None
    assert model.group(1) not in {"", "none"}
