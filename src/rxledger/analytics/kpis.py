"""Inventory KPIs per group and calendar period, from one row per item, site and day.

``daily`` holds ``item, site, day, issued_units, issued_value, on_hand_value, stocked_out,
expired_value``; optionally ``demand_units`` (units asked for, at least the issued units when a
request was short) and ``abc`` (the item-site's class). Issues are net of reversals, values are
at cost, on-hand is at the end of the day. Other columns (``on_hand_units``, ``expired_units``)
may be present and are not used.

The rules, per group (``by``) and period (month, quarter or year, labelled by its first day):

1. ``days`` are the days of the period on which the group has rows: a period that the data
   covers only in part counts only the days it covers;
2. ``average_inventory_value`` is the mean over those days of the group's on-hand value; an
   item-site without a row on a day was not carried and adds nothing to that day;
3. ``turns`` = issued value / average inventory value × 365 / days, i.e. annualised: a 31-day
   month that issues its average inventory once reads 365 / 31 ≈ 11.8;
4. ``days_on_hand`` = average inventory value / (issued value / days);
5. ``stockout_frequency`` = stocked-out rows / rows (item-days on which the item was carried);
6. ``fill_rate`` = issued units / demand units; demand is the issued units where the
   ``demand_units`` column is absent or a row leaves it empty;
7. ``expiry_write_off_rate`` = expired value / (issued value + expired value);
8. ``inventory_value`` is the group's on-hand value on its last day in the period.

A ratio whose denominator is zero is NaN, never an error or an infinity.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from rxledger.domain.errors import ValidationFailed

Period = Literal["M", "Q", "Y"]
FloatArray = npt.NDArray[np.float64]

DAYS_PER_YEAR = 365.0
ABC_CLASSES: tuple[str, ...] = ("A", "B", "C")
GROUPABLE: tuple[str, ...] = ("item", "site", "abc")
PERIODS: tuple[str, ...] = ("M", "Q", "Y")
VALUE_COLUMNS: tuple[str, ...] = ("issued_units", "issued_value", "on_hand_value", "expired_value")
REQUIRED: tuple[str, ...] = ("item", "site", "day", "stocked_out", *VALUE_COLUMNS)
KPI_COLUMNS: tuple[str, ...] = (
    "days",
    "issued_units",
    "issued_value",
    "average_inventory_value",
    "turns",
    "days_on_hand",
    "stockout_frequency",
    "fill_rate",
    "expiry_write_off_rate",
    "inventory_value",
)
_ALL = "__all__"  # the one group key when ``by`` is empty


def inventory_kpis(
    daily: pd.DataFrame,
    *,
    by: Sequence[str] = ("site",),
    period: Period | None = "M",
) -> pd.DataFrame:
    """One row per group and period (``*by, period_start, days, issued_units, issued_value,
    average_inventory_value, turns, days_on_hand, stockout_frequency, fill_rate,
    expiry_write_off_rate, inventory_value``) by the rules in this module's docstring; without a
    ``period`` the whole frame is one period and there is no ``period_start``."""
    keys = _group_keys(daily, by)
    if period is not None and period not in PERIODS:
        raise ValidationFailed(f"period must be one of {', '.join(PERIODS)} or None", period=period)
    rows = _prepared(daily, keys)
    if period is not None:
        rows["period_start"] = rows["day"].dt.to_period(period).dt.start_time.dt.date
        keys = [*keys, "period_start"]
    group_keys = keys or [_ALL]
    if not keys:
        rows[_ALL] = 0
    totals = _totals(rows, group_keys)
    stock = _stock(rows, group_keys)
    out = totals.join(stock).reset_index()
    return _kpis(out, keys)


def value_by_abc(on_hand: pd.DataFrame) -> pd.DataFrame:
    """On-hand value and its share per ABC class (``abc, on_hand_value, share``), one row per class
    in A, B, C order, a class with nothing on hand included at zero. ``on_hand`` has one row per
    item and site (``item, site, on_hand_value, abc``); a share of a zero total is NaN."""
    _require(on_hand, ("item", "site", "on_hand_value", "abc"))
    _no_duplicates(on_hand, ["item", "site"])
    classes = on_hand["abc"]
    unknown = sorted({str(c) for c in classes[~classes.isin(ABC_CLASSES)]})
    if unknown:
        raise ValidationFailed("every item-site needs an ABC class of A, B or C", classes=unknown)
    value = _numbers(on_hand, "on_hand_value")
    totals = value.groupby(classes.to_numpy()).sum().reindex(ABC_CLASSES, fill_value=0.0)
    amounts = totals.to_numpy(dtype=np.float64)
    share = _ratio(amounts, np.full_like(amounts, amounts.sum()))
    return pd.DataFrame({"abc": list(ABC_CLASSES), "on_hand_value": amounts, "share": share})


def _group_keys(daily: pd.DataFrame, by: Sequence[str]) -> list[str]:
    keys = [by] if isinstance(by, str) else list(by)
    unknown = [key for key in keys if key not in GROUPABLE or key not in daily.columns]
    if unknown:
        raise ValidationFailed(
            f"KPIs group by {', '.join(GROUPABLE)} (abc only when the frame has it)",
            unknown=unknown,
        )
    if len(set(keys)) != len(keys):
        raise ValidationFailed("a grouping column is named twice", by=keys)
    return keys


def _prepared(daily: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The columns the KPIs use, checked: numbers without gaps, days as dates, flags as booleans,
    demand filled in from issues, one row per item, site and day."""
    _require(daily, REQUIRED)
    rows = pd.DataFrame({column: _numbers(daily, column) for column in VALUE_COLUMNS})
    issued = rows["issued_units"]
    if "demand_units" in daily.columns:
        rows["demand_units"] = _numbers(daily, "demand_units", allow_missing=True).fillna(issued)
    else:
        rows["demand_units"] = issued
    rows["stocked_out"] = _flags(daily["stocked_out"])
    rows["day"] = _days(daily["day"])
    for column in {"item", "site", *keys}:
        rows[column] = daily[column]
    _no_duplicates(rows, ["item", "site", "day"])
    return rows


def _require(frame: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValidationFailed(f"missing columns: {', '.join(missing)}", missing=missing)


def _numbers(frame: pd.DataFrame, column: str, *, allow_missing: bool = False) -> pd.Series:
    try:
        values = pd.to_numeric(frame[column], errors="raise").astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(f"{column} must hold numbers", column=column) from exc
    if not allow_missing and values.isna().any():
        raise ValidationFailed(f"{column} has empty values", column=column)
    return values


def _flags(values: pd.Series) -> pd.Series:
    if not values.isin([True, False]).all():
        raise ValidationFailed("stocked_out must hold true or false on every row")
    return values.astype(bool)


def _days(values: pd.Series) -> pd.Series:
    try:
        days = pd.to_datetime(values, errors="raise")
    except (TypeError, ValueError) as exc:
        raise ValidationFailed("day must hold dates") from exc
    if days.isna().any():
        raise ValidationFailed("day has empty values")
    return days.dt.normalize()


def _no_duplicates(frame: pd.DataFrame, columns: list[str]) -> None:
    if frame.duplicated(columns).any():
        raise ValidationFailed(f"more than one row per {', '.join(columns)}")


def _totals(rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return rows.groupby(keys, sort=True, dropna=False).agg(
        rows=("stocked_out", "size"),
        stocked_out=("stocked_out", "sum"),
        issued_units=("issued_units", "sum"),
        issued_value=("issued_value", "sum"),
        demand_units=("demand_units", "sum"),
        expired_value=("expired_value", "sum"),
    )


def _stock(rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Days, average and last on-hand value per group, from the group's total on each day."""
    per_day = (
        rows.groupby([*keys, "day"], sort=True, dropna=False)["on_hand_value"].sum().reset_index()
    )
    return per_day.groupby(keys, sort=True, dropna=False).agg(
        days=("on_hand_value", "size"),
        average_inventory_value=("on_hand_value", "mean"),
        inventory_value=("on_hand_value", "last"),
    )


def _kpis(out: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    days = out["days"].to_numpy(dtype=np.float64)
    issued = out["issued_value"].to_numpy(dtype=np.float64)
    average = out["average_inventory_value"].to_numpy(dtype=np.float64)
    expired = out["expired_value"].to_numpy(dtype=np.float64)
    out["turns"] = _ratio(issued * DAYS_PER_YEAR, average * days)
    out["days_on_hand"] = _ratio(average * days, issued)
    out["stockout_frequency"] = _ratio(_floats(out["stocked_out"]), _floats(out["rows"]))
    out["fill_rate"] = _ratio(_floats(out["issued_units"]), _floats(out["demand_units"]))
    out["expiry_write_off_rate"] = _ratio(expired, issued + expired)
    out["days"] = out["days"].astype(np.int64)
    return out[[*keys, *KPI_COLUMNS]].reset_index(drop=True)


def _floats(values: pd.Series) -> FloatArray:
    floats: FloatArray = values.to_numpy(dtype=np.float64)
    return floats


def _ratio(numerator: Any, denominator: Any) -> FloatArray:
    """``numerator / denominator`` element-wise, NaN where the denominator is zero."""
    top = np.asarray(numerator, dtype=np.float64)
    bottom = np.asarray(denominator, dtype=np.float64)
    return np.divide(top, bottom, out=np.full_like(top, np.nan), where=bottom != 0)
