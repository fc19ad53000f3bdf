"""``rxledger simulate`` end to end on CSV files: JSON figures, tables, bad rows named."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rxledger.analytics.simulation import SERIES_COLUMNS
from rxledger.entrypoints.cli.app import app

DAYS = 150  # 91 warm-up days, 59 scored


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def write_constant(path: Path) -> None:
    """AMOX500@MAIN: 2 units every day; INSULIN@MAIN: 7 units every Monday (other days no row)."""
    start = date(2024, 1, 1)  # a Monday
    lines = ["item,site,date,quantity"]
    for d in range(DAYS):
        day = start + timedelta(days=d)
        lines.append(f"AMOX500,MAIN,{day},2")
        if d % 7 == 0:
            lines.append(f"INSULIN,MAIN,{day},7")
    path.write_text("\n".join(lines) + "\n")


def simulate(source: Path, *extra: str) -> tuple[int, str, str]:
    return run(
        "simulate",
        "--input",
        str(source),
        "--lead-time-days",
        "2",
        "--review-days",
        "1",
        "--service-level",
        "0.95",
        *extra,
    )


def test_json_output_has_the_settings_totals_and_every_series(tmp_path: Path) -> None:
    # given
    source = tmp_path / "demand.csv"
    write_constant(source)
    # when
    code, out, err = simulate(source, "--policy", "rxledger", "--json")
    # then
    assert code == 0, err
    report = json.loads(out)
    assert set(report) == {"policy", "settings", "totals", "series"}
    assert report["policy"] == "rxledger"
    assert report["settings"] == {
        "lead_time_days": 2,
        "review_days": 1,
        "service_level": 0.95,
        "shelf_life_days": None,
        "warmup_days": 91,
    }
    series = {row["unique_id"]: row for row in report["series"]}
    assert list(series) == ["AMOX500@MAIN", "INSULIN@MAIN"]
    assert all(list(row) == list(SERIES_COLUMNS) for row in report["series"])
    # two a day with L = 2, R = 1: S = 10 (Poisson(6) at 0.95); the stock ends the first scored
    # days at 8, 6 and then 4 every day, with an order of 2 every day but the first
    amox = series["AMOX500@MAIN"]
    assert amox["demand"] == 2 * (DAYS - 91)
    assert (amox["lost"], amox["fill_rate"], amox["stockout_days"]) == (0, 1.0, 0)
    assert (amox["orders"], amox["units_ordered"]) == (DAYS - 92, 2 * (DAYS - 92))
    assert amox["avg_on_hand_units"] == pytest.approx((8 + 6 + 4 * (DAYS - 93)) / (DAYS - 91))
    assert amox["cycles"] == amox["cycles_without_stockout"] == DAYS - 91 - 2
    assert amox["avg_on_hand_value"] is None  # no unit cost
    insulin = series["INSULIN@MAIN"]
    assert insulin["demand"] == 7 * sum(1 for d in range(91, DAYS) if d % 7 == 0)
    totals = report["totals"]
    assert totals["series"] == 2
    assert totals["demand"] == amox["demand"] + insulin["demand"]
    assert totals["fill_rate"] == pytest.approx(
        (amox["served"] + insulin["served"]) / totals["demand"]
    )
    assert totals["units_expired"] == 0


def test_a_short_shelf_life_shows_in_the_json(tmp_path: Path) -> None:
    source = tmp_path / "demand.csv"
    write_constant(source)
    code, out, err = simulate(
        source, "--policy", "amc", "--shelf-life-days", "10", "--warmup-days", "30", "--json"
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["settings"]["shelf_life_days"] == 10
    assert report["settings"]["warmup_days"] == 30
    # amc keeps two months on hand: most of it outlives a 10-day shelf life
    assert report["totals"]["units_expired"] > 0
    assert report["series"][0]["demand"] == 2 * (DAYS - 30)


def test_tables_show_the_totals_and_the_series(tmp_path: Path) -> None:
    source = tmp_path / "demand.csv"
    write_constant(source)
    code, out, err = simulate(source, "--policy", "avg365")
    assert code == 0, err
    assert "Policy avg365" in out
    assert "fill rate" in out
    assert "AMOX500@MAIN" in out
    assert "First 2 of 2 series" in out


def test_bad_rows_are_reported_with_their_line_numbers(tmp_path: Path) -> None:
    # given
    source = tmp_path / "demand.csv"
    source.write_text("series,date,quantity\na,2024-01-01,1\na,2024-01-02,-3\na,2024-13-01,1\n")
    # when
    code, out, err = simulate(source, "--policy", "rxledger", "--json")
    # then
    assert code == 3
    assert out == ""
    error = json.loads(err)["error"]
    assert error["code"] == "INVALID_INPUT_FILE"
    assert "line 3: quantity '-3'" in error["message"]
    assert "line 4: date '2024-13-01'" in error["message"]


def test_bad_settings_are_refused(tmp_path: Path) -> None:
    source = tmp_path / "demand.csv"
    write_constant(source)
    code, _, err = run(
        "simulate", "-i", str(source), "--policy", "amc", "--lead-time-days", "1",
        "--review-days", "0",
    )  # fmt: skip
    assert code == 3
    assert "VALIDATION_ERROR" in err
    assert "review period" in err
    code, _, err = simulate(source, "--policy", "rxledger", "--warmup-days", "200")
    assert code == 3
    assert "fewer than warm-up + 1" in err
