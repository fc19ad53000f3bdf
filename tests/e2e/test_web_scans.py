"""Product fields take a full GS1 scan: the picker, the forms without JavaScript, the header."""

from __future__ import annotations

import re
from urllib.parse import quote

from rxledger.services import catalog
from tests.e2e.conftest import BOTTLE_GTIN, UNIT_GTIN, WebWorld

GS = "\x1d"


def datamatrix(gtin: str, lot: str, expiry: str = "271231") -> str:
    return f"]d201{gtin}17{expiry}10{lot}{GS}21SN-1"


def error_code(html: str) -> str | None:
    found = re.search(r'data-error-code="([A-Z_]+)"', html)
    return found.group(1) if found else None


def test_a_datamatrix_picks_the_product_and_its_lot(web_world: WebWorld) -> None:
    browser = web_world.client_for("technician")
    lot = catalog.find_lot(web_world.rt, web_world.admin, web_world.item.id, "L1")
    # when the unit's DataMatrix is scanned into the dispense form
    picker = browser.get(f"/pick?form=dispense&code={quote(datamatrix(UNIT_GTIN, 'L1'))}")
    # then the product is picked and the scanned lot chosen
    assert picker.status_code == 200, picker.text
    assert f'name="item_id" value="{web_world.item.id}"' in picker.text
    assert f'<option value="{lot.id}" selected>' in picker.text
    assert 'data-scan-lot="L1"' in picker.text


def test_a_scanned_lot_without_stock_here_is_pointed_out(web_world: WebWorld) -> None:
    browser = web_world.client_for("technician")
    picker = browser.get(f"/pick?form=dispense&code={quote(datamatrix(UNIT_GTIN, 'NOPE-1'))}")
    assert picker.status_code == 200
    assert "No stock of the scanned lot NOPE-1 here" in picker.text


def test_a_case_datamatrix_counts_in_its_package_and_carries_lot_and_expiry(
    web_world: WebWorld,
) -> None:
    browser = web_world.client_for("technician")
    picker = browser.get(f"/pick?form=receive&code={quote(datamatrix(BOTTLE_GTIN, 'N-7/2.1'))}")
    assert '<option value="100" selected>' in picker.text
    assert 'data-scan-lot="N-7/2.1"' in picker.text
    assert 'data-scan-expiry="2027-12-31"' in picker.text


def test_without_javascript_a_scanned_receipt_takes_the_lot_and_expiry_of_the_scan(
    web_world: WebWorld,
) -> None:
    browser = web_world.client_for("technician")
    data = {
        "site_id": web_world.central.id,
        "location_id": web_world.central.storage.id,
        "quantity": 2,
        "pack": 100,
        "scan": datamatrix(BOTTLE_GTIN, "N-8"),
    }
    confirm = browser.post("/stock/receive/confirm", data)
    assert confirm.status_code == 200, confirm.text
    assert f'name="item_id" value="{web_world.item.id}"' in confirm.text
    assert 'name="lot_number" value="N-8"' in confirm.text
    assert 'name="expiry" value="2027-12-31"' in confirm.text


def test_without_javascript_a_scanned_lot_not_on_file_is_refused(web_world: WebWorld) -> None:
    browser = web_world.client_for("technician")
    data = {
        "site_id": web_world.central.id,
        "location_id": web_world.central.storage.id,
        "quantity": 1,
        "scan": datamatrix(UNIT_GTIN, "GHOST"),
    }
    confirm = browser.post("/stock/dispense/confirm", data)
    assert confirm.status_code == 404
    assert error_code(confirm.text) == "LOT_NOT_FOUND"


def test_an_invalid_scan_is_shown_in_the_picker(web_world: WebWorld) -> None:
    browser = web_world.client_for("technician")
    bad = UNIT_GTIN[:-1] + str((int(UNIT_GTIN[-1]) + 1) % 10)
    picker = browser.get(f"/pick?form=dispense&code={quote(datamatrix(bad, 'L1'))}")
    assert picker.status_code == 422
    assert error_code(picker.text) == "INVALID_SCAN"
    assert "check digit" in picker.text
    assert "data-picker" in picker.text


def test_the_header_scan_opens_the_item_of_a_datamatrix(web_world: WebWorld) -> None:
    browser = web_world.client_for("auditor")
    response = browser.get(f"/scan?code={quote(datamatrix(UNIT_GTIN, 'L1'))}")
    assert response.headers["location"] == f"/items/{web_world.item.id}"
