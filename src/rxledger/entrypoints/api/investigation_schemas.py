"""Bodies of the quarantine, investigation and traceability endpoints."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field

from rxledger.entrypoints.api.schemas import DocumentOut, Id, Strict, WitnessIn

Note = Field(default=None, max_length=2000, description="Why, in the investigator's words.")


def _witness(what: str) -> Any:
    return Field(
        default=None,
        description=f"Required to {what} schedule II (CII, CIIN) stock: another user who may "
        "adjust stock at the site (pharmacist, manager or administrator), with their password.",
    )


class ResolutionIn(Strict):
    outcome: Literal["release", "return", "destroy", "close"] = Field(
        description=(
            "release: move the held stock to the dock (or `location_id`); return: to the reverse "
            "distributor; destroy: to waste; close: nothing is held (a short count)."
        )
    )
    location_id: Id | None = Field(default=None, description="Where released stock goes.")
    reason_code: str | None = Field(
        default=None,
        min_length=1,
        max_length=40,
        description="For return or destroy; by default RETURNED, EXPIRED, DAMAGED or REJECTED.",
    )
    note: str | None = Note
    witness: WitnessIn | None = _witness("return or destroy")


class NoteIn(Strict):
    note: str = Field(min_length=1, max_length=4000)


class CloseIn(Strict):
    outcome: Literal["cleared", "illegitimate"] = Field(
        description="cleared: release the package; illegitimate: destroy it and record the notice."
    )
    note: str | None = Note
    location_id: Id | None = Field(
        default=None, description="Where a cleared package is released to (default the dock)."
    )
    notification_reference: str | None = Field(
        default=None,
        min_length=1,
        max_length=120,
        description="Required when illegitimate: the FDA Form 3911 / trading-partner notice.",
    )
    notified_at: AwareDatetime | None = Field(
        default=None, strict=False, description="Required when illegitimate: when it was sent."
    )
    witness: WitnessIn | None = _witness("destroy illegitimate")


class DiscrepancyOut(BaseModel):
    id: int
    site_id: int
    session_id: int | None
    line_id: int | None
    reason: str
    details: str
    summary: str = Field(description="The details in words.")
    status: str
    opened_by: str
    opened_at: datetime
    resolved_by: str | None
    resolved_at: datetime | None
    resolution: dict[str, Any] | None
    item_id: int | None
    item_name: str | None
    gtin: str | None
    lot_number: str | None
    expiry: date | None
    serial: str | None
    quantity: int | None
    held: int = Field(description="Base units this discrepancy holds in quarantine now.")
    session_status: str | None
    receipt_document_id: int | None
    shipment_id: int | None
    investigation_id: int | None


class NoteOut(BaseModel):
    id: int
    written_by: str
    written_at: datetime
    note: str


class InvestigationOut(BaseModel):
    id: int
    site_id: int
    kind: str
    gtin: str | None
    serial: str | None
    lot_number: str | None
    item_id: int | None
    item_name: str | None
    discrepancy_id: int | None
    status: str
    opened_by: str
    opened_at: datetime
    closed_by: str | None
    closed_at: datetime | None
    outcome: dict[str, Any] | None
    notification_reference: str | None
    notified_at: datetime | None
    notes: list[NoteOut]


class ResolvedOut(BaseModel):
    discrepancy: DiscrepancyOut
    document: DocumentOut | None = Field(description="Null when nothing moved (a close).")


class ClosedOut(BaseModel):
    investigation: InvestigationOut
    document: DocumentOut | None = Field(description="Null when the package was never stocked.")


class ShipmentFileOut(BaseModel):
    id: int
    filename: str
    format: str
    sha256: str
    size: int
    received_by: str
    received_at: datetime
    retain_until: date


class DeclaredInOut(BaseModel):
    shipment_id: int
    site_id: int | None
    format: str
    reference: str | None
    sender: str | None
    receiver: str | None
    shipped_at: datetime | None
    purchase_order_number: str | None
    status: str
    lot_number: str | None
    expiry: date | None
    package_key: str
    parent_key: str | None
    file: ShipmentFileOut


class ScannedInOut(BaseModel):
    session_id: int
    site_id: int
    session_status: str
    shipment_id: int | None
    receipt_document_id: int | None
    disposition: str
    reason: str | None
    scanned_by: str
    scanned_at: datetime
    available_at: datetime | None


class TransactionInformationOut(BaseModel):
    gtin: str
    serial: str
    item_id: int | None
    item_name: str | None
    lot_number: str | None
    expiry: date | None
    in_stock_at: int | None = Field(description="The location holding the package now.")
    declared_in: list[DeclaredInOut] = Field(description="Shipments whose data list it.")
    scanned_in: list[ScannedInOut] = Field(description="Receiving sessions that scanned it.")
    investigations: list[dict[str, Any]]


class ShipmentOut(BaseModel):
    id: int
    site_id: int | None
    format: str
    reference: str | None
    shipped_at: datetime | None
    sender: str | None
    receiver: str | None
    purchase_order_number: str | None
    status: str
    summary: dict[str, Any]
    file: ShipmentFileOut
    lines: list[dict[str, Any]]
    packages: list[dict[str, Any]]
    sessions: list[dict[str, Any]]
