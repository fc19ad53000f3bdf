"""Replay a daily demand history under an inventory policy, every series in lockstep.

The rules of the replay:

1. A series' days are counted from its own first date (``periods.regular_periods``: a day without a
   row had no demand). Decimal demand is rounded half up to whole units; stock is whole units.
2. The first ``warmup_days`` (W) only teach demand and are not scored. Day W starts with one fresh
   lot on hand equal to the policy's own order-up-to level that day, and nothing on order, so every
   policy starts fair.
3. Each scored day ``t``, in this order: the order placed on day ``t − L`` arrives as a lot; lots
   that reach their expiry are written off; on a review day (W, W + R, W + 2R, …) the policy
   decides, seeing the demand of days before ``t`` only (it is handed nothing later); an order
   placed on day ``t`` is usable on day ``t + L`` (the same day when L = 0); then the day's demand
   is issued first-expiry-first-out, and what the stock cannot cover is lost (no backorders).
4. A lot received on day ``a`` with ``shelf_life_days`` E may be issued on days ``a … a + E − 1``;
   what is left of it at the start of day ``a + E`` is written off and counted as expired. Without
   a shelf life nothing expires. Every order has the same shelf life, so expiry order is arrival
   order and the lots are one FIFO shared by all series.

Measures, per series over its scored days ``W … n − 1``:

- ``fill_rate`` = served / demand (NaN without demand); a stock-out day is a day with lost demand;
- the **cycle** of review day ``r`` is days ``r + L … r + L + R − 1``: from the arrival of the order
  placed on ``r`` to the day before the next order can arrive; a cycle is counted when it lies
  within the scored days, and ``cycles_without_stockout`` counts those without a stock-out day.
  After ordering on day ``r`` the inventory position is at least S and nothing ordered later
  arrives before day ``r + L + R``, so a stock-out in the cycle needs the demand of days
  ``r … r + L + R − 1`` to exceed S: the share of cycles without stock-out is at least
  P(demand over L + R days ≤ S), the probability ``rxledger``'s S is set to reach (lost sales and
  whole-unit quantiles only raise it; expiry can lower it);
- ``avg_on_hand_units`` is the mean end-of-day stock, ``avg_on_hand_value`` that times the unit
  cost (NaN without one); ``orders`` counts orders of at least one unit.

The policies (each decides for all series at once from trailing sums of the past demand):

- ``rxledger``: every R days, order up to S, the ``service_level`` quantile of demand over L + R
  days: the trailing ``window_days`` daily mean and variance, times L + R, as a Poisson or negative
  binomial (``forecast_quantiles.demand_quantiles``); the order is S less the inventory position
  (on hand + on order), rounded up to ``order_multiple``;
- ``avg365``: order up to ``cover_days`` × the trailing 365-day average daily demand (fewer days at
  the start) less the inventory position, as many stock systems do: exactly N days of cover, with
  no allowance for the lead time or for variability;
- ``amc``: order the average monthly consumption (trailing 3 months of ``month_days`` = 30.44 days)
  × ``target_months`` less the stock **on hand**: like the systems it stands for, it ignores what is
  already on order, so with a lead time longer than the review period it orders again for the same
  shortfall.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from rxledger.analytics.forecast_quantiles import FloatArray, demand_quantiles
from rxledger.analytics.periods import regular_periods
from rxledger.domain.errors import ValidationFailed

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

NEVER = np.iinfo(np.int64).max
FLOAT_NOISE = 1e-9  # a shortfall within this of a whole number counts as that number

SERIES_COLUMNS = (
    "unique_id",
    "policy",
    "demand",
    "served",
    "lost",
    "fill_rate",
    "stockout_days",
    "cycles",
    "cycles_without_stockout",
    "avg_on_hand_units",
    "avg_on_hand_value",
    "orders",
    "units_ordered",
    "units_expired",
)


@dataclass(frozen=True)
class SimulationSettings:
    lead_time_days: int
    review_days: int
    service_level: float = 0.95
    shelf_life_days: int | None = None
    warmup_days: int = 91

    def __post_init__(self) -> None:
        if self.lead_time_days < 0:
            raise ValidationFailed("the lead time must be 0 days or more")
        if self.review_days < 1:
            raise ValidationFailed("the review period must be at least 1 day")
        if not 0 < self.service_level < 1:
            raise ValidationFailed("the service level must lie strictly between 0 and 1")
        if self.shelf_life_days is not None and self.shelf_life_days < 1:
            raise ValidationFailed("a shelf life must be at least 1 day")
        if self.warmup_days < 1:
            raise ValidationFailed("the warm-up must be at least 1 day (policies learn from it)")


@dataclass(frozen=True)
class PastDemand:
    """Cumulative daily demand of every series up to, not including, the decision day: column
    ``d`` of ``total`` (``squares``) is the sum of demand (demand²) over days before ``d``, and the
    last column is the decision day's. Nothing later is in these arrays."""

    total: FloatArray
    squares: FloatArray

    @property
    def days(self) -> int:
        return int(self.total.shape[1]) - 1

    def window(self, days: int) -> tuple[FloatArray, FloatArray]:
        """The daily mean and (unbiased) variance of the last ``days`` days, fewer at the start."""
        start = max(0, self.days - days)
        n = self.days - start
        if n == 0:
            zero = np.zeros(self.total.shape[0])
            return zero, zero
        total = self.total[:, -1] - self.total[:, start]
        squares = self.squares[:, -1] - self.squares[:, start]
        mean = total / n
        variance = (squares - n * mean * mean) / (n - 1) if n > 1 else np.zeros_like(mean)
        return mean, np.maximum(variance, 0.0)


def _at_least_one(**values: int) -> None:
    for name, value in values.items():
        if value < 1:
            raise ValidationFailed(f"{name} must be at least 1")


class Policy(Protocol):
    """A decision rule: the level to start from, and the order of every series on a review day."""

    @property
    def name(self) -> str: ...

    def level(self, past: PastDemand, run: SimulationSettings) -> FloatArray: ...

    def order(
        self, past: PastDemand, run: SimulationSettings, on_hand: IntArray, on_order: IntArray
    ) -> IntArray: ...


@dataclass(frozen=True)
class RxLedgerPolicy:
    window_days: int = 182
    order_multiple: int = 1
    name: ClassVar[str] = "rxledger"

    def __post_init__(self) -> None:
        _at_least_one(window_days=self.window_days, order_multiple=self.order_multiple)

    def level(self, past: PastDemand, run: SimulationSettings) -> FloatArray:
        mean, variance = past.window(self.window_days)
        days = run.lead_time_days + run.review_days
        discrete = np.ones(len(mean), dtype=np.bool_)
        level = run.service_level
        return demand_quantiles(mean * days, variance * days, discrete, (level,))[level]

    def order(
        self, past: PastDemand, run: SimulationSettings, on_hand: IntArray, on_order: IntArray
    ) -> IntArray:
        return round_up(self.level(past, run) - on_hand - on_order, self.order_multiple)


@dataclass(frozen=True)
class Avg365Policy:
    cover_days: float = 30
    window_days: int = 365
    name: ClassVar[str] = "avg365"

    def __post_init__(self) -> None:
        _at_least_one(window_days=self.window_days)

    def level(self, past: PastDemand, run: SimulationSettings) -> FloatArray:
        mean, _ = past.window(self.window_days)
        return mean * self.cover_days

    def order(
        self, past: PastDemand, run: SimulationSettings, on_hand: IntArray, on_order: IntArray
    ) -> IntArray:
        return round_up(self.level(past, run) - on_hand - on_order)


@dataclass(frozen=True)
class AmcPolicy:
    target_months: float = 2
    window_months: int = 3
    month_days: float = 30.44
    name: ClassVar[str] = "amc"

    def __post_init__(self) -> None:
        _at_least_one(window_days=round(self.window_months * self.month_days))

    def level(self, past: PastDemand, run: SimulationSettings) -> FloatArray:
        mean, _ = past.window(round(self.window_months * self.month_days))
        return mean * self.month_days * self.target_months

    def order(
        self, past: PastDemand, run: SimulationSettings, on_hand: IntArray, on_order: IntArray
    ) -> IntArray:
        return round_up(self.level(past, run) - on_hand)  # on order is ignored, by design


POLICIES: dict[str, Policy] = {
    "rxledger": RxLedgerPolicy(),
    "avg365": Avg365Policy(),
    "amc": AmcPolicy(),
}


def round_up(shortfall: FloatArray, multiple: int = 1) -> IntArray:
    """A positive shortfall as whole units rounded up to ``multiple``; zero otherwise."""
    packs = np.ceil(np.asarray(shortfall, dtype=np.float64) / multiple - FLOAT_NOISE)
    return (np.maximum(packs, 0.0) * multiple).astype(np.int64)


@dataclass(frozen=True)
class DailyTrace:
    """Day-by-day figures, one row per series (in ``names`` order) and one column per day counted
    from the series' first date; days outside ``warmup_days … lengths − 1`` are zero."""

    names: npt.NDArray[np.object_]
    first_day: IntArray
    lengths: IntArray
    warmup_days: int
    demand: IntArray
    on_hand: IntArray  # at the end of the day
    ordered: IntArray
    lost: IntArray
    expired: IntArray

    def scored(self) -> BoolArray:
        day = np.arange(self.demand.shape[1])
        return (day >= self.warmup_days) & (day < self.lengths[:, None])


@dataclass(frozen=True)
class SimulationResult:
    """``series``: one row per series (``SERIES_COLUMNS``); ``totals``: the whole catalogue, with
    ``fill_rate`` = served / demand over all series and ``cycle_service`` = cycles without stock-out
    / cycles; ``trace``: the days themselves."""

    policy: str
    settings: SimulationSettings
    series: pd.DataFrame
    totals: dict[str, float]
    trace: DailyTrace

    def daily(self, unique_id: str) -> pd.DataFrame:
        """One series' scored days: ``ds, demand, on_hand, ordered, lost, expired``."""
        found = np.flatnonzero(self.trace.names == unique_id)
        if not len(found):
            raise KeyError(unique_id)
        code = int(found[0])
        days = np.arange(self.trace.warmup_days, int(self.trace.lengths[code]))
        t = self.trace
        return pd.DataFrame(
            {
                "ds": pd.to_datetime((t.first_day[code] + days).astype("datetime64[D]")),
                **{
                    column: getattr(t, column)[code, days]
                    for column in ("demand", "on_hand", "ordered", "lost", "expired")
                },
            }
        )


def simulate(
    history: pd.DataFrame,
    policy: str | Policy,
    *,
    lead_time_days: int,
    review_days: int,
    service_level: float = 0.95,
    unit_cost: Mapping[str, float] | None = None,
    shelf_life_days: int | None = None,
    warmup_days: int = 91,
) -> SimulationResult:
    """Replay ``history`` (``unique_id, ds, y``, daily) under ``policy`` by the rules in this
    module's docstring."""
    run = SimulationSettings(
        lead_time_days=lead_time_days,
        review_days=review_days,
        service_level=service_level,
        shelf_life_days=shelf_life_days,
        warmup_days=warmup_days,
    )
    rule = _policy(policy)
    trace = _replay(_daily_units(history, warmup_days), rule, run)
    series = _per_series(trace, rule.name, run, unit_cost or {})
    return SimulationResult(
        policy=rule.name, settings=run, series=series, totals=_totals(series), trace=trace
    )


def _policy(policy: str | Policy) -> Policy:
    if not isinstance(policy, str):
        return policy
    if policy not in POLICIES:
        raise ValidationFailed(
            f"unknown policy {policy!r} (expected one of {', '.join(POLICIES)})", policy=policy
        )
    return POLICIES[policy]


@dataclass(frozen=True)
class _Units:
    names: npt.NDArray[np.object_]
    first_day: IntArray
    lengths: IntArray
    demand: IntArray  # series × day, zero past a series' end


def _daily_units(history: pd.DataFrame, warmup_days: int) -> _Units:
    if history.empty:
        raise ValidationFailed("the demand history is empty")
    grid = regular_periods(history, "D")
    short = grid.lengths < warmup_days + 1
    if short.any():
        names = ", ".join(str(n) for n in grid.names[short][:5])
        raise ValidationFailed(
            f"{int(short.sum())} series have fewer than warm-up + 1 = {warmup_days + 1} days of "
            f"history ({names}{', …' if short.sum() > 5 else ''})",
            series=[str(n) for n in grid.names[short]],
        )
    demand = np.zeros((len(grid.lengths), int(grid.lengths.max())), dtype=np.int64)
    demand[grid.code, grid.period] = np.floor(grid.y + 0.5).astype(np.int64)
    return _Units(grid.names, grid.first_day, grid.lengths, demand)


@dataclass
class _Shelf:
    """The lots on hand: column ``(head + i) % slots`` is the i-th oldest lot of every series,
    written off at the start of day ``expiry`` of that column."""

    units: IntArray
    expiry: IntArray
    life: int | None
    head: int = 0
    count: int = 0

    @classmethod
    def empty(cls, series: int, run: SimulationSettings) -> _Shelf:
        life = run.shelf_life_days
        slots = 1 if life is None else -(-life // run.review_days) + 2
        return cls(np.zeros((series, slots), np.int64), np.full(slots, NEVER, np.int64), life=life)

    def receive(self, units: IntArray, day: int) -> None:
        if not units.any():
            return
        expires = NEVER if self.life is None else day + self.life
        slots = len(self.expiry)
        newest = (self.head + self.count - 1) % slots
        if self.count and self.expiry[newest] == expires:
            self.units[:, newest] += units
            return
        if self.count == slots:
            raise AssertionError("more live lots than the shelf life allows")
        column = (self.head + self.count) % slots
        self.units[:, column] = units
        self.expiry[column] = expires
        self.count += 1

    def expire(self, day: int) -> IntArray:
        gone = np.zeros(self.units.shape[0], np.int64)
        while self.count and self.expiry[self.head] <= day:
            gone += self.units[:, self.head]
            self.units[:, self.head] = 0
            self.head = (self.head + 1) % len(self.expiry)
            self.count -= 1
        return gone

    def issue(self, demand: IntArray) -> IntArray:
        """Serve ``demand`` from the oldest lots first; return what was served."""
        columns = (self.head + np.arange(self.count)) % len(self.expiry)
        lots = self.units[:, columns]
        before = np.cumsum(lots, axis=1) - lots
        taken = np.clip(demand[:, None] - before, 0, lots)
        self.units[:, columns] = lots - taken
        while self.count and not self.units[:, self.head].any():  # emptied everywhere: drop it
            self.head = (self.head + 1) % len(self.expiry)
            self.count -= 1
        served: IntArray = taken.sum(axis=1)
        return served

    def on_hand(self) -> IntArray:
        total: IntArray = self.units.sum(axis=1)
        return total


@dataclass
class _Pipeline:
    """Orders in transit: slot ``d % (L + 1)`` holds what arrives on day ``d``."""

    slots: IntArray
    lead_time: int

    @property
    def on_order(self) -> IntArray:
        total: IntArray = self.slots.sum(axis=1)
        return total

    def place(self, units: IntArray, day: int) -> None:
        self.slots[:, (day + self.lead_time) % len(self.slots[0])] += units

    def arrivals(self, day: int) -> IntArray:
        slot = day % len(self.slots[0])
        arriving = self.slots[:, slot].copy()
        self.slots[:, slot] = 0
        return arriving


def _replay(units: _Units, policy: Policy, run: SimulationSettings) -> DailyTrace:
    demand = units.demand
    k, days = demand.shape
    cum = np.zeros((k, days + 1))
    np.cumsum(demand, axis=1, out=cum[:, 1:])
    cum_sq = np.zeros((k, days + 1))
    np.cumsum(demand.astype(np.float64) ** 2, axis=1, out=cum_sq[:, 1:])

    def past(day: int) -> PastDemand:
        return PastDemand(cum[:, : day + 1], cum_sq[:, : day + 1])

    shelf = _Shelf.empty(k, run)
    pipeline = _Pipeline(np.zeros((k, run.lead_time_days + 1), np.int64), run.lead_time_days)
    on_hand, ordered, lost, expired = (np.zeros((k, days), np.int64) for _ in range(4))
    w = run.warmup_days
    shelf.receive(round_up(policy.level(past(w), run)), w)
    for day in range(w, days):
        shelf.receive(pipeline.arrivals(day), day)
        expired[:, day] = shelf.expire(day)
        if (day - w) % run.review_days == 0:
            order = policy.order(past(day), run, shelf.on_hand(), pipeline.on_order)
            ordered[:, day] = order
            pipeline.place(order, day)
            if run.lead_time_days == 0:
                shelf.receive(pipeline.arrivals(day), day)
        lost[:, day] = demand[:, day] - shelf.issue(demand[:, day])
        on_hand[:, day] = shelf.on_hand()
    return DailyTrace(
        names=units.names,
        first_day=units.first_day,
        lengths=units.lengths,
        warmup_days=w,
        demand=demand,
        on_hand=on_hand,
        ordered=ordered,
        lost=lost,
        expired=expired,
    )


def _cycles(trace: DailyTrace, run: SimulationSettings) -> tuple[IntArray, IntArray]:
    """Per series: cycles within the scored days, and those without a stock-out day."""
    k, days = trace.demand.shape
    stockouts = np.zeros((k, days + 1), np.int64)
    np.cumsum(trace.lost > 0, axis=1, out=stockouts[:, 1:])
    first = np.arange(run.warmup_days, days, run.review_days) + run.lead_time_days
    end = first + run.review_days  # one past the cycle's last day
    inside = end[None, :] <= trace.lengths[:, None]
    first, end = np.minimum(first, days), np.minimum(end, days)
    clean = (stockouts[:, end] - stockouts[:, first] == 0) & inside
    return inside.sum(axis=1), clean.sum(axis=1)


def _per_series(
    trace: DailyTrace, policy: str, run: SimulationSettings, unit_cost: Mapping[str, float]
) -> pd.DataFrame:
    scored = trace.scored()

    def total(values: IntArray | BoolArray) -> IntArray:
        summed: IntArray = np.where(scored, values, 0).sum(axis=1)
        return summed

    demand, lost = total(trace.demand), total(trace.lost)
    served = demand - lost
    cycles, clean = _cycles(trace, run)
    avg_units = total(trace.on_hand) / (trace.lengths - run.warmup_days)
    cost = pd.Series(trace.names).map(dict(unit_cost)).to_numpy(dtype=np.float64)
    return pd.DataFrame(
        {
            "unique_id": trace.names.astype(str),
            "policy": policy,
            "demand": demand,
            "served": served,
            "lost": lost,
            "fill_rate": np.divide(
                served, demand, out=np.full(len(demand), np.nan), where=demand > 0
            ),
            "stockout_days": total(trace.lost > 0),
            "cycles": cycles,
            "cycles_without_stockout": clean,
            "avg_on_hand_units": avg_units,
            "avg_on_hand_value": avg_units * cost,
            "orders": total(trace.ordered > 0),
            "units_ordered": total(trace.ordered),
            "units_expired": total(trace.expired),
        },
        columns=list(SERIES_COLUMNS),
    )


def _totals(series: pd.DataFrame) -> dict[str, float]:
    """Sums over the series, the overall fill rate and cycle service, and the mean fill rate."""
    sums = {
        column: int(series[column].sum())
        for column in (
            "demand",
            "served",
            "lost",
            "stockout_days",
            "cycles",
            "cycles_without_stockout",
            "orders",
            "units_ordered",
            "units_expired",
        )
    }
    valued = series["avg_on_hand_value"].notna()
    return {
        "series": len(series),
        **sums,
        "fill_rate": sums["served"] / sums["demand"] if sums["demand"] else float("nan"),
        "mean_series_fill_rate": float(series["fill_rate"].mean()),
        "cycle_service": (
            sums["cycles_without_stockout"] / sums["cycles"] if sums["cycles"] else float("nan")
        ),
        "avg_on_hand_units": float(series["avg_on_hand_units"].sum()),
        "avg_on_hand_value": (
            float(series.loc[valued, "avg_on_hand_value"].sum()) if valued.any() else float("nan")
        ),
    }
