"""Bodies of the item-master stewardship and certificate-of-analysis endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from rxledger.entrypoints.api.schemas import Id, Strict

Gtin = Field(
    min_length=8, max_length=14, pattern=r"^[0-9]+$", description="GTIN-8, -12, -13 or -14."
)
Units = Field(gt=0, le=10**9, description="Base units in one package of this GTIN.")
Ndc10 = Field(default=None, max_length=13, description="The package's NDC as labelled.")


# --- inputs -------------------------------------------------------------------------------------


class PackageLinkIn(Strict):
    gtin: str = Gtin
    base_units: int = Units
    level: str | None = Field(
        default=None,
        max_length=20,
        description="The level's name; default: the level of this size without a GTIN, else "
        "a new `package` level.",
    )
    ndc10: str | None = Ndc10


class ItemProposalIn(Strict):
    site_id: Id
    name: str = Field(min_length=1, max_length=300)
    base_unit: str = Field(min_length=1, max_length=30)
    gtin: str = Gtin
    package_units: int = Units
    strength: str = Field(default="", max_length=120)
    dosage_form: str = Field(default="", max_length=120)
    generic_name: str = Field(default="", max_length=300)
    route: str = Field(default="", max_length=120)
    ndc10: str | None = Ndc10
    sku: str | None = Field(
        default=None, max_length=60, description="Default: the 11-digit NDC, else GTIN-<gtin>."
    )
    package_level: str | None = Field(default=None, max_length=20)
    cannabis_category: str | None = Field(default=None, max_length=60)
    note: str | None = Field(default=None, max_length=2000)
    session_id: Id | None = Field(
        default=None, description="The receiving session where the GTIN was scanned."
    )


class ApproveIn(Strict):
    note: str | None = Field(default=None, max_length=2000)


class RejectIn(Strict):
    note: str = Field(min_length=1, max_length=2000, description="Why it is rejected.")


class LabResultIn(Strict):
    result: Literal["passed", "failed"]


# --- outputs ------------------------------------------------------------------------------------


class ItemProposalOut(BaseModel):
    id: int
    site_id: int
    status: Literal["pending", "approved", "rejected", "withdrawn"]
    gtin: str
    package_units: int
    package_level: str | None
    sku: str
    name: str
    generic_name: str
    strength: str
    dosage_form: str
    route: str
    base_unit: str
    ndc10: str | None
    cannabis_category: str | None
    note: str | None
    session_id: int | None
    proposed_by: str
    proposed_at: datetime
    approval_id: int
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    item_id: int | None = Field(description="The item its approval created.")


class RejudgedLineOut(BaseModel):
    line_id: int
    outcome: Literal["accepted", "quarantined", "unknown", "rescan"]
    item_id: int | None
    reason: str | None
    detail: str


class RejudgeOut(BaseModel):
    session_id: int
    accepted: int
    quarantined: int
    unknown: int
    rescan: int
    lines: list[RejudgedLineOut]


class CertificateOut(BaseModel):
    id: int
    item_id: int
    lot_id: int
    filename: str
    sha256: str
    size: int
    laboratory: str | None
    lab_result: Literal["pending", "passed", "failed"]
    attached_by: str
    attached_at: datetime
    decided_by: str | None
    decided_at: datetime | None
