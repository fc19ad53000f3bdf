"""Two years of pharmacy life, posted day by day through the ledger's services.

A manual clock walks the calendar; before each posting it is set to the business time of the event,
so every document is posted "now" and the back-dating rule holds. One day at the network runs:

  07:30  supplier deliveries (a receipt per receiving location), 08:00 put-away from the docks
  09:00  the satellite receives yesterday's transfer from central
  10:00  dispenses returned to stock (dispense reversals)
  13:00  Monday and Thursday: central ships the satellite's replenishment
  15:00  damage, cycle counts, quarterly outdate pulls and write-offs, a rare document reversal
  18:00  the day's dispenses: one batch document per dispensing location
  19:00  order days: the reorder review places the wholesaler order for the next weekday
         (central Monday, Wednesday, Friday; retail Monday, Thursday; in memory: no PO yet)
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar

import numpy as np

from rxledger.demo.demand import DemandPlan, StockingPoint
from rxledger.demo.network import CENTRAL, RETAIL, SATELLITE, DemoNetwork, SiteLayout
from rxledger.demo.products import ProductKind
from rxledger.demo.stockview import StockView
from rxledger.domain import errors
from rxledger.domain.clock import ManualClock
from rxledger.domain.model import LocationType
from rxledger.services import stock
from rxledger.services.posting import Header, PostedDocument
from rxledger.services.runtime import Actor, Runtime

Command = TypeVar("Command")

SHIP_WEEKDAYS = (0, 3)  # Monday and Thursday
# The wholesaler's order days; each order arrives the next weekday.
REVIEW_WEEKDAYS = {CENTRAL: (0, 2, 4), RETAIL: (0, 3)}
SAFETY_DAYS = 3
COUNT_WEEKDAY = {CENTRAL: 1, SATELLITE: 2, RETAIL: 3}
RETURN_CHANCE = {CENTRAL: 0.3, SATELLITE: 0.3, RETAIL: 0.45}
DAMAGE_CHANCE = 0.08
OUTDATE_EVERY, OUTDATE_OFFSET, OUTDATE_GRACE = 91, 60, timedelta(days=60)
REVERSAL_EVERY = 60
SHORT_DATED_CHANCE = 0.04
SHIP_MIN_SHELF_LIFE = timedelta(days=8)


@dataclass(frozen=True, slots=True)
class Delivery:
    """A supplier order line arriving; ``expiry`` set for a deliberately short-dated buy."""

    point: StockingPoint
    quantity: int
    expiry: date | None = None
    ordered: bool = True  # counted in the point's on-order quantity


@dataclass(frozen=True, slots=True)
class Shipment:
    document_id: int
    lines: tuple[tuple[StockingPoint, int, int], ...]  # (satellite point, lot, quantity)


@dataclass
class Tally:
    documents: int = 0
    movements: int = 0
    refusals: int = 0
    stockouts: int = 0
    lots: set[int] = field(default_factory=set)


class HistoryWalk:
    """Walks ``days`` days from ``first_day`` (day 0: go-live stock), posting every event."""

    def __init__(
        self,
        rt: Runtime,
        clock: ManualClock,
        network: DemoNetwork,
        plan: DemandPlan,
        first_day: date,
        end_day: date,
        rng: np.random.Generator,
    ) -> None:
        self.rt, self.clock, self.network, self.plan = rt, clock, network, plan
        self.first_day, self.end_day, self.rng = first_day, end_day, rng
        self.view = StockView(network.physical_location_ids)
        self.tally = Tally()
        self.orders: dict[date, list[Delivery]] = defaultdict(list)
        self.on_order = [0] * len(plan.points)
        self.in_transit = [0] * len(plan.points)
        self.shipments: dict[date, list[Shipment]] = defaultdict(list)
        self.yesterday: dict[str, list[PostedDocument]] = defaultdict(list)
        self.last_damage: PostedDocument | None = None
        self.duplicate_pending = False
        self.lot_numbers: dict[int, str] = {}
        self._keys = itertools.count(1)
        self._lot_numbers = itertools.count(1)
        self._index_points()

    def _index_points(self) -> None:
        points = self.plan.points
        self.central_of = {p.item_id: p for p in points if p.site == CENTRAL}
        self.satellite_points = [p for p in points if p.site == SATELLITE]
        self.at_location: dict[int, list[StockingPoint]] = defaultdict(list)
        self.at_site: dict[str, list[StockingPoint]] = defaultdict(list)
        for point in points:
            self.at_location[point.location_id].append(point)
            self.at_site[point.site].append(point)
        # Central replenishes for itself and for what it ships to the satellite.
        self.supply_forecast = self.plan.forecast.copy()
        for point in self.satellite_points:
            central = self.central_of[point.item_id]
            self.supply_forecast[central.index] += self.plan.forecast[point.index]

    # --- the walk -------------------------------------------------------------------------------

    def run(self, days: int, start: datetime, progress: Callable[[int, int], None]) -> Tally:
        """Go-live stock at ``start``, then one business day per calendar day."""
        self.open_stock(start)
        self.schedule_short_dated_buys(days)
        progress(0, days - 1)
        for index in range(1, days):
            self.walk_day(index)
            progress(index, days - 1)
        return self.tally

    def walk_day(self, index: int) -> None:
        day = self.first_day + timedelta(days=index)
        self.deliver(day)
        self.receive_transfers(day)
        self.return_dispenses(day)
        if day.weekday() in SHIP_WEEKDAYS:
            self.ship_to_satellite(day, index)
        self.adjust(day, index)
        self.dispense_day(day, index)
        for site, weekdays in REVIEW_WEEKDAYS.items():
            if day.weekday() in weekdays:
                self.review_orders(site, day, index)

    def _at(self, day: date, hour: int, minute: int = 0) -> None:
        """Set the clock to a business time of the day (UTC)."""
        self.clock.set(datetime.combine(day, time(hour, minute), tzinfo=UTC))

    def _post(
        self,
        service: Callable[[Runtime, Actor, Command], PostedDocument],
        actor: Actor,
        command: Command,
    ) -> PostedDocument:
        """Post through a stock service and learn its movements into the demo's view."""
        document = service(self.rt, actor, command)
        self.view.apply(document.movements)
        self.tally.documents += 1
        self.tally.movements += len(document.movements)
        return document

    def _header(self, kind: str, reference: str, note: str | None = None) -> Header:
        key = f"demo:{next(self._keys):07d}:{kind}"
        return Header(reference=reference, note=note, idempotency_key=key)

    def _site(self, code: str) -> SiteLayout:
        return self.network.sites[code]

    # --- go-live ----------------------------------------------------------------------------------

    def open_stock(self, start: datetime) -> None:
        """Day 0: every point receives its opening stock at its home location, one lot each."""
        self.clock.set(start + timedelta(minutes=5))
        day = self.first_day
        by_home: dict[tuple[str, int], list[Delivery]] = defaultdict(list)
        for point in self.plan.points:
            quantity = self._opening_quantity(point)
            if quantity > 0:
                by_home[(point.site, point.location_id)].append(
                    Delivery(point, quantity, ordered=False)
                )
        for (site, location_id), deliveries in by_home.items():
            self._receive(site, location_id, deliveries, day, "GO-LIVE", "Opening stock at go-live")

    def _opening_quantity(self, point: StockingPoint) -> int:
        """Up to the order-up-to level; dead stock gets one to three packages it will never use."""
        if self.plan.dead[point.index]:
            return point.product.package_units * int(self.rng.integers(1, 4))
        if point.site == SATELLITE:
            _, target = self._satellite_levels(point, 1)
        else:
            _, target = self._levels(point, 1)
        return _round_up(target, point.order_multiple)

    def schedule_short_dated_buys(self, days: int) -> None:
        """Some slow and dead items get a lot that will be expired, or expiring within 30 days,
        when the demo ends, and still on the shelf: bought in quantity, used too slowly."""
        quiet = [p for p in self.plan.points if self.plan.dead[p.index]]
        quiet += [p for p in self.plan.points if self.plan.slow[p.index]]
        draws = self.rng.random(len(quiet))
        for rank, (point, draw) in enumerate(zip(quiet, draws, strict=True)):
            if rank < 2 or (rank >= 4 and draw < 0.35):
                expiry = self.end_day - timedelta(days=int(self.rng.integers(1, 76)))
            elif rank < 4 or draw < 0.55:
                expiry = self.end_day + timedelta(days=int(self.rng.integers(3, 29)))
            else:
                continue
            self._schedule_buy(point, expiry, days)

    def _schedule_buy(self, point: StockingPoint, expiry: date, days: int) -> None:
        """Delivered on a weekday two to six months before its expiry (or on the first day)."""
        lead = int(self.rng.integers(60, 181))
        buy_index = max(1, min(days - 1, (expiry - self.first_day).days - lead))
        while buy_index > 1 and (self.first_day + timedelta(days=buy_index)).weekday() >= 5:
            buy_index -= 1
        buy_day = self.first_day + timedelta(days=buy_index)
        if expiry < buy_day + timedelta(days=7):
            return
        per_day = float(self.plan.forecast[point.index, buy_index])
        quantity = _round_up(
            max(point.product.package_units, int(per_day * ((expiry - buy_day).days + 20))),
            point.order_multiple,
        )
        self.orders[buy_day].append(Delivery(point, quantity, expiry=expiry, ordered=False))

    # --- supplier deliveries ----------------------------------------------------------------------

    def deliver(self, day: date) -> None:
        """Receipts per receiving location, then put-away from the docks to each home."""
        deliveries = self.orders.pop(day, [])
        if not deliveries:
            return
        self._at(day, 7, 30)
        groups: dict[tuple[str, int], list[Delivery]] = defaultdict(list)
        for delivery in deliveries:
            groups[(delivery.point.site, delivery.point.receiving_id)].append(delivery)
        receipts = []
        for (site, dock), lines in groups.items():
            reference = f"PO-{site}-{day:%Y%m%d}"
            receipts.append((self._receive(site, dock, lines, day, reference), lines))
            for delivery in lines:
                if delivery.ordered:
                    self.on_order[delivery.point.index] -= delivery.quantity
        if self.duplicate_pending:
            self._duplicate_and_reverse(day, receipts[0][0])
        self._at(day, 8)
        for document, lines in receipts:
            self._put_away(document, lines)

    def _receive(
        self,
        site: str,
        location_id: int,
        deliveries: Sequence[Delivery],
        day: date,
        reference: str,
        note: str | None = None,
    ) -> PostedDocument:
        layout = self._site(site)
        lines = [self._receipt_line(d, day) for d in deliveries]
        document = self._post(
            stock.receive,
            layout.actor,
            stock.Receive(layout.id, location_id, lines, self._header("receipt", reference, note)),
        )
        self._learn_lots(document, lines)
        return document

    def _receipt_line(self, delivery: Delivery, day: date) -> stock.ReceiptLine:
        """A new lot each receipt: 6 to 36 months of shelf life, now and then only a few months."""
        product = delivery.point.product
        expiry = delivery.expiry
        if expiry is None:
            short = float(self.rng.random()) < SHORT_DATED_CHANCE
            low, high = (40, 150) if short else (180, 1095)
            expiry = day + timedelta(days=int(self.rng.integers(low, high + 1)))
        prefix = "".join(w[0] for w in product.manufacturer.split()[:2]).upper().ljust(2, "X")
        return stock.ReceiptLine(
            item_id=delivery.point.item_id,
            quantity=delivery.quantity,
            lot_number=f"{prefix}{day:%y}{next(self._lot_numbers):05d}",
            expiry=expiry,
            manufacturer=product.manufacturer,
        )

    def _learn_lots(self, document: PostedDocument, lines: Sequence[stock.ReceiptLine]) -> None:
        for movement in document.movements:
            line = lines[movement.line_no - 1]
            assert line.expiry is not None
            assert line.lot_number is not None
            self.view.expiry[movement.lot_id] = line.expiry
            self.lot_numbers[movement.lot_id] = line.lot_number
            self.tally.lots.add(movement.lot_id)

    def _put_away(self, receipt: PostedDocument, deliveries: Sequence[Delivery]) -> None:
        """Move what landed on a dock to each line's home location, lot by lot."""
        homes: dict[int, list[stock.StockLine]] = defaultdict(list)
        for movement in receipt.movements:
            point = deliveries[movement.line_no - 1].point
            if point.location_id != point.receiving_id:
                homes[point.location_id].append(
                    stock.StockLine(movement.item_id, movement.quantity, movement.lot_id)
                )
        if not homes:
            return
        layout = self._site(deliveries[0].point.site)
        dock = deliveries[0].point.receiving_id
        for home, lines in homes.items():
            self._post(
                stock.move,
                layout.actor,
                stock.Move(
                    layout.id,
                    dock,
                    home,
                    lines,
                    self._header("put-away", receipt.reference or "", "Put away from receiving"),
                    put_away=True,
                ),
            )

    def _duplicate_and_reverse(self, day: date, receipt: PostedDocument) -> None:
        """A receipt keyed twice by mistake, found and reversed a few minutes later."""
        self.duplicate_pending = False
        first = receipt.movements[0]
        layout = next(s for s in self.network.sites.values() if s.id == receipt.site_id)
        self._at(day, 7, 40)
        lot_number, expiry = self.lot_numbers[first.lot_id], self.view.expiry[first.lot_id]
        duplicate = self._post(
            stock.receive,
            layout.actor,
            stock.Receive(
                layout.id,
                first.to_location_id,
                [stock.ReceiptLine(first.item_id, first.quantity, lot_number, expiry)],
                self._header("receipt", receipt.reference or "", "Packing slip keyed twice"),
            ),
        )
        self._at(day, 7, 45)
        self._post(
            stock.reverse,
            layout.actor,
            stock.Reverse(
                duplicate.id,
                self._header("reversal", receipt.reference or "", "Duplicate receipt reversed"),
            ),
        )

    # --- transfers to the satellite ---------------------------------------------------------------

    def ship_to_satellite(self, day: date, index: int) -> None:
        """Top up the satellite's points below their reorder level from central's home locations,
        never shipping a lot with less than a week of shelf life left."""
        self._at(day, 13)
        by_source: dict[int, list[tuple[StockingPoint, int, int]]] = defaultdict(list)
        for point in self.satellite_points:
            need = self._satellite_need(point, day, index)
            if need <= 0:
                continue
            central = self.central_of[point.item_id]
            for lot, available in self.view.fefo(
                central.location_id, point.item_id, day + SHIP_MIN_SHELF_LIFE
            ):
                take = min(need, available)
                by_source[central.location_id].append((point, lot, take))
                need -= take
                if need == 0:
                    break
        central_site, satellite = self._site(CENTRAL), self._site(SATELLITE)
        for source, lines in by_source.items():
            document = self._post(
                stock.ship_transfer,
                central_site.actor,
                stock.ShipTransfer(
                    central_site.id,
                    source,
                    satellite.id,
                    [stock.StockLine(p.item_id, q, lot) for p, lot, q in lines],
                    self._header("transfer", f"TR-{day:%Y%m%d}", "Satellite replenishment"),
                ),
            )
            self.shipments[day + timedelta(days=1)].append(Shipment(document.id, tuple(lines)))
            for point, _, quantity in lines:
                self.in_transit[point.index] += quantity

    def _satellite_need(self, point: StockingPoint, day: date, index: int) -> int:
        reorder, target = self._satellite_levels(point, index)
        position = self.view.usable(point.location_id, point.item_id, day)
        position += self.in_transit[point.index]
        return target - position if position < reorder else 0

    def receive_transfers(self, day: date) -> None:
        """Receive each shipment into the satellite's homes; a lot expired on the way goes to
        quarantine."""
        shipments = self.shipments.pop(day, [])
        if not shipments:
            return
        self._at(day, 9)
        satellite = self._site(SATELLITE)
        quarantine = satellite.of_type(LocationType.QUARANTINE).id
        for shipment in shipments:
            targets: dict[int, list[stock.StockLine]] = defaultdict(list)
            for point, lot, quantity in shipment.lines:
                usable = self.view.expiry[lot] >= day
                target = point.location_id if usable else quarantine
                targets[target].append(stock.StockLine(point.item_id, quantity, lot))
                self.in_transit[point.index] -= quantity
            for target, lines in targets.items():
                self._post(
                    stock.receive_transfer,
                    satellite.actor,
                    stock.ReceiveTransfer(
                        shipment.document_id,
                        target,
                        lines,
                        self._header("transfer-receipt", f"TR-{shipment.document_id}"),
                    ),
                )

    # --- returns ----------------------------------------------------------------------------------

    def return_dispenses(self, day: date) -> None:
        """Now and then a dispensed line comes back the next day: unused doses on a ward, a
        prescription never picked up at the pharmacy."""
        yesterday, self.yesterday = self.yesterday, defaultdict(list)
        for site, documents in sorted(yesterday.items()):
            if not documents or float(self.rng.random()) >= RETURN_CHANCE[site]:
                continue
            self._at(day, 10)
            document = documents[int(self.rng.integers(0, len(documents)))]
            movement = document.movements[int(self.rng.integers(0, len(document.movements)))]
            quantity = movement.quantity
            if site != RETAIL:
                quantity = int(self.rng.integers(1, min(quantity, 3) + 1))
            layout = self._site(site)
            target = movement.from_location_id
            if self.view.expiry[movement.lot_id] < day:
                holding = LocationType.RETURNS if site == CENTRAL else LocationType.QUARANTINE
                target = layout.of_type(holding).id
            self._post(
                stock.reverse_dispense,
                layout.actor,
                stock.ReverseDispense(
                    document.id,
                    target,
                    [stock.StockLine(movement.item_id, quantity, movement.lot_id)],
                    self._header("return", document.reference or "", "Returned to stock"),
                ),
            )

    # --- adjustments ------------------------------------------------------------------------------

    def adjust(self, day: date, index: int) -> None:
        self._at(day, 15)
        for site in (CENTRAL, SATELLITE, RETAIL):
            if float(self.rng.random()) < DAMAGE_CHANCE:
                self._damage(site, day)
            if day.weekday() == COUNT_WEEKDAY[site]:
                self._cycle_count(site, day)
            if index % OUTDATE_EVERY == OUTDATE_OFFSET:
                self._write_off_quarantine(site, day)
                self._pull_outdates(site, day)
        if index % REVERSAL_EVERY == 0 and self.last_damage is not None:
            self._reverse_damage(day)
        if index % REVERSAL_EVERY == REVERSAL_EVERY // 2:
            self.duplicate_pending = True

    def _stocked(self, site: str) -> list[StockingPoint]:
        return [p for p in self.at_site[site] if self.view.lots(p.location_id, p.item_id)]

    def _damage(self, site: str, day: date) -> None:
        """A bottle dropped, a vial cracked: a negative adjustment with reason DAMAGED."""
        candidates = self._stocked(site)
        if not candidates:
            return
        point = candidates[int(self.rng.integers(0, len(candidates)))]
        lots = self.view.lots(point.location_id, point.item_id)
        lot = min(lots)
        broken = {
            ProductKind.SOLID: int(self.rng.integers(1, 6)),
            ProductKind.LIQUID: point.product.package_units,
        }.get(point.product.kind, 1)
        layout = self._site(site)
        self.last_damage = self._post(
            stock.adjust,
            layout.actor,
            stock.Adjust(
                layout.id,
                [
                    stock.AdjustLine(
                        point.item_id,
                        point.location_id,
                        lot,
                        "DAMAGED",
                        delta=-min(broken, lots[lot]),
                        note="Damaged in handling",
                    )
                ],
                self._header("adjustment", f"DMG-{site}-{day:%Y%m%d}"),
            ),
        )

    def _cycle_count(self, site: str, day: date) -> None:
        """Weekly count of a few random points; small differences are set with reason COUNT."""
        candidates = self._stocked(site)
        if not candidates:
            return
        picks = self.rng.choice(len(candidates), size=min(6, len(candidates)), replace=False)
        lines = []
        for pick in sorted(int(p) for p in picks):
            point = candidates[pick]
            lots = sorted(self.view.lots(point.location_id, point.item_id).items())
            lot, on_hand = lots[int(self.rng.integers(0, len(lots)))]
            step = 5 if point.product.kind is ProductKind.LIQUID else 1
            counted = max(0, on_hand + step * int(self.rng.choice([-2, -1, 1])))
            if float(self.rng.random()) < 0.5 and counted != on_hand:
                lines.append(
                    stock.AdjustLine(
                        point.item_id, point.location_id, lot, "COUNT", counted=counted
                    )
                )
        if lines:
            layout = self._site(site)
            self._post(
                stock.adjust,
                layout.actor,
                stock.Adjust(
                    layout.id,
                    lines,
                    self._header("count", f"CC-{site}-{day:%Y%m%d}", "Weekly cycle count"),
                ),
            )

    def _write_off_quarantine(self, site: str, day: date) -> None:
        """What was pulled to quarantine (or returned expired) last quarter is destroyed."""
        layout = self._site(site)
        holding = [
            loc.id
            for loc in layout.locations.values()
            if loc.type in (LocationType.QUARANTINE, LocationType.RETURNS)
        ]
        lines = [
            stock.AdjustLine(item, location, lot, "EXPIRED", delta=-quantity)
            for location in holding
            for item, lot, quantity in self.view.contents(location)
        ]
        if lines:
            self._post(
                stock.adjust,
                layout.actor,
                stock.Adjust(
                    layout.id,
                    lines,
                    self._header("write-off", f"WO-{site}-{day:%Y%m%d}", "Expired stock destroyed"),
                ),
            )

    def _pull_outdates(self, site: str, day: date) -> None:
        """Quarterly, lots expired for more than 60 days leave the shelves for quarantine; the
        recently expired stay where a user will find them."""
        layout = self._site(site)
        quarantine = layout.of_type(LocationType.QUARANTINE).id
        homes = sorted({p.location_id for p in self.at_site[site]})
        for home in homes:
            expired = self.view.expired(home, day - OUTDATE_GRACE)
            if not expired:
                continue
            self._post(
                stock.move,
                layout.actor,
                stock.Move(
                    layout.id,
                    home,
                    quarantine,
                    [stock.StockLine(item, quantity, lot) for item, lot, quantity in expired],
                    self._header("outdate-pull", f"OUT-{site}-{day:%Y%m%d}", "Outdates pulled"),
                ),
            )

    def _reverse_damage(self, day: date) -> None:
        """A damage entry was keyed against the wrong item: the whole document is reversed."""
        damage, self.last_damage = self.last_damage, None
        assert damage is not None
        layout = next(s for s in self.network.sites.values() if s.id == damage.site_id)
        self._at(day, 15, 30)
        self._post(
            stock.reverse,
            layout.actor,
            stock.Reverse(
                damage.id,
                self._header("reversal", damage.reference or "", "Damage keyed against wrong item"),
            ),
        )

    # --- dispensing -------------------------------------------------------------------------------

    def dispense_day(self, day: date, index: int) -> None:
        """One batch document per dispensing location: each point's demand, capped at what is on
        hand in usable lots (the rest is a stock-out, not a refusal)."""
        self._at(day, 18)
        for location_id, points in self.at_location.items():
            lines: list[stock.StockLine] = []
            for point in points:
                wanted = int(self.plan.quantity[point.index, index])
                if wanted > 0:
                    lines += self._pick_fefo(point, wanted, day)
            if lines:
                self._dispense(points[0].site, location_id, lines, day)

    def _pick_fefo(self, point: StockingPoint, wanted: int, day: date) -> list[stock.StockLine]:
        """Name the lots first-expiry-first-out, as a scanning workflow would, from usable lots
        only; what the shelf cannot give is a stock-out."""
        lines = []
        for lot, on_hand in self.view.fefo(point.location_id, point.item_id, day):
            take = min(wanted, on_hand)
            lines.append(stock.StockLine(point.item_id, take, lot))
            wanted -= take
            if wanted == 0:
                return lines
        self.tally.stockouts += 1
        return lines

    def _dispense(
        self, site: str, location_id: int, lines: list[stock.StockLine], day: date
    ) -> None:
        """Post the batch; should the ledger still refuse a line, lower it and post again."""
        layout = self._site(site)
        code = next(c for c, loc in layout.locations.items() if loc.id == location_id)
        reference = f"DISP-{site}-{code}-{day:%Y%m%d}"
        while lines:
            try:
                document = self._post(
                    stock.dispense,
                    layout.actor,
                    stock.Dispense(
                        layout.id,
                        location_id,
                        lines,
                        self._header("dispense", reference, "Daily dispensing batch"),
                    ),
                )
            except errors.InsufficientStock as refusal:
                self.tally.refusals += 1
                lines = _lowered(lines, refusal)
                continue
            self.yesterday[site].append(document)
            return

    # --- ordering ---------------------------------------------------------------------------------

    def review_orders(self, site: str, day: date, index: int) -> None:
        """Below the reorder level, order up to the target, in whole order multiples, for the
        next weekday's delivery."""
        due = _next_weekday(day)
        for point in self.at_site[site]:
            reorder, target = self._levels(point, index)
            if target <= 0:
                continue
            position = self.view.usable(point.location_id, point.item_id, day)
            position += self.on_order[point.index]
            if position < reorder:
                quantity = _round_up(target - position, point.order_multiple)
                self.orders[due].append(Delivery(point, quantity))
                self.on_order[point.index] += quantity

    def _levels(self, point: StockingPoint, index: int) -> tuple[int, int]:
        """(reorder level, order-up-to level) from the forecast: cover the days until the delivery
        of the next order, three days of safety and one dispense; then an order cycle more."""
        per_day = float(self.supply_forecast[point.index, index])
        if per_day <= 0:
            return 0, 0
        day = self.first_day + timedelta(days=index)
        reorder = per_day * (_cover_days(point.site, day) + SAFETY_DAYS) + point.event_size
        return math.ceil(reorder), math.ceil(reorder + per_day * _order_cycle_days(point))

    def _satellite_levels(self, point: StockingPoint, index: int) -> tuple[int, int]:
        """Twice-weekly transfers: cover the next 4 days, the transit day and 2 days of safety."""
        per_day = float(self.plan.forecast[point.index, index])
        if per_day <= 0:
            return 0, 0
        reorder = per_day * 7 + point.event_size
        return math.ceil(reorder), math.ceil(reorder + per_day * 4)


def _cover_days(site: str, day: date) -> int:
    """Days from ``day`` until the delivery of the order placed at the site's next order day."""
    review = day + timedelta(days=1)
    while review.weekday() not in REVIEW_WEEKDAYS[site]:
        review += timedelta(days=1)
    return (_next_weekday(review) - day).days


def _order_cycle_days(point: StockingPoint) -> int:
    """Days of demand one order covers: a month of cheap tablets, a week of a dear biologic."""
    cost = point.product.spec.standard_cost
    return 28 if cost < 1 else 21 if cost < 10 else 14 if cost < 100 else 7


def _lowered(
    lines: list[stock.StockLine], refusal: errors.InsufficientStock
) -> list[stock.StockLine]:
    """Lower the refused line to what the ledger says is there, or drop it."""
    details = refusal.details
    item_id, lot_id = details.get("item_id"), details.get("lot_id")
    left = details.get("available", details.get("on_hand"))
    lowered = []
    for line in lines:
        if line.item_id != item_id or (lot_id is not None and line.lot_id != lot_id):
            lowered.append(line)
        elif isinstance(left, int) and 0 < left < line.quantity:
            lowered.append(replace(line, quantity=left))
    return lowered


def _next_weekday(day: date) -> date:
    following = day + timedelta(days=1)
    while following.weekday() >= 5:
        following += timedelta(days=1)
    return following


def _round_up(quantity: int, multiple: int) -> int:
    return -(-quantity // multiple) * multiple
