"""Controlled substances on both engines: witness rules for schedule II, the perpetual inventory
log, the biennial count sheet, the dashboard's discrepancies and the reports as CSV and PDF."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

from rxledger.adapters import tables as t
from rxledger.adapters import tables_control as tc
from rxledger.domain import errors
from rxledger.domain.clock import ManualClock
from rxledger.domain.model import DeaSchedule, Item
from rxledger.domain.permissions import Actor, Grant, Role
from rxledger.entrypoints import controlled_reports
from rxledger.services import controlled, identity, reports, stock
from rxledger.services.controlled import Witness
from rxledger.services.posting import Header, PostedDocument
from rxledger.services.runtime import Runtime
from tests.builders import Network, build_network

PASSWORD = "correct horse battery"


@dataclass
class People:
    pharmacist: Actor  # the poster
    colleague: Actor  # a second pharmacist: a valid witness
    technician: Actor
    manager: Actor


@pytest.fixture
def net(rt: Runtime) -> Network:
    return build_network(rt)


def person(net: Network, name: str, *grants: Grant) -> Actor:
    identity.create_user(
        net.rt, net.actor, username=name, full_name=name.title(), password=PASSWORD, grants=grants
    )
    return identity.user_actor(net.rt, net.actor.organization_id, name)


@pytest.fixture
def people(net: Network) -> People:
    both = (Grant(Role.PHARMACIST, net.central.id), Grant(Role.PHARMACIST, net.retail.id))
    return People(
        pharmacist=person(net, "phil", *both),
        colleague=person(net, "carol", *both),
        technician=person(net, "tess", Grant(Role.TECHNICIAN, net.central.id)),
        manager=person(net, "max", Grant(Role.MANAGER, net.central.id)),
    )


def _lot(net: Network, doc: PostedDocument) -> int:
    return doc.movements[0].lot_id


def adjust(
    net: Network, actor: Actor, item: Item, lot_id: int, delta: int, witness: Witness | None
) -> PostedDocument:
    line = stock.AdjustLine(item.id, net.central.storage.id, lot_id, "LOST", delta=delta)
    return stock.adjust(net.rt, actor, stock.Adjust(net.central.id, [line], witness=witness))


def destroy(net: Network, actor: Actor, item: Item, qty: int, w: Witness | None) -> PostedDocument:
    cmd = stock.Destroy(
        net.central.id,
        net.central.storage.id,
        [stock.StockLine(item.id, qty)],
        "EXPIRED",
        witness=w,
    )
    return stock.destroy(net.rt, actor, cmd)


def ship(net: Network, actor: Actor, item: Item, qty: int, w: Witness | None) -> PostedDocument:
    cmd = stock.ShipTransfer(
        net.central.id,
        net.central.storage.id,
        net.retail.id,
        [stock.StockLine(item.id, qty)],
        witness=w,
    )
    return stock.ship_transfer(net.rt, actor, cmd)


def documents(net: Network) -> int:
    with net.rt.uow(read_only=True) as uow:
        return int(uow.connection.execute(select(func.count()).select_from(t.documents)).scalar())


def witness_rows(net: Network) -> list[tuple[int, str]]:
    with net.rt.uow(read_only=True) as uow:
        w = tc.document_witnesses.c
        rows = uow.connection.execute(select(w.document_id, w.witness).order_by(w.id)).all()
    return [(r.document_id, r.witness) for r in rows]


# --- witness rules for schedule II --------------------------------------------------------------


@pytest.mark.parametrize("posting", ["adjust", "destroy", "ship"])
def test_witness_rules_for_schedule_ii(net: Network, people: People, posting: str) -> None:
    # given a CII item in stock and a pharmacist who posts
    oxy = net.controlled()
    lot_id = _lot(net, net.receive(oxy, 100))
    poster = people.pharmacist

    def post(witness: Witness | None) -> PostedDocument:
        if posting == "adjust":
            return adjust(net, poster, oxy, lot_id, -2, witness)
        if posting == "destroy":
            return destroy(net, poster, oxy, 2, witness)
        return ship(net, poster, oxy, 2, witness)

    before = documents(net)
    # when no witness / the poster / a wrong password / a technician: refused, nothing written
    with pytest.raises(errors.WitnessRequired) as required:
        post(None)
    assert required.value.code == "WITNESS_REQUIRED"
    with pytest.raises(errors.WitnessNotAllowed) as self_witness:
        post(Witness("PHIL", PASSWORD))
    assert self_witness.value.code == "WITNESS_NOT_ALLOWED"
    with pytest.raises(errors.WitnessCredentialsInvalid) as wrong:
        post(Witness("carol", "not her password"))
    # the poster's own sign-in is fine: not UNAUTHENTICATED, which clients read as "sign in again"
    assert wrong.value.code == "WITNESS_CREDENTIALS_INVALID"
    assert not isinstance(wrong.value, errors.Unauthenticated)
    assert wrong.value.details == {"witness": "carol"}
    with pytest.raises(errors.WitnessCredentialsInvalid):
        post(Witness("nobody", PASSWORD))
    with pytest.raises(errors.WitnessNotAllowed) as technician:
        post(Witness("tess", PASSWORD))
    assert technician.value.details["witness"] == "tess"
    assert documents(net) == before
    assert witness_rows(net) == []
    # then a pharmacist's right password posts, and the witness row commits with the document
    doc = post(Witness("Carol", PASSWORD))
    assert documents(net) == before + 1
    assert witness_rows(net) == [(doc.id, "carol")]


def test_a_manager_may_witness_and_the_receiving_leg_of_a_transfer_needs_one_too(
    net: Network, people: People
) -> None:
    oxy = net.controlled()
    net.receive(oxy, 10)
    shipment = ship(net, people.pharmacist, oxy, 4, Witness("max", PASSWORD))
    receive = stock.ReceiveTransfer(shipment.id, net.retail.storage.id)
    with pytest.raises(errors.WitnessRequired):
        stock.receive_transfer(net.rt, people.colleague, receive)
    # the manager holds no role at the receiving site
    with pytest.raises(errors.WitnessNotAllowed):
        stock.receive_transfer(
            net.rt, people.colleague, stock.ReceiveTransfer(
                shipment.id, net.retail.storage.id, witness=Witness("max", PASSWORD)
            )
        )  # fmt: skip
    received = stock.receive_transfer(
        net.rt,
        people.colleague,
        stock.ReceiveTransfer(
            shipment.id, net.retail.storage.id, witness=Witness("phil", PASSWORD)
        ),
    )
    assert witness_rows(net) == [(shipment.id, "max"), (received.id, "phil")]


def test_a_dry_run_checks_the_rule_and_writes_no_witness(net: Network, people: People) -> None:
    oxy = net.controlled()
    lot_id = _lot(net, net.receive(oxy, 10))
    line = stock.AdjustLine(oxy.id, net.central.storage.id, lot_id, "LOST", delta=-1)
    dry = Header(dry_run=True)
    with pytest.raises(errors.WitnessRequired):
        stock.adjust(net.rt, people.pharmacist, stock.Adjust(net.central.id, [line], dry))
    plan = stock.adjust(
        net.rt,
        people.pharmacist,
        stock.Adjust(net.central.id, [line], dry, witness=Witness("carol", PASSWORD)),
    )
    assert plan.dry_run
    assert witness_rows(net) == []


def test_other_schedules_and_dispensing_need_no_witness(net: Network, people: People) -> None:
    # given a CIII item, a plain item and the CII item
    codeine = net.item("Codeine 30 mg tablet", dea_schedule=DeaSchedule.CIII)
    amoxicillin = net.item()
    oxy = net.controlled()
    for item in (codeine, amoxicillin):
        lot_id = _lot(net, net.receive(item, 10))
        adjust(net, people.pharmacist, item, lot_id, -1, None)
        destroy(net, people.pharmacist, item, 1, None)
    net.receive(oxy, 10)
    # when a CII item is dispensed: no witness
    dispensed = stock.dispense(
        net.rt,
        people.technician,
        stock.Dispense(net.central.id, net.central.storage.id, [stock.StockLine(oxy.id, 3)]),
    )
    # then
    assert dispensed.movements[0].quantity == 3
    assert witness_rows(net) == []


def test_a_witness_given_where_none_is_needed_is_checked_and_recorded(
    net: Network, people: People
) -> None:
    amoxicillin = net.item()
    lot_id = _lot(net, net.receive(amoxicillin, 10))
    with pytest.raises(errors.WitnessNotAllowed):
        adjust(net, people.pharmacist, amoxicillin, lot_id, -1, Witness("tess", PASSWORD))
    doc = adjust(net, people.pharmacist, amoxicillin, lot_id, -1, Witness("carol", PASSWORD))
    assert witness_rows(net) == [(doc.id, "carol")]


def test_wrong_witness_passwords_are_throttled_like_sign_ins(net: Network, people: People) -> None:
    oxy = net.controlled()
    lot_id = _lot(net, net.receive(oxy, 10))
    for _ in range(net.rt.security.max_failed_sign_ins):
        with pytest.raises(errors.WitnessCredentialsInvalid):
            adjust(net, people.pharmacist, oxy, lot_id, -1, Witness("carol", "guess guess guess"))
    with pytest.raises(errors.TooManyAttempts):
        adjust(net, people.pharmacist, oxy, lot_id, -1, Witness("carol", PASSWORD))
    # every failed attempt is recorded as a failed sign-in of the witness, by the poster
    with net.rt.uow(read_only=True) as uow:
        a = t.sign_in_attempts.c
        failed = uow.connection.execute(
            select(a.username, a.client).where(a.succeeded.is_(False))
        ).all()
    assert {(r.username, r.client) for r in failed} == {("carol", "witness:phil")}
    assert len(failed) == net.rt.security.max_failed_sign_ins


def test_the_console_operator_without_accounts_posts_schedule_ii_without_witness(
    net: Network,
) -> None:
    # net.actor has no user account: nobody could be its second signed-in user
    oxy = net.controlled()
    lot_id = _lot(net, net.receive(oxy, 10))
    assert adjust(net, net.actor, oxy, lot_id, -1, None).movements[0].quantity == 1


# --- the perpetual log --------------------------------------------------------------------------


def test_perpetual_log_running_balance(net: Network, people: People, clock: ManualClock) -> None:
    # given receipts, a dispense, a move within the site, a witnessed waste and a transfer
    oxy = net.controlled()
    start = clock.now()
    received = net.receive(oxy, 100, "A1")
    clock.advance(timedelta(hours=1))
    net.dispense(oxy, 30)
    clock.advance(timedelta(hours=1))
    stock.move(
        net.rt,
        net.actor,
        stock.Move(
            net.central.id,
            net.central.storage.id,
            net.central.vault.id,
            [stock.StockLine(oxy.id, 20)],
        ),
    )
    clock.advance(timedelta(hours=1))
    waste = destroy(net, people.pharmacist, oxy, 5, Witness("carol", PASSWORD))
    clock.advance(timedelta(hours=1))
    net.receive(oxy, 50, "B2")
    clock.advance(timedelta(hours=1))
    shipped = ship(net, people.pharmacist, oxy, 10, Witness("carol", PASSWORD))

    # when
    log = controlled.perpetual_log(net.rt, people.technician, net.central.id, oxy.id)

    # then the move inside the site is not in the log, and the balance runs
    assert [(r.doc_type, r.quantity_in, r.quantity_out, r.balance) for r in log.rows] == [
        ("receipt", 100, 0, 100),
        ("dispense", 0, 30, 70),
        ("destruction", 0, 5, 65),
        ("receipt", 50, 0, 115),
        ("transfer_ship", 0, 10, 105),
    ]
    assert (log.opening, log.closing) == (0, 105)
    assert log.rows[0].document_id == received.id
    assert log.rows[2].witness == "carol"
    assert log.rows[2].document_id == waste.id
    assert log.rows[4].witness == "carol"
    assert log.rows[4].document_id == shipped.id
    assert log.rows[2].posted_by == "phil"
    assert log.rows[1].from_location == "MAIN"
    # a window: the opening balance sums what came before it; until is exclusive
    window = controlled.perpetual_log(
        net.rt,
        people.technician,
        net.central.id,
        oxy.id,
        since=start + timedelta(hours=1),
        until=start + timedelta(hours=4),
    )
    assert window.opening == 100
    assert [r.balance for r in window.rows] == [70, 65]  # the receipt at +4 h is left out
    assert window.closing == 65
    # the receiving site's own log
    retail = controlled.perpetual_log(net.rt, net.actor, net.retail.id, oxy.id)
    assert retail.rows == ()


def test_perpetual_log_refuses_an_item_that_is_not_controlled(net: Network, people: People) -> None:
    amoxicillin = net.item()
    with pytest.raises(errors.ValidationFailed):
        controlled.perpetual_log(net.rt, people.technician, net.central.id, amoxicillin.id)
    with pytest.raises(errors.Forbidden):
        controlled.perpetual_log(
            net.rt, people.technician, net.retail.id, net.controlled().id
        )  # fmt: skip


def test_controlled_items_of_a_site(net: Network, people: People) -> None:
    oxy = net.controlled()
    codeine = net.item("Codeine 30 mg tablet", dea_schedule=DeaSchedule.CIII)
    net.receive(oxy, 10)
    net.receive(codeine, 4)
    net.receive(net.item(), 7)
    found = controlled.controlled_items(net.rt, people.technician, net.central.id)
    assert [(c.name, c.dea_schedule, c.on_hand) for c in found] == [
        ("Codeine 30 mg tablet", "CIII", 4),
        ("Oxycodone 5 mg tablet", "CII", 10),
    ]


# --- the biennial sheet -------------------------------------------------------------------------


def test_biennial_sheet_lists_controlled_lots_with_a_blank_count(
    net: Network, people: People, clock: ManualClock
) -> None:
    oxy = net.controlled()
    net.receive(oxy, 40, "A1")
    net.receive(oxy, 12, "B2")
    net.receive(net.item(), 9)
    as_of = clock.now()
    clock.advance(timedelta(hours=2))
    net.dispense(oxy, 5, lot_id=None)

    sheet = controlled.biennial_sheet(net.rt, people.technician, net.central.id, as_of)

    assert [(ln.name, ln.lot_number, ln.system_on_hand, ln.counted) for ln in sheet.lines] == [
        ("Oxycodone 5 mg tablet", "A1", 40, None),
        ("Oxycodone 5 mg tablet", "B2", 12, None),
    ]
    now = controlled.biennial_sheet(net.rt, people.technician, net.central.id)
    assert sum(ln.system_on_hand for ln in now.lines) == 47
    assert sheet.result is None


def _count_session(net: Network, people: People, oxy: Item, lot_id: int, doc_id: int) -> int:
    """A posted biennial count, written the way the counts service records one."""
    now = net.rt.clock.now()
    org = net.actor.organization_id
    with net.rt.uow() as uow:
        conn = uow.connection
        session_id = conn.execute(
            insert(tc.count_sessions)
            .values(
                organization_id=org,
                site_id=net.central.id,
                program="biennial",
                title="Biennial 2026",
                blind=True,
                freeze=False,
                status="posted",
                created_by="phil",
                created_at=now,
                closed_at=now,
                document_id=doc_id,
            )
            .returning(tc.count_sessions.c.id)
        ).scalar_one()
        line_id = conn.execute(
            insert(tc.count_lines)
            .values(
                organization_id=org,
                session_id=session_id,
                line_no=1,
                location_id=net.central.storage.id,
                item_id=oxy.id,
                lot_id=lot_id,
                status="adjusted",
            )
            .returning(tc.count_lines.c.id)
        ).scalar_one()
        for number, (counted, who) in enumerate([(37, "tess"), (38, "carol")], start=1):
            conn.execute(
                insert(tc.count_entries).values(
                    organization_id=org,
                    line_id=line_id,
                    round=number,
                    counted=counted,
                    counted_by=who,
                    counted_at=now,
                    system_at_count=40,
                    movement_watermark=0,
                )
            )
        uow.commit()
    return int(session_id)


def test_biennial_sheet_with_the_signed_result_of_a_count(
    net: Network, people: People, clock: ManualClock
) -> None:
    # given a count of lot A1 (40 on record, 38 at the recount), posted with a witness
    oxy = net.controlled()
    lot_id = _lot(net, net.receive(oxy, 40, "A1"))
    clock.advance(timedelta(minutes=5))
    doc = adjust(net, people.pharmacist, oxy, lot_id, -2, Witness("carol", PASSWORD))
    session_id = _count_session(net, people, oxy, lot_id, doc.id)

    # when
    sheet = controlled.biennial_sheet(
        net.rt, people.technician, net.central.id, count_session_id=session_id
    )

    # then the counted column is the latest round, the result is signed
    (line,) = sheet.lines
    assert (line.lot_number, line.system_on_hand, line.counted, line.difference) == (
        "A1", 38, 38, 0,
    )  # fmt: skip
    assert line.counted_by == "carol"
    assert sheet.result is not None
    assert sheet.result.status == "posted"
    assert sheet.result.document_id == doc.id
    assert sheet.result.posted_by == "phil"
    assert sheet.result.witnesses == ("carol",)
    assert sheet.result.counted_by == ("carol",)
    with pytest.raises(errors.NotFound):
        controlled.biennial_sheet(net.rt, net.actor, net.retail.id, count_session_id=session_id)


# --- the dashboard ------------------------------------------------------------------------------


def test_dashboard_flags_controlled_losses_and_open_counts(
    net: Network, people: People, clock: ManualClock
) -> None:
    oxy = net.controlled()
    amoxicillin = net.item()
    lot_id = _lot(net, net.receive(oxy, 40, "A1"))
    plain_lot = _lot(net, net.receive(amoxicillin, 10))
    adjust(net, people.pharmacist, amoxicillin, plain_lot, -3, None)
    old = adjust(net, people.pharmacist, oxy, lot_id, -1, Witness("carol", PASSWORD))
    clock.advance(timedelta(days=31))
    lost = adjust(net, people.pharmacist, oxy, lot_id, -2, Witness("carol", PASSWORD))
    adjust(net, people.pharmacist, oxy, lot_id, +1, Witness("carol", PASSWORD))  # found: no loss
    session_id = _count_session(net, people, oxy, lot_id, lost.id)
    with net.rt.uow() as uow:
        uow.connection.execute(
            tc.count_lines.update()
            .where(tc.count_lines.c.session_id == session_id)
            .values(status="investigating")
        )
        uow.commit()

    figures = reports.site_dashboard(net.rt, people.technician, net.central.id)

    flagged = [
        (d.kind, d.quantity, d.detail, d.document_id) for d in figures.controlled_discrepancies
    ]
    assert flagged == [("count", None, "investigating", None), ("loss", 2, "LOST", lost.id)]
    assert old.id not in {d.document_id for d in figures.controlled_discrepancies}


# --- CSV and PDF --------------------------------------------------------------------------------


def test_reports_as_csv_and_pdf(net: Network, people: People, clock: ManualClock) -> None:
    oxy = net.controlled()
    net.receive(oxy, 100, "A1")
    clock.advance(timedelta(hours=1))
    net.dispense(oxy, 30)
    clock.advance(timedelta(hours=1))
    destroy(net, people.pharmacist, oxy, 5, Witness("carol", PASSWORD))
    log = controlled.perpetual_log(net.rt, people.technician, net.central.id, oxy.id)
    sheet = controlled.biennial_sheet(net.rt, people.technician, net.central.id)

    rows = list(csv.DictReader(io.StringIO(controlled_reports.log_csv(log))))
    assert [(r["doc_type"], r["in"], r["out"], r["balance"], r["witness"]) for r in rows] == [
        ("receipt", "100", "0", "100", ""),
        ("dispense", "0", "30", "70", ""),
        ("destruction", "0", "5", "65", "carol"),
    ]
    assert rows[2]["posted_by"] == "phil"
    assert rows[2]["lot"] == "A1"
    sheet_rows = list(csv.DictReader(io.StringIO(controlled_reports.sheet_csv(sheet))))
    assert [(r["item"], r["lot"], r["system_on_hand"], r["counted"]) for r in sheet_rows] == [
        ("Oxycodone 5 mg tablet", "A1", "65", "")
    ]
    for pdf in (
        controlled_reports.log_pdf(log, clock.now()),
        controlled_reports.sheet_pdf(sheet, clock.now()),
    ):
        assert pdf.startswith(b"%PDF-")
        assert pdf.rstrip().endswith(b"%%EOF")
    assert "Oxycodone" in controlled_reports.log_html(log, clock.now())
