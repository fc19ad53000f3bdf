"""Where each item is stocked, and how much of it patients ask for each day.

Demand is drawn once, up front, with numpy: for every stocking point (an item at its home location
in a site) a daily number of dispense events from a Poisson distribution whose rate carries the
item's popularity, a weekly pattern, a yearly season and a trend. Slow movers have rare events
(intermittent demand); dead stock has none at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from rxledger.demo.network import CENTRAL, RETAIL, SATELLITE, DemoNetwork
from rxledger.demo.products import DemoProduct, ProductKind

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

FORECAST_DAYS = 14
# Day-of-week factors, Monday first: hospitals are quieter at weekends, retail is closed-ish Sunday.
WEEKLY = {
    "hospital": np.array([1.05, 1.05, 1.0, 1.0, 1.0, 0.85, 0.8]),
    "retail": np.array([1.15, 1.05, 1.0, 1.0, 1.1, 0.75, 0.35]),
}
# Events per day at popularity 1, by site.
SITE_SCALE = {CENTRAL: 1.0, SATELLITE: 0.7, RETAIL: 0.8}
SLOW_SHARE, DEAD_SHARE = 0.2, 0.04
EXTRA_UNIT_CHANCE = 0.25  # an event takes a second dose (hospital) or a second fill (retail)


@dataclass(frozen=True, slots=True)
class StockingPoint:
    """One item kept at one home location of a site, where its demand is dispensed from."""

    index: int
    product: DemoProduct
    item_id: int
    site: str
    location_id: int
    receiving_id: int  # where supplier receipts land: the home itself, or a dock to put away from
    event_size: int  # base units per dispense event: a dose, a 30-day fill, a bottle
    order_multiple: int  # base units per order line: whole packages unless they are dear


@dataclass(frozen=True, slots=True)
class DemandPlan:
    points: tuple[StockingPoint, ...]
    quantity: IntArray  # [point, day]: base units asked for
    forecast: FloatArray  # [point, day]: expected base units per day over the next two weeks
    slow: BoolArray  # [point]: an intermittent mover
    dead: BoolArray  # [point]: never asked for


# --- assortment ---------------------------------------------------------------------------------


def stocking_points(
    products: Sequence[DemoProduct],
    item_ids: Sequence[int],
    network: DemoNetwork,
    rng: np.random.Generator,
) -> list[StockingPoint]:
    """Central stocks the whole formulary; the satellite and the retail pharmacy a part of it."""
    points: list[StockingPoint] = []
    for product, item_id in zip(products, item_ids, strict=True):
        homes = [(CENTRAL, *_central_home(product))]
        satellite = _satellite_home(product, rng)
        if satellite is not None:
            homes.append((SATELLITE, satellite, satellite))
        retail = _retail_home(product, rng)
        if retail is not None:
            homes.append((RETAIL, *retail))
        for site, home, dock in homes:
            layout = network.sites[site]
            points.append(
                StockingPoint(
                    index=len(points),
                    product=product,
                    item_id=item_id,
                    site=site,
                    location_id=layout.location_id(home),
                    receiving_id=layout.location_id(dock),
                    event_size=event_size(product, retail=site == RETAIL),
                    order_multiple=_order_multiple(product),
                )
            )
    return points


def _central_home(product: DemoProduct) -> tuple[str, str]:
    """(home, where receipts land). Controlled drugs in the vault and cold chain in the fridge,
    received straight there; injectables through the receiving dock (cases are broken down and
    checked there); oral and topical stock checked in at its shelf, A-L or M-Z by name."""
    if product.controlled:
        return "VAULT", "VAULT"
    if product.refrigerated:
        return "FRIDGE", "FRIDGE"
    if product.parenteral:
        return "IV-A", "RECV"
    shelf = "MAIN-A" if product.spec.name[:1].upper() <= "L" else "MAIN-B"
    return shelf, shelf


def _satellite_home(product: DemoProduct, rng: np.random.Generator) -> str | None:
    """Most controlled, injectable and cold items and a third of the rest; controlled drugs in
    the dispensing cabinet."""
    wanted = 0.75 if (product.controlled or product.parenteral or product.refrigerated) else 0.3
    cabinet_share = float(rng.random())
    if float(rng.random()) >= wanted or product.otc:
        return None
    if product.controlled:
        return "CAB-ICU"
    if product.refrigerated:
        return "FRIDGE"
    return "CAB-ICU" if cabinet_share < 0.45 else "STOCK"


def _retail_home(product: DemoProduct, rng: np.random.Generator) -> tuple[str, str] | None:
    """No infusions or anaesthetics; OTC on the sales floor, put away from receiving."""
    draw = float(rng.random())
    if product.hospital_only:
        return None
    wanted = 0.9 if product.otc else 0.65 if product.kind is ProductKind.SOLID else 0.45
    if draw >= wanted:
        return None
    if product.controlled:
        return "VAULT", "VAULT"
    if product.refrigerated:
        return "FRIDGE", "FRIDGE"
    if product.otc:
        return "SALES", "RECV"
    return "RX", "RX"


def event_size(product: DemoProduct, *, retail: bool) -> int:
    """A hospital gives doses (a tablet, 10 mL, a vial); a pharmacy fills 30 days or a package."""
    package = product.package_units
    if not retail:
        return 10 if product.kind is ProductKind.LIQUID else 1
    if product.kind is ProductKind.SOLID:
        return package if product.otc or package <= 60 else 30
    if product.kind is ProductKind.LIQUID:
        return min(package, 150)
    if product.kind is ProductKind.PATCH:
        return package
    return 1


def _order_multiple(product: DemoProduct) -> int:
    """Order whole packages, unless a package costs more than $500: then by the unit."""
    value = product.spec.standard_cost * product.package_units
    return product.package_units if value <= Decimal(500) else 1


# --- demand -------------------------------------------------------------------------------------


def demand_plan(
    points: Sequence[StockingPoint],
    products: Sequence[DemoProduct],
    first_day: date,
    days: int,
    rng: np.random.Generator,
) -> DemandPlan:
    """Daily demand per point for days ``0 .. days-1`` from ``first_day``; day 0 has none."""
    product_index = {id(p): n for n, p in enumerate(products)}
    traits = _ItemTraits.draw(products, rng)
    calendar = _Calendar.of(first_day, days)
    rates = np.zeros((len(points), days))
    for point in points:
        i = product_index[id(point.product)]
        kind = "retail" if point.site == RETAIL else "hospital"
        rates[point.index] = (
            traits.popularity[i]
            * SITE_SCALE[point.site]
            * _class_factor(point.product, retail=kind == "retail")
            * WEEKLY[kind][calendar.weekday]
            * _season(traits.amplitude[i], traits.peak[i], calendar.day_of_year)
            * np.exp(traits.trend[i] * calendar.years)
        )
    rates[:, 0] = 0.0
    sizes = np.array([p.event_size for p in points], dtype=np.int64)
    events = rng.poisson(rates)
    extra = rng.binomial(events, EXTRA_UNIT_CHANCE)
    quantity = (events + extra) * sizes[:, None]
    expected = rates * sizes[:, None] * (1 + EXTRA_UNIT_CHANCE)
    slow = np.array([traits.slow[product_index[id(p.product)]] for p in points], dtype=np.bool_)
    dead = np.array([traits.dead[product_index[id(p.product)]] for p in points], dtype=np.bool_)
    return DemandPlan(tuple(points), quantity.astype(np.int64), _forward_mean(expected), slow, dead)


def _class_factor(product: DemoProduct, *, retail: bool) -> float:
    """Hospitals use more injectables and opioids; pharmacies sell OTC and oral chronic therapy.
    The first matching class counts."""
    classes = (
        (product.otc, 1.4, 1.0),
        (product.controlled, 0.7, 1.3),
        (product.refrigerated, 0.5, 0.3),
        (product.parenteral, 0.3, 1.6),
    )
    for matches, at_retail, at_hospital in classes:
        if matches:
            return at_retail if retail else at_hospital
    return 1.0


def _season(amplitude: float, peak: int, day_of_year: FloatArray) -> FloatArray:
    """A yearly cosine around 1, highest on the peak day of the year, never below 0.05."""
    wave = np.cos(2 * np.pi * (day_of_year - peak) / 365.25)
    result: FloatArray = np.maximum(0.05, 1.0 + amplitude * wave)
    return result


def _forward_mean(expected: FloatArray) -> FloatArray:
    """The mean expected demand over each day and the next ones (the planner's forecast)."""
    padded = np.concatenate([expected, np.repeat(expected[:, -1:], FORECAST_DAYS, axis=1)], axis=1)
    cumulative = np.concatenate([np.zeros((len(expected), 1)), np.cumsum(padded, axis=1)], axis=1)
    width = expected.shape[1]
    forecast: FloatArray = (
        cumulative[:, FORECAST_DAYS : FORECAST_DAYS + width] - cumulative[:, :width]
    ) / FORECAST_DAYS
    return forecast


@dataclass(frozen=True, slots=True)
class _Calendar:
    weekday: IntArray
    day_of_year: FloatArray
    years: FloatArray

    @classmethod
    def of(cls, first_day: date, days: int) -> _Calendar:
        dates = [first_day + timedelta(days=d) for d in range(days)]
        return cls(
            np.array([d.weekday() for d in dates], dtype=np.int64),
            np.array([d.timetuple().tm_yday for d in dates], dtype=np.float64),
            np.arange(days, dtype=np.float64) / 365.25,
        )


@dataclass(frozen=True, slots=True)
class _ItemTraits:
    popularity: FloatArray
    slow: BoolArray
    dead: BoolArray
    amplitude: FloatArray
    peak: IntArray
    trend: FloatArray

    @classmethod
    def draw(cls, products: Sequence[DemoProduct], rng: np.random.Generator) -> _ItemTraits:
        """Lognormal popularity; a fifth slow movers, a few dead; seasons by therapeutic class."""
        n = len(products)
        popularity = rng.lognormal(mean=-0.3, sigma=0.9, size=n)
        roles = rng.random(n)
        dead = roles < DEAD_SHARE
        if n >= 10 and not dead.any():
            dead[int(np.argmin(roles))] = True
        slow = ~dead & (roles < DEAD_SHARE + SLOW_SHARE)
        popularity = np.where(slow, popularity * rng.uniform(0.03, 0.15, n), popularity)
        popularity = np.where(dead, 0.0, popularity)
        amplitude = rng.uniform(0.0, 0.08, n)
        peak = rng.integers(1, 366, n)
        for i, product in enumerate(products):
            season = _seasonal_class(product.spec.atc_code or "")
            if season is not None:
                amplitude[i], peak[i] = season
        trend = rng.normal(0.02, 0.10, n)
        return cls(popularity, slow, dead, amplitude, peak, trend)


def _seasonal_class(atc: str) -> tuple[float, int] | None:
    """(amplitude, peak day of year): flu shots in October, infections in winter, allergies in
    May, sunscreen in July."""
    if atc.startswith("J07BB"):
        return 0.9, 295
    if atc.startswith(("J01", "J05", "R05", "R01")):
        return 0.35, 15
    if atc.startswith(("R06", "S01G")):
        return 0.4, 130
    if atc.startswith("D02BA"):
        return 0.6, 190
    return None
