"""``rxledger reconcile`` end to end, against a real SQLite file: a METRC packages export of a
dispensary is imported, compared with the ledger, settled, and a bad export is refused."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from rxledger.adapters import tables_control as tc
from rxledger.adapters.database import create_db_engine
from rxledger.domain.clock import ManualClock
from rxledger.domain.permissions import Grant, Role
from rxledger.entrypoints.cli.app import app
from rxledger.entrypoints.cli.controlled import WITNESS_PASSWORD_ENV
from rxledger.services import identity
from rxledger.services.runtime import LedgerPolicy, Runtime
from tests.builders import build_network
from tests.conftest import NOW
from tests.e2e.api_support import PASSWORD, use_fast_password_hashing
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


def test_adjust_takes_a_witness_and_reports_a_held_settlement(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given two pharmacists, 100 oxycodone (CII) and 4,000 amoxicillin capsules at CENTRAL
    use_fast_password_hashing(monkeypatch)
    monkeypatch.delenv(WITNESS_PASSWORD_ENV, raising=False)
    engine = create_db_engine(sqlite_url)
    net = build_network(Runtime(engine=engine, clock=ManualClock(NOW), policy=LedgerPolicy()))
    for name in ("phil", "carol"):
        identity.create_user(
            net.rt, net.actor, username=name, full_name=name, password=PASSWORD,
            grants=[Grant(Role.PHARMACIST, net.central.id)],
        )  # fmt: skip
    oxy, amoxicillin = net.controlled(), net.item()
    net.receive(oxy, 100)
    net.receive(amoxicillin, 4000)
    engine.dispose()
    export = tmp_path / "onhand.csv"
    export.write_text(f"sku,quantity\n{oxy.sku},98\n{amoxicillin.sku},1000\n")

    def as_phil(*args: str, password: str | None = None) -> tuple[int, str, str]:
        result = CliRunner().invoke(
            app, ["--database", sqlite_url, "--user", "phil", *args], input=password
        )
        return result.exit_code, result.stdout, result.stderr

    code, out, err = as_phil(
        "reconcile", "import", str(export), "--source", "csv", "--site", "CENTRAL", "--json"
    )
    assert code == 0, err
    snapshot = str(json.loads(out)["snapshot_id"])
    settle_oxy = ("reconcile", "adjust", snapshot, "--line", oxy.sku, "--reason", "COUNT")
    # when the CII row is settled without a witness, or with a wrong password: refused
    code, _, err = as_phil(*settle_oxy, "--json")
    assert (code, "WITNESS_REQUIRED" in err) == (3, True)
    code, _, err = as_phil(*settle_oxy, "--witness", "carol", "--json", password="guess\n")
    assert (code, "WITNESS_CREDENTIALS_INVALID" in err) == (6, True)
    # when carol types her password at the prompt: posted, witnessed
    code, out, err = as_phil(*settle_oxy, "--witness", "carol", "--json", password=f"{PASSWORD}\n")
    assert code == 0, err
    posted = json.loads(out[out.index("{") :])
    assert posted["held"] is False
    engine = create_db_engine(sqlite_url)
    with engine.connect() as conn:
        witnessed = conn.execute(
            select(tc.document_witnesses.c.document_id, tc.document_witnesses.c.witness)
        ).all()
    engine.dispose()
    assert [tuple(r) for r in witnessed] == [(posted["document"]["id"], "carol")]
    # when the amoxicillin row (3,000 at 0.125 = 375.00) is settled: held for approval
    code, out, err = as_phil(
        "reconcile", "adjust", snapshot, "--line", amoxicillin.sku, "--reason", "COUNT"
    )
    assert code == 0, err
    assert "held for approval" in out
    assert "nothing to send until the adjustment is approved" in out
    code, out, err = as_phil("reconcile", "show", snapshot, "--json")
    rows = {r["key"]: (r["status"], r["approval_id"]) for r in json.loads(out)["rows"]}
    assert rows[oxy.sku] == ("match", None)
    assert rows[amoxicillin.sku][0] == "mismatch"
    assert rows[amoxicillin.sku][1] is not None
