"""Builders for receiving sessions against a real imported file: the DSCSA shipment of
``tests/fixtures/epcis/dscsa_shipment.xml`` (a pallet of two SSCC cases and one SGTIN case, twelve
bottles of 100 capsules in lots LOT-A1 and LOT/B2.7), imported through the service like any real
caller, and the barcodes a scanner at the dock would send for its packages."""

from __future__ import annotations

from pathlib import Path

from rxledger.domain.model import Item
from rxledger.services import imports
from rxledger.services.catalog import PackageSpec
from tests.builders import Network

GS = "\x1d"
EPCIS_XML = Path(__file__).parent / "fixtures" / "epcis" / "dscsa_shipment.xml"
BOTTLE_GTIN = "00312345678906"  # the bottle of 100 (NDC 12345-678-90) the file lists
# The three containers on the pallet: two SSCC cases of four bottles of LOT-A1 (serials
# 100001-100004 and 100005-100008) and an SGTIN case of four of LOT/B2.7 (100009-100012).
CASE_1 = "003123450000000028"
CASE_2 = "003123450000000035"
CASE_3_GTIN, CASE_3_SERIAL = "50312345678901", "C3001"


def epcis_item(net: Network) -> Item:
    """The product the file ships, in the item master with its bottle GTIN."""
    return net.item(
        "Amoxicillin 500 mg capsule",
        ndc10="12345-678-90",
        packages=(PackageSpec("bottle", 100, gtin=BOTTLE_GTIN, ndc10="12345-678-90"),),
    )


def import_epcis(net: Network) -> int:
    """The file imported for CENTRAL; the id of its shipment."""
    result = imports.import_shipment(
        net.rt,
        net.actor,
        "epcis",
        EPCIS_XML.read_bytes(),
        filename=EPCIS_XML.name,
        site_id=net.central.id,
    )
    assert result.unmatched == (), result.unmatched
    return result.shipment_ids[0]


def sscc_scan(sscc: str) -> str:
    """A case label's GS1-128 as a scanner sends it."""
    return f"]C100{sscc}"


def case_3_scan() -> str:
    return f"]d201{CASE_3_GTIN}21{CASE_3_SERIAL}"


def bottle_scan(serial: str, lot: str = "LOT-A1", expiry: str = "270331", sep: str = GS) -> str:
    """A bottle's GS1 DataMatrix: GTIN, expiry, lot, then serial after the separator."""
    return f"]d201{BOTTLE_GTIN}17{expiry}10{lot}{sep}21{serial}"
