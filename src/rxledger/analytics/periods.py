"""Demand history as regular periods: a row per series and period, zero where nothing was recorded.

A series' periods are counted from its own first date in steps of one day (``D``) or seven days
(``W``), so weekly labels keep the weekday the input used. Every series runs to the latest date in
the whole input: a period without a row had no demand, which is what lets a fading or discontinued
item show its trailing zeros even when an export leaves zero rows out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

Freq = Literal["D", "W"]
STEP_DAYS: dict[str, int] = {"D": 1, "W": 7}

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class PeriodGrid:
    """Series ``0..k-1`` (``names[code]``) laid end to end, each ``lengths[code]`` periods long."""

    names: npt.NDArray[np.object_]
    first_day: IntArray  # days since 1970-01-01 of each series' first period label
    step_days: int
    lengths: IntArray
    code: IntArray  # per row: the series
    period: IntArray  # per row: 0 .. length-1
    y: FloatArray
    out_of_stock: BoolArray

    @property
    def offsets(self) -> IntArray:
        """Row index of each series' first period."""
        k = len(self.lengths)
        return np.concatenate(([0], np.cumsum(self.lengths)))[:k].astype(np.int64)

    def labels(self, code: IntArray, period: IntArray) -> npt.NDArray[np.datetime64]:
        """The date that labels ``period`` of series ``code`` (also past the end, for forecasts)."""
        days = self.first_day[code] + period * self.step_days
        return days.astype("datetime64[D]")

    def frame(self) -> pd.DataFrame:
        """``unique_id`` (the series code), ``ds`` (the period number) and ``y``: statsforecast's
        long format, with integer time so no calendar frequency is involved."""
        return pd.DataFrame({"unique_id": self.code, "ds": self.period, "y": self.y})


def regular_periods(history: pd.DataFrame, freq: Freq) -> PeriodGrid:
    """Sum ``history`` (``unique_id``, ``ds``, ``y`` and optionally ``out_of_stock``) into regular
    periods; a period is out of stock when any of its rows says so."""
    step = STEP_DAYS[freq]
    codes, names = pd.factorize(history["unique_id"].astype(str), sort=True)
    day = pd.to_datetime(history["ds"]).to_numpy().astype("datetime64[D]").astype(np.int64)
    k = len(names)
    first = np.full(k, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, codes, day)
    lengths = (int(day.max()) - first) // step + 1 if k else np.zeros(0, np.int64)
    offsets = np.concatenate(([0], np.cumsum(lengths)))[:k].astype(np.int64)
    total = int(lengths.sum())
    position = offsets[codes] + (day - first[codes]) // step
    weights = history["y"].to_numpy(dtype=np.float64)
    y = np.bincount(position, weights=weights, minlength=total).astype(np.float64)
    out_of_stock = np.zeros(total, dtype=np.bool_)
    if "out_of_stock" in history.columns:
        flagged = history["out_of_stock"].to_numpy(dtype=np.bool_)
        out_of_stock[position[flagged]] = True
    code = np.repeat(np.arange(k, dtype=np.int64), lengths)
    period = np.arange(total, dtype=np.int64) - np.repeat(offsets, lengths)
    return PeriodGrid(
        names=np.asarray(names, dtype=object),
        first_day=first,
        step_days=step,
        lengths=lengths.astype(np.int64),
        code=code,
        period=period,
        y=y,
        out_of_stock=out_of_stock,
    )


def per_series_sum(
    grid: PeriodGrid, values: FloatArray, where: BoolArray | None = None
) -> FloatArray:
    """The sum of ``values`` over each series' rows (only rows where ``where`` holds)."""
    weights = values if where is None else np.where(where, values, 0.0)
    return np.bincount(grid.code, weights=weights, minlength=len(grid.lengths)).astype(np.float64)
