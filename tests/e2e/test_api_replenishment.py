"""Replenishment over HTTP: suggestions as JSON and CSV, accepting them as a requisition, classes,
and an item's forecast with its history, quantiles and backtest."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from fastapi import FastAPI

from rxledger.domain.clock import ManualClock
from rxledger.services.runtime import Runtime
from tests.e2e.api_support import (
    ApiWorld,
    build_api_world,
    error,
    idle_app,
    ok,
    use_fast_password_hashing,
)
from tests.e2e.test_api_purchasing import supplier_with_offer


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fast_password_hashing(monkeypatch)


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return idle_app()


@pytest.fixture
def world(rt: Runtime, app: FastAPI, clock: ManualClock) -> tuple[ApiWorld, int, int, int]:
    """12 weeks of 10 a day from 900 received: 60 left, well below a week and a half's need."""
    w = build_api_world(rt, ("buyer", "auditor", "technician"), app=app)
    item = w.net.item("Amoxicillin 500 mg capsule")
    supplier_id, offer_id = supplier_with_offer(w, item)
    w.net.receive(item, 900)
    for _ in range(84):
        w.net.dispense(item, 10)
        clock.advance(timedelta(days=1))
    clock.advance(timedelta(hours=-1))
    return w, item.id, supplier_id, offer_id


def test_suggestions_are_explained_exported_and_accepted(
    world: tuple[ApiWorld, int, int, int],
) -> None:
    w, item_id, supplier_id, offer_id = world
    central = w.net.central.id

    body = ok(w.api.get(f"/replenishment/suggestions?site_id={central}", who="buyer"))

    [line] = [x for x in body["suggestions"] if x["item_id"] == item_id]
    assert line["offer_id"] == offer_id
    assert line["supplier_id"] == supplier_id
    assert line["available"] == 60
    assert line["position"] == 60
    assert line["minimum"] > 60
    assert line["order_units"] == line["order_packs"] * 100 >= line["maximum"] - 60
    assert line["daily_forecast"] == pytest.approx(10, rel=0.15)

    exported = w.api.get(f"/replenishment/suggestions.csv?site_id={central}", who="buyer")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [int(r["order_units"]) for r in rows if int(r["item_id"]) == item_id] == [
        line["order_units"]
    ]

    accepted = ok(
        w.api.post(
            "/replenishment/accept",
            json={
                "site_id": central,
                "supplier_id": supplier_id,
                "lines": [{"supplier_item_id": offer_id, "packs": line["order_packs"]}],
            },
            who="buyer",
        ),
        201,
    )
    assert accepted["status"] == "draft"
    assert accepted["lines"][0]["packs"] == line["order_packs"]


def test_an_auditor_reads_suggestions_but_may_not_accept(
    world: tuple[ApiWorld, int, int, int],
) -> None:
    w, _, supplier_id, offer_id = world
    ok(w.api.get("/replenishment/suggestions", who="auditor"))
    error(
        w.api.post(
            "/replenishment/accept",
            json={
                "site_id": w.net.central.id,
                "supplier_id": supplier_id,
                "lines": [{"supplier_item_id": offer_id, "packs": 1}],
            },
            who="auditor",
        ),
        403,
        "FORBIDDEN",
    )


def test_classes_and_an_items_forecast(world: tuple[ApiWorld, int, int, int]) -> None:
    w, item_id, _, _ = world
    central = w.net.central.id

    classes = ok(w.api.get(f"/replenishment/classes?site_id={central}", who="buyer"))
    [row] = [x for x in classes if x["item_id"] == item_id]
    assert row["abc"] == "A"  # the only item with demand carries all the value
    assert row["xyz"] == "X"
    assert row["demand_class"] == "smooth"

    chart = ok(w.api.get(f"/items/{item_id}/forecast?site_id={central}&horizon=6", who="buyer"))
    assert len(chart["history"]) == 12
    assert {h["demand"] for h in chart["history"]} == {70.0}
    assert len(chart["forecast"]) == 6
    first = chart["forecast"][0]
    assert first["forecast"] == pytest.approx(70, rel=0.05)
    assert first["q50"] <= first["q90"] <= first["q95"]
    assert chart["model"]
