"""Quarantine and DSCSA investigations on both engines: resolve discrepancies, close suspect
product investigations, destroy stock, and trace a product identifier."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from rxledger.adapters import repository
from rxledger.adapters import tables as t
from rxledger.adapters import tables_control as tc
from rxledger.adapters.ingest.epcis_schema import epcis_validator
from rxledger.domain import errors
from rxledger.domain.clock import ManualClock
from rxledger.domain.investigations import Finding, Resolution
from rxledger.domain.model import DeaSchedule, DocumentType, Item, LocationType
from rxledger.domain.permissions import Actor, Grant, Role
from rxledger.domain.shipments import ExpectedLine, ShipmentData
from rxledger.services import identity, investigations, queries, receiving, stock, traceability
from rxledger.services.catalog import PackageSpec
from rxledger.services.controlled import Witness
from rxledger.services.investigations import CloseInvestigation, ResolveDiscrepancy
from rxledger.services.posting import Header
from rxledger.services.runtime import Runtime
from tests.builders import Network, build_network
from tests.e2e.api_support import PASSWORD, use_fast_password_hashing
from tests.quarantine_builders import (
    CASES,
    GTIN,
    SENDER_GLN,
    SITE_GLN,
    datamatrix,
    discrepancy_of,
    dscsa_item,
    dscsa_shipment,
    receive_scans,
    store_shipment,
)

GAUZE_GTIN = "05012345678900"


@dataclass
class World:
    net: Network
    clock: ManualClock
    item: Item
    pharmacist: Actor
    technician: Actor
    retail_pharmacist: Actor

    @property
    def rt(self) -> Runtime:
        return self.net.rt


def _user(net: Network, name: str, grant: Grant) -> Actor:
    identity.create_user(
        net.rt, net.actor, username=name, full_name=name, password=PASSWORD, grants=[grant]
    )
    return identity.user_actor(net.rt, net.actor.organization_id, name)


@pytest.fixture
def w(rt: Runtime, clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> World:
    use_fast_password_hashing(monkeypatch)
    net = build_network(rt)
    return World(
        net,
        clock,
        dscsa_item(net),
        _user(net, "pharm", Grant(Role.PHARMACIST, net.central.id)),
        _user(net, "tech", Grant(Role.TECHNICIAN, net.central.id)),
        _user(net, "retailpharm", Grant(Role.PHARMACIST, net.retail.id)),
    )


def _receive(w: World, *scans: str, packages: int = 1, shipment: int | None = None) -> int:
    return receive_scans(w.net, *scans, packages=packages, shipment=shipment)


def _on_hand(w: World, location_id: int, item: Item | None = None) -> int:
    item_id = (item or w.item).id
    return queries.balance(w.rt, w.net.actor, item_id=item_id, location_id=location_id)


def _investigation(w: World) -> int:
    (case,) = investigations.list_investigations(w.rt, w.pharmacist, w.net.central.id)
    return case.id


# --- DSCSA investigations -----------------------------------------------------------------------


def test_an_illegitimate_product_is_destroyed_with_its_notification_recorded(w: World) -> None:
    # given a foreign serial received into quarantine, under investigation
    _receive(w, "]C100" + CASES[0], datamatrix("FAKE1"))
    case_id = _investigation(w)
    assert _on_hand(w, w.net.central.quarantine.id) == 100
    # when the pharmacist closes it as illegitimate without the notification
    with pytest.raises(errors.NotificationRequired) as refused:
        investigations.close_investigation(
            w.rt, w.pharmacist, CloseInvestigation(case_id, Finding.ILLEGITIMATE)
        )
    # then nothing happened
    assert refused.value.code == "NOTIFICATION_REQUIRED"
    assert _on_hand(w, w.net.central.quarantine.id) == 100
    # when the notification, sent an hour after the investigation opened, is given
    w.clock.advance(timedelta(hours=3))
    notified = w.rt.clock.now() - timedelta(hours=2)
    outcome = investigations.close_investigation(
        w.rt,
        w.pharmacist,
        CloseInvestigation(
            case_id,
            Finding.ILLEGITIMATE,
            note="counterfeit label",
            notification_reference="FDA-3911-0042",
            notified_at=notified,
        ),
    )
    # then a destruction document sent the package from quarantine to waste
    doc = outcome.document
    assert doc is not None
    assert (doc.doc_type, doc.reason_code, doc.posted_by) == (
        DocumentType.DESTRUCTION,
        "ILLEGITIMATE",
        "pharm",
    )
    waste = _virtual(w, LocationType.WASTE)
    assert [(m.from_location_id, m.to_location_id, m.quantity) for m in doc.movements] == [
        (w.net.central.quarantine.id, waste, 100)
    ]
    assert _on_hand(w, w.net.central.quarantine.id) == 0
    # and the investigation records who, when, the outcome and the notification
    case = investigations.get_investigation(w.rt, w.pharmacist, case_id)
    assert (case.status, case.closed_by, case.closed_at) == ("illegitimate", "pharm", _now(w))
    assert (case.notification_reference, case.notified_at) == ("FDA-3911-0042", notified)
    assert case.outcome == {
        "document_id": doc.id,
        "location_id": waste,
        "note": "counterfeit label",
    }
    # and its discrepancy is resolved by the same document
    discrepancy = investigations.get_discrepancy(w.rt, w.pharmacist, case.discrepancy_id or 0)
    assert discrepancy.status == "resolved"
    assert discrepancy.resolution is not None
    assert discrepancy.resolution["document_id"] == doc.id


def _schedule_ii(w: World) -> None:
    """The DSCSA item becomes a schedule II drug (a stand-in for an opioid's bottles)."""
    with w.rt.uow() as uow:
        uow.connection.execute(
            update(t.items)
            .where(t.items.c.id == w.item.id)
            .values(dea_schedule=DeaSchedule.CII.value)
        )
        uow.commit()


def _witnesses(w: World) -> list[tuple[int, str]]:
    with w.rt.uow(read_only=True) as uow:
        c = tc.document_witnesses.c
        rows = uow.connection.execute(select(c.document_id, c.witness).order_by(c.id)).all()
    return [(r.document_id, r.witness) for r in rows]


def test_schedule_ii_suspect_product_is_destroyed_with_a_witness(w: World) -> None:
    # given a schedule II bottle with a foreign serial in quarantine, under investigation
    _schedule_ii(w)
    _user(w.net, "mgr", Grant(Role.MANAGER, w.net.central.id))
    _receive(w, datamatrix("FAKE1"))
    case_id = _investigation(w)
    w.clock.advance(timedelta(hours=1))

    def close(witness: Witness | None, dry_run: bool = False) -> investigations.Outcome:
        command = CloseInvestigation(
            case_id,
            Finding.ILLEGITIMATE,
            notification_reference="FDA-3911-0077",
            notified_at=_now(w),
            dry_run=dry_run,
            witness=witness,
        )
        return investigations.close_investigation(w.rt, w.pharmacist, command)

    # when closed as illegitimate without a witness, with a wrong password, or with a technician
    with pytest.raises(errors.WitnessRequired):
        close(None)
    with pytest.raises(errors.WitnessCredentialsInvalid) as wrong:
        close(Witness("mgr", "not the password"))
    with pytest.raises(errors.WitnessNotAllowed):
        close(Witness("tech", PASSWORD))
    # then nothing moved and the investigation is still open
    assert wrong.value.code == "WITNESS_CREDENTIALS_INVALID"
    assert _on_hand(w, w.net.central.quarantine.id) == 100
    assert investigations.get_investigation(w.rt, w.pharmacist, case_id).status == "open"
    assert _witnesses(w) == []
    # when the manager witnesses it (a dry run first, as the confirm page does)
    assert close(Witness("mgr", PASSWORD), dry_run=True).document is not None
    outcome = close(Witness("mgr", PASSWORD))
    # then the destruction posts with its witness, and the investigation is closed
    assert outcome.document is not None
    assert outcome.document.doc_type is DocumentType.DESTRUCTION
    assert _witnesses(w) == [(outcome.document.id, "mgr")]
    assert _on_hand(w, w.net.central.quarantine.id) == 0
    assert outcome.record.status == "illegitimate"


def test_a_schedule_ii_discrepancy_is_destroyed_with_a_witness(w: World) -> None:
    _schedule_ii(w)
    session_id = _receive(w, datamatrix("S00", lot="E1", expiry="260500"))
    expired = discrepancy_of(w.net, session_id, "expired")
    with pytest.raises(errors.WitnessRequired):
        investigations.resolve_discrepancy(
            w.rt, w.pharmacist, ResolveDiscrepancy(expired, Resolution.DESTROY)
        )
    assert _on_hand(w, w.net.central.quarantine.id) == 100
    _user(w.net, "mgr", Grant(Role.MANAGER, w.net.central.id))
    destroy = ResolveDiscrepancy(expired, Resolution.DESTROY, witness=Witness("mgr", PASSWORD))
    outcome = investigations.resolve_discrepancy(w.rt, w.pharmacist, destroy)
    assert outcome.document is not None
    assert _witnesses(w) == [(outcome.document.id, "mgr")]
    assert _on_hand(w, w.net.central.quarantine.id) == 0


def test_a_closed_investigation_cannot_be_closed_again(w: World) -> None:
    _receive(w, datamatrix("FAKE1"))
    case_id = _investigation(w)
    investigations.close_investigation(
        w.rt, w.pharmacist, CloseInvestigation(case_id, Finding.CLEARED)
    )
    for finding in Finding:
        with pytest.raises(errors.InvestigationAlreadyClosed) as refused:
            investigations.close_investigation(
                w.rt,
                w.pharmacist,
                CloseInvestigation(
                    case_id, finding, notification_reference="N-1", notified_at=_now(w)
                ),
            )
        assert refused.value.code == "INVESTIGATION_ALREADY_CLOSED"


def test_a_cleared_product_is_released_from_quarantine(w: World) -> None:
    # given a foreign serial under investigation, with a note
    session_id = _receive(w, datamatrix("FAKE1"))
    case_id = _investigation(w)
    noted = investigations.add_note(w.rt, w.pharmacist, case_id, "  manufacturer confirms it  ")
    assert [(n.written_by, n.note) for n in noted.notes] == [("pharm", "manufacturer confirms it")]
    # when it is cleared and released straight to a shelf
    outcome = investigations.close_investigation(
        w.rt,
        w.pharmacist,
        CloseInvestigation(case_id, Finding.CLEARED, location_id=w.net.central.shelf.id),
    )
    # then a move took it from quarantine to the shelf, and it counts as available from now
    assert outcome.document is not None
    assert outcome.document.doc_type is DocumentType.MOVE
    assert _on_hand(w, w.net.central.quarantine.id) == 0
    assert _on_hand(w, w.net.central.shelf.id) == 100
    assert outcome.record.status == "cleared"
    assert isinstance(outcome.record, investigations.InvestigationView)
    assert (outcome.record.notification_reference, outcome.record.notified_at) == (None, None)
    line = receiving.get_session(w.rt, w.net.actor, session_id).lines[0]
    assert line.serial == "FAKE1"


def test_a_cleared_product_goes_back_to_the_dock_by_default(w: World) -> None:
    _receive(w, datamatrix("FAKE1"))
    investigations.close_investigation(
        w.rt, w.pharmacist, CloseInvestigation(_investigation(w), Finding.CLEARED)
    )
    assert _on_hand(w, w.net.central.receiving.id) == 100


def test_an_investigation_waits_for_its_receiving_session(w: World) -> None:
    net = w.net
    session = receiving.open_session(
        w.rt, net.actor, net.central.id, shipment_id=dscsa_shipment(net)
    )
    receiving.scan(w.rt, net.actor, session.id, datamatrix("FAKE1"))
    with pytest.raises(errors.StatusConflict):
        investigations.close_investigation(
            w.rt, w.pharmacist, CloseInvestigation(_investigation(w), Finding.CLEARED)
        )


@pytest.mark.parametrize(
    ("reference", "hours", "code"),
    [
        ("FDA-1", None, "NOTIFICATION_REQUIRED"),
        (None, -1, "NOTIFICATION_REQUIRED"),
        ("  ", -1, "NOTIFICATION_REQUIRED"),
        ("FDA-1", 2, "VALIDATION_ERROR"),  # in the future
        ("FDA-1", -48, "VALIDATION_ERROR"),  # before the investigation opened
    ],
)
def test_an_illegitimate_close_needs_a_plausible_notification(
    w: World, reference: str | None, hours: int | None, code: str
) -> None:
    _receive(w, datamatrix("FAKE1"))
    when = _now(w) + timedelta(hours=hours) if hours is not None else None
    command = CloseInvestigation(
        _investigation(w), Finding.ILLEGITIMATE, notification_reference=reference, notified_at=when
    )
    with pytest.raises(errors.RxLedgerError) as refused:
        investigations.close_investigation(w.rt, w.pharmacist, command)
    assert refused.value.code == code
    assert investigations.get_investigation(
        w.rt, w.pharmacist, command.investigation_id
    ).status == ("open")


# --- discrepancies ------------------------------------------------------------------------------


def test_an_expired_package_cannot_be_released_but_is_destroyed(w: World) -> None:
    session_id = _receive(w, datamatrix("S00", lot="E1", expiry="260500"))
    expired = discrepancy_of(w.net, session_id, "expired")
    release = ResolveDiscrepancy(expired, Resolution.RELEASE)
    with pytest.raises(errors.LotExpired):
        investigations.resolve_discrepancy(w.rt, w.pharmacist, release)
    outcome = investigations.resolve_discrepancy(
        w.rt, w.pharmacist, ResolveDiscrepancy(expired, Resolution.DESTROY, note="bin 4")
    )
    assert outcome.document is not None
    assert (outcome.document.doc_type, outcome.document.reason_code) == (
        DocumentType.DESTRUCTION,
        "EXPIRED",
    )
    assert _on_hand(w, w.net.central.quarantine.id) == 0
    assert outcome.record.status == "resolved"
    assert isinstance(outcome.record, investigations.DiscrepancyView)
    assert outcome.record.resolved_by == "pharm"
    assert outcome.record.resolution == {
        "outcome": "destroy",
        "document_id": outcome.document.id,
        "location_id": _virtual(w, LocationType.WASTE),
        "note": "bin 4",
    }
    assert outcome.record.held == 0


def test_a_short_dated_package_is_returned_to_the_reverse_distributor(w: World) -> None:
    session_id = _receive(w, datamatrix("S01", lot="SD1", expiry="260701"))
    short = discrepancy_of(w.net, session_id, "short_dated")
    outcome = investigations.resolve_discrepancy(
        w.rt, w.pharmacist, ResolveDiscrepancy(short, Resolution.RETURN)
    )
    assert outcome.document is not None
    assert outcome.document.reason_code == "RETURNED"
    assert [m.to_location_id for m in outcome.document.movements] == [
        _virtual(w, LocationType.REVERSE_DISTRIBUTOR)
    ]


def test_a_short_count_is_closed_without_moving_stock(w: World) -> None:
    # given a shipment of 12 bottles of which 4 were received
    session_id = _receive(w, "]C100" + CASES[0])
    discrepancies = investigations.list_discrepancies(w.rt, w.pharmacist, w.net.central.id)
    short = [d for d in discrepancies if d.reason == "count_mismatch"]
    assert sorted((d.lot_number, d.quantity, d.held) for d in short) == [
        ("A1", 400, 0),
        ("A2", 400, 0),
    ]
    assert {d.session_id for d in short} == {session_id}
    # when one is released, and then closed
    with pytest.raises(errors.QuarantineMismatch):
        investigations.resolve_discrepancy(
            w.rt, w.pharmacist, ResolveDiscrepancy(short[0].id, Resolution.RELEASE)
        )
    before = _ledger_size(w)
    outcome = investigations.resolve_discrepancy(
        w.rt, w.pharmacist, ResolveDiscrepancy(short[0].id, Resolution.CLOSE, note="short-shipped")
    )
    # then no document was posted and the discrepancy is resolved
    assert outcome.document is None
    assert _ledger_size(w) == before
    assert outcome.record.status == "resolved"
    remaining = investigations.list_discrepancies(w.rt, w.pharmacist, w.net.central.id)
    assert [d.id for d in remaining] == [short[1].id]


def test_an_over_count_is_released_from_quarantine(w: World) -> None:
    # given 3 packs of gauze received against a notice of 2
    gauze = w.net.item("Gauze swab 10 cm", packages=(PackageSpec("pack", 10, gtin=GAUZE_GTIN),))
    data = ShipmentData(
        format="x12-856",
        shipment_id="ASN-9",
        lines=(ExpectedLine(1, 2, gtin=GAUZE_GTIN, lot="G7", expiry=date(2028, 1, 31)),),
    )
    scan = f"]d201{GAUZE_GTIN}17280131" + "10G7"
    session_id = _receive(w, scan, packages=3, shipment=store_shipment(w.net, data, "b"))
    over = discrepancy_of(w.net, session_id, "count_mismatch")
    view = investigations.get_discrepancy(w.rt, w.pharmacist, over)
    assert (view.item_name, view.lot_number, view.quantity, view.held) == (
        "Gauze swab 10 cm",
        "G7",
        10,
        10,
    )
    assert _on_hand(w, w.net.central.quarantine.id, gauze) == 10
    # when the excess is closed without moving it, it is refused; released, it is on the dock
    with pytest.raises(errors.QuarantineMismatch):
        investigations.resolve_discrepancy(
            w.rt, w.pharmacist, ResolveDiscrepancy(over, Resolution.CLOSE)
        )
    investigations.resolve_discrepancy(
        w.rt, w.pharmacist, ResolveDiscrepancy(over, Resolution.RELEASE)
    )
    assert _on_hand(w, w.net.central.quarantine.id, gauze) == 0
    assert _on_hand(w, w.net.central.receiving.id, gauze) == 30


def test_a_suspect_packages_discrepancy_is_closed_by_its_investigation(w: World) -> None:
    session_id = _receive(w, datamatrix("FAKE1"))
    suspect = discrepancy_of(w.net, session_id, "not_in_shipment")
    with pytest.raises(errors.UnderInvestigation) as refused:
        investigations.resolve_discrepancy(
            w.rt, w.pharmacist, ResolveDiscrepancy(suspect, Resolution.RELEASE)
        )
    assert refused.value.details == {"investigation_id": _investigation(w)}


def test_a_resolved_discrepancy_cannot_be_resolved_again(w: World) -> None:
    session_id = _receive(w, datamatrix("S00", lot="E1", expiry="260500"))
    expired = discrepancy_of(w.net, session_id, "expired")
    investigations.resolve_discrepancy(
        w.rt, w.pharmacist, ResolveDiscrepancy(expired, Resolution.DESTROY)
    )
    with pytest.raises(errors.DiscrepancyAlreadyResolved) as refused:
        investigations.resolve_discrepancy(
            w.rt, w.pharmacist, ResolveDiscrepancy(expired, Resolution.DESTROY)
        )
    assert refused.value.code == "DISCREPANCY_ALREADY_RESOLVED"


def test_a_dry_run_plans_the_resolution_and_changes_nothing(w: World) -> None:
    session_id = _receive(w, datamatrix("S00", lot="E1", expiry="260500"))
    expired = discrepancy_of(w.net, session_id, "expired")
    before = _ledger_size(w)
    outcome = investigations.resolve_discrepancy(
        w.rt, w.pharmacist, ResolveDiscrepancy(expired, Resolution.DESTROY, dry_run=True)
    )
    assert outcome.document is not None
    assert outcome.document.dry_run
    assert [m.quantity for m in outcome.document.movements] == [100]
    assert outcome.record.status == "open"
    assert _ledger_size(w) == before


# --- who may ------------------------------------------------------------------------------------


def test_a_technician_cannot_resolve_or_investigate(w: World) -> None:
    session_id = _receive(w, datamatrix("FAKE1"), datamatrix("S00", lot="E1", expiry="260500"))
    expired = discrepancy_of(w.net, session_id, "expired")
    case_id = _investigation(w)
    attempts = [
        lambda a: investigations.resolve_discrepancy(
            w.rt, a, ResolveDiscrepancy(expired, Resolution.DESTROY)
        ),
        lambda a: investigations.close_investigation(
            w.rt, a, CloseInvestigation(case_id, Finding.CLEARED)
        ),
        lambda a: investigations.add_note(w.rt, a, case_id, "looks fine"),
    ]
    for actor in (w.technician, w.retail_pharmacist):
        for attempt in attempts:
            with pytest.raises(errors.Forbidden) as refused:
                attempt(actor)
            assert refused.value.code == "FORBIDDEN"
    # the console operator without an account has every permission but signs nothing
    for attempt in attempts:
        with pytest.raises(errors.SignedInUserRequired) as unsigned:
            attempt(w.net.actor)
        assert unsigned.value.code == "SIGNED_IN_USER_REQUIRED"
    assert _on_hand(w, w.net.central.quarantine.id) == 200
    # another site's pharmacist sees none of it
    assert investigations.list_discrepancies(w.rt, w.retail_pharmacist) == []
    assert investigations.list_investigations(w.rt, w.retail_pharmacist) == []
    with pytest.raises(errors.Forbidden):
        investigations.list_discrepancies(w.rt, w.retail_pharmacist, w.net.central.id)


# --- destruction as a ledger document -----------------------------------------------------------


def test_an_expired_lot_on_the_shelf_is_destroyed_with_a_reason(w: World) -> None:
    # given a lot in storage that has since expired
    net = w.net
    item = net.item("Cefalexin 250 mg capsule")
    net.receive(item, 40, "OLD", date(2026, 6, 15))
    w.clock.advance(timedelta(days=30))
    destroy = stock.Destroy(
        net.central.id,
        net.central.storage.id,
        [stock.StockLine(item.id, 40)],
        "EXPIRED",
        header=Header(reference="DEST-1"),
    )
    # when it is destroyed without a lot named (FEFO takes only usable lots) it is refused
    with pytest.raises(errors.InsufficientStock):
        stock.destroy(w.rt, w.pharmacist, destroy)
    lot_id = catalog_lot(w, item.id, "OLD")
    named = stock.Destroy(
        net.central.id,
        net.central.storage.id,
        [stock.StockLine(item.id, 40, lot_id)],
        "EXPIRED",
    )
    # and a technician may not destroy, nor may anyone without an active reason code
    with pytest.raises(errors.Forbidden):
        stock.destroy(w.rt, w.technician, named)
    with pytest.raises(errors.UnknownReasonCode):
        stock.destroy(w.rt, w.pharmacist, replace(named, reason_code="BECAUSE"))
    doc = stock.destroy(w.rt, w.pharmacist, named)
    # then the lot left for waste, with the reason on the document and the line
    assert (doc.doc_type, doc.reason_code) == (DocumentType.DESTRUCTION, "EXPIRED")
    assert [(m.lot_id, m.quantity, m.reason_code) for m in doc.movements] == [
        (lot_id, 40, "EXPIRED")
    ]
    assert _on_hand(w, net.central.storage.id, item) == 0


def test_destruction_goes_only_to_waste_or_the_reverse_distributor(w: World) -> None:
    net = w.net
    net.receive(w.item, 10)
    command = stock.Destroy(
        net.central.id,
        net.central.storage.id,
        [stock.StockLine(w.item.id, 10)],
        "DAMAGED",
        to=LocationType.PATIENT,
    )
    with pytest.raises(errors.ValidationFailed):
        stock.destroy(w.rt, w.pharmacist, command)


# --- traceability -------------------------------------------------------------------------------


def test_the_trace_of_a_dispensed_package_validates_and_lists_its_journey(w: World) -> None:
    # given a bottle received in a case, put away, and dispensed
    net = w.net
    session_id = _receive(w, "]C100" + CASES[0])
    receiving.put_away(w.rt, net.actor, session_id, "MAIN-A1")
    serial = _serial_id(w, "S02")
    stock.dispense(
        w.rt,
        net.actor,
        stock.Dispense(
            net.central.id, net.central.shelf.id, [stock.StockLine(w.item.id, 100, None, serial)]
        ),
    )
    # when its trace is exported
    found = traceability.trace(w.rt, w.pharmacist, GTIN, "S02")
    # then it lists receipt, put-away and dispense, as EPCIS events that validate
    assert [(s.doc_type, s.from_code, s.to_code) for s in found.steps] == [
        ("receipt", "SUPPLIER", "RECV"),
        ("put_away", "RECV", "MAIN-A1"),
        ("dispense", "MAIN-A1", "PATIENT"),
    ]
    assert list(epcis_validator().iter_errors(found.epcis)) == []
    events = found.epcis["epcisBody"]["eventList"]
    assert [(e["bizStep"], e["disposition"]) for e in events] == [
        ("receiving", "in_progress"),
        ("storing", "sellable_accessible"),
        ("dispensing", "dispensed"),
    ]
    assert {e["epcList"][0] for e in events} == {f"https://id.gs1.org/01/{GTIN}/21/S02"}
    assert events[0]["sourceList"] == [
        {"type": "owning_party", "source": f"https://id.gs1.org/417/{SENDER_GLN}"}
    ]
    assert events[0]["bizTransactionList"] == [
        {"type": "desadv", "bizTransaction": f"urn:epcglobal:cbv:bt:{SENDER_GLN}:DESADV-1"}
    ]


def test_the_trace_of_a_destroyed_package_ends_in_a_delete(w: World) -> None:
    _receive(w, datamatrix("FAKE1"))
    investigations.close_investigation(
        w.rt,
        w.pharmacist,
        CloseInvestigation(
            _investigation(w),
            Finding.ILLEGITIMATE,
            notification_reference="FDA-1",
            notified_at=_now(w),
        ),
    )
    found = traceability.trace(w.rt, w.pharmacist, GTIN, "FAKE1")
    assert list(epcis_validator().iter_errors(found.epcis)) == []
    events = found.epcis["epcisBody"]["eventList"]
    assert [(e["bizStep"], e["disposition"], e["action"]) for e in events] == [
        ("receiving", "non_sellable_other", "OBSERVE"),
        ("destroying", "destroyed", "DELETE"),
    ]


def test_transaction_information_per_product_identifier(w: World) -> None:
    # given a declared bottle received in its case, and a foreign bottle
    session_id = _receive(w, "]C100" + CASES[0], datamatrix("FAKE1"))
    receipt = receiving.get_session(w.rt, w.net.actor, session_id).receipt_document_id
    # when the pharmacist asks for each
    declared = traceability.transaction_information(w.rt, w.pharmacist, GTIN, "S01")
    foreign = traceability.transaction_information(w.rt, w.pharmacist, GTIN[1:], "FAKE1")
    # then the declared one names its shipment, sender, lot and raw file, and its receipt
    (source,) = declared.declared_in
    assert (source.reference, source.sender, source.receiver) == ("DESADV-1", SENDER_GLN, SITE_GLN)
    assert (source.lot_number, source.expiry, source.parent_key) == (
        "A1",
        date(2028, 1, 31),
        CASES[0],
    )
    assert (source.file.sha256, source.file.filename) == ("a" * 64, "shipment.xml")
    assert [(s.session_id, s.receipt_document_id, s.disposition) for s in declared.scanned_in] == [
        (session_id, receipt, "accept")
    ]
    assert (declared.item_name, declared.lot_number, declared.in_stock_at) == (
        w.item.name,
        "A1",
        w.net.central.receiving.id,
    )
    # and the foreign one has no transaction information, a quarantine and an investigation
    assert foreign.gtin == GTIN
    assert foreign.declared_in == ()
    assert [(s.disposition, s.reason) for s in foreign.scanned_in] == [
        ("quarantine", "not_in_shipment")
    ]
    assert [i["status"] for i in foreign.investigations] == ["open"]


def test_a_package_received_without_shipment_data_is_known_by_its_ledger(w: World) -> None:
    net = w.net
    line = stock.ReceiptLine(w.item.id, 100, "B1", date(2028, 1, 31), serial="P1", gtin=GTIN)
    stock.receive(w.rt, net.actor, stock.Receive(net.central.id, net.central.storage.id, [line]))
    info = traceability.transaction_information(w.rt, w.pharmacist, GTIN, "P1")
    assert (info.declared_in, info.scanned_in, info.in_stock_at) == ((), (), net.central.storage.id)
    found = traceability.trace(w.rt, w.pharmacist, GTIN, "P1")
    assert [(s.doc_type, s.biz_step, s.disposition) for s in found.steps] == [
        ("receipt", "receiving", "sellable_accessible")
    ]
    assert list(epcis_validator().iter_errors(found.epcis)) == []


def test_an_unknown_or_hidden_identifier_is_not_found(w: World) -> None:
    _receive(w, "]C100" + CASES[0])
    for actor, serial in ((w.pharmacist, "NOPE"), (w.retail_pharmacist, "S01")):
        with pytest.raises(errors.SerialNotFound):
            traceability.transaction_information(w.rt, actor, GTIN, serial)
        with pytest.raises(errors.SerialNotFound):
            traceability.trace(w.rt, actor, GTIN, serial)
    with pytest.raises(errors.InvalidIdentifier):
        traceability.trace(w.rt, w.pharmacist, "12345", "S01")


def test_a_shipments_transaction_information(w: World) -> None:
    shipment_id = dscsa_shipment(w.net)
    _receive(w, "]C100" + CASES[0], shipment=shipment_id)
    view = traceability.shipment(w.rt, w.pharmacist, shipment_id)
    assert (view.reference, view.sender, view.status) == ("DESADV-1", SENDER_GLN, "received")
    assert [(ln["lot_number"], ln["quantity"]) for ln in view.lines] == [("A1", 8), ("A2", 4)]
    assert len(view.packages) == 16
    assert view.file.sha256 == "a" * 64
    assert [s["status"] for s in view.sessions] == ["posted"]
    raw = traceability.shipment_file(w.rt, w.pharmacist, shipment_id)
    assert (raw.content, raw.sha256) == (b"<epcis/>", "a" * 64)
    with pytest.raises(errors.Forbidden):
        traceability.shipment(w.rt, w.retail_pharmacist, shipment_id)
    with pytest.raises(errors.ShipmentNotFound):
        traceability.shipment(w.rt, w.pharmacist, shipment_id + 100)


# --- helpers ------------------------------------------------------------------------------------


def _now(w: World) -> datetime:
    return w.rt.clock.now()


def _virtual(w: World, type_: LocationType) -> int:
    with w.rt.uow(read_only=True) as uow:
        found = repository.virtual_location(uow.connection, w.net.central.id, type_)
    assert found is not None
    return found.id


def _serial_id(w: World, serial: str) -> int:
    with w.rt.uow(read_only=True) as uow:
        found = repository.serial_by_key(uow.connection, w.net.actor.organization_id, GTIN, serial)
    assert found is not None
    return found.id


def catalog_lot(w: World, item_id: int, number: str) -> int:
    from rxledger.services import catalog

    return catalog.find_lot(w.rt, w.net.actor, item_id, number).id


def _ledger_size(w: World) -> tuple[int, int]:
    from rxledger.adapters import tables

    with w.rt.uow(read_only=True) as uow:
        return (
            repository.count_rows(uow.connection, tables.documents),
            repository.count_rows(uow.connection, tables.movements),
        )
