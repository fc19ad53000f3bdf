"""``rxledger classify``, ``replenish`` (and ``--accept``) and ``forecast`` on the ledger, end to
end against a real SQLite file."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from rxledger.adapters.database import create_db_engine
from rxledger.domain.clock import SystemClock
from rxledger.entrypoints.cli.app import app
from rxledger.services import stock
from rxledger.services.posting import Header
from rxledger.services.runtime import LedgerPolicy, Runtime
from tests.builders import Network, build_network


@pytest.fixture
def db(sqlite_url: str) -> tuple[str, Network, str]:
    """An item received a week ago and dispensed 140 a day since: 40 left of 1,000."""
    engine = create_db_engine(sqlite_url)
    net = build_network(Runtime(engine=engine, clock=SystemClock(), policy=LedgerPolicy()))
    item = net.item()
    now = datetime.now(UTC)
    start = now - timedelta(days=6, hours=1)
    stock.receive(
        net.rt,
        net.actor,
        stock.Receive(
            net.central.id,
            net.central.storage.id,
            [stock.ReceiptLine(item.id, 1000, "L1", (now + timedelta(days=400)).date())],
            Header(occurred_at=start),
        ),
    )
    for day in range(7):
        when = min(start + timedelta(days=day, minutes=5), now - timedelta(minutes=1))
        stock.dispense(
            net.rt,
            net.actor,
            stock.Dispense(
                net.central.id,
                net.central.storage.id,
                [stock.StockLine(item.id, 140 if day < 6 else 120)],
                Header(occurred_at=when),
            ),
        )
    return sqlite_url, net, item.sku


def run(url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--database", url, "--user", "alice", *args])
    return result.exit_code, result.stdout, result.stderr


def ok_json(url: str, *args: str) -> Any:
    code, out, err = run(url, *args, "--json")
    assert code == 0, err
    return json.loads(out)


def test_replenish_suggests_explains_and_accepts(db: tuple[str, Network, str]) -> None:
    url, _, sku = db
    assert run(url, "supplier", "add", "GLDW", "Great Lakes", "--lead-time", "3")[0] == 0
    assert run(url, "supplier", "item", "GLDW", sku, "--pack-units", "100", "--price", "9")[0] == 0

    planned = ok_json(url, "replenish", "--site", "CENTRAL")

    [line] = [x for x in planned["suggestions"] if x["sku"] == sku]
    assert line["available"] == 40  # 1,000 less 6 × 140 less 120
    assert line["supplier_code"] == "GLDW"
    assert line["order_units"] > 0
    assert line["order_units"] % 100 == 0
    assert planned["requisitions"] == []

    accepted = ok_json(url, "replenish", "--site", "CENTRAL", "--accept")
    [drafted] = accepted["requisitions"]
    assert drafted["supplier"] == "GLDW"
    assert drafted["lines"] == 1
    listed = ok_json(url, "requisition", "list")
    assert [r["status"] for r in listed] == ["draft"]


def test_classify_and_forecast_read_the_ledger(
    db: tuple[str, Network, str], tmp_path: Path
) -> None:
    url, _, sku = db
    classes = ok_json(url, "classify", "--site", "CENTRAL")
    [row] = [x for x in classes if x["sku"] == sku]
    assert row["abc"] == "A"

    target = tmp_path / "forecast.csv"
    code, _, err = run(
        url,
        "forecast",
        "--site",
        "CENTRAL",
        "--item",
        sku,
        "--horizon",
        "4",
        "--output",
        str(target),
    )
    assert code == 0, err
    with target.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4
    assert float(rows[0]["forecast"]) > 0


def test_simulate_replays_the_ledgers_own_dispensing(db: tuple[str, Network, str]) -> None:
    url, _, sku = db
    result = ok_json(
        url,
        "simulate",
        "--policy",
        "avg365",
        "--lead-time-days",
        "1",
        "--review-days",
        "1",
        "--warmup-days",
        "3",
        "--site",
        "CENTRAL",
        "--item",
        sku,
    )
    [series] = result["series"]
    # days 3..6 of the week are scored: 140, 140, 140 and today's 120
    assert series["demand"] == 3 * 140 + 120
    assert series["avg_on_hand_value"] is not None  # valued at the item's standard cost
