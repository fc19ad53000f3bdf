"""Purchasing, the front door: suppliers, requisitions and their approval, purchase orders,
receipts against PO lines, and what is on order. Entry points import this module; the use cases
live in ``suppliers``, ``requisitions``, ``purchase_orders`` and ``purchase_receipts``.
"""

from __future__ import annotations

from rxledger.services.purchase_orders import (
    OnOrder,
    PoReceiptView,
    PurchaseOrderLineView,
    PurchaseOrderView,
    cancel_purchase_order,
    close_purchase_order,
    get_purchase_order,
    list_purchase_orders,
    on_order,
    purchase_order_by_number,
)
from rxledger.services.purchase_receipts import (
    PoReceiptLine,
    PoReceiptResult,
    ReceivePurchaseOrder,
    preview_receipt,
    receive_purchase_order,
)
from rxledger.services.requisition_views import ApprovalView, RequisitionLineView, RequisitionView
from rxledger.services.requisitions import (
    NewRequisition,
    RequisitionLineSpec,
    approve_requisition,
    cancel_requisition,
    create_requisition,
    get_requisition,
    list_approvals,
    list_requisitions,
    reject_requisition,
    submit_requisition,
)
from rxledger.services.suppliers import (
    NewSupplier,
    NewSupplierItem,
    SupplierItemView,
    SupplierView,
    add_supplier_item,
    create_supplier,
    get_supplier,
    list_suppliers,
    supplier_by_code,
)

__all__ = [
    "ApprovalView",
    "NewRequisition",
    "NewSupplier",
    "NewSupplierItem",
    "OnOrder",
    "PoReceiptLine",
    "PoReceiptResult",
    "PoReceiptView",
    "PurchaseOrderLineView",
    "PurchaseOrderView",
    "ReceivePurchaseOrder",
    "RequisitionLineSpec",
    "RequisitionLineView",
    "RequisitionView",
    "SupplierItemView",
    "SupplierView",
    "add_supplier_item",
    "approve_requisition",
    "cancel_purchase_order",
    "cancel_requisition",
    "close_purchase_order",
    "create_requisition",
    "create_supplier",
    "get_purchase_order",
    "get_requisition",
    "get_supplier",
    "list_approvals",
    "list_purchase_orders",
    "list_requisitions",
    "list_suppliers",
    "on_order",
    "preview_receipt",
    "purchase_order_by_number",
    "receive_purchase_order",
    "reject_requisition",
    "submit_requisition",
    "supplier_by_code",
]
