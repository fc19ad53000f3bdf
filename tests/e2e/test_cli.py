"""The ``rxledger`` command line end to end, against a real SQLite file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rxledger.adapters.database import create_db_engine
from rxledger.domain.clock import SystemClock
from rxledger.entrypoints.cli.app import app
from rxledger.services.runtime import LedgerPolicy, Runtime
from tests.builders import Network, build_network


@pytest.fixture
def db(sqlite_url: str) -> tuple[str, Network]:
    engine = create_db_engine(sqlite_url)
    net = build_network(Runtime(engine=engine, clock=SystemClock(), policy=LedgerPolicy()))
    return sqlite_url, net


def run(url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--database", url, "--user", "cli-tech", *args])
    return result.exit_code, result.stdout, result.stderr


def test_receive_dispense_history_and_check_through_the_cli(db: tuple[str, Network]) -> None:
    url, net = db
    item = net.item(ndc10="0777-3105-02")
    # when receiving and dispensing by NDC
    code, out, err = run(
        url,
        "receive",
        "--site",
        "CENTRAL",
        "--location",
        "MAIN",
        "0777-3105-02",
        "120",
        "--lot",
        "AB-1/2",
        "--expiry",
        "2030-01-31",
        "--json",
    )
    assert code == 0, err
    receipt = json.loads(out)
    assert receipt["doc_type"] == "receipt"
    assert receipt["posted_by"] == "cli-tech"
    code, out, err = run(
        url,
        "dispense",
        "--site",
        "CENTRAL",
        "--location",
        "MAIN",
        item.sku,
        "20",
        "--json",
        "--key",
        "rx-1",
    )
    assert code == 0, err
    # then the balance and the history agree
    code, out, _ = run(url, "balance", item.sku, "--site", "CENTRAL", "--json")
    assert json.loads(out)["on_hand"] == 100
    code, out, _ = run(url, "history", item.sku, "--site", "CENTRAL", "--json")
    assert [(h["change"], h["balance"]) for h in json.loads(out)] == [(-20, 100), (120, 120)]
    code, out, _ = run(url, "check", "--json")
    assert code == 0
    assert json.loads(out)["ok"] is True
    code, out, _ = run(url, "stock", "--summary", "--json")
    central = next(s for s in json.loads(out) if s["site_code"] == "CENTRAL")
    assert central["units"] == 100


def test_refused_post_exits_non_zero_with_the_stable_code(db: tuple[str, Network]) -> None:
    url, net = db
    item = net.item()
    code, _, err = run(
        url, "dispense", "--site", "CENTRAL", "--location", "MAIN", item.sku, "5", "--json"
    )
    assert code == 5
    assert json.loads(err)["error"]["code"] == "INSUFFICIENT_STOCK"
    code, _, err = run(url, "dispense", "--site", "CENTRAL", "--location", "NOWHERE", item.sku, "5")
    assert code == 4
    assert "LOCATION_NOT_FOUND" in err
    code, _, err = run(
        url,
        "receive",
        "--site",
        "CENTRAL",
        "--location",
        "MAIN",
        item.sku,
        "0",
        "--lot",
        "X",
        "--expiry",
        "2030-01-01",
    )
    assert code == 3
    assert "INVALID_QUANTITY" in err


def test_transfer_adjust_return_and_reverse(db: tuple[str, Network]) -> None:
    url, net = db
    item = net.item()
    net.receive(item, 50, lot="T1")
    code, out, err = run(
        url,
        "transfer",
        "ship",
        "--site",
        "CENTRAL",
        "--from",
        "MAIN",
        "--to-site",
        "RETAIL",
        item.sku,
        "10",
        "--json",
    )
    assert code == 0, err
    shipment = json.loads(out)["id"]
    code, out, err = run(
        url,
        "transfer",
        "receive",
        str(shipment),
        "--site",
        "RETAIL",
        "--location",
        "MAIN",
        "--json",
    )
    assert code == 0, err
    code, out, err = run(
        url,
        "adjust",
        "--site",
        "CENTRAL",
        "--location",
        "MAIN",
        item.sku,
        "--lot",
        "T1",
        "--reason",
        "COUNT",
        "--counted",
        "38",
        "--json",
    )
    assert code == 0, err
    assert json.loads(out)["movements"][0]["quantity"] == 2
    code, out, err = run(
        url, "dispense", "--site", "CENTRAL", "--location", "MAIN", item.sku, "8", "--json"
    )
    dispense_id = json.loads(out)["id"]
    code, out, err = run(
        url,
        "return",
        str(dispense_id),
        "--site",
        "CENTRAL",
        "--location",
        "MAIN",
        "--item",
        item.sku,
        "--quantity",
        "3",
        "--json",
    )
    assert code == 0, err
    return_id = json.loads(out)["id"]
    # the dispense cannot be reversed while its return stands
    code, out, err = run(url, "reverse", str(dispense_id), "--json")
    assert code == 5
    assert json.loads(err)["error"]["code"] == "DOCUMENT_NOT_REVERSIBLE"
    for doc_id in (return_id, dispense_id):
        code, out, err = run(url, "reverse", str(doc_id), "--json")
        assert code == 0, err
    code, out, _ = run(url, "balance", item.sku, "--site", "CENTRAL", "--json")
    assert json.loads(out)["on_hand"] == 38
    code, out, _ = run(url, "balance", item.sku, "--site", "RETAIL", "--json")
    assert json.loads(out)["on_hand"] == 10


def test_check_exits_non_zero_and_reports_drift(db: tuple[str, Network]) -> None:
    url, net = db
    item = net.item()
    net.receive(item, 5)
    engine = create_db_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE balances SET on_hand = on_hand + 1 WHERE is_virtual = 0")
    code, _, err = run(url, "check")
    assert code == 1
    assert "stored 6, ledger says 5" in err


def test_the_installed_command_runs_in_a_fresh_process(tmp_path: Path) -> None:
    env = {**os.environ, "RXLEDGER_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}"}
    init = subprocess.run(
        [sys.executable, "-m", "rxledger", "init"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert init.returncode == 0, init.stderr
    check = subprocess.run(
        [sys.executable, "-m", "rxledger", "check"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0
    assert "Ledger sound" in check.stdout
