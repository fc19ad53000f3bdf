"""Reconciliation with external systems, on SQLite and PostgreSQL: a dispensary's tagged packages
against a METRC packages export, an on-hand CSV, and the day's POS sales against dispenses."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from rxledger.adapters import tables_control as tc
from rxledger.domain import errors
from rxledger.domain.errors import InvalidInputFile, RxLedgerError
from rxledger.domain.model import Item
from rxledger.domain.permissions import Actor, Grant, Role
from rxledger.services import approvals, identity, queries, reconciliation, stock
from rxledger.services.catalog import PackageSpec
from rxledger.services.controlled import Witness
from rxledger.services.reconciliation import ComparisonRow
from rxledger.services.runtime import Runtime
from tests.builders import Network, build_network
from tests.e2e.api_support import PASSWORD, use_fast_password_hashing
from tests.stewardship_builders import gtin, metrc_tag

FLOWER_GTIN = gtin("0085000012346")
A, B, C, D = metrc_tag(1), metrc_tag(2), metrc_tag(3), metrc_tag(9)


def flower(net: Network) -> Item:
    """Flower in eighths (3.5 g = 3,500 mg), each package a METRC tag (its serial)."""
    return net.item(
        "Blue Dream flower 3.5 g",
        base_unit="mg",
        cannabis_category="flower",
        serial_tracked=True,
        standard_cost=Decimal("0.01"),  # 35.00 an eighth: settlements stay below the policy
        packages=(PackageSpec("eighth", 3500, gtin=FLOWER_GTIN),),
    )


def receive_tagged(net: Network, item: Item, tags: list[str]) -> None:
    """One package per production batch (lot ``PB-<tag>``) into CENTRAL's storage."""
    lines = [
        stock.ReceiptLine(item.id, 3500, f"PB-{tag[-2:]}", date(2027, 6, 30), serial=tag,
                          gtin=FLOWER_GTIN)
        for tag in tags
    ]  # fmt: skip
    stock.receive(net.rt, net.actor, stock.Receive(net.central.id, net.central.storage.id, lines))


def package(
    label: str, quantity: str, unit: str = "Grams", batch: str | None = None
) -> dict[str, Any]:
    """A record of GET /packages/v2/active, cut to the fields the reader uses; the quantity is
    written into the JSON text as given (``3.2``, never through a float's digits)."""
    return {
        "Id": 1,
        "Label": label,
        "Quantity": RawNumber(quantity),
        "UnitOfMeasureName": unit,
        "UnitOfMeasureAbbreviation": "g",
        "ProductionBatchNumber": batch,
        "Item": {"Name": "Blue Dream flower 3.5 g", "ProductCategoryName": "Flower"},
    }


class RawNumber(str):
    """A JSON number spelled exactly."""


def export(*packages: dict[str, Any]) -> bytes:
    """The paged response of GET /packages/v2/active."""
    page = {"Data": list(packages), "Total": len(packages), "Page": 1, "TotalPages": 1}
    text = json.dumps(page, default=str)
    for p in packages:
        quantity = p.get("Quantity")
        if isinstance(quantity, RawNumber):
            text = text.replace(f'"Label": "{p["Label"]}", "Quantity": "{quantity}"',
                                f'"Label": "{p["Label"]}", "Quantity": {quantity}')  # fmt: skip
    return text.encode()


@pytest.fixture
def dispensary(rt: Runtime) -> tuple[Network, Item]:
    """CENTRAL holds packages A, B and C of flower, 3.5 g each."""
    net = build_network(rt)
    item = flower(net)
    receive_tagged(net, item, [A, B, C])
    return net, item


def metrc_export() -> bytes:
    """METRC lists A as the ledger does, lacks B, has C at 3.2 g and D, which the ledger lacks."""
    return export(package(A, "3.5"), package(C, "3.2"), package(D, "7"))


def rows_by_key(rows: tuple[ComparisonRow, ...]) -> dict[str, tuple[str, int, int | None, int]]:
    return {r.key: (r.status, r.ledger, r.external, r.difference) for r in rows}


def test_a_metrc_export_with_missing_extra_and_mismatched_packages(
    dispensary: tuple[Network, Item],
) -> None:
    # given
    net, item = dispensary
    imported = reconciliation.import_snapshot(
        net.rt, net.actor, net.central.id, "metrc", "active.json", metrc_export()
    )
    # when
    comparison = reconciliation.compare(net.rt, net.actor, imported.snapshot_id)
    # then one row per package, in base units (mg)
    assert imported.lines == 3
    assert not imported.duplicate
    assert rows_by_key(comparison.rows) == {
        A: ("match", 3500, 3500, 0),
        B: ("missing_external", 3500, None, -3500),
        C: ("mismatch", 3500, 3200, -300),
        D: ("extra_external", 0, 7000, 7000),
    }
    assert comparison.totals() == {
        "match": 1,
        "missing_external": 1,
        "extra_external": 1,
        "mismatch": 1,
    }
    c = next(r for r in comparison.rows if r.key == C)
    assert (c.item_id, c.lot_number, c.location_id, c.unit) == (
        item.id,
        "PB-03",
        net.central.storage.id,
        "Grams",
    )
    assert next(r for r in comparison.rows if r.key == D).note == "not a package of the ledger"


def test_trusting_metrc_adjusts_the_ledger_and_sends_nothing(
    dispensary: tuple[Network, Item],
) -> None:
    # given
    net, item = dispensary
    snapshot = reconciliation.import_snapshot(
        net.rt, net.actor, net.central.id, "metrc", "active.json", metrc_export()
    ).snapshot_id
    # when the user decides METRC is right everywhere
    proposal = reconciliation.propose(net.rt, net.actor, snapshot, "COUNT", trust="external")
    # then B is written off, C loses 300 mg, D cannot be made up by an adjustment
    assert proposal.document is not None
    moved = sorted(
        (m.from_location_id == net.central.storage.id, m.quantity, m.reason_code)
        for m in proposal.document.movements
    )
    assert moved == [(True, 300, "COUNT"), (True, 3500, "COUNT")]
    assert proposal.metrc == ()
    assert proposal.skipped == ((D, "the ledger does not hold the package here: receive it"),)
    on_hand = queries.balances(net.rt, net.actor, site_id=net.central.id, item_id=item.id)
    assert sum(b.on_hand for b in on_hand) == 3500 + 3200
    # and comparing again leaves only the package the ledger never received
    again = reconciliation.compare(net.rt, net.actor, snapshot)
    assert rows_by_key(again.rows) == {
        A: ("match", 3500, 3500, 0),
        C: ("match", 3200, 3200, 0),
        D: ("extra_external", 0, 7000, 7000),
    }


def test_trusting_the_ledger_gives_the_metrc_adjustments_to_send(
    dispensary: tuple[Network, Item],
) -> None:
    # given
    net, _ = dispensary
    snapshot = reconciliation.import_snapshot(
        net.rt, net.actor, net.central.id, "metrc", "active.json", metrc_export()
    ).snapshot_id
    # when the ledger is right about C, D and B
    proposal = reconciliation.propose(
        net.rt,
        net.actor,
        snapshot,
        "COUNT",
        keys=[C, D, B],
        trust="ledger",
        external_reason="Scale Variance",
        note="recounted at close",
    )
    # then nothing posts, and METRC gets signed deltas in grams (POST /packages/v2/adjust)
    assert proposal.document is None
    assert proposal.metrc == (
        {
            "Label": C,
            "Quantity": Decimal("0.3"),
            "UnitOfMeasure": "Grams",
            "AdjustmentReason": "Scale Variance",
            "AdjustmentDate": "2026-06-01",
            "ReasonNote": "recounted at close",
        },
        {
            "Label": D,
            "Quantity": Decimal("-7"),
            "UnitOfMeasure": "Grams",
            "AdjustmentReason": "Scale Variance",
            "AdjustmentDate": "2026-06-01",
            "ReasonNote": "recounted at close",
        },
    )
    assert proposal.skipped == ((B, "METRC does not list the package: nothing to adjust there"),)
    assert proposal.as_dict()["metrc"][0]["Quantity"] == 0.3


def test_ounces_come_back_in_ounces(dispensary: tuple[Network, Item]) -> None:
    # given METRC counts C in ounces: 0.1 oz is 2,834.95 mg, rounded to 2,835 mg
    net, _ = dispensary
    data = export(package(A, "3.5"), package(B, "3.5"), package(C, "0.1", unit="Ounces"))
    snapshot = reconciliation.import_snapshot(
        net.rt, net.actor, net.central.id, "metrc", "oz.json", data
    ).snapshot_id
    # when the ledger's 3,500 mg is right
    proposal = reconciliation.propose(net.rt, net.actor, snapshot, "COUNT", trust="ledger")
    # then
    assert [(r["Label"], r["Quantity"], r["UnitOfMeasure"]) for r in proposal.metrc] == [
        (C, Decimal("0.0235"), "Ounces")
    ]


def test_the_same_file_twice_adds_nothing(dispensary: tuple[Network, Item]) -> None:
    # given
    net, _ = dispensary
    first = reconciliation.import_snapshot(
        net.rt, net.actor, net.central.id, "metrc", "a.json", metrc_export()
    )
    # when
    second = reconciliation.import_snapshot(
        net.rt, net.actor, net.central.id, "metrc", "b.json", metrc_export()
    )
    # then
    assert (second.snapshot_id, second.duplicate, second.lines) == (first.snapshot_id, True, 3)
    with net.rt.uow(read_only=True) as uow:
        snapshots = uow.connection.execute(
            select(func.count()).select_from(tc.external_snapshots)
        ).scalar_one()
        lines = uow.connection.execute(
            select(func.count()).select_from(tc.external_lines)
        ).scalar_one()
    assert (snapshots, lines) == (1, 3)


def test_a_bad_metrc_file_is_refused_with_the_path_of_every_bad_package(rt: Runtime) -> None:
    # given
    net = build_network(rt)
    data = export(
        package(A, "3.5"),
        package(B, "1.2345"),
        {"Quantity": 1, "UnitOfMeasureName": "Grams"},
        package(C, "2", unit="Bushels"),
        package(A, "1"),
    )
    # when
    with pytest.raises(InvalidInputFile) as refused:
        reconciliation.import_snapshot(net.rt, net.actor, net.central.id, "metrc", "x.json", data)
    # then
    where = [p["where"] for p in refused.value.details["problems"]]
    assert where == ["$.Data[1].Quantity", "$.Data[2].Label", "$.Data[3].Quantity", "$.Data[4]"]
    assert refused.value.code == "INVALID_INPUT_FILE"
    assert "1.2345 Grams is not a whole number of mg" in refused.value.message
    assert "appears twice (first at $.Data[0])" in refused.value.message


def test_a_bad_csv_is_refused_with_line_numbers(rt: Runtime) -> None:
    # given
    net = build_network(rt)
    data = b"sku,lot,quantity\nSKU1,L1,10\n,L1,3\nSKU2,,2.5\nSKU3,,-1\n"
    # when
    with pytest.raises(InvalidInputFile) as refused:
        reconciliation.import_snapshot(net.rt, net.actor, net.central.id, "pos", "pos.csv", data)
    # then
    assert [(p["where"], p["field"]) for p in refused.value.details["problems"]] == [
        ("line 3", "sku"),
        ("line 4", "quantity"),
        ("line 5", "quantity"),
    ]


def test_an_on_hand_csv_is_compared_per_item_and_lot(rt: Runtime) -> None:
    # given L1 (100) and L2 (10) of one item, 40 of another, at CENTRAL
    net = build_network(rt)
    amoxicillin, gauze = net.item(), net.item("Gauze pad", expiry_tracked=False)
    net.receive(amoxicillin, 100, "L1")
    net.receive(amoxicillin, 10, "L2", location=net.central.shelf)
    net.receive(gauze, 40, "G1")
    third = net.item("Saline 10 mL")
    data = (
        f"sku,lot,quantity\n{amoxicillin.sku},L1,90\n{amoxicillin.sku},L2,10\n"
        f"{third.sku},,5\nNOPE,,1\n"
    ).encode()
    # when
    snapshot = reconciliation.import_snapshot(
        net.rt, net.actor, net.central.id, "pos", "pos.csv", data
    ).snapshot_id
    comparison = reconciliation.compare(net.rt, net.actor, snapshot)
    # then
    assert rows_by_key(comparison.rows) == {
        f"{amoxicillin.sku}/L1": ("mismatch", 100, 90, -10),
        f"{amoxicillin.sku}/L2": ("match", 10, 10, 0),
        gauze.sku: ("missing_external", 40, None, -40),
        third.sku: ("extra_external", 0, 5, 5),
        "NOPE": ("extra_external", 0, 1, 1),
    }
    # and trusting the POS on L1 takes 10 from it
    proposal = reconciliation.propose(
        net.rt, net.actor, snapshot, "COUNT", keys=[f"{amoxicillin.sku}/L1"]
    )
    assert proposal.document is not None
    assert [(m.quantity, m.from_location_id) for m in proposal.document.movements] == [
        (10, net.central.storage.id)
    ]


def test_an_unknown_reason_code_posts_nothing(dispensary: tuple[Network, Item]) -> None:
    net, _ = dispensary
    snapshot = reconciliation.import_snapshot(
        net.rt, net.actor, net.central.id, "metrc", "active.json", metrc_export()
    ).snapshot_id
    with pytest.raises(RxLedgerError) as refused:
        reconciliation.propose(net.rt, net.actor, snapshot, "NOT_A_REASON")
    assert refused.value.code == "REASON_CODE_UNKNOWN"


def test_pos_sales_against_the_days_dispenses(rt: Runtime) -> None:
    # given 5 + 2 dispensed today, the 2 reversed; 3 of another item dispensed
    net = build_network(rt)
    amoxicillin, ibuprofen = net.item(), net.item("Ibuprofen 200 mg tablet")
    net.receive(amoxicillin, 100)
    net.receive(ibuprofen, 100)
    net.dispense(amoxicillin, 5)
    reversed_ = net.dispense(amoxicillin, 2)
    stock.reverse(net.rt, net.actor, stock.Reverse(reversed_.id))
    net.dispense(ibuprofen, 3)
    sales = (
        "date,sku,quantity\n"
        f"2026-06-01,{amoxicillin.sku},4\n2026-06-01,{amoxicillin.sku},1\n"
        f"2026-06-01,{ibuprofen.sku},4\n2026-06-01,GIFTCARD,1\n2026-05-31,{ibuprofen.sku},9\n"
    ).encode()
    # when
    rows = reconciliation.sales_reconciliation(
        net.rt, net.actor, net.central.id, sales, date(2026, 6, 1)
    )
    # then
    assert [(r.sku, r.pos_units, r.ledger_units, r.difference, r.status) for r in rows] == sorted(
        [
            (amoxicillin.sku, 5, 5, 0, "match"),
            (ibuprofen.sku, 4, 3, 1, "mismatch"),
            ("GIFTCARD", 1, 0, 1, "unknown_sku"),
        ]
    )


def test_a_bad_sales_file_names_its_lines(rt: Runtime) -> None:
    net = build_network(rt)
    with pytest.raises(InvalidInputFile) as refused:
        reconciliation.sales_reconciliation(
            net.rt, net.actor, net.central.id, b"date,sku,quantity\n06/01/2026,X,1\n",
            date(2026, 6, 1),
        )  # fmt: skip
    assert refused.value.details["problems"][0]["where"] == "line 2"
    assert "is not a date (YYYY-MM-DD)" in refused.value.message


def test_settling_the_items_other_stock_leaves_the_lots_the_export_names(rt: Runtime) -> None:
    # given lot A (5) and lot B (3) of one item; the export names A = 5 and the rest 0
    net = build_network(rt)
    item = net.item()
    net.receive(item, 5, "A")
    net.receive(item, 3, "B", location=net.central.shelf)
    data = f"sku,lot,quantity\n{item.sku},A,5\n{item.sku},,0\n".encode()
    snapshot = reconciliation.import_snapshot(
        net.rt, net.actor, net.central.id, "csv", "onhand.csv", data
    ).snapshot_id
    # when the item's other stock is settled to the export
    reconciliation.propose(net.rt, net.actor, snapshot, "COUNT", keys=[item.sku])
    again = reconciliation.propose(net.rt, net.actor, snapshot, "COUNT", keys=[item.sku])
    # then lot B went, lot A stayed, and the second settlement found nothing left to settle
    assert (
        queries.balance(net.rt, net.actor, item_id=item.id, location_id=net.central.storage.id) == 5
    )
    assert (
        queries.balance(net.rt, net.actor, item_id=item.id, location_id=net.central.shelf.id) == 0
    )
    assert again.document is None


# --- settlements under the approval policy and the witness rule -------------------------------


def _pharmacist(net: Network, name: str) -> Actor:
    identity.create_user(
        net.rt,
        net.actor,
        username=name,
        full_name=name.title(),
        password=PASSWORD,
        grants=[Grant(Role.PHARMACIST, net.central.id)],
    )
    return identity.user_actor(net.rt, net.actor.organization_id, name)


@pytest.fixture
def pharmacists(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> tuple[Network, Actor, Actor]:
    """A network with two pharmacists at CENTRAL: phil settles, carol witnesses or approves."""
    use_fast_password_hashing(monkeypatch)
    net = build_network(rt)
    return net, _pharmacist(net, "phil"), _pharmacist(net, "carol")


def _csv_snapshot(net: Network, item: Item, quantity: int) -> int:
    data = f"sku,lot,quantity\n{item.sku},,{quantity}\n".encode()
    return reconciliation.import_snapshot(
        net.rt, net.actor, net.central.id, "csv", "onhand.csv", data
    ).snapshot_id


def _witnesses(net: Network) -> list[tuple[int, str]]:
    with net.rt.uow(read_only=True) as uow:
        w = tc.document_witnesses.c
        rows = uow.connection.execute(select(w.document_id, w.witness).order_by(w.id)).all()
    return [(r.document_id, r.witness) for r in rows]


def _holds(net: Network) -> list[tuple[int, str]]:
    with net.rt.uow(read_only=True) as uow:
        h = tc.held_adjustments.c
        rows = uow.connection.execute(select(h.id, h.status).order_by(h.id)).all()
    return [(r.id, r.status) for r in rows]


def test_a_schedule_ii_variance_is_settled_only_with_a_witness(
    pharmacists: tuple[Network, Actor, Actor],
) -> None:
    # given 100 oxycodone tablets in the ledger, 98 in the export
    net, phil, _ = pharmacists
    oxy = net.controlled()
    net.receive(oxy, 100, "OX1")
    snapshot = _csv_snapshot(net, oxy, 98)

    def on_hand() -> int:
        return queries.balance(net.rt, net.actor, item_id=oxy.id, site_id=net.central.id)

    # when settled without a witness, with a wrong password, or witnessed by the poster
    with pytest.raises(errors.WitnessRequired):
        reconciliation.propose(net.rt, phil, snapshot, "COUNT")
    with pytest.raises(errors.WitnessCredentialsInvalid) as wrong:
        reconciliation.propose(
            net.rt, phil, snapshot, "COUNT", witness=Witness("carol", "not her password")
        )
    with pytest.raises(errors.WitnessNotAllowed):
        reconciliation.propose(net.rt, phil, snapshot, "COUNT", witness=Witness("phil", PASSWORD))
    # then nothing changed, and the wrong password is its own code, not a failed sign-in
    assert wrong.value.code == "WITNESS_CREDENTIALS_INVALID"
    assert not isinstance(wrong.value, errors.Unauthenticated)
    assert (on_hand(), _witnesses(net), _holds(net)) == (100, [], [])
    # when carol witnesses it
    proposal = reconciliation.propose(
        net.rt, phil, snapshot, "COUNT", witness=Witness("carol", PASSWORD)
    )
    # then it posts (worth 0.25, below the policy) and the witness is recorded with it
    assert proposal.document is not None
    assert not proposal.held
    assert proposal.document.posted_by == "phil"
    assert _witnesses(net) == [(proposal.document.id, "carol")]
    assert on_hand() == 98
    assert reconciliation.compare(net.rt, phil, snapshot).rows[0].status == "match"


def test_a_settlement_above_the_policy_is_held_and_settled_once(
    pharmacists: tuple[Network, Actor, Actor],
) -> None:
    # given 4,000 capsules in the ledger and 1,000 in the export: 3,000 at 0.125 is 375.00
    net, phil, carol = pharmacists
    amoxicillin = net.item()
    net.receive(amoxicillin, 4000, "L1")
    snapshot = _csv_snapshot(net, amoxicillin, 1000)

    def on_hand() -> int:
        return queries.balance(net.rt, net.actor, item_id=amoxicillin.id, site_id=net.central.id)

    # when phil settles it
    proposal = reconciliation.propose(net.rt, phil, snapshot, "COUNT")
    # then nothing posts: it waits for a pharmacist's approval, in carol's inbox
    assert proposal.held
    assert proposal.document is None
    assert proposal.value == Decimal("375.0000")
    assert proposal.as_dict()["held"] is True
    assert proposal.as_dict()["approval_id"] == proposal.approval_id
    assert on_hand() == 4000
    inbox = approvals.inbox(net.rt, carol)
    assert [(e.id, e.subject_type) for e in inbox] == [(proposal.approval_id, "adjustment")]
    # and the comparison shows the row awaiting that approval
    (row,) = reconciliation.compare(net.rt, phil, snapshot).rows
    assert (row.status, row.approval_id) == ("mismatch", proposal.approval_id)
    # when settled again (a retry, every differing row, the row by key, a later export)
    again = reconciliation.propose(net.rt, phil, snapshot, "COUNT")
    by_key = reconciliation.propose(net.rt, carol, snapshot, "COUNT", keys=[amoxicillin.sku])
    newer = reconciliation.import_snapshot(
        net.rt,
        phil,
        net.central.id,
        "csv",
        "b.csv",
        f"sku,quantity\n{amoxicillin.sku},1000\n".encode(),
    ).snapshot_id
    assert newer != snapshot
    later = reconciliation.propose(net.rt, phil, newer, "COUNT")
    # then nothing more is held or posted: the row is left alone, awaiting the approval
    awaiting = ((amoxicillin.sku, f"awaiting approval {proposal.approval_id}"),)
    for settled in (again, by_key, later):
        assert (settled.document, settled.held, settled.skipped) == (None, False, awaiting)
    assert len(_holds(net)) == 1
    # when carol approves it
    decision = approvals.decide(net.rt, carol, proposal.approval_id or 0, True)
    # then it posts once, and the row matches
    assert decision.document_id is not None
    assert on_hand() == 1000
    (row,) = reconciliation.compare(net.rt, phil, snapshot).rows
    assert (row.status, row.approval_id) == ("match", None)
    assert reconciliation.propose(net.rt, phil, snapshot, "COUNT").document is None


def test_a_rejected_settlement_can_be_requested_again(
    pharmacists: tuple[Network, Actor, Actor],
) -> None:
    # given a held settlement that carol rejects
    net, phil, carol = pharmacists
    amoxicillin = net.item()
    net.receive(amoxicillin, 4000, "L1")
    snapshot = _csv_snapshot(net, amoxicillin, 1000)
    first = reconciliation.propose(net.rt, phil, snapshot, "COUNT")
    approvals.decide(net.rt, carol, first.approval_id or 0, False, "count it again first")
    (row,) = reconciliation.compare(net.rt, phil, snapshot).rows
    assert row.approval_id is None
    # when phil settles the same row again
    second = reconciliation.propose(net.rt, phil, snapshot, "COUNT")
    # then it is a new request, held for a new approval, not the rejected one
    assert second.held
    assert second.approval_id not in (None, first.approval_id)
    assert [status for _, status in _holds(net)] == ["rejected", "pending"]
