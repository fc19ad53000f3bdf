"""Read a demand CSV (``series`` or ``item`` and ``site``, ``date``, ``quantity``) for forecasting.

A file is read whole or refused whole: every row whose date or quantity cannot be read is reported
with its line number (the header is line 1), never dropped. Dates are ISO 8601 (``YYYY-MM-DD``);
quantities are decimal numbers, not negative. An ``item``/``site`` pair names the series
``item@site``. Rows of one series and date are added up.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from rxledger.domain.errors import InvalidInputFile

MAX_REPORTED = 20


@dataclass(frozen=True)
class Problem:
    line: int
    column: str
    value: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.column} {self.value!r} {self.reason}"


def read_demand_csv(path: Path) -> pd.DataFrame:
    """The file as ``unique_id, ds, y``; ``InvalidInputFile`` lists every unreadable row."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return parse_demand_csv(handle, name=path.name)


def parse_demand_csv(
    handle: io.TextIOBase | io.TextIOWrapper, *, name: str = "input"
) -> pd.DataFrame:
    reader = csv.reader(handle)
    header = [column.strip().lower() for column in next(reader, [])]
    naming = _series_columns(header, name)
    date_at, quantity_at = header.index("date"), header.index("quantity")
    series: list[str] = []
    dates: list[date] = []
    quantities: list[float] = []
    problems: list[Problem] = []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        line = reader.line_num
        cells = row + [""] * (len(header) - len(row))
        name_of = "@".join(cells[header.index(c)].strip() for c in naming)
        parsed = _parse_row(line, name_of, cells[date_at].strip(), cells[quantity_at].strip())
        if isinstance(parsed, list):
            problems.extend(parsed)
            continue
        series.append(name_of)
        dates.append(parsed[0])
        quantities.append(parsed[1])
    if problems:
        raise _refusal(name, problems)
    if not series:
        raise InvalidInputFile(f"{name}: no demand rows", problems=[])
    return pd.DataFrame({"unique_id": series, "ds": pd.to_datetime(dates), "y": quantities})


def _series_columns(header: list[str], name: str) -> tuple[str, ...]:
    naming = ("series",) if "series" in header else ("item", "site")
    missing = [c for c in (*naming, "date", "quantity") if c not in header]
    if missing:
        raise InvalidInputFile(
            f"{name}: line 1: the header lacks {', '.join(missing)} "
            "(expected series or item and site, date, quantity)",
            problems=[{"line": 1, "column": c, "value": "", "reason": "missing"} for c in missing],
        )
    return naming


def _parse_row(
    line: int, series: str, when: str, quantity: str
) -> tuple[date, float] | list[Problem]:
    problems: list[Problem] = []
    if not series.strip("@"):
        problems.append(Problem(line, "series", series, "is empty"))
    try:
        day = date.fromisoformat(when)
    except ValueError:
        problems.append(Problem(line, "date", when, "is not a date (YYYY-MM-DD)"))
    try:
        amount = float(quantity)
    except ValueError:
        problems.append(Problem(line, "quantity", quantity, "is not a number"))
    else:
        if not math.isfinite(amount) or amount < 0:
            problems.append(Problem(line, "quantity", quantity, "is not a finite number ≥ 0"))
    return problems or (day, amount)


def _refusal(name: str, problems: list[Problem]) -> InvalidInputFile:
    shown = "; ".join(str(p) for p in problems[:MAX_REPORTED])
    more = len(problems) - MAX_REPORTED
    tail = f"; and {more} more" if more > 0 else ""
    return InvalidInputFile(
        f"{name}: {len(problems)} problem(s): {shown}{tail}",
        problems=[vars(p) for p in problems],
    )
