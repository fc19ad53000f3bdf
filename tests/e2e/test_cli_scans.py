"""``rxledger scan`` end to end, against a real SQLite file: one scan, a scanner log, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rxledger.adapters.database import create_db_engine
from rxledger.domain.clock import SystemClock
from rxledger.entrypoints.cli.app import app
from rxledger.services.catalog import PackageSpec
from rxledger.services.runtime import LedgerPolicy, Runtime
from tests.builders import Network, build_network

GS = "\x1d"
DATAMATRIX = f"]d201003000101234551728033110A-12/3.4{GS}21SN1"
KEYS = {"gtin", "ndc10", "ndc11", "lot", "expiry", "serial", "sscc", "item"}


@pytest.fixture
def db(sqlite_url: str) -> tuple[str, Network]:
    engine = create_db_engine(sqlite_url)
    net = build_network(Runtime(engine=engine, clock=SystemClock(), policy=LedgerPolicy()))
    net.item(
        "Epcistra",
        ndc10="0001-0123-45",
        packages=(PackageSpec("bottle", 500, "00300010123455"),),
    )
    return sqlite_url, net


def run(url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--database", url, "--user", "cli-tech", *args])
    return result.exit_code, result.stdout, result.stderr


def test_a_scan_prints_one_json_object(db: tuple[str, Network]) -> None:
    url, _ = db
    # when
    code, out, err = run(url, "scan", DATAMATRIX, "--json")
    # then
    assert code == 0, err
    shown = json.loads(out)
    assert shown.keys() >= KEYS
    assert shown["gtin"] == "00300010123455"
    assert (shown["ndc10"], shown["ndc11"], shown["ndc"]) == (
        "0001012345",
        "00001012345",
        "0001-0123-45",
    )
    assert (shown["lot"], shown["expiry"], shown["serial"], shown["sscc"]) == (
        "A-12/3.4",
        "2028-03-31",
        "SN1",
        None,
    )
    assert shown["item"]["name"] == "Epcistra"
    assert shown["package"]["level"] == "bottle"


def test_an_unknown_product_is_a_valid_scan_with_no_item(db: tuple[str, Network]) -> None:
    url, _ = db
    code, out, _ = run(url, "scan", "(01)05901234123457(17)281200", "--json")
    assert code == 0
    shown = json.loads(out)
    assert (shown["item"], shown["ndc10"], shown["expiry"]) == (None, None, "2028-12-31")


def test_an_invalid_scan_exits_non_zero_naming_what_is_wrong(db: tuple[str, Network]) -> None:
    url, _ = db
    # a wrong GTIN check digit
    code, out, err = run(url, "scan", "]d20100300010123456", "--json")
    assert code == 3
    assert out == ""
    problem = json.loads(err)["error"]
    assert problem["code"] == "INVALID_SCAN"
    assert "check digit" in problem["message"]
    # an impossible date, in a table
    code, _, err = run(url, "scan", "(01)00300010123455(17)271331")
    assert code == 3
    assert "INVALID_SCAN" in err
    assert "271331 is not a date" in err


def test_a_scanner_log_prints_one_object_per_line_and_fails_on_a_bad_line(
    db: tuple[str, Network], tmp_path: Path
) -> None:
    url, _ = db
    # given a day's scanner log with a blank line and a garbled scan
    log = tmp_path / "scans.log"
    log.write_text(
        f"{DATAMATRIX}\n\n]d201003000101234551799133110X\n0001-0123-45\r\n", encoding="utf-8"
    )
    # when
    code, out, _ = run(url, "scan", "--input", str(log), "--json")
    # then every scan line has its object, in order, and the run fails
    assert code == 3
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["line"] for r in rows] == [1, 3, 4]
    assert rows[0]["lot"] == "A-12/3.4"
    assert rows[1]["error"]["code"] == "INVALID_SCAN"
    assert "not a date" in rows[1]["error"]["message"]
    assert rows[2]["item"]["name"] == "Epcistra"
    assert rows[2]["ndc"] == "0001-0123-45"


def test_a_clean_scanner_log_exits_zero_and_prints_a_table(
    db: tuple[str, Network], tmp_path: Path
) -> None:
    url, _ = db
    log = tmp_path / "scans.log"
    log.write_text(f"{DATAMATRIX}\n300010123455\n", encoding="utf-8")
    code, out, err = run(url, "scan", "--input", str(log))
    assert (code, err) == (0, "")
    assert "gtin" in out  # a table, folded to the terminal's width


def test_one_scan_prints_a_table_of_what_it_says(db: tuple[str, Network]) -> None:
    url, _ = db
    code, out, _ = run(url, "scan", "^0100300010123455^10LOT7")
    assert code == 0
    assert "LOT7" in out
    assert "Epcistra" in out


def test_scan_wants_either_data_or_a_file(db: tuple[str, Network]) -> None:
    url, _ = db
    code, _, err = run(url, "scan")
    assert code == 3
    assert "VALIDATION_ERROR" in err
