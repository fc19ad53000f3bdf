"""Random sequences of documents against a model of the stock, on SQLite and on PostgreSQL.

A hypothesis state machine receives, moves, ships and receives transfers, dispenses, adjusts,
reverses any earlier document, changes lot statuses, lets time pass and retries idempotency keys.
A plain-Python model predicts every outcome (which lots FEFO picks, which refusal comes first) and
the physical on-hand of every (location, item, lot); after every step the database must agree with
the model and with itself (``integrity.check``).
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from rxledger.adapters import tables as t
from rxledger.adapters.database import create_db_engine
from rxledger.domain import errors
from rxledger.domain.clock import ManualClock
from rxledger.domain.ledger import PlannedMovement
from rxledger.domain.model import DocumentType, Location, LotStatus
from rxledger.services import catalog, integrity, queries, stock
from rxledger.services.posting import Header, PostedDocument
from rxledger.services.runtime import LedgerPolicy, Runtime
from tests.builders import Network, build_network
from tests.conftest import _drop_pg, _fresh_pg

START = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
Mv = tuple[int, int, int, int, int]  # (from, to, item, lot, quantity)
Key = tuple[int, int, int]  # (location, item, lot)
Run = Callable[[Header], PostedDocument]


@dataclass(frozen=True)
class LotSpec:
    """A lot number always arrives with the same expiry, so receipts never disagree on it."""

    item: int  # index into the machine's items
    number: str
    expiry: date | None


LOT_SPECS = (
    LotSpec(0, "A0", START.date()),  # expires at the first midnight
    LotSpec(0, "A1", date(2026, 9, 30)),
    LotSpec(0, "A2", date(2027, 3, 31)),
    LotSpec(1, "B1", date(2026, 8, 31)),
    LotSpec(1, "BN", None),  # an item without expiry tracking: FEFO takes this lot last
)
CENTRAL_PHYSICAL = ("c.receiving", "c.storage", "c.shelf", "c.quarantine", "c.cabinet")
RETAIL_PHYSICAL = ("r.storage", "r.quarantine")

# Receipts are larger than takes, and most traffic goes through central storage, so that most
# takes succeed and stock keeps flowing; every refusal path still comes up in each run.
receipts = st.integers(min_value=5, max_value=60)
quantities = st.integers(min_value=1, max_value=15)
picks = st.integers(min_value=0, max_value=15)  # an index into a list, counted from its end
lot_picks = st.none() | picks  # None: let FEFO choose
statuses = st.sampled_from([LotStatus.AVAILABLE] * 4 + list(LotStatus))
wrong_sites = st.sampled_from([False, False, False, False, True])  # now and then


@dataclass
class ModelDoc:
    doc_id: int
    kind: DocumentType
    movements: list[Mv]
    related_id: int | None = None
    reverses_id: int | None = None
    reversed: bool = False


@dataclass
class KeyedPost:
    key: str
    run: Run
    doc: PostedDocument


def as_mv(m: PlannedMovement) -> Mv:
    return (m.from_location_id, m.to_location_id, m.item_id, m.lot_id, m.quantity)


def _rule_of(run: Run) -> str:
    """The rule a posting closure was made in: ``LedgerMachine.<rule>.<locals>.run``."""
    return run.__qualname__.split(".")[-3]


class LedgerMachine(RuleBasedStateMachine):
    """The ledger against its model. Subclasses say how to make a fresh database."""

    @staticmethod
    def make_database() -> tuple[str, Callable[[], None]]:
        raise NotImplementedError

    def __init__(self) -> None:
        super().__init__()
        url, self._drop = self.make_database()
        self.clock = ManualClock(START)
        self.rt = Runtime(create_db_engine(url, pool_size=2), self.clock, LedgerPolicy())
        self.net: Network = build_network(self.rt)
        net = self.net
        self.items = [
            net.item("Amoxicillin 500 mg capsule"),
            net.item("Sodium chloride 0.9% 10 mL", expiry_tracked=False, base_unit="vial"),
        ]
        self.loc: dict[str, Location] = {
            "c.receiving": net.central.receiving,
            "c.storage": net.central.storage,
            "c.shelf": net.central.shelf,
            "c.quarantine": net.central.quarantine,
            "c.cabinet": net.central.cabinet,
            "r.storage": net.retail.storage,
            "r.quarantine": net.retail.quarantine,
        }
        virtual = [
            catalog.location_by_code(self.rt, net.actor, site.id, code)
            for site in (net.central, net.retail)
            for code in ("SUPPLIER", "PATIENT", "ADJUST", "WASTE", "TRANSIT", "REVDIST")
        ]
        self.virtual = {(v.site_id, v.code): v.id for v in virtual}
        self._virtual_ids = {v.id: v.code for v in virtual}
        self.holding = {net.central.quarantine.id, net.retail.quarantine.id}
        self.physical = {loc.id for loc in self.loc.values()}
        # the model
        self.on_hand: dict[Key, int] = defaultdict(int)
        self.lots: dict[tuple[int, str], int] = {}  # (item id, lot number) -> lot id
        self.expiry: dict[int, date | None] = {}
        self.status: dict[int, LotStatus] = {}
        self.docs: list[ModelDoc] = []
        self.keyed: list[KeyedPost] = []
        self.movements = 0
        self.documents = 0
        self._keys = itertools.count(1)

    def teardown(self) -> None:
        self.rt.engine.dispose()
        self._drop()

    # --- the model's rules -------------------------------------------------------------------

    def _today(self) -> date:
        return self.clock.now().date()

    def _unusable(
        self, lot_id: int | None, expiry: date | None
    ) -> type[errors.RxLedgerError] | None:
        """The refusal a named lot gets on its way to a stocking location, if any."""
        status = self.status.get(lot_id, LotStatus.AVAILABLE) if lot_id else LotStatus.AVAILABLE
        expiry = self.expiry.get(lot_id, expiry) if lot_id else expiry
        if status is LotStatus.EXPIRED or (expiry is not None and self._today() > expiry):
            return errors.LotExpired
        if status is not LotStatus.AVAILABLE:
            return errors.LotUnavailable
        return None

    def _lots_of(self, item_index: int) -> list[int]:
        item_id = self.items[item_index].id
        return sorted(lot for (item, _), lot in self.lots.items() if item == item_id)

    def _pick_lot(self, item_index: int, pick: int | None, at: int | None = None) -> int | None:
        """The item's lot at this index, counting from the one with the most stock ``at``."""
        item_id = self.items[item_index].id
        lots = sorted(
            self._lots_of(item_index),
            key=lambda lot: (-self.on_hand[(at, item_id, lot)] if at else 0, lot),
        )
        return None if pick is None or not lots else lots[pick % len(lots)]

    def _fefo(self, source: int, item_id: int, quantity: int) -> list[tuple[int, int]] | None:
        """(lot, quantity) taken first-expiry-first-out from usable lots, or None if short."""
        usable = [
            lot
            for (item, _), lot in self.lots.items()
            if item == item_id
            and self._unusable(lot, None) is None
            and self.on_hand[(source, item_id, lot)] > 0
        ]
        usable.sort(key=lambda lot: (self.expiry[lot] is None, self.expiry[lot] or date.max, lot))
        taken, remaining = [], quantity
        for lot in usable:
            take = min(remaining, self.on_hand[(source, item_id, lot)])
            taken.append((lot, take))
            remaining -= take
            if remaining == 0:
                return taken
        return None

    def _short(self, movements: list[Mv]) -> bool:
        """Would these movements leave a physical location below zero?"""
        delta: dict[Key, int] = defaultdict(int)
        for source, target, item, lot, qty in movements:
            delta[(source, item, lot)] -= qty
            delta[(target, item, lot)] += qty
        return any(
            key[0] in self.physical and self.on_hand[key] + d < 0 for key, d in delta.items()
        )

    def _outstanding(self, shipment: ModelDoc) -> dict[tuple[int, int], int]:
        """What a shipment and its receipts and reversals left in transit, per (item, lot)."""
        transit = self.virtual[(self.net.central.id, "TRANSIT")]
        direct = {shipment.doc_id} | {
            d.doc_id for d in self.docs if d.related_id == shipment.doc_id
        }
        chain = [d for d in self.docs if d.doc_id in direct or d.reverses_id in direct]
        flow: dict[tuple[int, int], int] = defaultdict(int)
        for doc in chain:
            for source, target, item, lot, qty in doc.movements:
                flow[(item, lot)] += (qty if target == transit else 0) - (
                    qty if source == transit else 0
                )
        return flow

    # --- posting and checking ----------------------------------------------------------------

    def _tick(self) -> None:
        self.clock.advance(timedelta(minutes=20))

    def _header(self, keyed: bool) -> Header:
        return Header(idempotency_key=f"key-{next(self._keys)}" if keyed else None)

    def _counts(self) -> tuple[int, int]:
        with self.rt.uow(read_only=True) as uow:
            conn = uow.connection
            return (
                int(conn.execute(select(func.count()).select_from(t.movements)).scalar_one()),
                int(conn.execute(select(func.count()).select_from(t.documents)).scalar_one()),
            )

    def _refused(self, run: Run, header: Header, error: type[errors.RxLedgerError]) -> None:
        event(f"{_rule_of(run)}: {error.__name__}")
        with pytest.raises(error) as refused:
            run(header)
        assert type(refused.value) is error, refused.value
        assert self._counts() == (self.movements, self.documents), "a refusal changed the ledger"

    def _accepted(
        self,
        run: Run,
        header: Header,
        doc: PostedDocument,
        expected: list[Mv],
        *,
        related_id: int | None = None,
        reverses_id: int | None = None,
    ) -> None:
        event(f"{_rule_of(run)}: posted")
        assert not doc.replayed
        assert [as_mv(m) for m in doc.movements] == expected
        for source, target, item, lot, qty in expected:
            if source in self.physical:
                self.on_hand[(source, item, lot)] -= qty
            if target in self.physical:
                self.on_hand[(target, item, lot)] += qty
        self.movements += len(expected)
        self.documents += 1
        self.docs.append(ModelDoc(doc.id, doc.doc_type, expected, related_id, reverses_id))
        if header.idempotency_key is not None:
            self.keyed.append(KeyedPost(header.idempotency_key, run, doc))

    def _post(
        self,
        run: Run,
        header: Header,
        outcome: list[Mv] | type[errors.RxLedgerError],
        **links: int | None,
    ) -> PostedDocument | None:
        if isinstance(outcome, list):
            doc = run(header)
            self._accepted(run, header, doc, outcome, **links)
            return doc
        self._refused(run, header, outcome)
        return None

    # --- rules -------------------------------------------------------------------------------

    @rule(
        spec=st.sampled_from(LOT_SPECS),
        quantity=receipts,
        into=st.sampled_from(
            ("c.storage", "c.storage", "c.storage", *CENTRAL_PHYSICAL, *RETAIL_PHYSICAL)
        ),
        keyed=st.booleans(),
    )
    def receive(self, spec: LotSpec, quantity: int, into: str, keyed: bool) -> None:
        self._receive(spec, quantity, into, keyed)

    @initialize()
    def opening_stock(self) -> None:
        # latest expiry first, so lot ids run against expiry dates and FEFO cannot be lot order
        for spec in reversed(LOT_SPECS):
            self._receive(spec, 40, "c.storage", keyed=False)

    def _receive(self, spec: LotSpec, quantity: int, into: str, keyed: bool) -> None:
        self._tick()  # time moves on before the model predicts
        location = self.loc[into]
        item = self.items[spec.item]
        lot_id = self.lots.get((item.id, spec.number))
        line = stock.ReceiptLine(item.id, quantity, spec.number, spec.expiry)

        def run(header: Header) -> PostedDocument:
            command = stock.Receive(location.site_id, location.id, [line], header)
            return stock.receive(self.rt, self.net.actor, command)

        header = self._header(keyed)
        refusal = None if location.id in self.holding else self._unusable(lot_id, spec.expiry)
        if refusal is not None:
            self._refused(run, header, refusal)
            return
        doc = run(header)
        if lot_id is None:  # the receipt created the lot
            lot_id = doc.movements[0].lot_id
            assert lot_id not in self.expiry
            self.lots[(item.id, spec.number)] = lot_id
            self.expiry[lot_id] = spec.expiry
            self.status[lot_id] = LotStatus.AVAILABLE
        supplier = self.virtual[(location.site_id, "SUPPLIER")]
        self._accepted(run, header, doc, [(supplier, location.id, item.id, lot_id, quantity)])

    def _take(
        self, item_index: int, quantity: int, source: int, target: int, pick: int | None
    ) -> tuple[list[stock.StockLine], list[Mv] | type[errors.RxLedgerError]]:
        """Lines and predicted outcome of taking stock from a source, by lot or by FEFO."""
        item_id = self.items[item_index].id
        lot = self._pick_lot(item_index, pick, at=source)
        lines = [stock.StockLine(item_id, quantity, lot)]
        if lot is None:
            taken = self._fefo(source, item_id, quantity)
            if taken is None:
                return lines, errors.InsufficientStock
            return lines, [(source, target, item_id, lo, q) for lo, q in taken]
        if target not in self.holding and (refusal := self._unusable(lot, None)):
            return lines, refusal
        movements = [(source, target, item_id, lot, quantity)]
        return lines, errors.InsufficientStock if self._short(movements) else movements

    @rule(
        item=st.sampled_from([0, 1]),
        quantity=quantities,
        source=st.sampled_from(("c.storage", "c.storage", "c.storage", *CENTRAL_PHYSICAL)),
        into=st.sampled_from(CENTRAL_PHYSICAL),
        pick=lot_picks,
        put_away=st.booleans(),
        keyed=st.booleans(),
    )
    def move(
        self,
        item: int,
        quantity: int,
        source: str,
        into: str,
        pick: int | None,
        put_away: bool,
        keyed: bool,
    ) -> None:
        self._tick()  # time moves on before the model predicts
        site, src, dst = self.net.central.id, self.loc[source].id, self.loc[into].id
        lines, outcome = self._take(item, quantity, src, dst, pick)
        if src == dst:
            outcome = errors.SameLocation

        def run(header: Header) -> PostedDocument:
            command = stock.Move(site, src, dst, lines, header, put_away=put_away)
            return stock.move(self.rt, self.net.actor, command)

        self._post(run, self._header(keyed), outcome)

    @rule(
        item=st.sampled_from([0, 1]),
        quantity=quantities,
        source=st.sampled_from(("c.storage", "c.storage", "c.storage", "c.shelf", "c.quarantine")),
        pick=lot_picks,
        keyed=st.booleans(),
    )
    def ship_transfer(
        self, item: int, quantity: int, source: str, pick: int | None, keyed: bool
    ) -> None:
        self._tick()  # time moves on before the model predicts
        central, retail = self.net.central.id, self.net.retail.id
        src = self.loc[source].id
        lines, outcome = self._take(item, quantity, src, self.virtual[(central, "TRANSIT")], pick)

        def run(header: Header) -> PostedDocument:
            command = stock.ShipTransfer(central, src, retail, lines, header)
            return stock.ship_transfer(self.rt, self.net.actor, command)

        self._post(run, self._header(keyed), outcome)

    def _shipments(self) -> list[ModelDoc]:
        return [d for d in self.docs if d.kind is DocumentType.TRANSFER_SHIP]

    @precondition(lambda self: bool(self._shipments()))
    @rule(
        pick=picks,
        into=st.sampled_from(RETAIL_PHYSICAL),
        quantity=st.none() | quantities,
        lot_pick=lot_picks,
        keyed=st.booleans(),
    )
    def receive_transfer(
        self, pick: int, into: str, quantity: int | None, lot_pick: int | None, keyed: bool
    ) -> None:
        self._tick()  # time moves on before the model predicts
        shipments = self._shipments()
        shipment = shipments[-1 - pick % len(shipments)]
        dst = self.loc[into].id
        transit = self.virtual[(self.net.central.id, "TRANSIT")]
        outstanding = self._outstanding(shipment)
        item_id = shipment.movements[0][2]
        lines: list[stock.StockLine] = []
        claimed: list[tuple[int, int, int]] = []  # (item, lot, quantity)
        outcome: list[Mv] | type[errors.RxLedgerError]
        if quantity is None:  # everything still in transit
            claimed = [(i, lot, q) for (i, lot), q in sorted(outstanding.items()) if q > 0]
            outcome = errors.NothingToReceive if not claimed else []
        else:
            shipped_lots = sorted({m[3] for m in shipment.movements})
            named = None if lot_pick is None else shipped_lots[lot_pick % len(shipped_lots)]
            lines = [stock.StockLine(item_id, quantity, named)]
            candidates = (
                [named]
                if named is not None
                else sorted(lot for (_, lot), q in outstanding.items() if q > 0)
            )
            needed = quantity
            for lot in candidates:
                take = min(needed, outstanding[(item_id, lot)])
                if take > 0:
                    claimed.append((item_id, lot, take))
                    needed -= take
            outcome = errors.InsufficientStock if needed else []
        if isinstance(outcome, list):
            refusals = [self._unusable(lot, None) for _, lot, _ in claimed]
            first = next((r for r in refusals if r is not None), None)
            if dst not in self.holding and first is not None:
                outcome = first
            else:
                outcome = [(transit, dst, i, lot, q) for i, lot, q in claimed]

        def run(header: Header) -> PostedDocument:
            command = stock.ReceiveTransfer(shipment.doc_id, dst, lines, header)
            return stock.receive_transfer(self.rt, self.net.actor, command)

        doc = self._post(run, self._header(keyed), outcome, related_id=shipment.doc_id)
        if doc is not None:
            assert doc.related_id == shipment.doc_id

    @rule(
        item=st.sampled_from([0, 1]),
        quantity=quantities,
        source=st.sampled_from(("c.storage", "c.storage", "c.storage", *CENTRAL_PHYSICAL)),
        pick=lot_picks,
        keyed=st.booleans(),
    )
    def dispense(
        self, item: int, quantity: int, source: str, pick: int | None, keyed: bool
    ) -> None:
        self._tick()  # time moves on before the model predicts
        central = self.net.central.id
        src = self.loc[source].id
        lines, outcome = self._take(item, quantity, src, self.virtual[(central, "PATIENT")], pick)
        if source in ("c.receiving", "c.quarantine"):  # not stock that may be dispensed
            outcome = errors.LocationNotAllowed

        def run(header: Header) -> PostedDocument:
            command = stock.Dispense(central, src, lines, header)
            return stock.dispense(self.rt, self.net.actor, command)

        self._post(run, self._header(keyed), outcome)

    def _adjustment(
        self, location: str, wrong_site: bool
    ) -> tuple[int, int, int, type[errors.RxLedgerError] | None]:
        """(site of the document, location, adjustment location, refusal for the site)."""
        loc = self.loc[location]
        sites = (self.net.central.id, self.net.retail.id)
        site = sites[(sites.index(loc.site_id) + wrong_site) % 2]
        refusal = errors.LocationNotAllowed if wrong_site else None
        return site, loc.id, self.virtual[(site, "ADJUST")], refusal

    @precondition(lambda self: bool(self.lots))
    @rule(
        item=st.sampled_from([0, 1]),
        pick=picks,
        location=st.sampled_from(CENTRAL_PHYSICAL + RETAIL_PHYSICAL),
        size=quantities,
        found=st.booleans(),
        wrong_site=wrong_sites,
        keyed=st.booleans(),
    )
    def adjust_by_delta(
        self,
        item: int,
        pick: int,
        location: str,
        size: int,
        found: bool,
        wrong_site: bool,
        keyed: bool,
    ) -> None:
        self._tick()  # time moves on before the model predicts
        lot = self._pick_lot(item, pick, at=self.loc[location].id)
        if lot is None:
            return
        item_id = self.items[item].id
        site, loc, adjustment, outcome = self._adjustment(location, wrong_site)
        delta = size if found else -size
        line = stock.AdjustLine(item_id, loc, lot, "FOUND" if found else "LOST", delta=delta)
        movement = (
            (adjustment, loc, item_id, lot, size)
            if found
            else (loc, adjustment, item_id, lot, size)
        )
        if outcome is None:
            outcome = errors.InsufficientStock if self._short([movement]) else [movement]

        def run(header: Header) -> PostedDocument:
            return stock.adjust(self.rt, self.net.actor, stock.Adjust(site, [line], header))

        self._post(run, self._header(keyed), outcome)

    @precondition(lambda self: bool(self.lots))
    @rule(
        item=st.sampled_from([0, 1]),
        pick=picks,
        location=st.sampled_from(CENTRAL_PHYSICAL + RETAIL_PHYSICAL),
        counted=st.integers(min_value=0, max_value=60),
        wrong_site=wrong_sites,
        keyed=st.booleans(),
    )
    def adjust_to_count(
        self, item: int, pick: int, location: str, counted: int, wrong_site: bool, keyed: bool
    ) -> None:
        self._tick()  # time moves on before the model predicts
        lot = self._pick_lot(item, pick, at=self.loc[location].id)
        if lot is None:
            return
        item_id = self.items[item].id
        site, loc, adjustment, outcome = self._adjustment(location, wrong_site)
        delta = counted - self.on_hand[(loc, item_id, lot)]
        line = stock.AdjustLine(item_id, loc, lot, "COUNT", counted=counted)
        if outcome is None:
            # A count that confirms the balance posts a document that moves nothing.
            outcome = (
                []
                if delta == 0
                else [
                    (adjustment, loc, item_id, lot, delta)
                    if delta > 0
                    else (loc, adjustment, item_id, lot, -delta)
                ]
            )

        def run(header: Header) -> PostedDocument:
            return stock.adjust(self.rt, self.net.actor, stock.Adjust(site, [line], header))

        self._post(run, self._header(keyed), outcome)

    @precondition(lambda self: bool(self.docs))
    @rule(pick=picks, keyed=st.booleans())
    def reverse(self, pick: int, keyed: bool) -> None:
        self._tick()  # time moves on before the model predicts
        original = self.docs[-1 - pick % len(self.docs)]
        outcome: list[Mv] | type[errors.RxLedgerError]
        if original.kind is DocumentType.REVERSAL:
            outcome = errors.DocumentNotReversible
        elif original.reversed:
            outcome = errors.AlreadyReversed
        elif any(d.related_id == original.doc_id and not d.reversed for d in self.docs):
            # a shipment with receipts not reversed yet: undoing it would count units twice
            outcome = errors.DocumentNotReversible
        elif not original.movements:
            # a count that confirmed the balance moved nothing: there is nothing to undo
            outcome = errors.DocumentNotReversible
        else:
            outcome = [(dst, src, item, lot, q) for src, dst, item, lot, q in original.movements]
            if self._short(outcome):
                outcome = errors.InsufficientStock

        def run(header: Header) -> PostedDocument:
            command = stock.Reverse(original.doc_id, header)
            return stock.reverse(self.rt, self.net.actor, command)

        doc = self._post(run, self._header(keyed), outcome, reverses_id=original.doc_id)
        if doc is not None:
            assert doc.reverses_id == original.doc_id
            original.reversed = True

    @precondition(lambda self: bool(self.lots))
    @rule(item=st.sampled_from([0, 1]), pick=picks, status=statuses)
    def set_lot_status(self, item: int, pick: int, status: LotStatus) -> None:
        lot = self._pick_lot(item, pick)
        if lot is None:
            return
        catalog.set_lot_status(self.rt, self.net.actor, lot, status)
        self.status[lot] = status

    @rule(hours=st.integers(min_value=1, max_value=30))
    def let_time_pass(self, hours: int) -> None:
        self.clock.advance(timedelta(hours=hours))

    @precondition(lambda self: bool(self.keyed))
    @rule(pick=picks)
    def retry_the_same_request(self, pick: int) -> None:
        first = self.keyed[-1 - pick % len(self.keyed)]
        self.clock.advance(timedelta(minutes=1))
        # when the same request comes again, whatever happened since
        again = first.run(Header(idempotency_key=first.key))
        # then it is the first document, replayed, and nothing new is written
        assert again.replayed
        assert again.id == first.doc.id
        assert again.occurred_at == first.doc.occurred_at
        assert [as_mv(m) for m in again.movements] == [as_mv(m) for m in first.doc.movements]
        assert self._counts() == (self.movements, self.documents)

    @precondition(lambda self: bool(self.keyed))
    @rule(pick=picks)
    def reuse_a_key_for_another_request(self, pick: int) -> None:
        first = self.keyed[-1 - pick % len(self.keyed)]
        header = Header(idempotency_key=first.key, note="a different request")
        with pytest.raises(errors.IdempotencyConflict) as refused:
            first.run(header)
        assert refused.value.details == {"key": first.key, "document_id": first.doc.id}
        assert self._counts() == (self.movements, self.documents)

    # --- invariants --------------------------------------------------------------------------

    @invariant()
    def the_ledger_agrees_with_the_model_and_itself(self) -> None:
        b = t.balances
        with self.rt.uow(read_only=True) as uow:
            rows = uow.connection.execute(
                select(b.c.location_id, b.c.item_id, b.c.lot_id, b.c.on_hand, b.c.is_virtual)
            ).all()
        stored = {(r.location_id, r.item_id, r.lot_id): r.on_hand for r in rows}
        # the physical on-hand of every (location, item, lot) is what the model says
        physical = {k: q for k, q in stored.items() if k[0] not in self._virtual_ids and q}
        assert physical == {k: q for k, q in self.on_hand.items() if q}
        # physical locations never go negative
        assert all(r.on_hand >= 0 for r in rows if not r.is_virtual)
        # conservation: every (item, lot) sums to zero over all locations, virtual ones included
        totals: dict[tuple[int, int], int] = defaultdict(int)
        for (_, item, lot), qty in stored.items():
            totals[(item, lot)] += qty
        assert all(total == 0 for total in totals.values()), totals
        # no lot has gone back to a supplier, or come back from patients or transit, more than
        # it went there
        for (location, item, lot), qty in stored.items():
            code = self._virtual_ids.get(location)
            if code == "SUPPLIER":
                assert qty <= 0, (code, item, lot, qty)
            elif code in ("TRANSIT", "PATIENT"):
                assert qty >= 0, (code, item, lot, qty)
        # no write was lost or doubled, and the stored balances are the ledger's
        assert self._counts() == (self.movements, self.documents)
        report = integrity.check(self.rt)
        assert report.ok, report.findings


def _sqlite_databases(
    template: Path, directory: Path
) -> Callable[[], tuple[str, Callable[[], None]]]:
    numbers = itertools.count()

    def fresh() -> tuple[str, Callable[[], None]]:
        path = directory / f"machine-{next(numbers)}.db"
        shutil.copyfile(template, path)

        def drop() -> None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)

        return f"sqlite:///{path}", drop

    return fresh


def _pg_databases(base: str) -> Callable[[], tuple[str, Callable[[], None]]]:
    def fresh() -> tuple[str, Callable[[], None]]:
        url, name = _fresh_pg(base)
        return url, lambda: _drop_pg(base, name)

    return fresh


@pytest.mark.slow
@pytest.mark.parametrize(
    "engine", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_random_document_sequences_keep_the_ledger_sound(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if engine == "sqlite":
        fresh = _sqlite_databases(request.getfixturevalue("sqlite_template"), tmp_path)
    else:
        fresh = _pg_databases(request.getfixturevalue("pg_server"))

    class Machine(LedgerMachine):
        make_database = staticmethod(fresh)

    run_state_machine_as_test(
        Machine,
        settings=settings(
            # RXLEDGER_PROPERTY_EXAMPLES=500 for a deeper run than the default suite can afford
            max_examples=int(os.environ.get("RXLEDGER_PROPERTY_EXAMPLES", "25")),
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )


# --- bugs the machine steers around, pinned down as examples ----------------------------------


@pytest.fixture
def net(rt: Runtime) -> Network:
    return build_network(rt)


def test_a_count_that_confirms_the_balance_posts_without_movements(net: Network) -> None:
    # given 10 on hand
    item = net.item()
    net.receive(item, 10)
    lot = catalog.find_lot(net.rt, net.actor, item.id, "L1")
    storage = net.central.storage.id
    line = stock.AdjustLine(item.id, storage, lot.id, "COUNT", counted=10)
    # when the count finds exactly 10
    try:
        doc = stock.adjust(net.rt, net.actor, stock.Adjust(net.central.id, [line]))
    except errors.RxLedgerError:
        pass  # a typed refusal would be acceptable too
    else:
        # then it is recorded with no movement
        assert doc.movements == ()
    assert queries.balance(net.rt, net.actor, item_id=item.id, location_id=storage) == 10
    assert integrity.check(net.rt).ok


@pytest.mark.parametrize("follow_up", ["dispense-return", "transfer-receipt"])
def test_a_document_with_follow_ups_is_reversed_only_after_them(
    net: Network, follow_up: str
) -> None:
    # given 20 received, 12 of them dispensed (or shipped), and some of them already back
    item = net.item()
    net.receive(item, 20)
    storage = net.central.storage.id
    if follow_up == "dispense-return":
        original = net.dispense(item, 12)
        returned = stock.StockLine(item.id, 5)
        follower = stock.reverse_dispense(
            net.rt, net.actor, stock.ReverseDispense(original.id, storage, [returned])
        )
    else:
        ship = stock.ShipTransfer(
            net.central.id, storage, net.retail.id, [stock.StockLine(item.id, 12)]
        )
        original = stock.ship_transfer(net.rt, net.actor, ship)
        follower = stock.receive_transfer(
            net.rt, net.actor, stock.ReceiveTransfer(original.id, net.retail.storage.id)
        )
    physical = queries.balance(net.rt, net.actor, item_id=item.id)
    # when the original is reversed first
    with pytest.raises(errors.DocumentNotReversible) as refused:
        stock.reverse(net.rt, net.actor, stock.Reverse(original.id))
    # then it is refused, naming the follower, and nothing moves
    assert refused.value.details == {"document_id": original.id, "followed_by": [follower.id]}
    assert queries.balance(net.rt, net.actor, item_id=item.id) == physical
    # when the follower is reversed, then the original may be, and every unit is back once
    stock.reverse(net.rt, net.actor, stock.Reverse(follower.id))
    stock.reverse(net.rt, net.actor, stock.Reverse(original.id))
    assert queries.balance(net.rt, net.actor, item_id=item.id, location_id=storage) == 20
    assert queries.balance(net.rt, net.actor, item_id=item.id) == 20
    report = integrity.check(net.rt)
    assert report.ok, report.findings
