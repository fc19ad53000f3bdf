"""Real threads posting conflicting documents at once against a real database, on both engines."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from functools import partial

import pytest
from sqlalchemy import func, select, text

from rxledger.adapters import tables as t
from rxledger.domain import errors
from rxledger.domain.model import DocumentType, Item
from rxledger.services import integrity, queries, stock
from rxledger.services.posting import Header, PostedDocument
from rxledger.services.runtime import Runtime
from tests.builders import Network, build_network

THREADS = 24
Outcome = PostedDocument | BaseException


@pytest.fixture
def net(rt: Runtime) -> Network:
    return build_network(rt)


def race(calls: Sequence[Callable[[], PostedDocument]]) -> list[Outcome]:
    """Start every call on its own thread at the same instant; return each result or error."""
    barrier = threading.Barrier(len(calls), timeout=60)

    def run(call: Callable[[], PostedDocument]) -> PostedDocument:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(run, call) for call in calls]
        return [f.exception(timeout=120) or f.result() for f in futures]


def count(rt: Runtime, table: object) -> int:
    with rt.uow(read_only=True) as uow:
        return int(uow.connection.execute(select(func.count()).select_from(table)).scalar_one())


def physical_balances(rt: Runtime) -> list[int]:
    with rt.uow(read_only=True) as uow:
        return list(
            uow.connection.execute(
                select(t.balances.c.on_hand).where(t.balances.c.is_virtual.is_(False))
            ).scalars()
        )


def assert_refused_for_stock_only(outcomes: Sequence[Outcome]) -> None:
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            assert type(outcome) is errors.InsufficientStock, repr(outcome)
            assert outcome.code == "INSUFFICIENT_STOCK"


def taken_from(doc: PostedDocument, location_id: int) -> int:
    return sum(m.quantity for m in doc.movements if m.from_location_id == location_id)


# --- one lot, many takers ------------------------------------------------------------------------


def _taker(net: Network, item: Item, lot_id: int, kind: str, quantity: int) -> PostedDocument:
    storage = net.central.storage.id
    if kind == "dispense-fefo":
        return net.dispense(item, quantity)
    if kind == "dispense-lot":
        return net.dispense(item, quantity, lot_id=lot_id)
    if kind in ("ship-fefo", "ship-lot"):
        line = stock.StockLine(item.id, quantity, lot_id if kind == "ship-lot" else None)
        return stock.ship_transfer(
            net.rt, net.actor, stock.ShipTransfer(net.central.id, storage, net.retail.id, [line])
        )
    assert kind == "adjust"
    line = stock.AdjustLine(item.id, storage, lot_id, "LOST", delta=-quantity)
    return stock.adjust(net.rt, net.actor, stock.Adjust(net.central.id, [line]))


KINDS = ("dispense-fefo", "dispense-lot", "ship-fefo", "ship-lot", "adjust")


@pytest.mark.slow
def test_conflicting_takers_of_one_lot_never_oversell_and_lose_no_update(net: Network) -> None:
    item = net.item()
    storage = net.central.storage.id
    for round_no in range(3):
        # given 100 units of one lot, and 24 takers asking for 5 to 12 each (about 200 in all)
        receipt = net.receive(item, 100, lot="SHARED")
        lot_id = receipt.movements[0].lot_id
        initial = queries.balance(net.rt, net.actor, item_id=item.id, location_id=storage)
        assert initial == 100
        plan = [(KINDS[i % len(KINDS)], 5 + (i * 7 + round_no) % 8) for i in range(THREADS)]
        documents_before = count(net.rt, t.documents)
        # when they all post at once
        outcomes = race([partial(_taker, net, item, lot_id, kind, qty) for kind, qty in plan])
        # then every refusal is for stock, and every acceptance took exactly what it asked
        assert_refused_for_stock_only(outcomes)
        accepted = [(o, qty) for o, (_, qty) in zip(outcomes, plan, strict=True) if not _failed(o)]
        refused = [qty for o, (_, qty) in zip(outcomes, plan, strict=True) if _failed(o)]
        assert accepted, "some takers must succeed"
        assert refused, "the takers ask for more than there is: some must be refused"
        for doc, qty in accepted:
            assert isinstance(doc, PostedDocument)
            assert taken_from(doc, storage) == qty
            assert {m.lot_id for m in doc.movements} == {lot_id}
        taken = sum(qty for _, qty in accepted)
        # and the final balance is exact: no lost update, no oversell
        final = queries.balance(net.rt, net.actor, item_id=item.id, location_id=storage)
        assert final == initial - taken
        assert final >= 0
        # and nobody was refused while there was enough for them (stock only ever went down)
        assert final < min(refused)
        assert count(net.rt, t.documents) == documents_before + len(accepted)
        assert all(q >= 0 for q in physical_balances(net.rt))
        report = integrity.check(net.rt)
        assert report.ok, report.findings
        # empty the lot so the next round starts from 100 again
        if final:
            _taker(net, item, lot_id, "adjust", final)


def _failed(outcome: Outcome) -> bool:
    return isinstance(outcome, BaseException)


# --- FEFO across two lots ------------------------------------------------------------------------


@pytest.mark.slow
def test_concurrent_fefo_dispenses_drain_the_earliest_lot_first(net: Network) -> None:
    # given two lots of 30 at storage, the earlier one received last
    item = net.item()
    storage = net.central.storage.id
    late = net.receive(item, 30, lot="LATE", expiry=date(2027, 3, 31)).movements[0].lot_id
    early = net.receive(item, 30, lot="EARLY", expiry=date(2026, 9, 30)).movements[0].lot_id
    quantities = [3 + (i * 5) % 7 for i in range(16)]  # 3..9, 88 in all
    # when 16 threads dispense first-expiry-first-out at once
    outcomes = race([partial(net.dispense, item, qty) for qty in quantities])
    # then refusals are for stock only
    assert_refused_for_stock_only(outcomes)
    accepted = sorted((o for o in outcomes if isinstance(o, PostedDocument)), key=lambda d: d.id)
    refused = [q for o, q in zip(outcomes, quantities, strict=True) if _failed(o)]
    assert refused
    # and, replayed in the order they committed, each took EARLY before touching LATE
    left = {early: 30, late: 30}
    for doc in accepted:
        wanted = taken_from(doc, storage)
        expected = []
        for lot_id in (early, late):
            take = min(wanted, left[lot_id])
            if take:
                expected.append((lot_id, take))
                left[lot_id] -= take
                wanted -= take
        assert [(m.lot_id, m.quantity) for m in doc.movements] == expected, doc.id
    assert (
        queries.balance(net.rt, net.actor, item_id=item.id, location_id=storage, lot_id=early)
        == (left[early])
    )
    assert (
        queries.balance(net.rt, net.actor, item_id=item.id, location_id=storage, lot_id=late)
        == (left[late])
    )
    assert left[early] == 0 or left[late] == 30
    assert left[early] + left[late] < min(refused)
    report = integrity.check(net.rt)
    assert report.ok, report.findings


# --- one idempotency key, many retries -----------------------------------------------------------


def _dispenses_with_key(net: Network, key: str) -> int:
    with net.rt.uow(read_only=True) as uow:
        return int(
            uow.connection.execute(
                select(func.count())
                .select_from(t.documents)
                .where(t.documents.c.idempotency_key == key)
            ).scalar_one()
        )


@pytest.mark.slow
def test_sixteen_retries_of_one_key_at_once_post_one_document(net: Network) -> None:
    # given plenty of stock
    item = net.item()
    net.receive(item, 1000)
    movements_before = count(net.rt, t.movements)
    # when 16 threads post the same dispense under the same key at once
    outcomes = race([partial(net.dispense, item, 5, key="rx-4711") for _ in range(16)])
    # then all of them get the one document
    assert all(isinstance(o, PostedDocument) for o in outcomes), outcomes
    docs = [o for o in outcomes if isinstance(o, PostedDocument)]
    assert len({d.id for d in docs}) == 1
    assert [d.replayed for d in docs].count(False) == 1
    assert all(d.doc_type is DocumentType.DISPENSE for d in docs)
    assert {tuple(d.movements) for d in docs} == {docs[0].movements}
    assert _dispenses_with_key(net, "rx-4711") == 1
    assert count(net.rt, t.movements) == movements_before + 1
    assert (
        queries.balance(net.rt, net.actor, item_id=item.id, location_id=net.central.storage.id)
        == 995
    )
    assert integrity.check(net.rt).ok


@pytest.mark.slow
def test_sixteen_different_payloads_under_one_key_post_one_and_refuse_the_rest(
    net: Network,
) -> None:
    # given
    item = net.item()
    net.receive(item, 1000)
    # when 16 threads post different quantities under one key
    outcomes = race([partial(net.dispense, item, 1 + i, key="rx-4712") for i in range(16)])
    # then one document is posted and every other post is an idempotency conflict
    docs = [o for o in outcomes if isinstance(o, PostedDocument)]
    conflicts = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(docs) == 1
    assert all(type(c) is errors.IdempotencyConflict for c in conflicts), conflicts
    assert {c.details["document_id"] for c in conflicts} == {docs[0].id}  # type: ignore[attr-defined]
    assert _dispenses_with_key(net, "rx-4712") == 1
    taken = taken_from(docs[0], net.central.storage.id)
    assert queries.balance(
        net.rt, net.actor, item_id=item.id, location_id=net.central.storage.id
    ) == (1000 - taken)
    assert integrity.check(net.rt).ok


def _wait_until_blocked(rt: Runtime, waiting: int) -> None:
    """Wait until ``waiting`` sessions wait on a lock (PostgreSQL) or give SQLite time to queue."""
    if rt.dialect != "postgresql":
        time.sleep(0.5)
        return
    deadline = time.monotonic() + 20
    with rt.engine.connect() as conn:
        while time.monotonic() < deadline:
            blocked = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
            conn.rollback()
            if blocked >= waiting:
                return
            time.sleep(0.01)
    pytest.fail(f"{waiting} posts never queued behind the held lock")


def test_a_retry_racing_the_first_post_replays_it_even_when_the_stock_is_gone(
    net: Network, request: pytest.FixtureRequest
) -> None:
    # given exactly enough stock for one dispense of 5
    item = net.item()
    net.receive(item, 5)
    storage = net.central.storage.id
    # and the stock held by another transaction, so both attempts read the key before planning
    with net.rt.engine.connect() as holder:
        held = holder.begin()
        holder.execute(
            select(t.balances.c.on_hand)
            .where(t.balances.c.location_id == storage)
            .with_for_update()
        )
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = [
                pool.submit(partial(net.dispense, item, 5, key="rx-scarce")) for _ in range(2)
            ]
            _wait_until_blocked(net.rt, 2)
            # when the holder lets go
            held.rollback()
            outcomes = [f.exception(timeout=60) or f.result() for f in futures]
    # then the client that retried gets the first result back, not a refusal
    assert all(isinstance(o, PostedDocument) for o in outcomes), outcomes
    docs = [o for o in outcomes if isinstance(o, PostedDocument)]
    assert len({d.id for d in docs}) == 1
    assert sorted(d.replayed for d in docs) == [False, True]
    assert queries.balance(net.rt, net.actor, item_id=item.id, location_id=storage) == 0


@pytest.mark.slow
def test_concurrent_receipts_and_dispenses_keep_the_ledger_sound(net: Network) -> None:
    # given three lots on record (see the test below for new lots), one unit of each on hand
    item = net.item()
    storage = net.central.storage.id

    def receive(i: int) -> PostedDocument:
        return net.receive(item, 10, lot=f"R{i % 3}", expiry=date(2027, 1 + i % 3, 1))

    for i in range(3):
        net.receive(item, 1, lot=f"R{i}", expiry=date(2027, 1 + i, 1))

    def take(qty: int) -> PostedDocument:
        return stock.dispense(
            net.rt,
            net.actor,
            stock.Dispense(
                net.central.id, storage, [stock.StockLine(item.id, qty)], Header(reference="RX")
            ),
        )

    calls: list[Callable[[], PostedDocument]] = [partial(receive, i) for i in range(8)]
    calls += [partial(take, 4 + i % 5) for i in range(12)]
    # when receipts and dispenses of the same item race
    outcomes = race(calls)
    # then
    assert_refused_for_stock_only(outcomes)
    assert all(isinstance(o, PostedDocument) for o in outcomes[:8])
    received = 3 + 80
    dispensed = sum(taken_from(o, storage) for o in outcomes[8:] if isinstance(o, PostedDocument))
    assert queries.balance(net.rt, net.actor, item_id=item.id, location_id=storage) == (
        received - dispensed
    )
    assert all(q >= 0 for q in physical_balances(net.rt))
    report = integrity.check(net.rt)
    assert report.ok, report.findings


def test_receipts_of_a_new_lot_racing_each_other_all_post(
    net: Network, request: pytest.FixtureRequest
) -> None:
    # given an item whose lot NEW is not on record yet
    item = net.item()
    # and a third receipt that is creating lot NEW right now, not yet committed
    with net.rt.engine.connect() as holder:
        creating = holder.begin()
        holder.execute(
            t.lots.insert().values(
                organization_id=net.actor.organization_id,
                item_id=item.id,
                lot_number="NEW",
                expiry=date(2027, 6, 30),
                status="available",
                created_at=net.rt.clock.now(),
            )
        )
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = [
                pool.submit(partial(net.receive, item, 10, "NEW", date(2027, 6, 30)))
                for _ in range(2)
            ]
            _wait_until_blocked(net.rt, 2)
            # when it commits
            creating.commit()
            outcomes = [f.exception(timeout=60) or f.result() for f in futures]
    # then both receipts post into the one lot
    assert all(isinstance(o, PostedDocument) for o in outcomes), outcomes
    docs = [o for o in outcomes if isinstance(o, PostedDocument)]
    assert len({m.lot_id for d in docs for m in d.movements}) == 1
    assert queries.balance(net.rt, net.actor, item_id=item.id) == 20
