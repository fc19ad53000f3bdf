"""``rxledger forecast`` end to end on CSV files: no database, dates continued, bad rows named."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from rxledger.entrypoints.cli.app import app

COLUMNS = ["series", "date", "forecast", "q0.5", "q0.9", "q0.95", "model"]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def write_weekly(path: Path, start: date, weeks: int) -> None:
    rng = np.random.default_rng(1)
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["item", "site", "date", "quantity"])
        for week in range(weeks):
            day = (start + timedelta(weeks=week)).isoformat()
            out.writerow(["AMOX500", "MAIN", day, rng.poisson(12)])
            if week % 3 == 0:
                out.writerow(["INSULIN", "MAIN", day, f"{rng.poisson(2) + 0.5:.1f}"])


def test_forecast_writes_one_row_per_series_and_week_on_the_inputs_weekday(
    tmp_path: Path,
) -> None:
    # given 60 weeks of demand dated on Thursdays
    source, target = tmp_path / "demand.csv", tmp_path / "forecast.csv"
    start = date(2024, 1, 4)
    write_weekly(source, start, 60)
    # when
    code, _, err = run(
        "forecast", "--input", str(source), "--freq", "W", "--horizon", "5", "--output", str(target)
    )
    # then
    assert code == 0, err
    with target.open() as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == COLUMNS
    assert [r["series"] for r in rows] == ["AMOX500@MAIN"] * 5 + ["INSULIN@MAIN"] * 5
    last = start + timedelta(weeks=59)
    assert [r["date"] for r in rows[:5]] == [
        (last + timedelta(weeks=k)).isoformat() for k in range(1, 6)
    ]
    assert {date.fromisoformat(r["date"]).weekday() for r in rows} == {3}
    for r in rows:
        assert float(r["q0.5"]) <= float(r["q0.9"]) <= float(r["q0.95"])
        assert r["model"]


def test_daily_forecast_continues_the_days(tmp_path: Path) -> None:
    source, target = tmp_path / "demand.csv", tmp_path / "forecast.csv"
    lines = ["series,date,quantity"] + [
        f"ward-4,{date(2024, 3, 1) + timedelta(days=d)},{d % 7}" for d in range(70)
    ]
    source.write_text("\n".join(lines) + "\n")
    code, _, err = run(
        "forecast", "-i", str(source), "--freq", "D", "--horizon", "3", "-o", str(target)
    )
    assert code == 0, err
    with target.open() as handle:
        dates = [row["date"] for row in csv.DictReader(handle)]
    assert dates == ["2024-05-10", "2024-05-11", "2024-05-12"]


def test_bad_rows_are_reported_with_their_line_numbers(tmp_path: Path) -> None:
    # given
    source, target = tmp_path / "demand.csv", tmp_path / "forecast.csv"
    source.write_text("series,date,quantity\na,2024-01-01,1\na,01/02/2024,2\na,2024-01-03,two\n")
    # when
    code, _, err = run(
        "forecast", "-i", str(source), "--freq", "D", "--horizon", "2", "-o", str(target)
    )
    # then
    assert code == 3
    assert "INVALID_INPUT_FILE" in err
    assert "line 3: date '01/02/2024'" in err
    assert "line 4: quantity 'two'" in err
    assert not target.exists()


def test_a_file_without_the_columns_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "demand.csv"
    source.write_text("sku,when,qty\na,2024-01-01,1\n")
    code, _, err = run(
        "forecast", "-i", str(source), "--freq", "W", "--horizon", "2", "-o", str(tmp_path / "o")
    )
    assert code == 3
    assert "INVALID_INPUT_FILE" in err
    assert "line 1" in err
