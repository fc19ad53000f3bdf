"""Request and response bodies of the purchasing API. Money is a decimal string; quantities are
JSON integers of base units (``packs`` count the supplier's packs)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from rxledger.entrypoints.api.schemas import DocumentOut, Id, Quantity, Strict

MoneyIn = Annotated[
    Decimal, Field(ge=0, max_digits=14, decimal_places=4, strict=False, examples=["12.50"])
]
MoneyOut = Field(description="A decimal string.", examples=["12.5000"])
_GTIN = r"^\d{8}$|^\d{12,14}$"


# --- suppliers ----------------------------------------------------------------------------------


class SupplierIn(Strict):
    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "code": "GLDW",
                    "name": "Great Lakes Drug Wholesale",
                    "gln": "0614141000012",
                    "lead_time_days": 1,
                    "minimum_order_value": "250.00",
                }
            ]
        },
    )
    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=200)
    gln: str | None = Field(default=None, pattern=r"^\d{13}$", description="GS1 GLN, 13 digits.")
    lead_time_days: int = Field(default=1, ge=0, le=3650)
    minimum_order_value: MoneyIn = Decimal(0)


class SupplierItemIn(Strict):
    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "item_id": 12,
                    "pack_units": 100,
                    "pack_price": "8.25",
                    "order_multiple": 1,
                    "supplier_sku": "GL-77310",
                    "gtin": "00307773105025",
                }
            ]
        },
    )
    item_id: Id
    pack_units: int = Quantity
    pack_price: MoneyIn
    order_multiple: int = Field(default=1, ge=1, le=100_000, description="Order packs in these.")
    supplier_sku: str | None = Field(default=None, max_length=60)
    gtin: str | None = Field(default=None, pattern=_GTIN)


class SupplierOut(BaseModel):
    id: int
    code: str
    name: str
    gln: str | None
    lead_time_days: int
    minimum_order_value: str = MoneyOut
    active: bool


class SupplierItemOut(BaseModel):
    id: int
    supplier_id: int
    item_id: int
    sku: str
    item_name: str
    strength: str
    base_unit: str
    formulary_status: str
    supplier_sku: str | None
    gtin: str | None
    pack_units: int
    pack_price: str = MoneyOut
    order_multiple: int
    active: bool


class SupplierDetailOut(SupplierOut):
    items: list[SupplierItemOut]


# --- requisitions and approvals -----------------------------------------------------------------


class RequisitionLineIn(Strict):
    supplier_item_id: Id
    packs: int = Field(gt=0, le=10**9, description="Packs of the supplier item.")


class RequisitionIn(Strict):
    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "site_id": 1,
                    "supplier_id": 2,
                    "note": "weekly order",
                    "lines": [{"supplier_item_id": 5, "packs": 12}],
                }
            ]
        },
    )
    site_id: Id
    supplier_id: Id
    note: str | None = Field(default=None, max_length=2000)
    lines: list[RequisitionLineIn] = Field(min_length=1, max_length=500)


class DecisionIn(Strict):
    note: str | None = Field(default=None, max_length=2000)


class RejectionIn(Strict):
    note: str = Field(min_length=1, max_length=2000, description="Why the order is rejected.")


class RequisitionLineOut(BaseModel):
    line_no: int
    item_id: int
    sku: str
    item_name: str
    strength: str
    base_unit: str
    formulary_status: str
    supplier_item_id: int
    packs: int
    pack_units: int
    units: int
    pack_price: str = MoneyOut
    value: str = MoneyOut


class ApprovalOut(BaseModel):
    id: int
    site_id: int
    subject_type: str = Field(examples=["requisition"])
    subject_id: int
    action: str = Field(examples=["approve_order", "approve_non_formulary_order"])
    pharmacist_required: bool
    value: str | None
    quantity: int | None
    requested_by: str
    requested_at: datetime
    status: str = Field(examples=["pending"])
    decided_by: str | None
    decided_at: datetime | None
    note: str | None


class RequisitionOut(BaseModel):
    id: int
    site_id: int
    site_code: str
    supplier_id: int
    supplier_code: str
    supplier_name: str
    status: str = Field(description="draft, submitted, rejected, ordered or cancelled.")
    requested_by: str
    requested_at: datetime
    note: str | None
    total_value: str = MoneyOut
    purchase_order_id: int | None
    purchase_order_number: str | None
    lines: list[RequisitionLineOut]
    approval: ApprovalOut | None


# --- purchase orders ----------------------------------------------------------------------------


class PurchaseOrderLineOut(BaseModel):
    id: int
    line_no: int
    item_id: int
    sku: str
    item_name: str
    strength: str
    base_unit: str
    supplier_item_id: int | None
    packs: int
    pack_units: int
    pack_price: str = MoneyOut
    value: str = MoneyOut
    ordered_units: int
    received_units: int
    substitute_units: int = Field(description="Of the received units, those of substitutes.")
    open_units: int = Field(description="Ordered − received, never negative.")
    over_units: int
    status: str = Field(description="open, partial, complete or over.")


class PoReceiptOut(BaseModel):
    document_id: int
    occurred_at: datetime
    posted_by: str
    line_id: int
    item_id: int
    units: int
    substitute: bool


class PurchaseOrderOut(BaseModel):
    id: int
    number: str = Field(examples=["PO-CENTRAL-000012"])
    site_id: int
    site_code: str
    supplier_id: int
    supplier_code: str
    supplier_name: str
    status: str = Field(description="open, closed or cancelled.")
    receipt_status: str = Field(description="open, partial, complete or over.")
    created_by: str
    created_at: datetime
    expected_on: date | None
    closed_at: datetime | None
    note: str | None
    value: str = MoneyOut
    open_units: int
    lines: list[PurchaseOrderLineOut]
    receipts: list[PoReceiptOut]


class PoReceiptLineIn(Strict):
    line_id: Id = Field(description="The PO line received against.")
    quantity: int = Quantity
    lot_number: str | None = Field(default=None, max_length=40)
    expiry: date | None = Field(default=None, strict=False)
    substitute_item_id: Id | None = Field(
        default=None, description="The item received instead of the ordered one."
    )
    substitute_reason: str | None = Field(
        default=None,
        max_length=500,
        description="Needed when the substitute is not the same generic, strength and form.",
    )
    serial: str | None = Field(default=None, max_length=40)
    gtin: str | None = Field(default=None, pattern=_GTIN)


class PoReceiptIn(Strict):
    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "location_id": 3,
                    "lines": [
                        {
                            "line_id": 41,
                            "quantity": 600,
                            "lot_number": "AB1234",
                            "expiry": "2028-03-31",
                        }
                    ],
                }
            ]
        },
    )
    location_id: Id
    note: str | None = Field(default=None, max_length=2000)
    occurred_at: AwareDatetime | None = Field(
        default=None,
        strict=False,
        description="Business time with a timezone; default now, at most 7 days back.",
    )
    lines: list[PoReceiptLineIn] = Field(min_length=1, max_length=1000)


class PoReceiptResultOut(BaseModel):
    document: DocumentOut
    purchase_order: PurchaseOrderOut
    over_received_lines: list[int] = Field(
        description="PO lines now received beyond what was ordered (accepted, flagged)."
    )


class OnOrderOut(BaseModel):
    site_id: int
    site_code: str
    item_id: int
    sku: str
    item_name: str
    base_unit: str
    open_units: int
    purchase_orders: int
    next_expected: date | None
