"""``rxledger reconcile`` end to end, against a real SQLite file: a METRC packages export of a
dispensary is imported, compared with the ledger, settled, and a bad export is refused."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rxledger.adapters.database import create_db_engine
from rxledger.domain.clock import ManualClock
from rxledger.entrypoints.cli.app import app
from rxledger.services.runtime import LedgerPolicy, Runtime
from tests.builders import build_network
from tests.conftest import NOW
from tests.stewardship_builders import cannabis_item, metrc_tag, receive_packages


@pytest.fixture
def db(sqlite_url: str) -> str:
    """CENTRAL holds pre-roll packages 1 and 2 (one each)."""
    engine = create_db_engine(sqlite_url)
    net = build_network(Runtime(engine=engine, clock=ManualClock(NOW), policy=LedgerPolicy()))
    receive_packages(net, cannabis_item(net), [metrc_tag(1), metrc_tag(2)])
    engine.dispose()
    return sqlite_url


def run(url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--database", url, "--user", "operator", *args])
    return result.exit_code, result.stdout, result.stderr


def test_import_show_and_adjust_a_metrc_export(db: str, tmp_path: Path) -> None:
    # given METRC lists package 1, not 2, and a package 9 the ledger never had
    export = tmp_path / "active.json"
    export.write_text(
        json.dumps(
            {
                "Data": [
                    {"Label": metrc_tag(1), "Quantity": 1.0, "UnitOfMeasureName": "Each"},
                    {"Label": metrc_tag(9), "Quantity": 2.0, "UnitOfMeasureAbbreviation": "ea"},
                ]
            }
        )
    )
    # when
    code, out, err = run(
        db, "reconcile", "import", str(export), "--source", "metrc", "--site", "CENTRAL", "--json"
    )
    assert code == 0, err
    snapshot = str(json.loads(out)["snapshot_id"])
    rows_csv = tmp_path / "rows.csv"
    code, out, err = run(db, "reconcile", "show", snapshot, "--json", "--csv", str(rows_csv))
    # then
    assert code == 0, err
    shown = {r["key"]: (r["status"], r["ledger"], r["external"]) for r in json.loads(out)["rows"]}
    assert shown == {
        metrc_tag(1): ("match", 1, 1),
        metrc_tag(2): ("missing_external", 1, None),
        metrc_tag(9): ("extra_external", 0, 2),
    }
    with rows_csv.open(newline="") as handle:
        assert [r["status"] for r in csv.DictReader(handle)] == [
            "match",
            "missing_external",
            "extra_external",
        ]
    # and trusting the ledger for package 9 gives METRC's adjustment
    code, out, err = run(
        db, "reconcile", "adjust", snapshot, "--line", metrc_tag(9), "--trust", "ledger",
        "--reason", "COUNT", "--external-reason", "Entry Error", "--json",
    )  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    assert result["document"] is None
    assert [(r["Label"], r["Quantity"], r["UnitOfMeasure"], r["AdjustmentReason"])
            for r in result["metrc"]] == [(metrc_tag(9), -2.0, "Each", "Entry Error")]  # fmt: skip


def test_a_bad_export_is_refused_with_its_lines(db: str, tmp_path: Path) -> None:
    export = tmp_path / "on-hand.csv"
    export.write_text("sku,quantity\nSKU1,ten\n")
    code, _, err = run(
        db, "reconcile", "import", str(export), "--source", "csv", "--site", "CENTRAL", "--json"
    )
    assert code == 3
    refused = json.loads(err)["error"]
    assert refused["code"] == "INVALID_INPUT_FILE"
    assert refused["details"]["problems"] == [
        {"where": "line 2", "field": "quantity", "value": "ten", "reason": "is not a whole number"}
    ]
