"""The ledger's use cases against a real database, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from rxledger.adapters import tables as t
from rxledger.domain import errors
from rxledger.domain.clock import ManualClock
from rxledger.domain.model import DocumentType, LotStatus
from rxledger.services import catalog, integrity, queries, stock
from rxledger.services.posting import Header
from rxledger.services.runtime import Runtime
from tests.builders import Network, build_network


@pytest.fixture
def net(rt: Runtime) -> Network:
    return build_network(rt)


def on_hand(net: Network, item_id: int, location_id: int, lot_id: int | None = None) -> int:
    return queries.balance(
        net.rt, net.actor, item_id=item_id, location_id=location_id, lot_id=lot_id
    )


def movement_count(net: Network) -> int:
    with net.rt.uow(read_only=True) as uow:
        return int(
            uow.connection.execute(select(func.count()).select_from(t.movements)).scalar_one()
        )


def assert_sound(net: Network) -> None:
    report = integrity.check(net.rt)
    assert report.ok, report.findings


def test_receive_creates_lot_and_balance(net: Network) -> None:
    # given
    item = net.item()
    # when
    doc = net.receive(item, 300, lot="A-12/3.x", expiry=date(2027, 3, 31))
    # then
    assert doc.doc_type is DocumentType.RECEIPT
    assert doc.posted_by == "tech1"
    lot = catalog.find_lot(net.rt, net.actor, item.id, "A-12/3.x")
    assert lot.expiry == date(2027, 3, 31)
    assert on_hand(net, item.id, net.central.storage.id) == 300
    assert_sound(net)


def test_dispense_allocates_earliest_expiry_first_across_lots(net: Network) -> None:
    # given three lots, the earliest-expiring received last
    item = net.item()
    net.receive(item, 10, lot="LATE", expiry=date(2028, 1, 31))
    net.receive(item, 5, lot="EARLY", expiry=date(2026, 9, 30))
    net.receive(item, 5, lot="MID", expiry=date(2027, 1, 31))
    # when
    doc = net.dispense(item, 8)
    # then EARLY is emptied first, then MID
    lots = {m.lot_id: m.quantity for m in doc.movements}
    early = catalog.find_lot(net.rt, net.actor, item.id, "EARLY")
    mid = catalog.find_lot(net.rt, net.actor, item.id, "MID")
    assert lots == {early.id: 5, mid.id: 3}
    assert on_hand(net, item.id, net.central.storage.id) == 12
    assert_sound(net)


def test_fefo_skips_expired_quarantined_on_hold_and_recalled_lots(
    net: Network, clock: ManualClock
) -> None:
    item = net.item()
    today = clock.now().date()
    net.receive(item, 5, lot="GOOD", expiry=today + timedelta(days=400))
    for lot_number, status in (
        ("HOLD", LotStatus.ON_HOLD),
        ("QUAR", LotStatus.QUARANTINED),
        ("RECALL", LotStatus.RECALLED),
    ):
        net.receive(item, 5, lot=lot_number, expiry=today + timedelta(days=30))
        lot = catalog.find_lot(net.rt, net.actor, item.id, lot_number)
        catalog.set_lot_status(net.rt, net.actor, lot.id, status)
    net.receive(item, 5, lot="OLD", expiry=today + timedelta(days=1))
    clock.advance(timedelta(days=3))  # OLD is now expired
    # when asking for more than the good lot holds
    with pytest.raises(errors.InsufficientStock) as refused:
        net.dispense(item, 6)
    assert refused.value.details["available"] == 5
    # then the good lot alone serves 5
    doc = net.dispense(item, 5)
    assert {m.lot_id for m in doc.movements} == {
        catalog.find_lot(net.rt, net.actor, item.id, "GOOD").id
    }


def test_named_expired_or_quarantined_lot_is_refused_and_nothing_posts(
    net: Network, clock: ManualClock
) -> None:
    item = net.item()
    today = clock.now().date()
    net.receive(item, 5, lot="SOON", expiry=today)
    net.receive(item, 5, lot="HELD", expiry=today + timedelta(days=90))
    held = catalog.find_lot(net.rt, net.actor, item.id, "HELD")
    catalog.set_lot_status(net.rt, net.actor, held.id, LotStatus.QUARANTINED)
    soon = catalog.find_lot(net.rt, net.actor, item.id, "SOON")
    before = movement_count(net)
    # expiry day itself is still usable
    net.dispense(item, 1, lot_id=soon.id)
    clock.advance(timedelta(days=1))
    with pytest.raises(errors.LotExpired):
        net.dispense(item, 1, lot_id=soon.id)
    with pytest.raises(errors.LotUnavailable) as unavailable:
        net.dispense(item, 1, lot_id=held.id)
    assert unavailable.value.details["status"] == "quarantined"
    assert movement_count(net) == before + 1


def test_expired_stock_can_still_be_pulled_to_quarantine(net: Network, clock: ManualClock) -> None:
    item = net.item()
    net.receive(item, 4, lot="OLD", expiry=clock.now().date())
    clock.advance(timedelta(days=2))
    lot = catalog.find_lot(net.rt, net.actor, item.id, "OLD")
    stock.move(
        net.rt,
        net.actor,
        stock.Move(
            net.central.id,
            net.central.storage.id,
            net.central.quarantine.id,
            [stock.StockLine(item.id, 4, lot.id)],
        ),
    )
    assert on_hand(net, item.id, net.central.quarantine.id) == 4


def test_document_posts_all_lines_or_none(net: Network) -> None:
    # given stock of one item and none of another
    a, b = net.item("Drug A"), net.item("Drug B")
    net.receive(a, 10)
    before = movement_count(net)
    # when the second line cannot be served
    with pytest.raises(errors.InsufficientStock):
        stock.dispense(
            net.rt,
            net.actor,
            stock.Dispense(
                net.central.id,
                net.central.storage.id,
                [stock.StockLine(a.id, 5), stock.StockLine(b.id, 1)],
            ),
        )
    # then the first line did not post either
    assert movement_count(net) == before
    assert on_hand(net, a.id, net.central.storage.id) == 10


def test_move_and_put_away_keep_the_lot(net: Network) -> None:
    item = net.item()
    net.receive(item, 50, location=net.central.receiving)
    lot = catalog.find_lot(net.rt, net.actor, item.id, "L1")
    stock.move(
        net.rt,
        net.actor,
        stock.Move(
            net.central.id,
            net.central.receiving.id,
            net.central.shelf.id,
            [stock.StockLine(item.id, 50)],
            put_away=True,
        ),
    )
    assert on_hand(net, item.id, net.central.shelf.id, lot.id) == 50
    assert on_hand(net, item.id, net.central.receiving.id) == 0
    with pytest.raises(errors.LocationNotAllowed):
        stock.move(
            net.rt,
            net.actor,
            stock.Move(
                net.central.id,
                net.central.shelf.id,
                net.retail.storage.id,
                [stock.StockLine(item.id, 1)],
            ),
        )


def test_transfer_between_sites_through_in_transit(net: Network) -> None:
    item = net.item()
    net.receive(item, 100)
    # when central ships 40 to retail
    shipment = stock.ship_transfer(
        net.rt,
        net.actor,
        stock.ShipTransfer(
            net.central.id, net.central.storage.id, net.retail.id, [stock.StockLine(item.id, 40)]
        ),
    )
    # then it is in neither site's physical stock
    assert queries.balance(net.rt, net.actor, item_id=item.id, site_id=net.central.id) == 60
    assert queries.balance(net.rt, net.actor, item_id=item.id, site_id=net.retail.id) == 0
    # when retail receives 30, then the rest
    stock.receive_transfer(
        net.rt,
        net.actor,
        stock.ReceiveTransfer(shipment.id, net.retail.storage.id, [stock.StockLine(item.id, 30)]),
    )
    with pytest.raises(errors.InsufficientStock):
        stock.receive_transfer(
            net.rt,
            net.actor,
            stock.ReceiveTransfer(
                shipment.id, net.retail.storage.id, [stock.StockLine(item.id, 11)]
            ),
        )
    rest = stock.receive_transfer(
        net.rt, net.actor, stock.ReceiveTransfer(shipment.id, net.retail.storage.id)
    )
    assert sum(m.quantity for m in rest.movements) == 10
    assert rest.related_id == shipment.id
    assert queries.balance(net.rt, net.actor, item_id=item.id, site_id=net.retail.id) == 40
    with pytest.raises(errors.NothingToReceive):
        stock.receive_transfer(
            net.rt, net.actor, stock.ReceiveTransfer(shipment.id, net.retail.storage.id)
        )
    # receiving at a location of the shipping site is refused
    with pytest.raises(errors.LocationNotAllowed):
        stock.receive_transfer(
            net.rt, net.actor, stock.ReceiveTransfer(shipment.id, net.central.storage.id)
        )
    assert_sound(net)


def test_dispense_reversal_returns_at_most_what_was_dispensed(net: Network) -> None:
    item = net.item()
    net.receive(item, 20)
    dispensed = net.dispense(item, 12)
    stock.reverse_dispense(
        net.rt,
        net.actor,
        stock.ReverseDispense(dispensed.id, net.central.storage.id, [stock.StockLine(item.id, 5)]),
    )
    assert on_hand(net, item.id, net.central.storage.id) == 13
    with pytest.raises(errors.InsufficientStock):
        stock.reverse_dispense(
            net.rt,
            net.actor,
            stock.ReverseDispense(
                dispensed.id, net.central.storage.id, [stock.StockLine(item.id, 8)]
            ),
        )
    rest = stock.reverse_dispense(
        net.rt, net.actor, stock.ReverseDispense(dispensed.id, net.central.storage.id)
    )
    assert sum(m.quantity for m in rest.movements) == 7
    assert on_hand(net, item.id, net.central.storage.id) == 20
    assert_sound(net)


def test_adjust_by_delta_and_to_counted_quantity(net: Network) -> None:
    item = net.item()
    net.receive(item, 100)
    lot = catalog.find_lot(net.rt, net.actor, item.id, "L1")
    storage = net.central.storage.id
    stock.adjust(
        net.rt,
        net.actor,
        stock.Adjust(
            net.central.id, [stock.AdjustLine(item.id, storage, lot.id, "DAMAGED", delta=-3)]
        ),
    )
    assert on_hand(net, item.id, storage) == 97
    doc = stock.adjust(
        net.rt,
        net.actor,
        stock.Adjust(
            net.central.id, [stock.AdjustLine(item.id, storage, lot.id, "COUNT", counted=99)]
        ),
    )
    assert [m.quantity for m in doc.movements] == [2]
    assert on_hand(net, item.id, storage) == 99
    with pytest.raises(errors.UnknownReasonCode):
        stock.adjust(
            net.rt,
            net.actor,
            stock.Adjust(
                net.central.id, [stock.AdjustLine(item.id, storage, lot.id, "WHIM", delta=1)]
            ),
        )
    catalog.retire_reason_code(net.rt, net.actor, "FOUND")
    with pytest.raises(errors.UnknownReasonCode):
        stock.adjust(
            net.rt,
            net.actor,
            stock.Adjust(
                net.central.id, [stock.AdjustLine(item.id, storage, lot.id, "FOUND", delta=1)]
            ),
        )
    with pytest.raises(errors.InsufficientStock):
        stock.adjust(
            net.rt,
            net.actor,
            stock.Adjust(
                net.central.id, [stock.AdjustLine(item.id, storage, lot.id, "LOST", delta=-100)]
            ),
        )
    assert_sound(net)


def test_reverse_any_document_once(net: Network) -> None:
    item = net.item()
    receipt = net.receive(item, 10)
    dispensed = net.dispense(item, 4)
    reversal = stock.reverse(
        net.rt, net.actor, stock.Reverse(dispensed.id, Header(note="wrong patient"))
    )
    assert reversal.reverses_id == dispensed.id
    assert on_hand(net, item.id, net.central.storage.id) == 10
    with pytest.raises(errors.AlreadyReversed):
        stock.reverse(net.rt, net.actor, stock.Reverse(dispensed.id))
    with pytest.raises(errors.DocumentNotReversible):
        stock.reverse(net.rt, net.actor, stock.Reverse(reversal.id))
    # reversing the receipt would take stock that is no longer there after another dispense
    net.dispense(item, 1)
    with pytest.raises(errors.InsufficientStock):
        stock.reverse(net.rt, net.actor, stock.Reverse(receipt.id))
    with pytest.raises(errors.DocumentNotFound):
        stock.reverse(net.rt, net.actor, stock.Reverse(999_999))
    assert_sound(net)


def test_idempotency_key_replays_and_refuses_a_different_payload(net: Network) -> None:
    item = net.item()
    net.receive(item, 10)
    first = net.dispense(item, 2, key="rx-77")
    again = net.dispense(item, 2, key="rx-77")
    assert again.replayed
    assert not first.replayed
    assert again.id == first.id
    assert on_hand(net, item.id, net.central.storage.id) == 8
    before = movement_count(net)
    with pytest.raises(errors.IdempotencyConflict):
        net.dispense(item, 3, key="rx-77")
    assert movement_count(net) == before


def test_backdating_window_and_future(net: Network, clock: ManualClock) -> None:
    item = net.item()
    net.receive(item, 10)
    now = clock.now()

    def dispense_at(when):  # type: ignore[no-untyped-def]
        return stock.dispense(
            net.rt,
            net.actor,
            stock.Dispense(
                net.central.id,
                net.central.storage.id,
                [stock.StockLine(item.id, 1)],
                Header(occurred_at=when),
            ),
        )

    assert dispense_at(now - timedelta(days=6, hours=23)).occurred_at == now - timedelta(
        days=6, hours=23
    )
    with pytest.raises(errors.BackdatedTooFar):
        dispense_at(now - timedelta(days=7, minutes=1))
    with pytest.raises(errors.FutureDated):
        dispense_at(now + timedelta(minutes=5))


def test_balance_as_of_and_history_with_running_balance(net: Network, clock: ManualClock) -> None:
    item = net.item()
    storage = net.central.storage.id
    t0 = clock.now()
    net.receive(item, 100)
    clock.advance(timedelta(hours=1))
    net.dispense(item, 30)
    clock.advance(timedelta(hours=1))
    # a back-dated dispense lands between the two
    stock.dispense(
        net.rt,
        net.actor,
        stock.Dispense(
            net.central.id,
            storage,
            [stock.StockLine(item.id, 5)],
            Header(occurred_at=t0 + timedelta(minutes=30)),
        ),
    )
    assert queries.balance(net.rt, net.actor, item_id=item.id, location_id=storage, as_of=t0) == 100
    assert (
        queries.balance(
            net.rt,
            net.actor,
            item_id=item.id,
            location_id=storage,
            as_of=t0 + timedelta(minutes=45),
        )
        == 95
    )
    assert queries.balance(net.rt, net.actor, item_id=item.id, location_id=storage) == 65
    history = queries.item_history(net.rt, net.actor, item.id, site_id=net.central.id)
    assert [(h.change, h.balance) for h in history] == [(-30, 65), (-5, 95), (100, 100)]
    older = queries.item_history(
        net.rt,
        net.actor,
        item.id,
        site_id=net.central.id,
        before_movement_id=history[0].movement_id,
        limit=1,
    )
    assert [(h.change, h.balance) for h in older] == [(-5, 95)]


def test_stock_position_by_site_values_at_standard_cost(net: Network) -> None:
    item = net.item()
    net.receive(item, 80)
    net.receive(item, 20, site=net.retail)
    rows = queries.stock_position(net.rt, net.actor)
    assert [(r.site_code, r.on_hand, str(r.value)) for r in rows if r.item_id == item.id] == [
        ("CENTRAL", 80, "10.00"),
        ("RETAIL", 20, "2.50"),
    ]


@pytest.mark.parametrize(
    ("quantity", "error"),
    [
        (0, errors.InvalidQuantity),
        (-5, errors.InvalidQuantity),
        (2.5, errors.InvalidQuantity),
        (True, errors.InvalidQuantity),
    ],
)
def test_bad_quantities_are_refused_and_nothing_posts(
    net: Network, quantity: object, error: type[Exception]
) -> None:
    item = net.item()
    net.receive(item, 10)
    before = movement_count(net)
    with pytest.raises(error):
        net.dispense(item, quantity)  # type: ignore[arg-type]
    assert movement_count(net) == before


def test_unknown_entities_and_foreign_lots_are_refused(net: Network) -> None:
    a, b = net.item("Drug A"), net.item("Drug B")
    net.receive(a, 10, lot="LA")
    net.receive(b, 10, lot="LB")
    lot_b = catalog.find_lot(net.rt, net.actor, b.id, "LB")
    before = movement_count(net)
    with pytest.raises(errors.LotItemMismatch):
        net.dispense(a, 1, lot_id=lot_b.id)
    with pytest.raises(errors.ItemNotFound):
        stock.dispense(
            net.rt,
            net.actor,
            stock.Dispense(net.central.id, net.central.storage.id, [stock.StockLine(424242, 1)]),
        )
    with pytest.raises(errors.LocationNotFound):
        stock.dispense(
            net.rt, net.actor, stock.Dispense(net.central.id, 424242, [stock.StockLine(a.id, 1)])
        )
    with pytest.raises(errors.LotNotFound):
        net.dispense(a, 1, lot_id=424242)
    with pytest.raises(errors.LocationNotAllowed):
        net.dispense(a, 1, location=net.central.quarantine)
    assert movement_count(net) == before


def test_lot_expiry_conflict_on_receipt(net: Network) -> None:
    item = net.item()
    net.receive(item, 1, lot="X", expiry=date(2027, 1, 31))
    with pytest.raises(errors.LotExpiryMismatch):
        net.receive(item, 1, lot="X", expiry=date(2027, 2, 28))


def test_serialized_packages_move_whole_and_are_tracked(net: Network) -> None:
    item = net.item(serial_tracked=True)
    gtin = "00307773105025"
    doc = stock.receive(
        net.rt,
        net.actor,
        stock.Receive(
            net.central.id,
            net.central.storage.id,
            [stock.ReceiptLine(item.id, 100, "S1", date(2028, 1, 31), serial="SN001", gtin=gtin)],
        ),
    )
    serial_id = doc.movements[0].serial_id
    assert serial_id is not None
    with pytest.raises(errors.SerialMismatch):
        stock.dispense(
            net.rt,
            net.actor,
            stock.Dispense(
                net.central.id,
                net.central.storage.id,
                [stock.StockLine(item.id, 50, serial_id=serial_id)],
            ),
        )
    stock.move(
        net.rt,
        net.actor,
        stock.Move(
            net.central.id,
            net.central.storage.id,
            net.central.vault.id,
            [stock.StockLine(item.id, 100, serial_id=serial_id)],
        ),
    )
    with pytest.raises(errors.SerialMismatch):  # not at storage any more
        stock.dispense(
            net.rt,
            net.actor,
            stock.Dispense(
                net.central.id,
                net.central.storage.id,
                [stock.StockLine(item.id, 100, serial_id=serial_id)],
            ),
        )
    stock.dispense(
        net.rt,
        net.actor,
        stock.Dispense(
            net.central.id,
            net.central.vault.id,
            [stock.StockLine(item.id, 100, serial_id=serial_id)],
        ),
    )
    assert_sound(net)


def test_find_item_by_sku_gtin_and_ndc(net: Network) -> None:
    item = net.item(
        ndc10="0777-3105-02", packages=(catalog.PackageSpec("bottle", 100, gtin="00307773105025"),)
    )
    for query in (
        item.sku,
        "00307773105025",
        "307773105025",
        "0777-3105-02",
        "00777-3105-02",
        "00777310502",
        "0777310502",
    ):
        assert catalog.find_item(net.rt, net.actor, query).id == item.id, query
    with pytest.raises(errors.ItemNotFound):
        catalog.find_item(net.rt, net.actor, "99999-9999-99")


def test_a_document_followed_by_returns_or_receipts_is_reversed_only_after_them(
    net: Network,
) -> None:
    # given a shipment partly received at the other site
    item = net.item()
    net.receive(item, 30)
    shipment = stock.ship_transfer(
        net.rt,
        net.actor,
        stock.ShipTransfer(
            net.central.id, net.central.storage.id, net.retail.id, [stock.StockLine(item.id, 10)]
        ),
    )
    receipt = stock.receive_transfer(
        net.rt,
        net.actor,
        stock.ReceiveTransfer(shipment.id, net.retail.storage.id, [stock.StockLine(item.id, 4)]),
    )
    # when reversing the shipment first, it is refused: the 4 received units would count twice
    with pytest.raises(errors.DocumentNotReversible) as refused:
        stock.reverse(net.rt, net.actor, stock.Reverse(shipment.id))
    assert refused.value.details["followed_by"] == [receipt.id]
    # when the receipt is reversed, the shipment can be
    stock.reverse(net.rt, net.actor, stock.Reverse(receipt.id))
    stock.reverse(net.rt, net.actor, stock.Reverse(shipment.id))
    assert queries.balance(net.rt, net.actor, item_id=item.id, site_id=net.central.id) == 30
    assert queries.balance(net.rt, net.actor, item_id=item.id, site_id=net.retail.id) == 0
    assert_sound(net)


def test_a_dry_run_plans_under_the_same_rules_and_writes_nothing(net: Network) -> None:
    item = net.item()
    net.receive(item, 5, lot="EARLY", expiry=date(2027, 1, 31))
    net.receive(item, 5, lot="LATE", expiry=date(2028, 1, 31))
    before = movement_count(net)

    def dispense(quantity: int):  # type: ignore[no-untyped-def]
        return stock.dispense(
            net.rt,
            net.actor,
            stock.Dispense(
                net.central.id,
                net.central.storage.id,
                [stock.StockLine(item.id, quantity)],
                Header(dry_run=True),
            ),
        )

    # when dry-running a dispense of 7, then FEFO's choice is shown and nothing is written
    plan = dispense(7)
    assert plan.dry_run
    assert plan.id == 0
    assert [
        (lot.lot_number, m.quantity)
        for lot, m in zip(plan.planned_lots, plan.movements, strict=True)
    ] == [
        ("EARLY", 5),
        ("LATE", 2),
    ]
    assert movement_count(net) == before
    assert on_hand(net, item.id, net.central.storage.id) == 10
    # and a dry run is refused exactly like the post would be
    with pytest.raises(errors.InsufficientStock):
        dispense(11)
