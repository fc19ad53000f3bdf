"""The reconciliation screens through HTTP: a POS on-hand CSV uploaded, compared with the ledger,
and a ticked row settled by adjusting the ledger to the export's figure."""

from __future__ import annotations

import re

from rxledger.domain.permissions import Grant, Role
from rxledger.services import queries
from tests.e2e.conftest import WebWorld


def test_an_export_is_uploaded_compared_and_a_row_settled(fresh_world: WebWorld) -> None:
    world = fresh_world
    world.usernames["manager"] = world.add_user("manager1", Grant(Role.MANAGER, world.central.id))
    item = world.net.item("Saline 10 mL")
    world.net.receive(item, 100, "S1")
    browser = world.client_for("manager")
    data = f"sku,lot,quantity\n{item.sku},S1,90\n".encode()

    uploaded = browser.http.post(
        "/reconciliation",
        data={"csrf_token": browser.csrf, "source": "pos"},
        files={"file": ("pos.csv", data, "text/csv")},
        follow_redirects=False,
    )
    assert uploaded.status_code == 303, uploaded.text
    page = browser.get(uploaded.headers["location"])
    assert page.status_code == 200
    key = f"{item.sku}/S1"
    row = re.search(rf'<tr data-row="{re.escape(key)}" data-status="(\w+)">', page.text)
    assert row is not None
    assert row.group(1) == "mismatch"

    snapshot = uploaded.headers["location"].rsplit("/", 1)[1]
    settled = browser.post(
        f"/reconciliation/{snapshot}/settle",
        {f"row:{key}": "1", "trust": "external", "reason_code": "COUNT"},
    )
    assert settled.status_code == 200, settled.text
    assert "data-settled" in settled.text
    assert queries.balance(world.rt, world.admin, item_id=item.id, site_id=world.central.id) == 90
    # the index lists the import
    assert "pos.csv" in browser.get("/reconciliation").text
