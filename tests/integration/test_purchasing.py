"""Purchasing on both engines: suppliers, requisitions and their approval, purchase orders, and
receipts against PO lines (partial, complete, over, under and closed, substitutes), with
idempotent replays and all-or-nothing receipts."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Table, func, select

from rxledger.adapters import tables as t
from rxledger.adapters import tables_receiving as tr
from rxledger.domain import errors
from rxledger.domain.clock import ManualClock
from rxledger.domain.model import FormularyStatus
from rxledger.domain.permissions import Role
from rxledger.services import integrity, purchase_receipts, purchasing, queries
from rxledger.services.posting import Header
from rxledger.services.purchasing import (
    NewRequisition,
    NewSupplier,
    NewSupplierItem,
    PoReceiptLine,
    PurchaseOrderView,
    ReceivePurchaseOrder,
    RequisitionLineSpec,
)
from rxledger.services.runtime import Runtime
from tests.builders import Network, build_network
from tests.purchasing_builders import Buying, build_buying, new_supplier, person

EXPIRY = date(2028, 1, 31)


@pytest.fixture
def net(rt: Runtime) -> Network:
    return build_network(rt)


@pytest.fixture
def buying(net: Network) -> Buying:
    """An item sold in packs of 100 at 12.50: 80 packs (1,000.00) reach the order policy."""
    return build_buying(net)


def count(rt: Runtime, table: Table) -> int:
    with rt.uow(read_only=True) as uow:
        return int(uow.connection.execute(select(func.count()).select_from(table)).scalar_one())


def receive(
    b: Buying,
    order: PurchaseOrderView,
    *lines: PoReceiptLine,
    key: str | None = None,
    who: Any = None,
) -> purchasing.PoReceiptResult:
    return purchasing.receive_purchase_order(
        b.net.rt,
        who or b.net.actor,
        ReceivePurchaseOrder(
            order.id, b.net.central.receiving.id, list(lines), Header(idempotency_key=key)
        ),
    )


def line(order: PurchaseOrderView, quantity: int, lot: str = "L1", **extra: Any) -> PoReceiptLine:
    return PoReceiptLine(order.lines[0].id, quantity, lot, EXPIRY, **extra)


def at_receiving(b: Buying, item_id: int | None = None) -> int:
    return queries.balance(
        b.net.rt,
        b.net.actor,
        item_id=item_id or b.item.id,
        location_id=b.net.central.receiving.id,
    )


# --- suppliers ----------------------------------------------------------------------------------


def test_a_supplier_has_terms_a_gln_and_packs_with_prices(net: Network) -> None:
    # given
    item = net.item()
    # when
    supplier = purchasing.create_supplier(
        net.rt,
        net.actor,
        NewSupplier("WHOLESALE", "Great Lakes Drug", 3, Decimal("250.00"), "0614141000012"),
    )
    offer = purchasing.add_supplier_item(
        net.rt,
        net.actor,
        supplier.id,
        NewSupplierItem(item.id, 100, Decimal("12.5000"), 2, "GL-123", "00307773105025"),
    )
    # then
    view = purchasing.get_supplier(net.rt, net.actor, supplier.id)
    assert view.supplier.gln == "0614141000012"
    assert view.supplier.lead_time_days == 3
    assert view.supplier.minimum_order_value == Decimal("250.00")
    assert [
        (i.id, i.supplier_item.pack_units, i.supplier_item.order_multiple) for i in view.items
    ] == [(offer.id, 100, 2)]
    assert view.items[0].supplier_item.pack_price == Decimal("12.5")
    assert [s.code for s in purchasing.list_suppliers(net.rt, net.actor)] == ["WHOLESALE"]


def test_supplier_refusals(net: Network) -> None:
    item = net.item()
    supplier = new_supplier(net)
    with pytest.raises(errors.DuplicateCode):
        purchasing.create_supplier(net.rt, net.actor, NewSupplier(supplier.code, "Again"))
    with pytest.raises(errors.InvalidIdentifier):
        purchasing.create_supplier(
            net.rt, net.actor, NewSupplier("BADGLN", "Bad", gln="0614141000013")
        )
    offer = NewSupplierItem(item.id, 100, Decimal("9.99"))
    purchasing.add_supplier_item(net.rt, net.actor, supplier.id, offer)
    with pytest.raises(errors.DuplicateCode):
        purchasing.add_supplier_item(net.rt, net.actor, supplier.id, offer)
    with pytest.raises(errors.InvalidQuantity):
        purchasing.add_supplier_item(
            net.rt, net.actor, supplier.id, NewSupplierItem(item.id, 0, Decimal(1))
        )
    technician = person(net, "tech9", Role.TECHNICIAN)
    with pytest.raises(errors.Forbidden):
        purchasing.create_supplier(net.rt, technician, NewSupplier("NOPE", "Nope"))


# --- requisitions and approval ------------------------------------------------------------------


def test_an_order_under_the_threshold_becomes_a_purchase_order_at_once(
    buying: Buying, clock: ManualClock
) -> None:
    # given a draft of 79 packs x 12.50 = 987.50, just under the threshold
    draft = buying.requisition(79)
    assert draft.status == "draft"
    assert draft.total_value == Decimal("987.50")
    # when submitted
    done = purchasing.submit_requisition(buying.net.rt, buying.buyer, draft.id)
    # then it is ordered without an approval, as PO-CENTRAL-000001
    assert done.status == "ordered"
    assert done.approval is None
    assert done.purchase_order_number == "PO-CENTRAL-000001"
    order = purchasing.get_purchase_order(
        buying.net.rt, buying.net.actor, done.purchase_order_id or 0
    )
    assert order.status == "open"
    assert order.created_by == "buyer1"
    assert order.expected_on == clock.now().date() + timedelta(days=2)
    assert [(x.ordered_units, x.pack_units, x.open_units, x.status.value) for x in order.lines] == [
        (7900, 100, 7900, "open")
    ]
    assert order.value == Decimal("987.50")
    assert count(buying.net.rt, tr.approvals) == 0


def test_above_the_threshold_another_user_must_approve(buying: Buying) -> None:
    rt = buying.net.rt
    # given a submitted requisition worth 1,012.50
    draft = buying.requisition(81)
    waiting = purchasing.submit_requisition(rt, buying.buyer, draft.id)
    assert waiting.status == "submitted"
    assert waiting.approval is not None
    assert waiting.approval.status == "pending"
    assert waiting.approval.value == Decimal("1012.50")
    assert waiting.approval.quantity == 8100
    assert not waiting.approval.pharmacist_required
    assert [a.subject_id for a in purchasing.list_approvals(rt, buying.pharmacist)] == [draft.id]
    # when its requester, who is also a manager, approves it: refused
    requester_as_manager = person(buying.net, "buyer1", Role.MANAGER)
    with pytest.raises(errors.SelfApproval) as refused:
        purchasing.approve_requisition(rt, requester_as_manager, draft.id)
    assert refused.value.code == "SELF_APPROVAL_FORBIDDEN"
    # and a technician or a buyer may not approve at all
    for role in (Role.TECHNICIAN, Role.BUYER):
        with pytest.raises(errors.Forbidden) as forbidden:
            purchasing.approve_requisition(rt, person(buying.net, "x", role), draft.id)
        assert forbidden.value.code == "FORBIDDEN"
    assert purchasing.get_requisition(rt, buying.net.actor, draft.id).status == "submitted"
    # when a pharmacist approves
    approved = purchasing.approve_requisition(rt, buying.pharmacist, draft.id, "ok for stock")
    # then the purchase order is placed and the approval records who decided
    assert approved.status == "ordered"
    assert approved.purchase_order_number == "PO-CENTRAL-000001"
    assert approved.approval is not None
    assert approved.approval.status == "approved"
    assert approved.approval.decided_by == "pharm1"
    assert approved.approval.note is not None
    assert "ok for stock" in approved.approval.note
    assert purchasing.list_approvals(rt, buying.pharmacist) == []
    # and it is decided once
    with pytest.raises(errors.StatusConflict):
        purchasing.approve_requisition(rt, person(buying.net, "mgr", Role.MANAGER), draft.id)


def test_whoever_submitted_may_not_approve_either(buying: Buying) -> None:
    draft = buying.requisition(100)
    manager = person(buying.net, "mgr1", Role.MANAGER)
    purchasing.submit_requisition(buying.net.rt, manager, draft.id)
    with pytest.raises(errors.SelfApproval):
        purchasing.approve_requisition(buying.net.rt, manager, draft.id)
    assert purchasing.approve_requisition(buying.net.rt, buying.pharmacist, draft.id).status == (
        "ordered"
    )


def test_a_non_formulary_item_needs_a_pharmacist_whatever_the_value(buying: Buying) -> None:
    rt = buying.net.rt
    # given a small order of a non-formulary item
    special = buying.net.item("Rare 10 mg tablet", formulary_status=FormularyStatus.NON_FORMULARY)
    offer = buying.offer_of(special, 10, "5.00")
    draft = buying.requisition(1, offer=offer)
    # when submitted
    waiting = purchasing.submit_requisition(rt, buying.buyer, draft.id)
    # then a pharmacist's approval is asked for
    assert waiting.status == "submitted"
    assert waiting.approval is not None
    assert waiting.approval.pharmacist_required
    assert waiting.approval.note is not None
    assert "non-formulary" in waiting.approval.note
    # a manager or a site admin may approve orders, but not this one
    for role in (Role.MANAGER, Role.ADMIN):
        with pytest.raises(errors.PharmacistApprovalRequired) as refused:
            purchasing.approve_requisition(rt, person(buying.net, "boss", role), draft.id)
        assert refused.value.code == "PHARMACIST_APPROVAL_REQUIRED"
    assert purchasing.approve_requisition(rt, buying.pharmacist, draft.id).status == "ordered"


def test_minimum_order_value_is_enforced_on_submit(net: Network) -> None:
    # given a supplier taking orders of 500.00 or more
    b = build_buying(net, minimum="500.00")
    draft = b.requisition(39)  # 487.50
    # when submitted
    with pytest.raises(errors.MinimumOrderNotMet) as refused:
        purchasing.submit_requisition(net.rt, b.buyer, draft.id)
    # then it stays a draft
    assert refused.value.code == "MINIMUM_ORDER_NOT_MET"
    assert Decimal(refused.value.details["minimum"]) == Decimal(500)
    assert purchasing.get_requisition(net.rt, b.buyer, draft.id).status == "draft"
    assert purchasing.submit_requisition(net.rt, b.buyer, b.requisition(40).id).status == "ordered"


def test_order_multiples_and_the_suppliers_own_items_are_required(buying: Buying) -> None:
    rt = buying.net.rt
    in_twos = buying.offer_of(buying.net.item("Cefalexin 250 mg capsule"), 20, "3.00", multiple=2)
    with pytest.raises(errors.OrderMultipleNotMet) as refused:
        buying.requisition(5, offer=in_twos)
    assert refused.value.code == "ORDER_MULTIPLE_NOT_MET"
    assert buying.requisition(6, offer=in_twos).lines[0].units == 120
    other = new_supplier(buying.net)
    with pytest.raises(errors.SupplierItemNotFound):
        purchasing.create_requisition(
            rt,
            buying.buyer,
            NewRequisition(
                buying.net.central.id, other.id, [RequisitionLineSpec(buying.offer.id, 1)]
            ),
        )
    with pytest.raises(errors.Forbidden):
        purchasing.create_requisition(
            rt,
            person(buying.net, "tech", Role.TECHNICIAN),
            NewRequisition(
                buying.net.central.id, buying.supplier.id, [RequisitionLineSpec(buying.offer.id, 1)]
            ),
        )


def test_a_rejection_needs_a_reason_and_another_user(buying: Buying) -> None:
    rt = buying.net.rt
    draft = buying.requisition(200)
    purchasing.submit_requisition(rt, buying.buyer, draft.id)
    with pytest.raises(errors.ValidationFailed):
        purchasing.reject_requisition(rt, buying.pharmacist, draft.id, "  ")
    with pytest.raises(errors.SelfApproval):
        purchasing.reject_requisition(
            rt, person(buying.net, "buyer1", Role.PHARMACIST), draft.id, "no"
        )
    rejected = purchasing.reject_requisition(rt, buying.pharmacist, draft.id, "too many")
    assert rejected.status == "rejected"
    assert rejected.approval is not None
    assert rejected.approval.status == "rejected"
    assert rejected.purchase_order_id is None
    with pytest.raises(errors.StatusConflict):
        purchasing.submit_requisition(rt, buying.buyer, draft.id)


def test_cancelling_a_waiting_requisition_withdraws_its_approval(buying: Buying) -> None:
    rt = buying.net.rt
    draft = buying.requisition(200)
    purchasing.submit_requisition(rt, buying.buyer, draft.id)
    cancelled = purchasing.cancel_requisition(rt, buying.buyer, draft.id)
    assert cancelled.status == "cancelled"
    assert cancelled.approval is not None
    assert cancelled.approval.status == "withdrawn"
    with pytest.raises(errors.StatusConflict):
        purchasing.approve_requisition(rt, buying.pharmacist, draft.id)


def test_purchase_orders_are_numbered_per_site(buying: Buying) -> None:
    net = buying.net
    first, second = buying.order(1), buying.order(2)
    retail = buying.order(1, site=net.retail)
    assert [first.number, second.number, retail.number] == [
        "PO-CENTRAL-000001",
        "PO-CENTRAL-000002",
        "PO-RETAIL-000001",
    ]
    listed = purchasing.list_purchase_orders(net.rt, net.actor, site_id=net.central.id)
    assert [o.number for o in listed] == ["PO-CENTRAL-000002", "PO-CENTRAL-000001"]
    assert purchasing.purchase_order_by_number(net.rt, net.actor, retail.number).id == retail.id
    # a user of RETAIL neither reads nor lists CENTRAL's orders
    retail_tech = person(net, "rt", Role.TECHNICIAN, net.retail)
    with pytest.raises(errors.Forbidden):
        purchasing.get_purchase_order(net.rt, retail_tech, first.id)
    assert [o.number for o in purchasing.list_purchase_orders(net.rt, retail_tech)] == [
        "PO-RETAIL-000001"
    ]


# --- receiving against a purchase order ---------------------------------------------------------


def test_partial_then_complete_receipts(buying: Buying) -> None:
    rt = buying.net.rt
    order = buying.order(2)  # 200 capsules
    # when 60 arrive
    first = receive(buying, order, line(order, 60))
    # then one receipt document, referenced by the PO number, and the line is partial
    assert first.document.doc_type.value == "receipt"
    assert first.document.reference == order.number
    assert first.over_received_lines == ()
    po_line = first.purchase_order.lines[0]
    assert (po_line.received_units, po_line.open_units, po_line.status.value) == (
        60,
        140,
        "partial",
    )
    assert first.purchase_order.receipt_status.value == "partial"
    assert at_receiving(buying) == 60
    # when the rest comes in two lots in one receipt
    rest = receive(buying, order, line(order, 100, "L2"), line(order, 40, "L3"))
    # then the line is complete, nothing is open
    po_line = rest.purchase_order.lines[0]
    assert (po_line.received_units, po_line.open_units, po_line.status.value) == (
        200,
        0,
        "complete",
    )
    assert [(r.document_id, r.units) for r in rest.purchase_order.receipts] == [
        (first.document.id, 60),
        (rest.document.id, 140),
    ]
    assert at_receiving(buying) == 200
    assert count(rt, tr.purchase_receipts) == 2  # one row per (document, line, item)
    assert integrity.check(rt).ok


def test_over_receipt_is_flagged_within_the_tolerance_and_refused_beyond(buying: Buying) -> None:
    rt = buying.net.rt
    order = buying.order(1)  # 100 ordered; the policy allows 10 % over: at most 110
    # beyond the tolerance in one go: refused, nothing posted
    documents = count(rt, t.documents)
    with pytest.raises(errors.OverReceiptLimit) as refused:
        receive(buying, order, line(order, 111))
    assert refused.value.code == "OVER_RECEIPT_LIMIT"
    assert refused.value.details["allowed"] == 110
    assert count(rt, t.documents) == documents
    assert count(rt, tr.purchase_receipts) == 0
    # within it: accepted and flagged
    over = receive(buying, order, line(order, 105))
    assert over.over_received_lines == (order.lines[0].id,)
    po_line = over.purchase_order.lines[0]
    assert (po_line.status.value, po_line.open_units, po_line.over_units) == ("over", 0, 5)
    assert over.purchase_order.receipt_status.value == "over"
    # and the tolerance counts what was received before
    with pytest.raises(errors.OverReceiptLimit):
        receive(buying, order, line(order, 6))
    assert at_receiving(buying) == 105


def test_the_over_receipt_tolerance_is_a_policy(net: Network) -> None:
    from dataclasses import replace

    from rxledger.domain.purchasing import PurchasingPolicy

    strict = replace(
        net.rt, purchasing_policy=PurchasingPolicy(max_over_receipt_percent=Decimal(0))
    )
    b = build_buying(net)
    order = b.order(1)
    with pytest.raises(errors.OverReceiptLimit):
        purchasing.receive_purchase_order(
            strict,
            net.actor,
            ReceivePurchaseOrder(order.id, net.central.receiving.id, [line(order, 101)]),
        )


def test_an_under_delivered_po_is_closed_with_its_short_line(buying: Buying) -> None:
    rt = buying.net.rt
    order = buying.order(1)
    receive(buying, order, line(order, 80))
    # when the buyer closes it: 20 will never come
    closed = purchasing.close_purchase_order(rt, buying.buyer, order.id, "backordered, cancelled")
    # then the line stays short, but nothing is on order any more
    assert closed.status == "closed"
    assert closed.closed_at is not None
    assert (closed.lines[0].open_units, closed.lines[0].status.value) == (20, "partial")
    assert closed.note is not None
    assert "backordered" in closed.note
    assert purchasing.on_order(rt, buying.net.actor, site_id=buying.net.central.id) == []
    # and a closed PO receives nothing more
    with pytest.raises(errors.StatusConflict) as refused:
        receive(buying, order, line(order, 20))
    assert refused.value.code == "STATUS_CONFLICT"
    with pytest.raises(errors.StatusConflict):
        purchasing.close_purchase_order(rt, buying.buyer, order.id)


def test_only_a_po_without_receipts_is_cancelled(buying: Buying) -> None:
    rt = buying.net.rt
    untouched, received = buying.order(1), buying.order(1)
    assert purchasing.cancel_purchase_order(rt, buying.buyer, untouched.id).status == "cancelled"
    receive(buying, received, line(received, 10))
    with pytest.raises(errors.StatusConflict):
        purchasing.cancel_purchase_order(rt, buying.buyer, received.id)
    technician = person(buying.net, "tech", Role.TECHNICIAN)
    with pytest.raises(errors.Forbidden):
        purchasing.close_purchase_order(rt, technician, received.id)


def test_an_equivalent_substitute_counts_against_the_ordered_line(buying: Buying) -> None:
    # given another NDC of the same generic, strength and form
    order = buying.order(1)
    generic = buying.net.item("Amoxicillin 500 mg capsule", strength="500mg")
    # when received against the line
    result = receive(buying, order, line(order, 100, substitute_item_id=generic.id))
    # then the line is complete, by a substitute, and the stock is of the substitute
    po_line = result.purchase_order.lines[0]
    assert (po_line.received_units, po_line.substitute_units, po_line.status.value) == (
        100,
        100,
        "complete",
    )
    assert result.purchase_order.receipts[0].substitute
    assert result.purchase_order.receipts[0].item_id == generic.id
    assert at_receiving(buying, generic.id) == 100
    assert at_receiving(buying) == 0


def test_another_product_substitutes_only_when_forced_with_a_reason(buying: Buying) -> None:
    rt = buying.net.rt
    order = buying.order(1)
    stronger = buying.net.item("Amoxicillin 875 mg tablet", strength="875 mg", dosage_form="tablet")
    # without a reason: refused, nothing posted
    with pytest.raises(errors.SubstituteNotEquivalent) as refused:
        receive(buying, order, line(order, 50, substitute_item_id=stronger.id))
    assert refused.value.code == "SUBSTITUTE_NOT_EQUIVALENT"
    assert count(rt, tr.purchase_receipts) == 0
    # with a reason: accepted, and the reason is on the receipt document
    forced = receive(
        buying,
        order,
        line(
            order,
            50,
            substitute_item_id=stronger.id,
            substitute_reason="prescriber approved the 875 mg",
        ),
    )
    assert forced.document.note is not None
    assert "prescriber approved the 875 mg" in forced.document.note
    assert forced.purchase_order.lines[0].substitute_units == 50


def test_a_replayed_receipt_writes_nothing_twice(buying: Buying) -> None:
    rt = buying.net.rt
    order = buying.order(1)
    first = receive(buying, order, line(order, 100), key="dock-1")
    # when the same receipt is sent again, even after the PO is complete and closed
    purchasing.close_purchase_order(rt, buying.buyer, order.id)
    again = receive(buying, order, line(order, 100), key="dock-1")
    # then the first document is the answer and nothing more was written
    assert again.document.replayed
    assert again.document.id == first.document.id
    assert count(rt, tr.purchase_receipts) == 1
    assert again.purchase_order.lines[0].received_units == 100
    assert at_receiving(buying) == 100
    # the same key with another receipt is a conflict
    with pytest.raises(errors.IdempotencyConflict):
        receive(buying, order, line(order, 90), key="dock-1")


def test_a_receipt_the_ledger_refuses_writes_no_po_receipt(buying: Buying) -> None:
    rt = buying.net.rt
    order = buying.order(1)
    documents = count(rt, t.documents)
    # a lot-tracked item received without a lot number
    with pytest.raises(errors.LotRequired):
        receive(buying, order, PoReceiptLine(order.lines[0].id, 10))
    # into another site's location
    with pytest.raises(errors.RxLedgerError):
        purchasing.receive_purchase_order(
            rt,
            buying.net.actor,
            ReceivePurchaseOrder(order.id, buying.net.retail.storage.id, [line(order, 10)]),
        )
    assert count(rt, t.documents) == documents
    assert count(rt, tr.purchase_receipts) == 0
    assert purchasing.get_purchase_order(rt, buying.net.actor, order.id).lines[0].open_units == 100


def test_a_failure_after_the_document_is_written_rolls_the_document_back(
    buying: Buying, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = buying.net.rt
    order = buying.order(1)
    documents, movements = count(rt, t.documents), count(rt, t.movements)

    def broken(*args: object) -> None:
        raise errors.LedgerIntegrityError("the PO rows could not be written")

    monkeypatch.setattr(purchase_receipts.pr, "insert_purchase_receipts", broken)
    with pytest.raises(errors.LedgerIntegrityError):
        receive(buying, order, line(order, 10))
    assert (count(rt, t.documents), count(rt, t.movements)) == (documents, movements)
    assert at_receiving(buying) == 0


def test_the_po_is_judged_again_inside_the_posting_transaction(
    buying: Buying, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the pre-check saw may be stale (another receipt committed since): the hook judges
    under the PO's lock, after the document is in, and its refusal takes the document along."""
    rt = buying.net.rt
    order = buying.order(1)
    receive(buying, order, line(order, 100))
    documents = count(rt, t.documents)
    # given a pre-check that judges nothing (as if it had read the PO before the first receipt)
    monkeypatch.setattr(purchase_receipts, "_is_replay", lambda *args: True)
    # when 20 more arrive (120 > 110)
    with pytest.raises(errors.OverReceiptLimit):
        receive(buying, order, line(order, 20), key="late")
    # then nothing was posted
    assert count(rt, t.documents) == documents
    assert count(rt, tr.purchase_receipts) == 1


def test_two_receipts_racing_for_the_last_units_cannot_both_pass(buying: Buying) -> None:
    order = buying.order(1)  # at most 110
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def dock(lot: str) -> None:
        barrier.wait()
        try:
            receive(buying, order, line(order, 60, lot))
            outcomes.append("posted")
        except errors.OverReceiptLimit:
            outcomes.append("refused")

    threads = [threading.Thread(target=dock, args=(lot,)) for lot in ("A", "B")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["posted", "refused"]
    assert (
        purchasing.get_purchase_order(buying.net.rt, buying.net.actor, order.id)
        .lines[0]
        .received_units
        == 60
    )


def test_a_line_of_another_po_or_a_foreign_user_is_refused(buying: Buying) -> None:
    net = buying.net
    order, other = buying.order(1), buying.order(1)
    with pytest.raises(errors.PurchaseOrderLineNotFound):
        receive(buying, order, PoReceiptLine(other.lines[0].id, 10, "L1", EXPIRY))
    with pytest.raises(errors.Forbidden):
        receive(buying, order, line(order, 10), who=person(net, "rt", Role.TECHNICIAN, net.retail))
    with pytest.raises(errors.PurchaseOrderNotFound):
        purchasing.get_purchase_order(net.rt, net.actor, 999_999)


def test_a_dry_run_previews_the_receipt_and_writes_nothing(buying: Buying) -> None:
    rt = buying.net.rt
    order = buying.order(1)
    cmd = ReceivePurchaseOrder(order.id, buying.net.central.receiving.id, [line(order, 40)])
    preview = purchasing.preview_receipt(rt, buying.net.actor, cmd)
    assert [(x.quantity, x.lot_number, x.to_code) for x in preview.preview.lines] == [
        (40, "L1", "RECV")
    ]
    po_line = preview.order.lines[0]
    assert (preview.received_after(po_line), preview.status_after(po_line).value) == (40, "partial")
    assert count(rt, tr.purchase_receipts) == 0
    assert count(rt, t.lots) == 0


def test_open_quantities_per_item_and_site(buying: Buying) -> None:
    net = buying.net
    first, second = buying.order(1), buying.order(2)
    buying.order(1, site=net.retail)
    receive(buying, first, line(first, 30))
    rows = purchasing.on_order(net.rt, net.actor)
    assert [(r.site_code, r.sku, r.open_units, r.purchase_orders) for r in rows] == [
        ("CENTRAL", buying.item.sku, 70 + 200, 2),
        ("RETAIL", buying.item.sku, 100, 1),
    ]
    assert rows[0].next_expected == first.expected_on
    purchasing.cancel_purchase_order(net.rt, net.actor, second.id)
    central = purchasing.on_order(net.rt, net.actor, site_id=net.central.id)
    assert [(r.open_units, r.purchase_orders) for r in central] == [(70, 1)]
    retail_tech = person(net, "rt", Role.TECHNICIAN, net.retail)
    assert [r.site_code for r in purchasing.on_order(net.rt, retail_tech)] == ["RETAIL"]


def test_approvals_racing_number_their_orders_apart_and_decide_once(buying: Buying) -> None:
    rt = buying.net.rt
    first, second = buying.requisition(100), buying.requisition(100)
    for draft in (first, second):
        purchasing.submit_requisition(rt, buying.buyer, draft.id)
    outcomes: list[str] = []
    barrier = threading.Barrier(3)

    def approve(requisition_id: int, name: str) -> None:
        barrier.wait()
        try:
            view = purchasing.approve_requisition(
                rt, person(buying.net, name, Role.MANAGER), requisition_id
            )
            outcomes.append(view.purchase_order_number or "")
        except errors.StatusConflict:
            outcomes.append("already decided")

    threads = [
        threading.Thread(target=approve, args=(first.id, "mgr-a")),
        threading.Thread(target=approve, args=(first.id, "mgr-b")),
        threading.Thread(target=approve, args=(second.id, "mgr-c")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["PO-CENTRAL-000001", "PO-CENTRAL-000002", "already decided"]
    assert count(rt, tr.purchase_orders) == 2
