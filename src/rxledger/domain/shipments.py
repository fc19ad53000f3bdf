"""Shipment data as a trading partner sends it, normalized: what a receipt should contain.

Every ingest format (EPCIS 1.2 XML under the GS1 US DSCSA guideline, EPCIS 2.0 JSON-LD, X12 856
ship notices, METRC-style transfer manifests) parses into one :class:`ShipmentData`. Receiving
compares scans and counts against it; the raw file is kept separately, byte for byte.

Quantities are integers in the unit the sender counted (``unit``: ``EA`` for a saleable package
unless the sender says otherwise); receiving converts them to the item's base unit through its
package levels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

ShipmentFormat = Literal["epcis-xml", "epcis-json", "x12-856", "metrc-manifest"]


@dataclass(frozen=True, slots=True)
class Party:
    """A trading partner: a GLN (GS1), a licence number (METRC, state) or a DEA/other id."""

    id: str
    scheme: Literal["gln", "sgln", "licence", "duns", "other"] = "other"
    name: str | None = None


@dataclass(frozen=True, slots=True)
class ProductInfo:
    """Master data the sender gives about a product (EPCIS master data, X12 PID, METRC item)."""

    gtin: str | None = None
    ndc: str | None = None  # as the sender wrote it: hyphenated NDC-10, or 11 digits
    name: str | None = None
    dosage_form: str | None = None
    strength: str | None = None
    manufacturer: str | None = None
    package_description: str | None = None
    category: str | None = None  # the sender's product category, e.g. a METRC item category


@dataclass(frozen=True, slots=True)
class ExpectedLine:
    """A quantity of one product (and lot) the shipment says it contains."""

    line_no: int
    quantity: int
    unit: str = "EA"
    gtin: str | None = None
    ndc: str | None = None
    lot: str | None = None
    expiry: date | None = None
    description: str | None = None
    purchase_order: str | None = None
    # The sender's own id for the line or package (X12 LIN/HL id, METRC package label).
    reference: str | None = None


@dataclass(frozen=True, slots=True)
class ExpectedPackage:
    """One serialized unit or container: a product identifier (GTIN + serial) or an SSCC."""

    gtin: str | None
    serial: str | None
    lot: str | None = None
    expiry: date | None = None
    sscc: str | None = None
    parent: str | None = None  # the containing SSCC or GTIN+serial key, when aggregated
    # A cannabis package's lab testing state as the tracking system reports it (METRC
    # ``LabTestingState``: TestPassed, NotSubmitted, …); None for products without one.
    lab_testing_state: str | None = None
    # True for a package that holds others (a pallet, or a case with an SGTIN of its own): it is
    # not counted as a saleable unit, though it has a GTIN and serial.
    container: bool = False

    @property
    def key(self) -> str:
        """The identity of this package: its SSCC, or ``gtin:serial``."""
        if self.sscc:
            return self.sscc
        return f"{self.gtin}:{self.serial}"


@dataclass(frozen=True, slots=True)
class BusinessTransaction:
    """A document the shipment refers to: purchase order, invoice, despatch advice, BOL."""

    type: str
    id: str


@dataclass(frozen=True, slots=True)
class ShipmentData:
    """One file's content, normalized."""

    format: ShipmentFormat
    shipment_id: str | None = None
    shipped_at: datetime | None = None
    # The ship date as the sender wrote it. Senders that give a time without a time zone (X12
    # without DTM04, METRC local times) leave ``shipped_at`` empty; the date is still known.
    shipped_on: date | None = None
    sender: Party | None = None
    receiver: Party | None = None
    ship_from: Party | None = None
    ship_to: Party | None = None
    transactions: tuple[BusinessTransaction, ...] = ()
    products: tuple[ProductInfo, ...] = ()
    lines: tuple[ExpectedLine, ...] = ()
    packages: tuple[ExpectedPackage, ...] = ()
    # How many documents (EPCIS documents, X12 transaction sets, manifests) and events the file had.
    documents: int = 1
    events: int = 0
    warnings: tuple[str, ...] = field(default=())

    @property
    def serials(self) -> int:
        """Serialized saleable units (not containers)."""
        return sum(
            1 for p in self.packages if p.serial is not None and p.sscc is None and not p.container
        )

    def summary(self) -> dict[str, object]:
        """The counts ``rxledger import`` prints."""
        return {
            "format": self.format,
            "documents": self.documents,
            "events": self.events,
            "products": len(self.products),
            "serials": self.serials,
            "lines": len(self.lines),
            "warnings": list(self.warnings),
        }
