"""The purchasing screens through HTTP: the approvals inbox (approve, reject, never one's own),
a new requisition, a receipt against a PO confirmed before it posts, closing a PO, and the
authorization matrix of these pages and forms against every role and a user of another site."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

import pytest

from rxledger.adapters import tables_receiving as tr
from rxledger.domain.permissions import Actor, Grant, Role
from rxledger.services import purchasing
from rxledger.services.purchasing import (
    NewRequisition,
    NewSupplier,
    NewSupplierItem,
    PurchaseOrderView,
    RequisitionLineSpec,
    RequisitionView,
    SupplierItemView,
)
from tests.e2e.api_support import count_rows
from tests.e2e.conftest import KEY, OUTSIDER, SITE_ROLES, WebClient, WebWorld


def error_code(html: str) -> str | None:
    found = re.search(r'data-error-code="([A-Z_]+)"', html)
    return found.group(1) if found else None


@pytest.fixture(scope="module")
def offer(web_world: WebWorld) -> SupplierItemView:
    """The world's amoxicillin at a supplier, 100 capsules for 12.50 (80 packs: the threshold)."""
    rt, admin = web_world.rt, web_world.admin
    supplier = purchasing.create_supplier(rt, admin, NewSupplier("GLDW", "Great Lakes Drug"))
    spec = NewSupplierItem(web_world.item.id, 100, Decimal("12.50"))
    return purchasing.add_supplier_item(rt, admin, supplier.id, spec)


def requester(world: WebWorld, name: str = "tech1") -> Actor:
    return Actor(world.admin.organization_id, name, None, (Grant(Role.ADMIN, world.central.id),))


def waiting(world: WebWorld, offer: SupplierItemView, by: str = "tech1") -> RequisitionView:
    """A requisition above the threshold, submitted and waiting for approval."""
    actor = requester(world, by)
    line = RequisitionLineSpec(offer.id, 100)
    spec = NewRequisition(world.central.id, offer.supplier_item.supplier_id, [line])
    draft = purchasing.create_requisition(world.rt, actor, spec)
    return purchasing.submit_requisition(world.rt, actor, draft.id)


def open_order(world: WebWorld, offer: SupplierItemView, packs: int = 1) -> PurchaseOrderView:
    actor = requester(world)
    line = RequisitionLineSpec(offer.id, packs)
    spec = NewRequisition(world.central.id, offer.supplier_item.supplier_id, [line])
    ordered = purchasing.submit_requisition(
        world.rt, actor, purchasing.create_requisition(world.rt, actor, spec).id
    )
    assert ordered.purchase_order_id is not None
    return purchasing.get_purchase_order(world.rt, actor, ordered.purchase_order_id)


def receipt_data(world: WebWorld, order: PurchaseOrderView, quantity: int) -> dict[str, object]:
    line = order.lines[0].id
    return {
        "location_id": world.central.receiving.id,
        f"qty_{line}": quantity,
        f"lot_{line}": "W1",
        f"expiry_{line}": "2028-01-31",
    }


def test_the_approvals_inbox_lets_another_user_approve(
    web_world: WebWorld, offer: SupplierItemView
) -> None:
    # given a requisition of the manager waiting for approval
    mine = waiting(web_world, offer, by="manager1")
    manager = web_world.client_for("manager")
    page = manager.get("/purchasing")
    assert page.status_code == 200
    row = page.text.split(f'data-requisition="{mine.id}"')[1].split("</tr>")[0]
    # then its requester sees no approve button, and a forged approval is refused
    assert "Your request" in row
    assert f"/purchasing/requisitions/{mine.id}/approve" not in row
    refused = manager.post(f"/purchasing/requisitions/{mine.id}/approve", {})
    assert refused.status_code == 403
    assert error_code(refused.text) == "SELF_APPROVAL_FORBIDDEN"
    assert "Waiting for approval" in refused.text  # the purchasing page again, with the error
    # a technician sees it waiting, without buttons
    tech_row = web_world.client_for("technician").get("/purchasing").text
    assert f"/purchasing/requisitions/{mine.id}/approve" not in tech_row
    # when the pharmacist approves it
    pharmacist = web_world.client_for("pharmacist")
    assert f"/purchasing/requisitions/{mine.id}/approve" in pharmacist.get("/purchasing").text
    approved = pharmacist.post(f"/purchasing/requisitions/{mine.id}/approve", {})
    # then the purchase order is placed
    assert approved.status_code == 303
    assert approved.headers["location"] == f"/purchasing?done=ordered&requisition={mine.id}"
    view = purchasing.get_requisition(web_world.rt, web_world.admin, mine.id)
    assert view.status == "ordered"
    assert view.purchase_order_number is not None
    assert view.purchase_order_number in pharmacist.get("/purchasing").text


def test_a_rejection_needs_a_reason(web_world: WebWorld, offer: SupplierItemView) -> None:
    pending = waiting(web_world, offer)
    pharmacist = web_world.client_for("pharmacist")
    empty = pharmacist.post(f"/purchasing/requisitions/{pending.id}/reject", {"note": ""})
    assert empty.status_code == 422
    assert error_code(empty.text) == "VALIDATION_ERROR"
    done = pharmacist.post(f"/purchasing/requisitions/{pending.id}/reject", {"note": "too much"})
    assert done.status_code == 303
    assert purchasing.get_requisition(web_world.rt, web_world.admin, pending.id).status == (
        "rejected"
    )


def test_a_buyer_drafts_and_submits_a_requisition(
    web_world: WebWorld, offer: SupplierItemView
) -> None:
    buyer = web_world.client_for("buyer")
    form = buyer.get("/purchasing/requisitions/new")
    assert form.status_code == 200
    assert f'name="packs_{offer.id}"' in form.text
    supplier_id = offer.supplier_item.supplier_id
    # bad input shows the form again, with what was typed
    bad = buyer.post("/purchasing/requisitions", {"supplier_id": supplier_id})
    assert bad.status_code == 422
    assert error_code(bad.text) == "VALIDATION_ERROR"
    # when submitting 2 packs
    sent = buyer.post(
        "/purchasing/requisitions",
        {"supplier_id": supplier_id, f"packs_{offer.id}": "2", "submit": "1", "note": "web"},
    )
    # then it is ordered at once (25.00 is under the threshold)
    assert sent.status_code == 303
    rid = int(sent.headers["location"].rsplit("=", 1)[1])
    view = purchasing.get_requisition(web_world.rt, web_world.admin, rid)
    assert (view.status, view.requested_by, view.note) == ("ordered", "buyer1", "web")
    assert "Requisition #" in buyer.get(sent.headers["location"]).text


def test_receiving_against_a_po_confirms_then_posts_once(
    web_world: WebWorld, offer: SupplierItemView
) -> None:
    order = open_order(web_world, offer)  # 100 capsules
    tech = web_world.client_for("technician")
    page = tech.get(f"/purchasing/orders/{order.id}")
    assert page.status_code == 200
    assert f'name="qty_{order.lines[0].id}"' in page.text
    before = web_world.last_document_id()
    # when confirming 60
    data = receipt_data(web_world, order, 60)
    confirm = tech.post(f"/purchasing/orders/{order.id}/receive/confirm", data)
    # then the page shows the PO line after the receipt and the movement, and wrote nothing
    assert confirm.status_code == 200, confirm.text
    assert 'data-received-after="60"' in confirm.text
    assert 'data-status-after="partial"' in confirm.text
    assert "W1" in confirm.text.split("data-preview-lines")[1]
    assert web_world.last_document_id() == before
    key = KEY.search(confirm.text)
    assert key
    # when posting twice with the confirm page's key
    posted = {**data, "idempotency_key": key.group(1)}
    first = tech.post(f"/purchasing/orders/{order.id}/receive", posted)
    second = tech.post(f"/purchasing/orders/{order.id}/receive", posted)
    # then one receipt, and the PO shows it
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert web_world.last_document_id() == before + 1
    shown = tech.get(first.headers["location"])
    assert "Posted document" in shown.text
    assert 'data-received="60"' in shown.text
    assert 'data-open="40"' in shown.text


def test_an_over_receipt_beyond_the_tolerance_is_refused_on_the_form(
    web_world: WebWorld, offer: SupplierItemView
) -> None:
    order = open_order(web_world, offer)
    tech = web_world.client_for("technician")
    before = count_rows(web_world.rt, tr.purchase_receipts)
    data = receipt_data(web_world, order, 111)
    confirm = tech.post(f"/purchasing/orders/{order.id}/receive/confirm", data)
    assert confirm.status_code == 409
    assert error_code(confirm.text) == "OVER_RECEIPT_LIMIT"
    assert 'value="111"' in confirm.text  # the form again, as sent
    posted = tech.post(
        f"/purchasing/orders/{order.id}/receive", {**data, "idempotency_key": "web:over"}
    )
    assert posted.status_code == 409
    assert count_rows(web_world.rt, tr.purchase_receipts) == before
    # within the tolerance the confirm page flags it
    flagged = tech.post(
        f"/purchasing/orders/{order.id}/receive/confirm", receipt_data(web_world, order, 105)
    )
    assert 'data-status-after="over"' in flagged.text


def test_a_short_po_is_closed(web_world: WebWorld, offer: SupplierItemView) -> None:
    order = open_order(web_world, offer)
    buyer = web_world.client_for("buyer")
    closed = buyer.post(f"/purchasing/orders/{order.id}/close", {"note": "backordered"})
    assert closed.status_code == 303
    page = buyer.get(closed.headers["location"])
    assert "Purchase order closed" in page.text
    assert "Receive against this PO" not in page.text
    again = buyer.post(f"/purchasing/orders/{order.id}/close", {})
    assert again.status_code == 409
    assert error_code(again.text) == "STATUS_CONFLICT"


# --- the authorization matrix -------------------------------------------------------------------

EVERYONE = [r.value for r in SITE_ROLES] + [OUTSIDER]
ORDERERS = {"pharmacist", "buyer", "manager", "admin"}
Action = Callable[[WebWorld, SupplierItemView, WebClient], tuple[int, int]]


def _approve(w: WebWorld, o: SupplierItemView, browser: WebClient) -> tuple[int, int]:
    pending = waiting(w, o)
    response = browser.post(f"/purchasing/requisitions/{pending.id}/approve", {})
    status = purchasing.get_requisition(w.rt, w.admin, pending.id).status
    return response.status_code, int(status == "ordered")


def _receive(w: WebWorld, o: SupplierItemView, browser: WebClient) -> tuple[int, int]:
    order = open_order(w, o)
    data = receipt_data(w, order, 10)
    confirm = browser.post(f"/purchasing/orders/{order.id}/receive/confirm", data)
    key = KEY.search(confirm.text)
    posted = browser.post(
        f"/purchasing/orders/{order.id}/receive",
        {**data, "idempotency_key": key.group(1) if key else "web:forged"},
    )
    received = purchasing.get_purchase_order(w.rt, w.admin, order.id).lines[0].received_units
    status = confirm.status_code if confirm.status_code != 200 else posted.status_code
    return status, int(received == 10)


def _close(w: WebWorld, o: SupplierItemView, browser: WebClient) -> tuple[int, int]:
    order = open_order(w, o)
    response = browser.post(f"/purchasing/orders/{order.id}/close", {})
    return response.status_code, int(
        purchasing.get_purchase_order(w.rt, w.admin, order.id).status == "closed"
    )


def _submit(w: WebWorld, o: SupplierItemView, browser: WebClient) -> tuple[int, int]:
    actor = requester(w)
    spec = NewRequisition(w.central.id, o.supplier_item.supplier_id, [RequisitionLineSpec(o.id, 1)])
    draft = purchasing.create_requisition(w.rt, actor, spec)
    response = browser.post(f"/purchasing/requisitions/{draft.id}/submit", {})
    status = purchasing.get_requisition(w.rt, w.admin, draft.id).status
    return response.status_code, int(status == "ordered")


ACTIONS: dict[str, tuple[Action, set[str], int]] = {
    "approve": (_approve, {"pharmacist", "manager", "admin"}, 303),
    "receive": (_receive, {"technician", "pharmacist", "buyer", "manager", "admin"}, 303),
    "close": (_close, ORDERERS, 303),
    "submit": (_submit, ORDERERS, 303),
}


@pytest.mark.parametrize("who", EVERYONE)
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_authorization_matrix_of_the_purchasing_forms(
    web_world: WebWorld, offer: SupplierItemView, action: str, who: str
) -> None:
    # given fresh CENTRAL data for the action, as each role at CENTRAL and a RETAIL manager
    act, allowed_roles, ok = ACTIONS[action]
    allowed = who in allowed_roles
    # when they post the form
    status, done = act(web_world, offer, web_world.client_for(who))
    # then it happens exactly when the role allows it at that site
    assert (status, done) == ((ok, 1) if allowed else (403, 0))


PAGES: dict[str, tuple[Callable[[WebWorld, SupplierItemView], str], set[str]]] = {
    "purchasing": (lambda w, o: "/purchasing", set(EVERYONE)),
    "order": (lambda w, o: f"/purchasing/orders/{open_order(w, o).id}", set(EVERYONE) - {OUTSIDER}),
    # the outsider orders for RETAIL, their own site
    "new requisition": (lambda w, o: "/purchasing/requisitions/new", ORDERERS | {OUTSIDER}),
}


@pytest.mark.parametrize("who", EVERYONE)
@pytest.mark.parametrize("page", sorted(PAGES))
def test_authorization_matrix_of_the_purchasing_pages(
    web_world: WebWorld, offer: SupplierItemView, page: str, who: str
) -> None:
    url, allowed = PAGES[page]
    response = web_world.client_for(who).get(url(web_world, offer))
    assert response.status_code == (200 if who in allowed else 403), response.text
    if who not in allowed:
        assert error_code(response.text) == "FORBIDDEN"
