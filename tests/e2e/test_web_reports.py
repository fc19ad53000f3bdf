"""The read models behind the web screens (``rxledger.services.reports``), on SQLite and on a
real PostgreSQL: dashboard figures, weekly dispensing, document pages, shipments in transit, and
the preview that runs a posting and rolls it back."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from rxledger.domain import errors
from rxledger.domain.clock import ManualClock
from rxledger.domain.permissions import Actor, Grant, Role
from rxledger.services import catalog, queries, reports, stock
from rxledger.services.posting import Header
from rxledger.services.runtime import Runtime
from tests.builders import Network, build_network


@pytest.fixture
def net(rt: Runtime) -> Network:
    return build_network(rt)


def test_the_dashboard_counts_value_zero_items_and_expiring_lots(
    net: Network, clock: ManualClock
) -> None:
    # given stock worth 0.125 a unit, an item emptied, and lots expiring in 10, 45 and 200 days
    today = clock.now().date()
    kept, emptied = net.item("Kept 1 mg"), net.item("Emptied 2 mg")
    net.receive(kept, 100, "SOON", today + timedelta(days=10))
    net.receive(kept, 40, "LATER", today + timedelta(days=45))
    net.receive(kept, 60, "FAR", today + timedelta(days=200))
    net.receive(emptied, 5, "E1", today + timedelta(days=300))
    net.dispense(emptied, 5)
    # when the dashboard is read
    figures = reports.site_dashboard(net.rt, net.actor, net.central.id)
    # then
    assert figures.stock_value == Decimal("25.00")
    assert figures.units == 200
    assert (figures.items_in_stock, figures.items_at_zero) == (1, 1)
    assert [z.name for z in figures.zero_sample] == ["Emptied 2 mg"]
    assert figures.expiring == {30: 1, 60: 2, 90: 2}
    assert [lot.lot_number for lot in figures.expiring_sample] == ["SOON", "LATER"]
    assert figures.expiring_sample[0].days_left == 10


def test_weekly_dispensing_nets_returns_and_ignores_other_sites(
    net: Network, clock: ManualClock
) -> None:
    item = net.item()
    net.receive(item, 500, expiry=date(2030, 1, 1))
    net.receive(item, 500, expiry=date(2030, 1, 1), site=net.retail)
    clock.advance(timedelta(days=-6))
    first = net.dispense(item, 30)
    clock.advance(timedelta(days=6))
    net.dispense(item, 12)
    net.dispense(item, 99, site=net.retail)
    stock.reverse_dispense(
        net.rt,
        net.actor,
        stock.ReverseDispense(first.id, net.central.storage.id, [stock.StockLine(item.id, 5)]),
    )
    weeks = reports.weekly_dispensed(net.rt, net.actor, net.central.id, weeks=3)
    assert [w.units for w in weeks] == [0, 0, 30 + 12 - 5]
    assert weeks[-1].week_start == clock.now().date() - timedelta(days=6)
    one = reports.weekly_dispensed(net.rt, net.actor, net.central.id, weeks=3, item_id=item.id)
    assert [w.units for w in one] == [0, 0, 37]


def test_a_preview_shows_the_posting_and_writes_nothing(net: Network) -> None:
    item = net.item()
    net.receive(item, 10, "OLD", date(2027, 1, 31))
    net.receive(item, 10, "NEW", date(2028, 1, 31))
    before = queries.list_documents(net.rt, net.actor, limit=1)[0]["id"]
    command = stock.Dispense(
        net.central.id, net.central.storage.id, [stock.StockLine(item.id, 15)], Header("RX-9")
    )
    preview = reports.preview(net.rt, net.actor, stock.dispense, command)
    assert [(x.lot_number, x.quantity, x.from_code, x.to_code) for x in preview.lines] == [
        ("OLD", 10, "MAIN", "PATIENT"),
        ("NEW", 5, "MAIN", "PATIENT"),
    ]
    assert [(c.location_code, c.before, c.after) for c in preview.changes] == [("MAIN", 20, 5)]
    assert queries.list_documents(net.rt, net.actor, limit=1)[0]["id"] == before
    on_hand = queries.balances(net.rt, net.actor, location_id=net.central.storage.id)
    assert sum(b.on_hand for b in on_hand) == 20


def test_a_preview_of_a_receipt_names_the_new_lot_and_keeps_no_lot(net: Network) -> None:
    item = net.item()
    command = stock.Receive(
        net.central.id,
        net.central.receiving.id,
        [stock.ReceiptLine(item.id, 24, "BRAND-NEW", date(2029, 5, 31))],
    )
    preview = reports.preview(net.rt, net.actor, stock.receive, command)
    assert [(x.lot_number, x.from_code, x.to_code) for x in preview.lines] == [
        ("BRAND-NEW", "SUPPLIER", "RECV")
    ]
    assert [(c.before, c.after) for c in preview.changes] == [(0, 24)]
    with pytest.raises(errors.LotNotFound):
        catalog.find_lot(net.rt, net.actor, item.id, "BRAND-NEW")


def test_a_preview_refuses_like_the_posting_does(net: Network) -> None:
    item = net.item()
    net.receive(item, 3)
    too_much = stock.Dispense(net.central.id, net.central.storage.id, [stock.StockLine(item.id, 4)])
    with pytest.raises(errors.InsufficientStock):
        reports.preview(net.rt, net.actor, stock.dispense, too_much)
    auditor = Actor(net.actor.organization_id, "aud", None, (Grant(Role.AUDITOR, None),))
    allowed = stock.Dispense(net.central.id, net.central.storage.id, [stock.StockLine(item.id, 1)])
    with pytest.raises(errors.Forbidden):
        reports.preview(net.rt, auditor, stock.dispense, allowed)


def test_a_document_is_described_with_what_followed_it(net: Network) -> None:
    item = net.item()
    net.receive(item, 50, "D1")
    dispensed = net.dispense(item, 8)
    returned = stock.reverse_dispense(
        net.rt, net.actor, stock.ReverseDispense(dispensed.id, net.central.quarantine.id)
    )
    view = reports.describe_document(net.rt, net.actor, dispensed.id)
    assert view.site_code == "CENTRAL"
    assert [
        (x.item_name, x.lot_number, x.from_code, x.to_code, x.quantity) for x in view.lines
    ] == [(item.name, "D1", "MAIN", "PATIENT", 8)]
    assert view.followers == ((returned.id, "dispense_reversal"),)
    assert view.reversed_by is None


def test_shipments_in_transit_to_a_site_until_received(net: Network) -> None:
    item = net.item()
    net.receive(item, 20)
    shipment = stock.ship_transfer(
        net.rt,
        net.actor,
        stock.ShipTransfer(
            net.central.id, net.central.storage.id, net.retail.id, [stock.StockLine(item.id, 7)]
        ),
    )
    inbound = reports.inbound_shipments(net.rt, net.actor, net.retail.id)
    assert [(s.document_id, s.from_site_code, s.outstanding) for s in inbound] == [
        (shipment.id, "CENTRAL", ((item.name, 7),))
    ]
    stock.receive_transfer(
        net.rt, net.actor, stock.ReceiveTransfer(shipment.id, net.retail.receiving.id)
    )
    assert reports.inbound_shipments(net.rt, net.actor, net.retail.id) == []
    assert reports.inbound_shipments(net.rt, net.actor, net.central.id) == []


def test_site_documents_page_newest_first_and_stay_in_their_site(
    net: Network, clock: ManualClock
) -> None:
    item = net.item()
    net.receive(item, 100)
    net.receive(item, 100, site=net.retail)
    ids = []
    for _ in range(5):
        clock.advance(timedelta(minutes=1))
        ids.append(net.dispense(item, 1).id)
    first = reports.site_documents(net.rt, net.actor, net.central.id, doc_type="dispense", limit=2)
    assert [d.id for d in first] == ids[:-3:-1]
    rest = reports.site_documents(
        net.rt, net.actor, net.central.id, doc_type="dispense", before_id=first[-1].id, limit=10
    )
    assert [d.id for d in rest] == ids[-3::-1]
    everything = reports.site_documents(net.rt, net.actor, net.central.id, limit=50)
    assert {d.doc_type for d in everything} == {"receipt", "dispense"}
    assert all(d.lines == 1 for d in everything)
    outsider = Actor(net.actor.organization_id, "o", None, (Grant(Role.MANAGER, net.retail.id),))
    with pytest.raises(errors.Forbidden):
        reports.site_documents(net.rt, outsider, net.central.id)


def test_transfer_destinations_are_the_other_sites_for_those_who_may_ship(net: Network) -> None:
    tech = Actor(net.actor.organization_id, "t", None, (Grant(Role.TECHNICIAN, net.central.id),))
    assert [s.code for s in reports.transfer_destinations(net.rt, tech, net.central.id)] == [
        "RETAIL"
    ]
    auditor = Actor(net.actor.organization_id, "a", None, (Grant(Role.AUDITOR, None),))
    with pytest.raises(errors.Forbidden):
        reports.transfer_destinations(net.rt, auditor, net.central.id)
