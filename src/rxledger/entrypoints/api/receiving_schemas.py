"""Bodies of the receiving-session endpoints and of the shipments a session is opened against."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from rxledger.entrypoints.api.schemas import Id, Strict

GS = "\x1d"
DATAMATRIX = f"]d201003123456789061727033110LOT-A1{GS}21100005"  # GTIN, expiry, lot, serial
Packages = Field(
    default=1,
    ge=1,
    le=100_000,
    description="Packages of the scanned level (a serialized package is always one).",
)


# --- inputs -------------------------------------------------------------------------------------


class SessionIn(Strict):
    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={"examples": [{"site_id": 1, "shipment_id": 7}, {"site_id": 1}]},
    )
    site_id: Id
    shipment_id: Id | None = Field(
        default=None, description="Receive against this imported shipment's data (EPCIS, ASN)."
    )
    purchase_order_id: Id | None = Field(
        default=None, description="Receive against this purchase order of the site."
    )


class ReceivingScanIn(Strict):
    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"scan": DATAMATRIX},
                {"scan": "]C100003123450000000028"},
                {"scan": "00312345678906", "packages": 6},
                {"scan": "(01)00312345678906(17)270331(10)LOT-A1(21)100006", "damaged": True},
            ]
        },
    )
    scan: str = Field(
        min_length=1,
        max_length=4096,
        description=(
            "What the scanner sent: a GS1 DataMatrix (GS, ^ or | separators), a case or pallet "
            "SSCC, bracketed (AI) text, a GS1 Digital Link, a GTIN or a typed NDC."
        ),
    )
    packages: int = Packages
    damaged: bool = Field(default=False, description="The package is damaged: to quarantine.")


class LinePatch(Strict):
    model_config = ConfigDict(
        strict=True, extra="forbid", json_schema_extra={"examples": [{"packages": 4}]}
    )
    packages: int = Field(
        ge=1, le=100_000, description="The confirmed count, in packages of the scanned level."
    )


class PutAwayIn(Strict):
    model_config = ConfigDict(
        strict=True, extra="forbid", json_schema_extra={"examples": [{"location": "MAIN-A1"}]}
    )
    location: str = Field(
        min_length=1, max_length=60, description="The shelf label as scanned: a location code."
    )


# --- outputs ------------------------------------------------------------------------------------


class ReceivingLineOut(BaseModel):
    id: int
    line_no: int
    item_id: int | None = Field(description="Null: the GTIN is not in the item master.")
    gtin: str | None
    lot_number: str | None
    expiry: date | None
    serial: str | None
    quantity: int = Field(description="Base units.")
    package_units: int | None = Field(description="Base units per package of the scanned level.")
    packages: int | None = Field(description="The count in packages, when the size is known.")
    disposition: Literal["accept", "quarantine"]
    reason: str | None = Field(examples=["expired", "not_in_shipment", "damaged"])
    note: str | None = Field(description="Why, in words, for a package held in quarantine.")
    scanned_by: str
    scanned_at: datetime
    available_at: datetime | None = Field(description="When it was put away to storage.")
    available_after_seconds: int | None = Field(
        description="Receiving-to-available time: from the scan to the put-away."
    )


class ExpectedLineOut(BaseModel):
    item_id: int | None
    gtin: str | None
    lot_number: str | None
    expiry: date | None
    description: str | None
    expected: int = Field(description="Base units the shipment's data lists.")
    received: int = Field(description="Base units accepted so far.")
    outstanding: int = Field(description="Expected and not yet accepted (never negative).")


class SessionDiscrepancyOut(BaseModel):
    id: int
    reason: str
    details: str | None
    status: str
    line_id: int | None


class SessionSummaryOut(BaseModel):
    id: int
    site_id: int
    location_id: int = Field(description="The receiving dock.")
    quarantine_location_id: int
    purchase_order_id: int | None
    shipment_id: int | None
    status: Literal["open", "posted", "cancelled"]
    opened_by: str
    opened_at: datetime
    closed_at: datetime | None
    receipt_document_id: int | None


class SessionOut(SessionSummaryOut):
    lines: list[ReceivingLineOut]
    expected: list[ExpectedLineOut] = Field(
        description="What the shipment's data lists per (item, lot), against what was accepted."
    )
    discrepancies: list[SessionDiscrepancyOut]


class ScanVerdictOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "verdict": "quarantined",
                    "message": "To quarantine: Amoxicillin 500 mg capsule — expired on 2026-05-31",
                    "item_name": "Amoxicillin 500 mg capsule",
                    "quarantined": 1,
                    "lines": [],
                }
            ]
        }
    )
    verdict: Literal["accepted", "quarantined", "partly_quarantined"]
    message: str
    item_name: str | None
    quarantined: int = Field(description="How many of the lines added go to quarantine.")
    lines: list[ReceivingLineOut] = Field(description="One per unit: a case adds its units.")


class ShipmentSummaryOut(BaseModel):
    id: int
    site_id: int | None
    format: str
    reference: str | None = Field(description="The sender's shipment or despatch advice id.")
    sender: str | None
    receiver: str | None
    purchase_order_number: str | None
    shipped_at: datetime | None
    status: Literal["expected", "receiving", "received"]
    filename: str
    imported_at: datetime
    imported_by: str
    lines: int
    serials: int
    warnings: list[str]
