"""Purchasing: suppliers and their items, requisitions and their approval, purchase orders,
receipts against PO lines, and what is still on order per item and site."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from rxledger.domain.purchasing import Supplier
from rxledger.entrypoints.api import purchasing_schemas as ps
from rxledger.entrypoints.api import schemas as s
from rxledger.entrypoints.api.deps import (
    NO_NUL,
    ActorDep,
    IdempotencyKey,
    IdPath,
    IdQuery,
    PagingDep,
    RuntimeDep,
)
from rxledger.entrypoints.api.errors import ERROR_RESPONSES
from rxledger.services import purchasing
from rxledger.services.posting import Header
from rxledger.services.purchasing import SupplierItemView

router = APIRouter(responses=ERROR_RESPONSES, tags=["purchasing"])
Status = Annotated[str | None, Query(max_length=20, pattern=NO_NUL)]


def _supplier_item(x: SupplierItemView) -> dict[str, Any]:
    o = x.supplier_item
    return {
        "id": o.id,
        "supplier_id": o.supplier_id,
        "item_id": o.item_id,
        "sku": x.sku,
        "item_name": x.item_name,
        "strength": x.strength,
        "base_unit": x.base_unit,
        "formulary_status": x.formulary_status,
        "supplier_sku": o.supplier_sku,
        "gtin": o.gtin,
        "pack_units": o.pack_units,
        "pack_price": str(o.pack_price),
        "order_multiple": o.order_multiple,
        "active": o.active,
    }


def _supplier(x: Supplier) -> dict[str, Any]:
    return {
        "id": x.id,
        "code": x.code,
        "name": x.name,
        "gln": x.gln,
        "lead_time_days": x.lead_time_days,
        "minimum_order_value": str(x.minimum_order_value),
        "active": x.active,
    }


def _paged(rows: list[Any], paging: Any) -> dict[str, Any]:
    """A page of a list fetched with one row more than the page, to know if more follow."""
    return s.page(rows[: paging.limit], paging.limit, paging.offset, len(rows) > paging.limit)


# --- suppliers ----------------------------------------------------------------------------------


@router.get("/suppliers", response_model=s.Page[ps.SupplierOut])
def list_suppliers(rt: RuntimeDep, actor: ActorDep, paging: PagingDep) -> dict[str, Any]:
    """The organization's suppliers by code."""
    rows = purchasing.list_suppliers(rt, actor)
    chunk = rows[paging.offset : paging.offset + paging.limit + 1]
    return _paged([_supplier(x) for x in chunk], paging)


@router.post("/suppliers", response_model=ps.SupplierOut, status_code=201)
def create_supplier(body: ps.SupplierIn, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    """Add a supplier with its lead time, minimum order value and GLN (buyers, managers)."""
    spec = purchasing.NewSupplier(
        body.code, body.name, body.lead_time_days, body.minimum_order_value, body.gln
    )
    return _supplier(purchasing.create_supplier(rt, actor, spec))


@router.get("/suppliers/{supplier_id}", response_model=ps.SupplierDetailOut)
def get_supplier(supplier_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    """A supplier with every pack it sells."""
    view = purchasing.get_supplier(rt, actor, supplier_id)
    return {**_supplier(view.supplier), "items": [_supplier_item(x) for x in view.items]}


@router.post("/suppliers/{supplier_id}/items", response_model=ps.SupplierItemOut, status_code=201)
def add_supplier_item(
    supplier_id: IdPath, body: ps.SupplierItemIn, rt: RuntimeDep, actor: ActorDep
) -> dict[str, Any]:
    """Offer an item at the supplier: a pack size in base units, its price and order multiple."""
    spec = purchasing.NewSupplierItem(
        body.item_id,
        body.pack_units,
        body.pack_price,
        body.order_multiple,
        body.supplier_sku,
        body.gtin,
    )
    return _supplier_item(purchasing.add_supplier_item(rt, actor, supplier_id, spec))


# --- requisitions and approvals -----------------------------------------------------------------


@router.get("/requisitions", response_model=s.Page[ps.RequisitionOut])
def list_requisitions(
    rt: RuntimeDep,
    actor: ActorDep,
    paging: PagingDep,
    site_id: IdQuery = None,
    status: Status = None,
) -> dict[str, Any]:
    """Requisitions of the sites this user sees, newest first."""
    rows = purchasing.list_requisitions(
        rt, actor, site_id=site_id, status=status, limit=paging.limit + 1, offset=paging.offset
    )
    return _paged([x.as_dict() for x in rows], paging)


@router.post("/requisitions", response_model=ps.RequisitionOut, status_code=201)
def create_requisition(body: ps.RequisitionIn, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    """Draft a requisition for one supplier, in its packs and order multiples."""
    spec = purchasing.NewRequisition(
        body.site_id,
        body.supplier_id,
        [purchasing.RequisitionLineSpec(x.supplier_item_id, x.packs) for x in body.lines],
        body.note,
    )
    return purchasing.create_requisition(rt, actor, spec).as_dict()


@router.get("/requisitions/{requisition_id}", response_model=ps.RequisitionOut)
def get_requisition(requisition_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return purchasing.get_requisition(rt, actor, requisition_id).as_dict()


@router.post("/requisitions/{requisition_id}/submit", response_model=ps.RequisitionOut)
def submit_requisition(requisition_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    """Submit a draft: ordered at once below the approval threshold with formulary items only,
    else waiting for another user's approval (a pharmacist's for a non-formulary item).
    ``MINIMUM_ORDER_NOT_MET`` below the supplier's minimum order value."""
    return purchasing.submit_requisition(rt, actor, requisition_id).as_dict()


@router.post("/requisitions/{requisition_id}/approve", response_model=ps.RequisitionOut)
def approve_requisition(
    requisition_id: IdPath, body: ps.DecisionIn, rt: RuntimeDep, actor: ActorDep
) -> dict[str, Any]:
    """Approve and place the purchase order. ``SELF_APPROVAL_FORBIDDEN`` for its requester or
    submitter, ``PHARMACIST_APPROVAL_REQUIRED`` for a non-formulary order and a non-pharmacist."""
    return purchasing.approve_requisition(rt, actor, requisition_id, body.note).as_dict()


@router.post("/requisitions/{requisition_id}/reject", response_model=ps.RequisitionOut)
def reject_requisition(
    requisition_id: IdPath, body: ps.RejectionIn, rt: RuntimeDep, actor: ActorDep
) -> dict[str, Any]:
    """Reject a waiting requisition with a reason (not by its requester)."""
    return purchasing.reject_requisition(rt, actor, requisition_id, body.note).as_dict()


@router.post("/requisitions/{requisition_id}/cancel", response_model=ps.RequisitionOut)
def cancel_requisition(requisition_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    """Cancel a draft or waiting requisition; a pending approval is withdrawn."""
    return purchasing.cancel_requisition(rt, actor, requisition_id).as_dict()


@router.get("/approvals", response_model=s.Page[ps.ApprovalOut])
def list_approvals(
    rt: RuntimeDep, actor: ActorDep, paging: PagingDep, site_id: IdQuery = None
) -> dict[str, Any]:
    """Approvals still pending at the sites this user sees, oldest first."""
    rows = purchasing.list_approvals(
        rt, actor, site_id=site_id, limit=paging.limit + 1, offset=paging.offset
    )
    return _paged([x.as_dict() for x in rows], paging)


# --- purchase orders ----------------------------------------------------------------------------


@router.get("/purchase-orders", response_model=s.Page[ps.PurchaseOrderOut])
def list_purchase_orders(
    rt: RuntimeDep,
    actor: ActorDep,
    paging: PagingDep,
    site_id: IdQuery = None,
    status: Status = None,
) -> dict[str, Any]:
    """Purchase orders of the sites this user sees, newest first, with line progress."""
    rows = purchasing.list_purchase_orders(
        rt, actor, site_id=site_id, status=status, limit=paging.limit + 1, offset=paging.offset
    )
    return _paged([x.as_dict() for x in rows], paging)


@router.get("/purchase-orders/{order_id}", response_model=ps.PurchaseOrderOut)
def get_purchase_order(order_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    """A purchase order: per line ordered, received, open and status; and its receipts."""
    return purchasing.get_purchase_order(rt, actor, order_id).as_dict()


@router.post(
    "/purchase-orders/{order_id}/receipts", response_model=ps.PoReceiptResultOut, status_code=201
)
def receive_purchase_order(
    order_id: IdPath,
    body: ps.PoReceiptIn,
    rt: RuntimeDep,
    actor: ActorDep,
    key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Receive against PO lines as one receipt document referenced by the PO number: partial,
    complete, or over (flagged; ``OVER_RECEIPT_LIMIT`` beyond the tolerance), with substitutes
    (``SUBSTITUTE_NOT_EQUIVALENT`` for another product without a reason)."""
    lines = [
        purchasing.PoReceiptLine(
            x.line_id,
            x.quantity,
            x.lot_number,
            x.expiry,
            x.substitute_item_id,
            x.substitute_reason,
            x.serial,
            x.gtin,
        )
        for x in body.lines
    ]
    header = Header(note=body.note, occurred_at=body.occurred_at, idempotency_key=key)
    command = purchasing.ReceivePurchaseOrder(order_id, body.location_id, lines, header)
    return purchasing.receive_purchase_order(rt, actor, command).as_dict()


@router.post("/purchase-orders/{order_id}/close", response_model=ps.PurchaseOrderOut)
def close_purchase_order(
    order_id: IdPath, body: ps.DecisionIn, rt: RuntimeDep, actor: ActorDep
) -> dict[str, Any]:
    """Close an open PO: nothing more is expected, short lines included."""
    return purchasing.close_purchase_order(rt, actor, order_id, body.note).as_dict()


@router.post("/purchase-orders/{order_id}/cancel", response_model=ps.PurchaseOrderOut)
def cancel_purchase_order(
    order_id: IdPath, body: ps.DecisionIn, rt: RuntimeDep, actor: ActorDep
) -> dict[str, Any]:
    """Cancel an open PO that has received nothing."""
    return purchasing.cancel_purchase_order(rt, actor, order_id, body.note).as_dict()


@router.get("/on-order", response_model=s.Page[ps.OnOrderOut])
def on_order(
    rt: RuntimeDep,
    actor: ActorDep,
    paging: PagingDep,
    site_id: IdQuery = None,
    item_id: IdQuery = None,
) -> dict[str, Any]:
    """Open quantities per item and site: what open purchase orders still bring."""
    rows = purchasing.on_order(rt, actor, site_id=site_id, item_id=item_id)
    chunk = rows[paging.offset : paging.offset + paging.limit + 1]
    return _paged([x.as_dict() for x in chunk], paging)
