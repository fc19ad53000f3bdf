"""Receiving sessions on both engines: scan, judge, quarantine, post, put away."""

from __future__ import annotations

from datetime import date

import pytest
from biip.checksums import gs1_standard_check_digit

from rxledger.adapters import shipments_repository
from rxledger.domain import errors
from rxledger.domain.identifiers import Ndc
from rxledger.domain.model import Item
from rxledger.domain.shipments import ExpectedLine, ExpectedPackage, ShipmentData
from rxledger.services import queries, receiving
from rxledger.services.catalog import PackageSpec
from rxledger.services.runtime import Runtime
from tests.builders import Network, build_network

GS = "\x1d"


def _sscc(n: int) -> str:
    body = f"0031234500{n:07d}"
    return body + str(gs1_standard_check_digit(body))


PALLET = _sscc(1)
CASES = [_sscc(100 + n) for n in range(3)]
NDC = Ndc.parse("0093-3109-05")
GTIN = NDC.to_gtin()


@pytest.fixture
def net(rt: Runtime) -> Network:
    return build_network(rt)


def _dscsa_item(net: Network) -> Item:
    return net.item(
        "Amoxicillin 500 mg capsule",
        ndc10=NDC.ndc10,
        packages=(PackageSpec("bottle", 100, gtin=GTIN, ndc10=NDC.ndc10),),
    )


def _datamatrix(serial: str, lot: str = "A1", expiry: str = "280131") -> str:
    return f"]d201{GTIN}17{expiry}10{lot}{GS}21{serial}"


def _shipment(net: Network) -> int:
    """A DSCSA shipment: a pallet, three cases, four bottles in each (lots A1 and A2)."""
    packages = [ExpectedPackage(None, None, sscc=PALLET)]
    lines: dict[str, int] = {}
    for case, sscc in enumerate(CASES):
        packages.append(ExpectedPackage(None, None, sscc=sscc, parent=PALLET))
        for n in range(4):
            lot = "A1" if case < 2 else "A2"
            lines[lot] = lines.get(lot, 0) + 1
            packages.append(
                ExpectedPackage(GTIN, f"S{case}{n}", lot=lot, expiry=date(2028, 1, 31), parent=sscc)
            )
    data = ShipmentData(
        format="epcis-xml",
        shipment_id="DESADV-1",
        lines=tuple(
            ExpectedLine(i + 1, qty, gtin=GTIN, lot=lot, expiry=date(2028, 1, 31))
            for i, (lot, qty) in enumerate(sorted(lines.items()))
        ),
        packages=tuple(packages),
    )
    with net.rt.uow() as uow:
        file_id = shipments_repository.insert_file(
            uow.connection,
            org_id=net.actor.organization_id,
            site_id=net.central.id,
            fmt="epcis-xml",
            filename="shipment.xml",
            sha256="a" * 64,
            content=b"<epcis/>",
            received_by="tech1",
            received_at=net.rt.clock.now(),
            retain_until=date(2032, 6, 1),
        )
        shipment_id = shipments_repository.insert_shipment(
            uow.connection,
            org_id=net.actor.organization_id,
            site_id=net.central.id,
            file_id=file_id,
            data=data,
            summary=data.summary(),
            items_by_gtin={},
            items_by_ndc={},
        )
        uow.commit()
    return shipment_id


def _on_hand(net: Network, item: Item, location_id: int) -> int:
    return queries.balance(net.rt, net.actor, item_id=item.id, location_id=location_id)


def test_a_case_scan_receives_its_units_and_a_foreign_serial_is_quarantined(net: Network) -> None:
    # given a DSCSA shipment's data and a session against it
    item = _dscsa_item(net)
    session = receiving.open_session(net.rt, net.actor, net.central.id, shipment_id=_shipment(net))
    # when the technician scans a case, one bottle of another case, and a bottle never declared
    case = receiving.scan(net.rt, net.actor, session.id, "]C100" + CASES[0])
    single = receiving.scan(net.rt, net.actor, session.id, _datamatrix("S21", lot="A2"))
    foreign = receiving.scan(net.rt, net.actor, session.id, _datamatrix("FAKE1"))
    # then the case stands for its four bottles, accepted; the foreign bottle goes to quarantine
    assert [ln.serial for ln in case.lines] == ["S00", "S01", "S02", "S03"]
    assert case.quarantined == 0
    assert single.quarantined == 0
    assert foreign.quarantined == 1
    assert foreign.lines[0].reason == "not_in_shipment"
    # when the session is closed
    doc = receiving.close(net.rt, net.actor, session.id)
    # then one receipt puts 5 bottles on the dock and 1 in quarantine
    assert _on_hand(net, item, net.central.receiving.id) == 500
    assert _on_hand(net, item, net.central.quarantine.id) == 100
    closed = receiving.get_session(net.rt, net.actor, session.id)
    assert (closed.status, closed.receipt_document_id) == ("posted", doc.id)
    reasons = sorted(d["reason"] for d in closed.discrepancies)
    # the foreign serial, and the two lots short of the twelve declared bottles
    assert reasons == ["count_mismatch", "count_mismatch", "not_in_shipment"]
    # and the foreign serial is under investigation
    with net.rt.uow(read_only=True) as uow:
        from rxledger.adapters import receiving_repository

        opened = receiving_repository.investigations_of_site(
            uow.connection, net.actor.organization_id, net.central.id, "open"
        )
    assert [(i.serial, i.kind) for i in opened] == [("FAKE1", "dscsa_suspect")]


def test_closing_twice_replays_and_scanning_after_close_is_refused(net: Network) -> None:
    _dscsa_item(net)
    session = receiving.open_session(net.rt, net.actor, net.central.id, shipment_id=_shipment(net))
    receiving.scan(net.rt, net.actor, session.id, _datamatrix("S00"))
    first = receiving.close(net.rt, net.actor, session.id)
    again = receiving.close(net.rt, net.actor, session.id)
    assert (again.id, again.replayed) == (first.id, True)
    with pytest.raises(errors.ValidationFailed, match="closed"):
        receiving.scan(net.rt, net.actor, session.id, _datamatrix("S01"))


def test_the_same_serial_is_not_received_twice_in_a_session(net: Network) -> None:
    _dscsa_item(net)
    session = receiving.open_session(net.rt, net.actor, net.central.id, shipment_id=_shipment(net))
    receiving.scan(net.rt, net.actor, session.id, _datamatrix("S00"))
    with pytest.raises(errors.ValidationFailed, match="already scanned"):
        receiving.scan(net.rt, net.actor, session.id, _datamatrix("S00"))
    # nor by scanning the case that holds it
    with pytest.raises(errors.ValidationFailed, match="already scanned"):
        receiving.scan(net.rt, net.actor, session.id, "]C100" + CASES[0])


def test_a_blind_receipt_of_a_dscsa_product_goes_to_quarantine(net: Network) -> None:
    item = _dscsa_item(net)
    session = receiving.open_session(net.rt, net.actor, net.central.id)
    outcome = receiving.scan(net.rt, net.actor, session.id, _datamatrix("X1"))
    assert outcome.lines[0].reason == "missing_transaction_data"
    receiving.close(net.rt, net.actor, session.id)
    assert _on_hand(net, item, net.central.quarantine.id) == 100
    assert _on_hand(net, item, net.central.receiving.id) == 0


def test_expired_and_short_dated_packages_are_quarantined(net: Network) -> None:
    _dscsa_item(net)
    session = receiving.open_session(net.rt, net.actor, net.central.id, shipment_id=_shipment(net))
    expired = receiving.scan(net.rt, net.actor, session.id, _datamatrix("S00", expiry="260500"))
    short = receiving.scan(net.rt, net.actor, session.id, _datamatrix("S01", expiry="260701"))
    assert expired.lines[0].reason == "expired"
    assert short.lines[0].reason == "short_dated"


def test_accepted_stock_is_put_away_by_scanning_a_shelf_label(net: Network) -> None:
    # given an item outside DSCSA (no NDC), received blind and posted
    item = net.item("Gauze swab 10 cm", packages=(PackageSpec("pack", 10, gtin="05012345678900"),))
    session = receiving.open_session(net.rt, net.actor, net.central.id)
    outcome = receiving.scan(
        net.rt, net.actor, session.id, f"]d201{'05012345678900'}17280131" + "10G7", packages=3
    )
    assert (outcome.quarantined, outcome.lines[0].quantity) == (0, 30)
    receiving.close(net.rt, net.actor, session.id)
    # when the technician scans the shelf label
    receiving.put_away(net.rt, net.actor, session.id, "MAIN-A1")
    # then the stock is on the shelf and the line records when it became available
    assert _on_hand(net, item, net.central.shelf.id) == 30
    assert _on_hand(net, item, net.central.receiving.id) == 0
    done = receiving.get_session(net.rt, net.actor, session.id)
    assert done.lines[0].available_at == net.rt.clock.now()
    with pytest.raises(errors.ValidationFailed, match="already put away"):
        receiving.put_away(net.rt, net.actor, session.id, "MAIN-A1")


def test_an_unknown_gtin_is_recorded_but_cannot_be_stocked(net: Network) -> None:
    session = receiving.open_session(net.rt, net.actor, net.central.id)
    outcome = receiving.scan(net.rt, net.actor, session.id, "]d20109506000134352")
    assert (outcome.quarantined, outcome.lines[0].reason) == (1, "unknown_gtin")
    with pytest.raises(errors.ValidationFailed, match="no known product"):
        receiving.close(net.rt, net.actor, session.id)


def test_another_sites_technician_cannot_scan_into_the_session(net: Network) -> None:
    from rxledger.domain.permissions import Actor, Grant, Role

    session = receiving.open_session(net.rt, net.actor, net.central.id)
    retail_tech = Actor(
        net.actor.organization_id, "rt", grants=(Grant(Role.TECHNICIAN, net.retail.id),)
    )
    with pytest.raises(errors.Forbidden):
        receiving.scan(net.rt, retail_tech, session.id, _datamatrix("S00"))


def test_only_an_investigator_takes_stock_out_of_quarantine(net: Network) -> None:
    from rxledger.domain.permissions import Actor, Grant, Role
    from rxledger.services import stock

    # given stock in quarantine (a blind receipt of a DSCSA product)
    item = _dscsa_item(net)
    session = receiving.open_session(net.rt, net.actor, net.central.id)
    receiving.scan(net.rt, net.actor, session.id, _datamatrix("X1"))
    receiving.close(net.rt, net.actor, session.id)
    tech = Actor(net.actor.organization_id, "t", grants=(Grant(Role.TECHNICIAN, net.central.id),))
    pharmacist = Actor(
        net.actor.organization_id, "p", grants=(Grant(Role.PHARMACIST, net.central.id),)
    )
    move = stock.Move(
        net.central.id,
        net.central.quarantine.id,
        net.central.storage.id,
        [stock.StockLine(item.id, 100)],
    )
    # when a technician moves it to storage, then it is refused and stays put
    with pytest.raises(errors.Forbidden):
        stock.move(net.rt, tech, move)
    with pytest.raises(errors.Forbidden):
        stock.ship_transfer(
            net.rt,
            tech,
            stock.ShipTransfer(
                net.central.id,
                net.central.quarantine.id,
                net.retail.id,
                [stock.StockLine(item.id, 100)],
            ),
        )
    assert _on_hand(net, item, net.central.quarantine.id) == 100
    # and a pharmacist, who may investigate, may release it
    stock.move(net.rt, pharmacist, move)
    assert _on_hand(net, item, net.central.storage.id) == 100


def test_a_scan_without_the_lot_of_a_lot_tracked_product_is_refused_at_the_dock(
    net: Network,
) -> None:
    # given a DSCSA product (lot- and expiry-tracked) and a session against its shipment
    _dscsa_item(net)
    session = receiving.open_session(net.rt, net.actor, net.central.id, shipment_id=_shipment(net))
    # when its GTIN alone, or a lot without an expiry, is scanned: then neither is recorded,
    # since a receipt without them could never be posted
    for text in (GTIN, f"(01){GTIN}(10)A1"):
        with pytest.raises(errors.LotRequired):
            receiving.scan(net.rt, net.actor, session.id, text)
    assert receiving.get_session(net.rt, net.actor, session.id).lines == ()


def test_a_count_is_confirmed_in_packages_of_the_scanned_level(net: Network) -> None:
    # given two bottles of 100 counted from one label
    item = _dscsa_item(net)
    session = receiving.open_session(net.rt, net.actor, net.central.id, shipment_id=_shipment(net))
    outcome = receiving.scan(
        net.rt, net.actor, session.id, f"(01){GTIN}(17)280131(10)A1", packages=2
    )
    (line,) = outcome.lines
    assert (line.quantity, line.package_units, line.packages) == (200, 100, 2)
    # when the technician confirms three bottles
    receiving.set_count(net.rt, net.actor, session.id, line.id, 3)
    # then the line holds 300 capsules, and they are what the receipt posts to the dock
    (counted,) = receiving.get_session(net.rt, net.actor, session.id).lines
    assert (counted.quantity, counted.packages) == (300, 3)
    receiving.close(net.rt, net.actor, session.id)
    assert _on_hand(net, item, net.central.receiving.id) == 300


def test_a_mis_scan_is_taken_back_but_a_suspect_package_is_not(net: Network) -> None:
    # given a session with an expired bottle (a mis-scan) and a foreign serial (suspect)
    _dscsa_item(net)
    session = receiving.open_session(net.rt, net.actor, net.central.id, shipment_id=_shipment(net))
    wrong = receiving.scan(net.rt, net.actor, session.id, _datamatrix("S00", expiry="260500"))
    suspect = receiving.scan(net.rt, net.actor, session.id, _datamatrix("FAKE1"))
    # when the technician takes both back
    receiving.remove_line(net.rt, net.actor, session.id, wrong.lines[0].id)
    with pytest.raises(errors.UnderInvestigation):
        receiving.remove_line(net.rt, net.actor, session.id, suspect.lines[0].id)
    # then the mis-scan and its discrepancy are gone, the suspect package stays
    left = receiving.get_session(net.rt, net.actor, session.id)
    assert [ln.serial for ln in left.lines] == ["FAKE1"]
    assert [d["reason"] for d in left.discrepancies] == ["not_in_shipment"]
    # and the bottle can be scanned again
    receiving.scan(net.rt, net.actor, session.id, _datamatrix("S00"))
    # nor can a session with a suspect package be cancelled
    with pytest.raises(errors.UnderInvestigation):
        receiving.cancel(net.rt, net.actor, session.id)


def test_a_cancelled_session_posts_nothing_and_frees_its_shipment(net: Network) -> None:
    item = _dscsa_item(net)
    shipment = _shipment(net)
    session = receiving.open_session(net.rt, net.actor, net.central.id, shipment_id=shipment)
    receiving.scan(net.rt, net.actor, session.id, _datamatrix("S00", expiry="260500"))
    # when the session is cancelled
    cancelled = receiving.cancel(net.rt, net.actor, session.id)
    # then nothing is stocked, its discrepancy is closed, and it can neither close nor scan
    assert cancelled.status == "cancelled"
    assert [d["status"] for d in cancelled.discrepancies] == ["resolved"]
    assert _on_hand(net, item, net.central.quarantine.id) == 0
    with pytest.raises(errors.ValidationFailed):
        receiving.close(net.rt, net.actor, session.id)
    with pytest.raises(errors.ValidationFailed):
        receiving.scan(net.rt, net.actor, session.id, _datamatrix("S01"))
    # and the shipment may be received by a new session
    again = receiving.open_session(net.rt, net.actor, net.central.id, shipment_id=shipment)
    receiving.scan(net.rt, net.actor, again.id, _datamatrix("S00"))


def test_a_retried_scan_with_its_key_counts_the_package_once(net: Network) -> None:
    # given a scan of 3 bottles sent with an idempotency key, whose answer was lost
    _dscsa_item(net)
    session = receiving.open_session(net.rt, net.actor, net.central.id, shipment_id=_shipment(net))
    text = f"]d201{GTIN}17280131" + "10A1"
    first = receiving.scan(net.rt, net.actor, session.id, text, packages=3, idempotency_key="k1")
    # when the scanner sends it again with the same key
    again = receiving.scan(net.rt, net.actor, session.id, text, packages=3, idempotency_key="k1")
    # then the first lines come back and nothing is added
    assert (again.replayed, [ln.id for ln in again.lines]) == (True, [ln.id for ln in first.lines])
    assert len(receiving.get_session(net.rt, net.actor, session.id).lines) == 1
    # and the same key for another scan is refused
    with pytest.raises(errors.IdempotencyConflict):
        receiving.scan(net.rt, net.actor, session.id, _datamatrix("S00"), idempotency_key="k1")
