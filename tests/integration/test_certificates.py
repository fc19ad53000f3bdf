"""Certificates of analysis on both engines: a cannabis package (METRC UID tag = serial) is not
available for sale until a certificate is attached and its lab result is marked passed."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest

from rxledger.domain import errors
from rxledger.domain.certificates import MAX_CERTIFICATE_BYTES
from rxledger.domain.model import LotStatus
from rxledger.domain.permissions import Actor
from rxledger.services import catalog, certificates, queries, receiving, stock
from rxledger.services.posting import Header
from rxledger.services.runtime import Runtime
from tests.builders import Network, build_network
from tests.stewardship_builders import (
    CANNABIS_GTIN,
    LAB,
    PDF,
    People,
    attach,
    cannabis_item,
    datamatrix,
    decide,
    lot_of,
    metrc_tag,
    people,
    receive_packages,
)


@pytest.fixture
def net(rt: Runtime) -> Network:
    return build_network(rt)


@pytest.fixture
def who(net: Network) -> People:
    return people(net)


def _status(net: Network, lot_id: int) -> LotStatus:
    return catalog.get_lot(net.rt, net.actor, lot_id).status


def _dispense_package(net: Network, serial_id: int | None, item_id: int) -> None:
    stock.dispense(
        net.rt,
        net.actor,
        stock.Dispense(
            net.central.id,
            net.central.storage.id,
            [stock.StockLine(item_id, 1, serial_id=serial_id)],
            Header(reference="SALE-1"),
        ),
    )


def test_a_cannabis_package_is_not_sold_before_its_certificate_passes_and_is_after(
    net: Network, who: People
) -> None:
    # given two tagged packages received into storage
    item = cannabis_item(net)
    receipt = receive_packages(net, item, [metrc_tag(1), metrc_tag(2)])
    lot_id = lot_of(net, item)
    first = receipt.movements[0].serial_id
    # then the lot waits on hold, and the sale of a package is refused by the ledger
    assert _status(net, lot_id) is LotStatus.ON_HOLD
    with pytest.raises(errors.LotUnavailable) as refused:
        _dispense_package(net, first, item.id)
    assert refused.value.code == "LOT_UNAVAILABLE"
    # when the technician attaches the laboratory's certificate, it is pending: still held
    coa = attach(net, who.technician, lot_id)
    assert (coa.lab_result.value, coa.laboratory, coa.sha256) == (
        "pending",
        LAB,
        hashlib.sha256(PDF).hexdigest(),
    )
    with pytest.raises(errors.LotUnavailable):
        _dispense_package(net, first, item.id)
    # when a pharmacist marks its lab result passed
    passed = decide(net, who.pharmacist, coa.id, "passed")
    # then the lot is available and the package is sold
    assert (passed.lab_result.value, passed.decided_by) == ("passed", "pharm-bo")
    assert _status(net, lot_id) is LotStatus.AVAILABLE
    _dispense_package(net, first, item.id)
    on_hand = queries.balance(
        net.rt, net.actor, item_id=item.id, location_id=net.central.storage.id
    )
    assert on_hand == 1


def test_a_held_cannabis_lot_is_released_only_with_a_passed_certificate(
    net: Network, who: People
) -> None:
    item = cannabis_item(net)
    receive_packages(net, item, [metrc_tag(1)])
    lot_id = lot_of(net, item)
    # when released by hand without any certificate, or with a pending one
    with pytest.raises(errors.CertificateRequired) as refused:
        catalog.set_lot_status(net.rt, net.actor, lot_id, LotStatus.AVAILABLE)
    assert refused.value.code == "CERTIFICATE_REQUIRED"
    attach(net, who.technician, lot_id)
    with pytest.raises(errors.CertificateRequired):
        catalog.set_lot_status(net.rt, net.actor, lot_id, LotStatus.AVAILABLE)
    # then it is still on hold; other statuses may be set freely
    assert _status(net, lot_id) is LotStatus.ON_HOLD
    catalog.set_lot_status(net.rt, net.actor, lot_id, LotStatus.RECALLED)
    assert _status(net, lot_id) is LotStatus.RECALLED


def test_the_user_who_attached_a_certificate_does_not_decide_it(net: Network, who: People) -> None:
    item = cannabis_item(net)
    receive_packages(net, item, [metrc_tag(1)])
    coa = attach(net, who.pharmacist, lot_of(net, item))
    # when the same pharmacist (in another case of letters) marks it passed
    same = Actor(net.actor.organization_id, "PHARM-BO", grants=who.pharmacist.grants)
    with pytest.raises(errors.SelfApproval) as refused:
        decide(net, same, coa.id, "passed")
    assert refused.value.code == "SELF_APPROVAL_FORBIDDEN"
    # and a technician or a buyer may not decide at all
    with pytest.raises(errors.Forbidden) as forbidden:
        decide(net, who.technician, coa.id, "passed")
    assert forbidden.value.code == "FORBIDDEN"
    with pytest.raises(errors.Forbidden):
        decide(net, who.buyer, coa.id, "passed")
    # then it is still pending and the lot on hold
    assert certificates.list_certificates(net.rt, net.actor, coa.lot_id)[0].lab_result == "pending"
    assert _status(net, coa.lot_id) is LotStatus.ON_HOLD


def test_a_failed_result_quarantines_and_a_passed_retest_lets_a_person_release(
    net: Network, who: People
) -> None:
    item = cannabis_item(net)
    receive_packages(net, item, [metrc_tag(1)])
    lot_id = lot_of(net, item)
    failed = decide(net, who.pharmacist, attach(net, who.technician, lot_id).id, "failed")
    assert failed.lab_result.value == "failed"
    assert _status(net, lot_id) is LotStatus.QUARANTINED
    with pytest.raises(errors.CertificateRequired):
        catalog.set_lot_status(net.rt, net.actor, lot_id, LotStatus.AVAILABLE)
    # when a retest passes, the quarantined lot is not released by itself
    retest = attach(net, who.technician, lot_id, PDF + b"% retest\n")
    decide(net, who.other_pharmacist, retest.id, "passed")
    assert _status(net, lot_id) is LotStatus.QUARANTINED
    # but a person may now release it
    catalog.set_lot_status(net.rt, net.actor, lot_id, LotStatus.AVAILABLE)
    assert _status(net, lot_id) is LotStatus.AVAILABLE


def test_a_failure_after_a_pass_withdraws_the_lot_from_sale(net: Network, who: People) -> None:
    item = cannabis_item(net)
    receive_packages(net, item, [metrc_tag(1)])
    lot_id = lot_of(net, item)
    decide(net, who.pharmacist, attach(net, who.technician, lot_id).id, "passed")
    assert _status(net, lot_id) is LotStatus.AVAILABLE
    # when a later certificate fails
    later = attach(net, who.technician, lot_id, PDF + b"% state audit\n")
    decide(net, who.pharmacist, later.id, "failed")
    # then the lot is quarantined and cannot be released
    assert _status(net, lot_id) is LotStatus.QUARANTINED
    with pytest.raises(errors.CertificateRequired):
        catalog.set_lot_status(net.rt, net.actor, lot_id, LotStatus.AVAILABLE)
    results = certificates.lab_results(net.rt, net.actor, [lot_id])
    assert results[lot_id].value == "failed"


def test_a_result_is_decided_once(net: Network, who: People) -> None:
    item = cannabis_item(net)
    receive_packages(net, item, [metrc_tag(1)])
    coa = attach(net, who.technician, lot_of(net, item))
    decide(net, who.pharmacist, coa.id, "passed")
    with pytest.raises(errors.StatusConflict) as refused:
        decide(net, who.other_pharmacist, coa.id, "failed")
    assert refused.value.code == "STATUS_CONFLICT"
    assert _status(net, coa.lot_id) is LotStatus.AVAILABLE


def test_a_lot_certified_before_its_stock_arrives_stays_available(
    net: Network, who: People
) -> None:
    # given a cannabis lot recorded ahead of the shipment: it starts on hold
    item = cannabis_item(net)
    lot = catalog.create_lot(
        net.rt, net.actor, item_id=item.id, lot_number="BD-0601", expiry=date(2027, 6, 30)
    )
    assert lot.status is LotStatus.ON_HOLD
    decide(net, who.pharmacist, attach(net, who.technician, lot.id).id, "passed")
    assert _status(net, lot.id) is LotStatus.AVAILABLE
    # when its packages are received
    receipt = receive_packages(net, item, [metrc_tag(7)])
    # then they may be sold at once
    assert _status(net, lot.id) is LotStatus.AVAILABLE
    _dispense_package(net, receipt.movements[0].serial_id, item.id)


def test_other_items_are_received_available_as_before(net: Network) -> None:
    item = net.item()
    net.receive(item, 10, "L9")
    assert catalog.find_lot(net.rt, net.actor, item.id, "L9").status is LotStatus.AVAILABLE
    lot = catalog.create_lot(
        net.rt, net.actor, item_id=item.id, lot_number="L10", expiry=date(2027, 1, 31)
    )
    assert lot.status is LotStatus.AVAILABLE
    with pytest.raises(errors.ValidationFailed, match="not a cannabis item"):
        certificates.attach_certificate(net.rt, net.actor, lot.id, "coa.pdf", PDF)


def test_a_cannabis_package_received_in_a_session_waits_on_the_dock_for_its_result(
    net: Network, who: People
) -> None:
    # given a blind session in which a tagged package is scanned and posted
    item = cannabis_item(net)
    session = receiving.open_session(net.rt, net.actor, net.central.id)
    scan = datamatrix(CANNABIS_GTIN, lot="BD-0601", expiry="270630", serial=metrc_tag(3))
    assert receiving.scan(net.rt, net.actor, session.id, scan).quarantined == 0
    receiving.close(net.rt, net.actor, session.id)
    lot_id = lot_of(net, item)
    # then the lot is on hold and the package cannot be put away into stock
    assert _status(net, lot_id) is LotStatus.ON_HOLD
    with pytest.raises(errors.LotUnavailable):
        receiving.put_away(net.rt, net.actor, session.id, "MAIN-A1")
    # when its certificate passes, it is put away
    decide(net, who.pharmacist, attach(net, who.technician, lot_id).id, "passed")
    receiving.put_away(net.rt, net.actor, session.id, "MAIN-A1")
    shelf = queries.balance(net.rt, net.actor, item_id=item.id, location_id=net.central.shelf.id)
    assert shelf == 1


def test_the_file_is_kept_byte_for_byte_and_attached_once(net: Network, who: People) -> None:
    item = cannabis_item(net)
    receive_packages(net, item, [metrc_tag(1)])
    lot_id = lot_of(net, item)
    content = bytes(range(256)) * 4
    first = certificates.attach_certificate(
        net.rt, who.technician, lot_id, "C:\\scans\\..\\coa.pdf", content
    )
    again = certificates.attach_certificate(net.rt, who.technician, lot_id, "other.pdf", content)
    assert again.id == first.id
    assert (first.filename, first.size) == ("coa.pdf", 1024)
    view, stored = certificates.certificate_content(net.rt, net.actor, first.id)
    assert stored == content
    assert view.sha256 == hashlib.sha256(content).hexdigest()
    assert [c.id for c in certificates.list_certificates(net.rt, net.actor, lot_id)] == [first.id]


def test_empty_oversized_and_unknown_are_refused(net: Network, who: People) -> None:
    item = cannabis_item(net)
    receive_packages(net, item, [metrc_tag(1)])
    lot_id = lot_of(net, item)
    with pytest.raises(errors.ValidationFailed, match="empty"):
        certificates.attach_certificate(net.rt, who.technician, lot_id, "coa.pdf", b"")
    with pytest.raises(errors.FileTooLarge) as too_large:
        certificates.attach_certificate(
            net.rt, who.technician, lot_id, "coa.pdf", b"x" * (MAX_CERTIFICATE_BYTES + 1)
        )
    assert too_large.value.code == "FILE_TOO_LARGE"
    with pytest.raises(errors.LotNotFound):
        certificates.attach_certificate(net.rt, who.technician, 999_999, "coa.pdf", PDF)
    with pytest.raises(errors.CertificateNotFound) as missing:
        decide(net, who.pharmacist, 999_999, "passed")
    assert missing.value.code == "CERTIFICATE_NOT_FOUND"
    assert certificates.list_certificates(net.rt, net.actor, lot_id) == []
    assert CANNABIS_GTIN in {p.gtin for p in item.packages}
