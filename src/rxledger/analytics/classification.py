"""ABC, XYZ and Syntetos–Boylan classes per demand series.

The rules:

- **Periods.** History is summed into regular periods (``periods.regular_periods``). Every period
  counts towards a series' demand and consumption value. Out-of-stock periods did not show their
  demand, so they are left out of the XYZ and Syntetos–Boylan statistics: those are computed over
  the *considered* periods, the in-stock ones.
- **ABC** (consumption value = total demand × unit cost; a series without a cost counts 0; with no
  costs at all, ``unit_cost=None``, every unit counts 1, so the classes rank units). Series are
  ranked by consumption value, highest first, ties by ``unique_id``. A series is A while the
  cumulative share of the series ranked *before* it is below the A cut, so the series whose own
  value carries the cumulative share across 80 % is still A; B while that before-share is below
  the B cut; C otherwise. A series without positive consumption value is always C, and shares are
  taken of the positive values only.
- **XYZ** by the coefficient of variation of the considered periods' demand, zeros included
  (population standard deviation / mean): X up to the first cut, Y up to the second, Z above. A
  series whose mean is not positive (no demand, or no considered period) is Z.
- **Demand class** (Syntetos, Boylan and Croston 2005, "On the categorization of demand
  patterns", JORS 56): ADI = considered periods / considered periods with demand (``y > 0``), CV² =
  squared coefficient of variation of those non-zero demand sizes (population variance). ADI at or
  above its cut is intermittent, CV² at or above its cut is variable: smooth (neither), erratic
  (variable), intermittent (intermittent) or lumpy (both). A series with no demand in a considered
  period is ``none``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from rxledger.analytics.periods import FloatArray, Freq, PeriodGrid, per_series_sum, regular_periods
from rxledger.domain.errors import ValidationFailed

ObjectArray = npt.NDArray[np.object_]

COLUMNS: tuple[str, ...] = (
    "unique_id",
    "periods",
    "demand",
    "consumption_value",
    "value_share",
    "cumulative_share",
    "abc",
    "mean",
    "std",
    "cv",
    "xyz",
    "adi",
    "cv2",
    "demand_class",
)


@dataclass(frozen=True)
class ClassificationSettings:
    abc_cuts: tuple[float, float] = (0.80, 0.95)  # cumulative share of consumption value
    xyz_cuts: tuple[float, float] = (0.5, 1.0)  # coefficient of variation of period demand
    adi_cut: float = 1.32  # Syntetos, Boylan and Croston (2005)
    cv2_cut: float = 0.49

    def __post_init__(self) -> None:
        _check_cuts("abc_cuts", self.abc_cuts, low=0.0, high=1.0, low_open=True)
        _check_cuts("xyz_cuts", self.xyz_cuts, low=0.0, high=math.inf, low_open=False)
        if not (math.isfinite(self.adi_cut) and self.adi_cut > 0):
            raise ValidationFailed("adi_cut must be a positive number", adi_cut=self.adi_cut)
        if not (math.isfinite(self.cv2_cut) and self.cv2_cut >= 0):
            raise ValidationFailed("cv2_cut must be a non-negative number", cv2_cut=self.cv2_cut)


def _check_cuts(
    name: str, cuts: tuple[float, ...], *, low: float, high: float, low_open: bool
) -> None:
    """Two finite cuts, strictly increasing, within ``(low, high]`` (``[low, high]`` if closed)."""
    values = tuple(cuts)
    if len(values) != 2 or not all(math.isfinite(v) for v in values):
        raise ValidationFailed(f"{name} must be two finite numbers", **{name: cuts})
    above_low = values[0] > low if low_open else values[0] >= low
    if not (above_low and values[0] < values[1] <= high):
        bounds = f"{'(' if low_open else '['}{low:g}, {high:g}]"
        raise ValidationFailed(f"{name} must increase strictly and lie in {bounds}", **{name: cuts})


def syntetos_boylan(
    adi: npt.ArrayLike, cv2: npt.ArrayLike, adi_cut: float = 1.32, cv2_cut: float = 0.49
) -> ObjectArray:
    """Smooth, erratic, intermittent or lumpy per element: ``adi >= adi_cut`` is intermittent,
    ``cv2 >= cv2_cut`` is variable (a value at the cut takes the higher class). NaN compares as
    below both cuts."""
    adi_values = np.asarray(adi, dtype=np.float64)
    cv2_values = np.asarray(cv2, dtype=np.float64)
    intermittent = adi_values >= adi_cut
    variable = cv2_values >= cv2_cut
    classes: ObjectArray = np.select(
        [intermittent & variable, intermittent, variable],
        np.array(["lumpy", "intermittent", "erratic"], dtype=object),
        default="smooth",
    ).astype(object)
    return classes


def classify(
    history: pd.DataFrame,
    unit_cost: Mapping[str, float] | pd.Series | None,
    *,
    freq: Freq,
    settings: ClassificationSettings | None = None,
) -> pd.DataFrame:
    """One row per series of ``history`` (``unique_id, ds, y``, optional bool ``out_of_stock``),
    sorted by ``unique_id``, with the columns in ``COLUMNS``, by the rules in the module docstring.
    ``unit_cost`` maps ``unique_id`` to the cost of one unit."""
    cfg = settings or ClassificationSettings()
    missing = {"unique_id", "ds", "y"} - set(history.columns)
    if missing:
        raise ValidationFailed("history lacks columns", missing=sorted(missing))
    if history.empty:
        return pd.DataFrame(columns=list(COLUMNS))
    grid = regular_periods(history, freq)
    demand = per_series_sum(grid, grid.y)
    value = demand * _costs(grid.names, unit_cost)
    share, cumulative, abc = _abc_classes(value, cfg.abc_cuts)
    stats = _Considered.of(grid)
    xyz = _xyz_classes(stats.mean, stats.cv, cfg.xyz_cuts)
    classes = syntetos_boylan(stats.adi, stats.cv2, cfg.adi_cut, cfg.cv2_cut)
    classes[stats.demand_periods == 0] = "none"
    return pd.DataFrame(
        {
            "unique_id": grid.names,
            "periods": grid.lengths,
            "demand": demand,
            "consumption_value": value,
            "value_share": share,
            "cumulative_share": cumulative,
            "abc": abc,
            "mean": stats.mean,
            "std": stats.std,
            "cv": stats.cv,
            "xyz": xyz,
            "adi": stats.adi,
            "cv2": stats.cv2,
            "demand_class": classes,
        },
        columns=list(COLUMNS),
    )


def _abc_classes(
    value: FloatArray, cuts: tuple[float, float] = (0.80, 0.95)
) -> tuple[FloatArray, FloatArray, ObjectArray]:
    """Value share, cumulative share (through the series itself, in rank order) and A/B/C per
    series, ``value`` being in ``unique_id`` order (which breaks ties in the ranking)."""
    positive = np.maximum(np.nan_to_num(value), 0.0)
    order = np.argsort(-positive, kind="stable")
    running = np.cumsum(positive[order])
    total = float(running[-1]) if len(running) else 0.0
    before = np.empty_like(positive)
    before[order] = np.concatenate(([0.0], running))[:-1]
    through = np.empty_like(positive)
    through[order] = running
    # compare values, not shares, so that an exact tie with a cut is not lost to rounding
    abc = np.select(
        [before < cuts[0] * total, before < cuts[1] * total],
        np.array(["A", "B"], dtype=object),
        default="C",
    ).astype(object)
    abc[positive <= 0] = "C"
    scale = 1.0 / total if total > 0 else 0.0
    return positive * scale, through * scale, abc


def _xyz_classes(
    mean: FloatArray, cv: FloatArray, cuts: tuple[float, float] = (0.5, 1.0)
) -> ObjectArray:
    """X when ``cv <= cuts[0]``, Y when ``cv <= cuts[1]``, otherwise (or mean not positive) Z."""
    usable = np.nan_to_num(mean) > 0
    xyz: ObjectArray = np.select(
        [usable & (cv <= cuts[0]), usable & (cv <= cuts[1])],
        np.array(["X", "Y"], dtype=object),
        default="Z",
    ).astype(object)
    return xyz


def _costs(names: ObjectArray, unit_cost: Mapping[str, float] | pd.Series | None) -> FloatArray:
    if unit_cost is None:
        return np.ones(len(names))
    table = pd.Series(unit_cost, dtype=np.float64)
    table.index = table.index.astype(str)
    if (table < 0).any():
        raise ValidationFailed("a unit cost cannot be negative", items=list(table.index[table < 0]))
    if table.index.has_duplicates:
        raise ValidationFailed("a series has more than one unit cost")
    raw = table.reindex(pd.Index(names.astype(str))).to_numpy(dtype=np.float64)
    costs: FloatArray = np.where(np.isnan(raw), 0.0, raw)
    return costs


@dataclass(frozen=True)
class _Considered:
    """Per series, over its in-stock periods: the demand's mean, std and CV, and ADI, CV² and
    count of the non-zero demands."""

    mean: FloatArray
    std: FloatArray
    cv: FloatArray
    adi: FloatArray
    cv2: FloatArray
    demand_periods: FloatArray

    @classmethod
    def of(cls, grid: PeriodGrid) -> _Considered:
        considered = ~grid.out_of_stock
        n = per_series_sum(grid, considered.astype(np.float64))
        mean = _ratio(per_series_sum(grid, grid.y, considered), n)
        centred = (grid.y - mean[grid.code]) ** 2
        std = np.sqrt(_ratio(per_series_sum(grid, centred, considered), n))
        demand = considered & (grid.y > 0)
        hits = per_series_sum(grid, demand.astype(np.float64))
        size = _ratio(per_series_sum(grid, grid.y, demand), hits)
        size_var = _ratio(per_series_sum(grid, (grid.y - size[grid.code]) ** 2, demand), hits)
        return cls(
            mean=mean,
            std=std,
            cv=np.where(mean > 0, _ratio(std, mean), np.nan),
            adi=np.where(n > 0, _ratio(n, hits, empty=np.inf), np.nan),
            cv2=_ratio(size_var, size**2),
            demand_periods=hits,
        )


def _ratio(num: FloatArray, den: FloatArray, empty: float = np.nan) -> FloatArray:
    """``num / den`` elementwise, ``empty`` where ``den`` is zero."""
    result: FloatArray = np.divide(num, den, out=np.full_like(num, empty), where=den != 0)
    return result
