"""Scan parsing: what a barcode says, and which item and package level of the item master it is."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from rxledger.entrypoints.api import schemas as s
from rxledger.entrypoints.api.deps import ActorDep, RuntimeDep
from rxledger.entrypoints.api.errors import ERROR_RESPONSES
from rxledger.services import scanning

router = APIRouter(responses=ERROR_RESPONSES)

DATAMATRIX = "]d201003000101234551725032710A123\x1d2111"


class ScanIn(s.Strict):
    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"data": DATAMATRIX},
                {"data": "(01)00300010123455(17)250300(10)A-12/3.4"},
                {"data": "https://id.gs1.org/01/00300010123455/10/A123?17=250327"},
                {"data": "0001-0123-45"},
            ]
        },
    )
    data: str = Field(
        min_length=1,
        max_length=4096,
        description=(
            "What the scanner sent: raw data with or without a symbology identifier (]d2, ]C1, "
            "]Q3, ]e0, ...) and GS (U+001D) or ^ separators; bracketed (AI) text; a GS1 Digital "
            "Link URI; an EPC URN; a UPC-A/EAN-13; or a typed NDC (10 or 11 digits)."
        ),
    )


class ScanItemOut(BaseModel):
    id: int
    sku: str
    name: str
    strength: str
    dosage_form: str
    base_unit: str
    ndc10: str | None = Field(description="The item's labelled NDC.")


class ScanPackageOut(BaseModel):
    level: str
    base_units: int
    gtin: str | None
    description: str


class ScanElementOut(BaseModel):
    ai: str = Field(examples=["17"])
    title: str = Field(examples=["USE BY or EXPIRY"])
    value: str = Field(examples=["250300"])
    date: str | None = Field(examples=["2025-03-31"])


class ScanOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "gtin": "00300010123455",
                    "ndc10": "0001012345",
                    "ndc11": "00001012345",
                    "ndc": "0001-0123-45",
                    "ndc_layout": "4-4-2",
                    "ndc_ambiguous": False,
                    "ndc_candidates": ["0001-0123-45"],
                    "lot": "A123",
                    "expiry": "2025-03-27",
                    "serial": "11",
                    "sscc": None,
                    "item": {
                        "id": 7,
                        "sku": "EPC100",
                        "name": "Epcistra 100 mg pill",
                        "strength": "100mg",
                        "dosage_form": "PILL",
                        "base_unit": "pill",
                        "ndc10": "0001-0123-45",
                    },
                    "package": {
                        "level": "bottle",
                        "base_units": 500,
                        "gtin": "00300010123455",
                        "description": "500 pills",
                    },
                    "format": "gs1",
                    "symbology": "]d2",
                    "hri": "(01)00300010123455(17)250327(10)A123(21)11",
                    "digital_link": "https://id.gs1.org/01/00300010123455/10/A123/21/11?17=250327",
                    "epc": "urn:epc:id:sgtin:030001.0012345.11",
                    "elements": [],
                }
            ]
        }
    )
    gtin: str | None = Field(description="GTIN-14.")
    ndc10: str | None = Field(description="The 10 NDC digits (of a GTIN with prefix 03).")
    ndc11: str | None = Field(description="The 11-digit billing form; null if the layout is open.")
    ndc: str | None = Field(description="The labelled NDC with hyphens, when the layout is known.")
    ndc_layout: Literal["4-4-2", "5-3-2", "5-4-1"] | None
    ndc_ambiguous: bool = Field(
        description="The digits fit several layouts and the item master does not say which."
    )
    ndc_candidates: list[str]
    lot: str | None
    expiry: str | None = Field(description="YYYY-MM-DD; day 00 is the last day of the month.")
    serial: str | None
    sscc: str | None
    item: ScanItemOut | None
    package: ScanPackageOut | None
    format: Literal["gs1", "hri", "digital_link", "epc", "gtin", "sscc", "ndc"]
    symbology: str | None = Field(description="The symbology identifier, e.g. ]d2.")
    hri: str | None
    digital_link: str | None = Field(description="The canonical GS1 Digital Link URI.")
    epc: str | None = Field(description="The EPC URN of a serialized unit or an SSCC.")
    elements: list[ScanElementOut]


@router.post("/scans/parse", response_model=ScanOut, tags=["scans"])
def parse_scan(body: ScanIn, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    """Parse a barcode scan and match it to the item master (any signed-in user).

    An invalid scan (bad check digit, impossible date, unknown AI, ...) is a 422 with code
    ``INVALID_SCAN``; a valid scan of a product not in the item master has ``item: null``.
    """
    return scanning.parse_scan(rt, actor, body.data).as_dict()
