"""EPCIS 1.2 XML shipment data (GS1 US DSCSA guideline): the hierarchy, lines, and hostile input."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from rxledger.adapters.ingest.epcis_xml import read_epcis_xml
from rxledger.domain.errors import FileTooLarge, ShipmentDataRejected
from rxledger.domain.shipments import (
    BusinessTransaction,
    ExpectedLine,
    ExpectedPackage,
    Party,
    ProductInfo,
)
from tests.epcis_builders import (
    UNIT_GTIN,
    sgtin,
    sscc,
    xml_aggregation,
    xml_commissioning,
    xml_document,
    xml_shipping,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "epcis"
CASE_GTIN = "50312345678901"
PALLET, CASE_A, CASE_B = "003123450000000011", "003123450000000028", "003123450000000035"
CASE_C = f"{CASE_GTIN}:C3001"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def unit(n: int, lot: str, expiry: date, parent: str) -> ExpectedPackage:
    return ExpectedPackage(UNIT_GTIN, str(100000 + n), lot, expiry, parent=parent)


def rejected(data: bytes) -> ShipmentDataRejected:
    with pytest.raises(ShipmentDataRejected) as caught:
        read_epcis_xml(data)
    assert caught.value.code == "SHIPMENT_DATA_REJECTED"
    return caught.value


# --- A DSCSA shipment --------------------------------------------------------------------------


def test_the_pallet_is_expanded_into_cases_and_units_with_lot_and_expiry() -> None:
    # given a pallet SSCC → cases A and B (SSCC) and C (SGTIN) → 4 units each, two lots
    data = fixture("dscsa_shipment.xml")

    # when
    shipment = read_epcis_xml(data)

    # then every package is there, pallet first, each with its container
    lot_a, lot_b = ("LOT-A1", date(2027, 3, 31)), ("LOT/B2.7", date(2027, 9, 30))
    assert shipment.packages == (
        ExpectedPackage(None, None, sscc=PALLET, container=True),
        ExpectedPackage(None, None, sscc=CASE_A, parent=PALLET, container=True),
        *(unit(n, *lot_a, parent=CASE_A) for n in range(1, 5)),
        ExpectedPackage(None, None, sscc=CASE_B, parent=PALLET, container=True),
        *(unit(n, *lot_a, parent=CASE_B) for n in range(5, 9)),
        ExpectedPackage(CASE_GTIN, "C3001", *lot_b, parent=PALLET, container=True),
        *(unit(n, *lot_b, parent=CASE_C) for n in range(9, 13)),
    )
    assert shipment.serials == 12
    assert shipment.warnings == ()


def test_lines_count_the_shipped_units_per_gtin_and_lot_with_master_data_and_po() -> None:
    shipment = read_epcis_xml(fixture("dscsa_shipment.xml"))

    name, ndc, po = "Amoxicillin Capsules, USP", "12345678900", "PO-77812"
    assert shipment.lines == (
        ExpectedLine(1, 8, "EA", UNIT_GTIN, ndc, "LOT-A1", date(2027, 3, 31), name, po),
        ExpectedLine(2, 4, "EA", UNIT_GTIN, ndc, "LOT/B2.7", date(2027, 9, 30), name, po),
    )


def test_products_transactions_and_parties_come_from_master_data_and_the_sbdh() -> None:
    shipment = read_epcis_xml(fixture("dscsa_shipment.xml"))

    assert shipment.products[0] == ProductInfo(
        gtin=UNIT_GTIN,
        ndc="12345678900",
        name="Amoxicillin Capsules, USP",
        dosage_form="CAPSULE",
        strength="500 mg",
        manufacturer="Acme Pharmaceuticals",
        package_description="100 capsules",
    )
    assert shipment.products[1].gtin == CASE_GTIN
    assert shipment.transactions == (
        BusinessTransaction("po", "PO-77812"),
        BusinessTransaction("desadv", "ASN-20260528-17"),
        BusinessTransaction("inv", "INV-99120"),
    )
    assert shipment.sender == Party("0312345000011", "gln", "Acme Pharma Distribution LLC")
    assert shipment.receiver == Party("0614141000012", "gln", "Riverside Pharmacy Inc.")
    assert shipment.ship_from == Party("0312345000059", "gln", "Acme Distribution Center Memphis")
    assert shipment.ship_to == Party("0614141000029", "gln", "Riverside Pharmacy #2")
    assert shipment.shipment_id == "ASN-20260528-17"
    assert shipment.shipped_at == datetime(2026, 5, 28, 9, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert shipment.summary() == {
        "format": "epcis-xml",
        "documents": 1,
        "events": 7,
        "products": 2,
        "serials": 12,
        "lines": 2,
        "warnings": [],
    }


def test_digital_link_epcs_read_the_same_as_epc_urns() -> None:
    urns = read_epcis_xml(fixture("dscsa_shipment.xml"))

    links = read_epcis_xml(fixture("dscsa_shipment_digital_link.xml"))

    assert links.packages == urns.packages
    assert links.lines == urns.lines
    assert links.products == urns.products


# --- Hostile and broken files: a clear error, nothing accepted ----------------------------------


@pytest.mark.parametrize("name", ["xxe.xml", "billion_laughs.xml", "external_dtd.xml"])
def test_a_document_with_a_doctype_is_refused_before_parsing(name: str) -> None:
    error = rejected(fixture(name))

    assert "DOCTYPE" in error.message
    assert error.details["reason"] == "doctype"


def utf16(name: str) -> bytes:
    """The fixture in UTF-16, which the raw b"<!DOCTYPE" check does not see."""
    return fixture(name).decode().replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")


@pytest.mark.parametrize("name", ["xxe.xml", "external_dtd.xml"])
def test_a_doctype_hidden_from_the_byte_check_by_utf16_is_refused_after_parsing(name: str) -> None:
    error = rejected(utf16(name))

    assert "DOCTYPE" in error.message
    assert error.details["reason"] == "doctype"


def test_an_entity_bomb_hidden_from_the_byte_check_never_expands() -> None:
    # libxml2's own amplification guard stops it while parsing, before the DOCTYPE check can
    error = rejected(utf16("billion_laughs.xml"))

    assert error.details["reason"] in ("syntax", "doctype")


def test_an_external_entity_never_reads_the_file(tmp_path: Path) -> None:
    # given a secret file and a document whose entity names it, in UTF-16 so that it is parsed
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    text = fixture("xxe.xml").decode().replace("file:///etc/passwd", secret.as_uri())
    text = text.replace('encoding="UTF-8"', 'encoding="UTF-16"')

    error = rejected(text.encode("utf-16"))

    assert "TOP-SECRET" not in repr(error.as_dict())


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(b"", "not well-formed XML", id="empty"),
        pytest.param(b"\xff\xfe\x00garbage", "not well-formed XML", id="garbage"),
        pytest.param(fixture("malformed.xml"), "not well-formed XML", id="malformed"),
        pytest.param(fixture("dscsa_shipment.xml")[:5000], "not well-formed XML", id="truncated"),
        pytest.param(fixture("wrong_root.xml"), "not an EPCIS document", id="wrong-root"),
        pytest.param(b"<a>" * 10_000 + b"</a>" * 10_000, "not well-formed XML", id="deep"),
    ],
)
def test_broken_xml_is_refused_with_a_clear_message(data: bytes, expected: str) -> None:
    error = rejected(data)

    assert expected in error.message


def test_malformed_xml_names_the_line() -> None:
    error = rejected(fixture("malformed.xml"))

    assert error.details["line"] == 7


def test_an_sgtin_with_a_bad_structure_names_the_epc_and_where_it_is() -> None:
    error = rejected(fixture("bad_sgtin.xml"))

    assert "urn:epc:id:sgtin:0312345.67890.100002" in error.message
    assert "13 digits" in error.message
    assert (
        error.details["path"]
        == "/epcis:EPCISDocument/EPCISBody/EventList/ObjectEvent/epcList/epc[2]"
    )
    assert error.details["event_index"] == 0


def test_a_file_over_the_size_limit_is_refused_before_parsing() -> None:
    data = b"<" + b" " * (50 * 1024 * 1024)

    with pytest.raises(FileTooLarge) as caught:
        read_epcis_xml(data)

    assert caught.value.code == "FILE_TOO_LARGE"


# --- The rules of the hierarchy ------------------------------------------------------------------


def test_a_child_never_commissioned_is_expected_without_lot_and_with_a_warning() -> None:
    # Decision: a warning, not an error. The unit is named in the transaction information, only its
    # lot and expiry are missing (it may have been commissioned in an earlier file); receiving takes
    # them from the scan.
    shipment = read_epcis_xml(fixture("uncommissioned_child.xml"))

    assert shipment.serials == 4
    assert [(line.lot, line.quantity) for line in shipment.lines] == [("LOT-A1", 3), (None, 1)]
    assert shipment.packages[-1] == ExpectedPackage(
        UNIT_GTIN, "100004", parent="003123450000000028"
    )
    assert any("never commissioned" in w and f"{UNIT_GTIN}:100004" in w for w in shipment.warnings)


def test_a_unit_packed_into_a_second_case_without_unpacking_is_refused() -> None:
    data = xml_document(
        xml_commissioning([sgtin(1)]),
        xml_aggregation(sscc(1), [sgtin(1)]),
        xml_aggregation(sscc(2), [sgtin(1)], time="2026-05-20T11:00:00Z"),
    )

    error = rejected(data)

    assert "still in urn:epc:id:sscc:0312345.0000000001" in error.message
    assert error.details["event_index"] == 2


def test_a_unit_unpacked_can_be_packed_again() -> None:
    data = xml_document(
        xml_commissioning([sgtin(1)]),
        xml_aggregation(sscc(1), [sgtin(1)]),
        xml_aggregation(sscc(1), [sgtin(1)], action="DELETE", time="2026-05-20T10:30:00Z"),
        xml_aggregation(sscc(2), [sgtin(1)], time="2026-05-20T11:00:00Z"),
        xml_shipping([sscc(2)]),
    )

    shipment = read_epcis_xml(data)

    assert shipment.packages[1].parent == "003123450000000028"


def test_a_container_packed_into_its_own_content_is_refused() -> None:
    data = xml_document(
        xml_aggregation(sscc(1), [sscc(2)]),
        xml_aggregation(sscc(2), [sscc(1)], time="2026-05-20T11:00:00Z"),
    )

    error = rejected(data)

    assert "which it contains" in error.message


def test_a_package_commissioned_twice_with_another_lot_is_refused() -> None:
    data = xml_document(
        xml_commissioning([sgtin(1)], lot="A"),
        xml_commissioning([sgtin(1)], lot="B", time="2026-05-20T09:00:00Z"),
    )

    error = rejected(data)

    assert "commissioned again with lot 'B'" in error.message


def test_only_shipped_packages_are_expected_and_the_rest_is_a_warning() -> None:
    data = xml_document(
        xml_commissioning([sgtin(1), sgtin(2)]),
        xml_shipping([sgtin(1)]),
    )

    shipment = read_epcis_xml(data)

    assert [p.serial for p in shipment.packages] == ["1"]
    assert any("1 commissioned package(s) are not shipped" in w for w in shipment.warnings)


def test_void_shipping_takes_the_packages_back() -> None:
    data = xml_document(
        xml_commissioning([sgtin(1), sgtin(2)]),
        xml_shipping([sgtin(1), sgtin(2)]),
        xml_shipping(
            [sgtin(2)],
            time="2026-05-28T10:00:00Z",
            biz_step="urn:epcglobal:cbv:bizstep:void_shipping",
        ),
    )

    shipment = read_epcis_xml(data)

    assert [p.serial for p in shipment.packages] == ["1"]


def test_a_file_without_shipping_event_expects_no_lines_and_says_so() -> None:
    shipment = read_epcis_xml(xml_document(xml_commissioning([sgtin(1)])))

    assert shipment.lines == ()
    assert len(shipment.packages) == 1
    assert "no shipping event" in shipment.warnings[0]


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        pytest.param(
            xml_commissioning([sgtin(1)], expiry="2027-02-30"),
            "'2027-02-30' is not a valid date",
            id="impossible-expiry",
        ),
        pytest.param(
            xml_shipping([sgtin(1)], biz_step="shipped"),
            "'shipped' is neither a CBV bizstep value nor a URI",
            id="bare-unknown-bizstep",
        ),
        pytest.param(
            xml_shipping([sgtin(1)], biz_step="urn:epcglobal:cbv:disp:in_transit"),
            "is a CBV disp value, not a bizstep value",
            id="disposition-as-bizstep",
        ),
        pytest.param(
            xml_shipping(["https://id.gs1.org/01/00312345678907/21/1"]),
            "wrong check digit",
            id="digital-link-check-digit",
        ),
        pytest.param(
            xml_shipping([sscc(1)], time="2026-05-28 09:30"),
            "not an ISO 8601 date-time with a UTC offset",
            id="bad-event-time",
        ),
        pytest.param(
            "<ObjectEvent><epcList/><action>OBSERVE</action></ObjectEvent>",
            "eventTime is missing",
            id="no-event-time",
        ),
        pytest.param(
            xml_shipping([sgtin(1)]).replace("+00:00", "+5"),
            "not a time zone offset",
            id="bad-offset",
        ),
    ],
)
def test_bad_values_are_refused_naming_the_event(event: str, expected: str) -> None:
    error = rejected(xml_document(event))

    assert expected in error.message
    assert error.details["event_index"] == 0
    assert error.details["path"].startswith("/epcis:EPCISDocument/EPCISBody/EventList/")


def test_an_unknown_cbv_term_in_cbv_form_is_a_warning() -> None:
    data = xml_document(
        xml_commissioning([sgtin(1)]),
        xml_shipping([sgtin(1)], biz_step="urn:epcglobal:cbv:bizstep:shipping_by_drone"),
    )

    shipment = read_epcis_xml(data)

    assert any("shipping_by_drone" in w for w in shipment.warnings)


def test_an_event_declared_erroneous_is_ignored_with_a_warning() -> None:
    declared = "<baseExtension><errorDeclaration><declarationTime>2026-05-29T10:00:00Z"
    declared += "</declarationTime></errorDeclaration></baseExtension>"
    shipping = xml_shipping([sgtin(1)]).replace("<ObjectEvent>", f"<ObjectEvent>{declared}", 1)
    # baseExtension comes after the times in the 1.2 schema; the reader does not mind the order

    shipment = read_epcis_xml(xml_document(xml_commissioning([sgtin(1)]), shipping))

    assert shipment.lines == ()
    assert any("declared erroneous" in w for w in shipment.warnings)
