"""A receiving session against a purchase order and the wholesaler's 856, on both engines."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from rxledger.domain.identifiers import Ndc
from rxledger.domain.model import Item
from rxledger.domain.permissions import Role
from rxledger.services import imports, purchasing, queries, receiving
from rxledger.services.catalog import PackageSpec
from rxledger.services.purchasing import NewRequisition, NewSupplierItem, RequisitionLineSpec
from rxledger.services.runtime import Runtime
from tests.builders import Network, build_network
from tests.purchasing_builders import new_supplier, person

ASN = (Path(__file__).parents[1] / "fixtures" / "x12" / "partial_005010.edi").read_bytes()
HYDROCODONE = Ndc.parse("0054-4022-21")  # 00054402221 in the 856, 4 bottles of 10 ordered
IBUPROFEN = Ndc.parse("0093-5056-01")  # 00093505601 in the 856, 30 bottles of 24 ordered


@pytest.fixture
def net(rt: Runtime) -> Network:
    return build_network(rt)


def _bottled(net: Network, name: str, ndc: Ndc) -> Item:
    return net.item(
        name,
        ndc10=ndc.ndc10,
        packages=(PackageSpec("bottle", 100, gtin=ndc.to_gtin(), ndc10=ndc.ndc10),),
    )


def _order(net: Network, lines: list[tuple[Item, int]]) -> int:
    """A purchase order placed through requisition, submission and approval."""
    supplier = new_supplier(net)
    offers = [
        purchasing.add_supplier_item(
            net.rt, net.actor, supplier.id, NewSupplierItem(item.id, 100, Decimal("1.00"))
        )
        for item, _ in lines
    ]
    buyer = person(net, "buyer1", Role.BUYER)
    draft = purchasing.create_requisition(
        net.rt,
        buyer,
        NewRequisition(
            net.central.id,
            supplier.id,
            [
                RequisitionLineSpec(offer.id, packs)
                for offer, (_, packs) in zip(offers, lines, strict=True)
            ],
        ),
    )
    placed = purchasing.submit_requisition(net.rt, buyer, draft.id)
    if placed.status == "submitted":
        placed = purchasing.approve_requisition(
            net.rt, person(net, "pharm1", Role.PHARMACIST), draft.id
        )
    assert placed.purchase_order_id is not None
    return placed.purchase_order_id


def _scan(ndc: Ndc, lot: str, expiry: str) -> str:
    return f"]d201{ndc.to_gtin()}17{expiry}10{lot}"


def test_an_856_with_a_partial_and_an_over_shipment_against_the_po(net: Network) -> None:
    # given a PO for 10 bottles of hydrocodone and 24 of ibuprofen, and the wholesaler's 856
    # that ships 4 and 30 of them
    hydrocodone = _bottled(net, "Hydrocodone/APAP 5/325 mg tablet", HYDROCODONE)
    ibuprofen = _bottled(net, "Ibuprofen 600 mg tablet", IBUPROFEN)
    order_id = _order(net, [(hydrocodone, 10), (ibuprofen, 24)])
    imported = imports.import_shipment(
        net.rt, net.actor, "asn", ASN, filename="asn.edi", site_id=net.central.id
    )
    assert imported.unmatched == ()
    session = receiving.open_session(
        net.rt,
        net.actor,
        net.central.id,
        shipment_id=imported.shipment_ids[0],
        purchase_order_id=order_id,
    )
    # when the technician scans what arrived and confirms the counts
    receiving.scan(
        net.rt, net.actor, session.id, _scan(HYDROCODONE, "LX0917", "270630"), packages=4
    )
    receiving.scan(net.rt, net.actor, session.id, _scan(IBUPROFEN, "AB1240", "271231"), packages=30)
    open_view = receiving.get_session(net.rt, net.actor, session.id)
    assert sorted((e.expected, e.received) for e in open_view.expected) == [
        (400, 400),
        (3000, 3000),
    ]
    doc = receiving.close(net.rt, net.actor, session.id)
    # then the receipt carries the PO's number; the PO counts 4 bottles (partial) and 26.4 (the
    # 10% over-receipt allowance); the 3.6 bottles beyond it wait in quarantine
    order = purchasing.get_purchase_order(net.rt, net.actor, order_id)
    assert doc.reference == order.number
    received = {line.item_id: (line.received_units, line.status.value) for line in order.lines}
    assert received == {hydrocodone.id: (400, "partial"), ibuprofen.id: (2640, "over")}
    dock, quarantine = net.central.receiving.id, net.central.quarantine.id
    on_hand = {
        (item.id, where): queries.balance(net.rt, net.actor, item_id=item.id, location_id=where)
        for item in (hydrocodone, ibuprofen)
        for where in (dock, quarantine)
    }
    assert on_hand == {
        (hydrocodone.id, dock): 400,
        (hydrocodone.id, quarantine): 0,
        (ibuprofen.id, dock): 2640,
        (ibuprofen.id, quarantine): 360,
    }
    closed = receiving.get_session(net.rt, net.actor, session.id)
    assert [d["reason"] for d in closed.discrepancies] == ["count_mismatch"]


def test_an_item_not_on_the_po_is_held_in_quarantine(net: Network) -> None:
    hydrocodone = _bottled(net, "Hydrocodone/APAP 5/325 mg tablet", HYDROCODONE)
    ibuprofen = _bottled(net, "Ibuprofen 600 mg tablet", IBUPROFEN)
    order_id = _order(net, [(hydrocodone, 10)])
    session = receiving.open_session(net.rt, net.actor, net.central.id, purchase_order_id=order_id)
    # (a blind PO receipt of a DSCSA product lands in quarantine anyway: no transaction data)
    receiving.scan(net.rt, net.actor, session.id, _scan(IBUPROFEN, "Z1", "271231"), packages=2)
    receiving.close(net.rt, net.actor, session.id)
    order = purchasing.get_purchase_order(net.rt, net.actor, order_id)
    assert [line.received_units for line in order.lines] == [0]
    assert (
        queries.balance(
            net.rt, net.actor, item_id=ibuprofen.id, location_id=net.central.quarantine.id
        )
        == 200
    )


def test_a_lot_the_856_does_not_name_is_quarantined(net: Network) -> None:
    # given the 856, whose lines name NDCs (no GTINs) and lots, imported for the site
    _bottled(net, "Hydrocodone/APAP 5/325 mg tablet", HYDROCODONE)
    _bottled(net, "Ibuprofen 600 mg tablet", IBUPROFEN)
    imported = imports.import_shipment(
        net.rt, net.actor, "asn", ASN, filename="asn.edi", site_id=net.central.id
    )
    session = receiving.open_session(
        net.rt, net.actor, net.central.id, shipment_id=imported.shipment_ids[0]
    )
    # when the listed lot and another lot of the same product are scanned
    listed = receiving.scan(net.rt, net.actor, session.id, _scan(IBUPROFEN, "AB1240", "271231"))
    other = receiving.scan(net.rt, net.actor, session.id, _scan(IBUPROFEN, "ZZ9", "271231"))
    # then the listed lot is accepted and the other goes to quarantine
    assert listed.quarantined == 0
    assert (other.quarantined, other.lines[0].reason) == (1, "not_in_shipment")
