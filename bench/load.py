"""Fill a ledger through the services, day by day: each morning a receipt per location that orders
every item due for delivery back up to its par level, then a dispensing run per location of a few
hundred lines.

The clock is a ManualClock moved forward document by document, so every document is posted at its
business time, as the ledger's back-dating rules require.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bench.network import Pharmacy
from rxledger.domain.clock import ManualClock
from rxledger.domain.model import Location
from rxledger.services import stock
from rxledger.services.posting import Header

FIRST_DAY = datetime(2023, 1, 2, tzinfo=UTC)
LINES_PER_DOCUMENT = 250
DELIVERY_EVERY_DAYS = 4  # each item is delivered every fourth day
PAR_LEVEL = 40  # base units an item is ordered back up to
LOT_WEEKS = 4  # the supplier ships a new lot of an item every four weeks
SHELF_LIFE = timedelta(days=730)


@dataclass
class Posted:
    """What one kind of document added to the ledger, and the time it took to post."""

    documents: int = 0
    movements: int = 0
    seconds: float = 0.0

    @property
    def movements_per_second(self) -> float:
        return self.movements / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class LoadResult:
    movements: int
    documents: int
    seconds: float
    first: datetime
    last: datetime
    receipts: Posted
    dispenses: Posted

    @property
    def movements_per_second(self) -> float:
        return self.movements / self.seconds

    @property
    def documents_per_second(self) -> float:
        return self.documents / self.seconds


Progress = Callable[[int], None]


def load(
    pharmacy: Pharmacy, clock: ManualClock, movements: int, progress: Progress | None = None
) -> LoadResult:
    """Post documents until the ledger holds at least ``movements`` movements."""
    rng = random.Random(20261122)
    on_hand = {item.id: 0 for item in pharmacy.items}
    receipts, dispenses = Posted(), Posted()
    day = 0
    began = time.perf_counter()
    while receipts.movements + dispenses.movements < movements:
        morning = FIRST_DAY + timedelta(days=day)
        commands: list[tuple[datetime, stock.Receive | stock.Dispense]] = [
            (morning + timedelta(hours=8), _receipt(pharmacy, location, day, on_hand))
            for location in pharmacy.locations
        ]
        commands += [
            (
                morning + timedelta(hours=10 + 2 * n, minutes=rng.randrange(60)),
                _dispensing_run(pharmacy, location, rng, on_hand),
            )
            for n, location in enumerate(pharmacy.locations)
        ]
        for at, command in commands:
            if command.lines:
                clock.set(at)
                _post(
                    pharmacy, command, receipts if isinstance(command, stock.Receive) else dispenses
                )
        day += 1
        if progress:
            progress(receipts.movements + dispenses.movements)
    return LoadResult(
        receipts.movements + dispenses.movements,
        receipts.documents + dispenses.documents,
        time.perf_counter() - began,
        FIRST_DAY,
        clock.now(),
        receipts,
        dispenses,
    )


def _receipt(
    pharmacy: Pharmacy, location: Location, day: int, on_hand: dict[int, int]
) -> stock.Receive:
    """A location's receipt: every item due today ordered back up to par."""
    lot_start = FIRST_DAY.date() + timedelta(weeks=day // 7 // LOT_WEEKS * LOT_WEEKS)
    due = [
        item
        for item in pharmacy.items_at(location)
        if item.id % DELIVERY_EVERY_DAYS == day % DELIVERY_EVERY_DAYS
        and on_hand[item.id] < PAR_LEVEL
    ]
    lines = [
        stock.ReceiptLine(
            item.id,
            PAR_LEVEL - on_hand[item.id],
            f"{item.sku}-{lot_start:%Y%m%d}",
            lot_start + SHELF_LIFE,
        )
        for item in due
    ]
    for item in due:
        on_hand[item.id] = PAR_LEVEL
    return stock.Receive(pharmacy.site.id, location.id, lines, Header(reference=f"PO-{day}"))


def _dispensing_run(
    pharmacy: Pharmacy, location: Location, rng: random.Random, on_hand: dict[int, int]
) -> stock.Dispense:
    """A location's dispensing run: a few units each of a few hundred items in stock."""
    in_stock = [item for item in pharmacy.items_at(location) if on_hand[item.id] > 0]
    lines = []
    for item in rng.sample(in_stock, min(LINES_PER_DOCUMENT, len(in_stock))):
        quantity = min(on_hand[item.id], rng.randint(1, 10))
        on_hand[item.id] -= quantity
        lines.append(stock.StockLine(item.id, quantity))
    return stock.Dispense(pharmacy.site.id, location.id, lines, Header(reference="RX-RUN"))


def _post(pharmacy: Pharmacy, command: stock.Receive | stock.Dispense, tally: Posted) -> None:
    """Post one document and count it."""
    began = time.perf_counter()
    if isinstance(command, stock.Receive):
        doc = stock.receive(pharmacy.rt, pharmacy.actor, command)
    else:
        doc = stock.dispense(pharmacy.rt, pharmacy.actor, command)
    tally.seconds += time.perf_counter() - began
    tally.documents += 1
    tally.movements += len(doc.movements)
