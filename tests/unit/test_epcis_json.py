"""EPCIS 2.0 JSON / JSON-LD shipment data: the schema, the checks beyond it, the trace export."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator

from rxledger.adapters.ingest.epcis_export import (
    TraceEvent,
    TraceQuantity,
    build_epcis_document,
    lgtin_uri,
    location_uri,
    party_uri,
    sgtin_uri,
)
from rxledger.adapters.ingest.epcis_json import read_epcis_json
from rxledger.adapters.ingest.epcis_schema import epcis_validator, schema_text
from rxledger.adapters.ingest.epcis_xml import read_epcis_xml
from rxledger.domain.errors import FileTooLarge, ShipmentDataRejected, ValidationFailed
from tests.conftest import SHARED_DATA
from tests.epcis_builders import (
    UNIT_GTIN,
    as_bytes,
    json_aggregation,
    json_commissioning,
    json_document,
    json_event,
    json_shipping,
    sgtin,
    sscc,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "epcis"
SHARED_EPCIS = SHARED_DATA / "epcis"
EXAMPLES = sorted((SHARED_EPCIS / "examples").glob("*.jsonld"))


def require_shared_data() -> None:
    """The official examples live in ../shared/data; CI must have them, a laptop may not."""
    if not EXAMPLES:
        message = f"no EPCIS examples in {SHARED_EPCIS / 'examples'}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true: {message}")
        pytest.skip(message)


def rejected(data: bytes) -> ShipmentDataRejected:
    with pytest.raises(ShipmentDataRejected) as caught:
        read_epcis_json(data)
    assert caught.value.code == "SHIPMENT_DATA_REJECTED"
    return caught.value


def shipment_of(*events: dict[str, Any]) -> bytes:
    return as_bytes(json_document(*events))


# --- The official GS1 examples and the vendored schema ---------------------------------------


def test_the_official_examples_are_there() -> None:
    require_shared_data()

    assert len(EXAMPLES) >= 23


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_every_official_example_validates_and_reads(path: Path) -> None:
    data = path.read_bytes()

    assert list(epcis_validator().iter_errors(json.loads(data))) == []
    shipment = read_epcis_json(data)

    assert shipment.format == "epcis-json"
    assert shipment.events >= 1


def test_the_vendored_schema_is_the_gs1_schema_unchanged() -> None:
    require_shared_data()
    shared = (SHARED_EPCIS / "schema" / "EPCIS-JSON-Schema.json").read_bytes()

    assert schema_text().encode() == shared
    assert hashlib.sha256(shared).hexdigest() == (
        "ed3228d7867198b4a5be9748fe77f473457c6ed98224fab28a950b4ce634a041"
    )


def test_the_digital_link_aggregation_example_is_expanded() -> None:
    require_shared_data()
    data = (SHARED_EPCIS / "examples" / "Example_9.6.3-AggregationEvent.jsonld").read_bytes()

    shipment = read_epcis_json(data)

    assert [p.key for p in shipment.packages] == [
        "106141412345678908",
        "10614141073464:2017",
        "10614141073464:2018",
    ]
    assert shipment.packages[1].parent == "106141412345678908"


# --- A DSCSA shipment ------------------------------------------------------------------------


def test_the_json_shipment_reads_as_its_xml_twin() -> None:
    xml = read_epcis_xml((FIXTURES / "dscsa_shipment.xml").read_bytes())

    shipment = read_epcis_json((FIXTURES / "dscsa_shipment.jsonld").read_bytes())

    assert shipment.packages == xml.packages
    assert shipment.lines == xml.lines
    assert shipment.products == xml.products
    assert shipment.transactions == xml.transactions
    assert (shipment.sender, shipment.receiver) == (xml.sender, xml.receiver)
    assert (shipment.ship_from, shipment.ship_to) == (xml.ship_from, xml.ship_to)
    assert shipment.shipped_at == xml.shipped_at
    assert shipment.summary() == {**xml.summary(), "format": "epcis-json"}


def test_class_level_quantities_of_the_shipping_event_are_lines() -> None:
    shipping = json_shipping([])
    shipping["quantityList"] = [
        {"epcClass": "urn:epc:class:lgtin:0312345.067890.LOT-Q", "quantity": 24},
        {"epcClass": f"https://id.gs1.org/01/{UNIT_GTIN}", "quantity": 2.5, "uom": "KGM"},
    ]

    shipment = read_epcis_json(shipment_of(shipping))

    assert [(x.gtin, x.lot, x.quantity, x.unit) for x in shipment.lines] == [
        (UNIT_GTIN, "LOT-Q", 24, "EA")
    ]
    assert any("2.5 KGM" in w and "no line" in w for w in shipment.warnings)


# --- Beyond the schema: CBV values, times, quantities, EPCs -------------------------------------


@pytest.mark.parametrize(
    "biz_step",
    ["shipping", "https://ref.gs1.org/cbv/BizStep-shipping"],
)
def test_a_cbv_business_step_may_be_a_bare_word_or_its_web_uri(biz_step: str) -> None:
    shipping = {**json_shipping([sgtin(1)]), "bizStep": biz_step}

    shipment = read_epcis_json(shipment_of(json_commissioning([sgtin(1)]), shipping))

    assert shipment.serials == 1
    assert len(shipment.lines) == 1


def test_the_cbv_urn_form_is_refused_by_the_epcis_2_schema_itself() -> None:
    # The 2.0 schema keeps urn:epcglobal:cbv: values out of JSON (they belong to 1.2 XML).
    shipping = {**json_shipping([sgtin(1)]), "bizStep": "urn:epcglobal:cbv:bizstep:shipping"}

    error = rejected(shipment_of(shipping))

    assert error.details["path"] == "/epcisBody/eventList/0/bizStep"
    assert error.details["reason"] == "schema"


def test_an_unknown_term_in_cbv_form_is_a_warning_and_another_vocabulary_is_accepted() -> None:
    unknown = {
        **json_shipping([sgtin(1)]),
        "bizStep": "https://ref.gs1.org/cbv/BizStep-teleporting",
    }
    foreign = {**json_shipping([sgtin(2)]), "bizStep": "https://example.org/steps/weighing"}

    shipment = read_epcis_json(shipment_of(unknown, foreign))

    assert [w for w in shipment.warnings if "CBV" in w] == [
        (
            "/epcisBody/eventList/0/bizStep: 'https://ref.gs1.org/cbv/BizStep-teleporting' "
            "is not a CBV bizstep term"
        )
    ]


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("bizStep", "shipped", "'shipped' is neither a CBV bizstep value nor a URI"),
        ("disposition", "in-transit", "'in-transit' is neither a CBV disp value nor a URI"),
        ("disposition", "https://ref.gs1.org/cbv/BizStep-shipping", "not a disp value"),
        ("eventTime", "2026-02-30T10:00:00Z", "'2026-02-30T10:00:00Z' is not a valid date-time"),
        ("eventTime", "2026-05-28", "not an ISO 8601 date-time with a UTC offset"),
        ("eventTime", "2026-05-28T10:00:00", "not an ISO 8601 date-time with a UTC offset"),
        ("recordTime", "yesterday", "not an ISO 8601 date-time with a UTC offset"),
    ],
)
def test_bad_values_are_refused_naming_the_json_pointer(
    field: str, value: str, expected: str
) -> None:
    shipping = {**json_shipping([sgtin(1)]), field: value}

    error = rejected(shipment_of(shipping))

    assert expected in error.message
    assert error.details["path"] == f"/epcisBody/eventList/0/{field}"
    assert error.details["event_index"] == 0


def test_a_bad_expiry_date_in_the_ilmd_is_refused() -> None:
    error = rejected(shipment_of(json_commissioning([sgtin(1)], expiry="2027-13-01")))

    assert error.details["path"] == "/epcisBody/eventList/0/ilmd/cbvmda:itemExpirationDate"


@pytest.mark.parametrize(
    ("quantity", "uom", "expected"),
    [
        (-1, None, "the quantity -1 is not a number of at least 0"),
        (2.5, None, "the quantity 2.5 has no unit of measure, so it must be whole"),
    ],
)
def test_bad_quantities_are_refused(quantity: float, uom: str | None, expected: str) -> None:
    element: dict[str, Any] = {
        "epcClass": "urn:epc:class:lgtin:0312345.067890.L1",
        "quantity": quantity,
    }
    if uom:
        element["uom"] = uom
    event = json_event("ObjectEvent", action="OBSERVE", quantityList=[element])

    error = rejected(shipment_of(event))

    assert expected in error.message
    assert error.details["path"] == "/epcisBody/eventList/0/quantityList/0/quantity"


def test_a_fractional_quantity_with_a_unit_of_measure_is_accepted() -> None:
    element = {"epcClass": "urn:epc:class:lgtin:0312345.067890.L1", "quantity": 2.5, "uom": "KGM"}

    shipment = read_epcis_json(
        shipment_of(json_event("ObjectEvent", action="OBSERVE", quantityList=[element]))
    )

    assert shipment.events == 1


@pytest.mark.parametrize(
    ("epc", "expected"),
    [
        ("urn:epc:id:sgtin:0312345.67890.1", "13 digits"),
        ("urn:epc:id:sscc:0312345.123", "17 digits"),
        ("urn:epc:id:sgtin:0312345.067890.a/b", "characters an EPC URN may not carry"),
        ("urn:epc:id:sgtin:0312345.067890.123456789012345678901", "1 to 20 characters"),
        ("https://id.gs1.org/01/00312345678907/21/1", "wrong check digit"),
        ("just-a-serial", "is not an EPC URI"),
    ],
)
def test_an_epc_that_does_not_parse_is_refused(epc: str, expected: str) -> None:
    error = rejected(shipment_of(json_shipping([sgtin(1), epc])))

    assert expected in error.message
    assert error.details["path"] == "/epcisBody/eventList/0/epcList/1"


def test_aggregation_rules_apply_to_json_too() -> None:
    data = shipment_of(
        json_aggregation(sscc(1), [sgtin(1)]),
        json_aggregation(sscc(2), [sgtin(1)]),
    )

    error = rejected(data)

    assert "still in urn:epc:id:sscc:0312345.0000000001" in error.message


def test_an_erroneous_event_declared_so_is_ignored_with_a_warning() -> None:
    shipping = json_shipping([sgtin(1)])
    shipping["errorDeclaration"] = {
        "declarationTime": "2026-05-29T10:00:00Z",
        "reason": "incorrect_data",
    }

    shipment = read_epcis_json(shipment_of(shipping))

    assert shipment.packages == ()
    assert any("declared erroneous" in w for w in shipment.warnings)


def test_a_query_document_is_read_from_its_results_body() -> None:
    document = json_document()
    del document["epcisBody"]
    document["type"] = "EPCISQueryDocument"
    document["epcisBody"] = {
        "queryResults": {
            "queryName": "SimpleEventQuery",
            "resultsBody": {
                "eventList": [json_commissioning([sgtin(1)]), json_shipping([sgtin(1)])]
            },
        }
    }

    shipment = read_epcis_json(as_bytes(document))

    assert (shipment.events, shipment.serials) == (2, 1)


# --- Broken and hostile files -------------------------------------------------------------------


def test_a_document_failing_the_schema_names_the_json_pointer() -> None:
    shipping = {**json_shipping([sgtin(1)]), "action": "MOVE"}

    error = rejected(shipment_of(shipping))

    assert error.message.startswith("/epcisBody/eventList/0/action: ")
    assert "'MOVE'" in error.message
    assert error.details["json_path"] == "$.epcisBody.eventList[0].action"


def test_an_epc_list_with_a_non_string_fails_the_schema_at_the_item() -> None:
    error = rejected(shipment_of(json_shipping([sgtin(1), 42])))

    assert error.details["path"] == "/epcisBody/eventList/0/epcList/1"
    assert "42 is not of type 'string'" in error.message


def test_the_vendored_validator_gives_the_verdicts_of_a_plain_draft7_validator() -> None:
    require_shared_data()
    plain = Draft7Validator(json.loads(schema_text()))
    documents = [json.loads(p.read_bytes()) for p in EXAMPLES]
    broken = json_document(json_shipping([sgtin(1), 42]), json_aggregation(sscc(1), [7]))
    broken["epcisBody"]["eventList"][0]["bizStep"] = "urn:epcglobal:cbv:bizstep:shipping"

    for document in [*documents, broken]:
        expected = sorted(e.json_path for e in plain.iter_errors(document))
        assert sorted(e.json_path for e in epcis_validator().iter_errors(document)) == expected


def test_a_document_without_its_required_members_fails_the_schema() -> None:
    document = json_document(json_shipping([sgtin(1)]))
    del document["schemaVersion"]

    error = rejected(as_bytes(document))

    assert "'schemaVersion' is a required property" in error.message


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(b"", "not JSON", id="empty"),
        pytest.param(b"<xml/>", "not JSON", id="xml"),
        pytest.param(b'{"type": "EPCISDocument",', "not JSON", id="truncated"),
        pytest.param(b"\xff\xfe\xfa\x00\x00\xd8", "not JSON", id="garbage"),
        pytest.param(b'{"quantity": NaN}', "not JSON", id="nan"),
        pytest.param(b"[1, 2]", "not an EPCIS document", id="array"),
        pytest.param(
            as_bytes(json_shipping([sgtin(1)]) | {"@context": "x"}),
            "not an EPCIS document",
            id="bare-event",
        ),
    ],
)
def test_what_is_not_an_epcis_json_document_is_refused(data: bytes, expected: str) -> None:
    error = rejected(data)

    assert expected in error.message


def test_json_nested_10000_deep_is_a_clear_error_not_a_crash() -> None:
    data = b"[" * 10_000 + b"]" * 10_000

    error = rejected(data)

    assert "nested too deeply" in error.message
    assert error.details["reason"] == "depth"


def test_json_nested_deeper_than_any_epcis_document_is_refused_before_the_schema() -> None:
    document = json_document(json_shipping([sgtin(1)]))
    deep: dict[str, Any] = {}
    document["epcisBody"]["eventList"][0]["example:x"] = deep
    for _ in range(200):
        deep["example:x"] = deep = {}

    error = rejected(as_bytes(document))

    assert error.details["reason"] == "depth"


def test_a_file_over_the_size_limit_is_refused_before_parsing() -> None:
    data = b" " * (50 * 1024 * 1024) + b"{}"

    with pytest.raises(FileTooLarge):
        read_epcis_json(data)


# --- The trace export --------------------------------------------------------------------------


def trace() -> list[TraceEvent]:
    pharmacy = location_uri("0614141000029")
    unit = sgtin_uri(UNIT_GTIN, "100001")
    return [
        TraceEvent(
            event_time=datetime(2026, 6, 1, 14, 5, tzinfo=UTC),
            biz_step="receiving",
            disposition="in_progress",
            epcs=(unit,),
            read_point=pharmacy,
            biz_location=pharmacy,
            biz_transactions=(("po", "PO-77812"),),
            sources=(("owning_party", party_uri("0312345000011")),),
            destinations=(("owning_party", party_uri("0614141000012")),),
        ),
        TraceEvent(
            event_time=datetime(2026, 6, 2, 9, 0, tzinfo=timezone(timedelta(hours=-5))),
            biz_step="urn:epcglobal:cbv:bizstep:dispensing",
            disposition="https://ref.gs1.org/cbv/Disp-partially_dispensed",
            quantities=(TraceQuantity(lgtin_uri(UNIT_GTIN, "LOT/B2.7"), Decimal(30)),),
            biz_location=pharmacy,
        ),
        TraceEvent(
            event_time=datetime(2026, 6, 3, 9, 0, tzinfo=UTC),
            biz_step="destroying",
            disposition="destroyed",
            epcs=(unit,),
            action="DELETE",
        ),
    ]


def test_the_exported_trace_validates_against_the_schema_and_reads_back() -> None:
    document = build_epcis_document(trace(), created_at=datetime(2026, 6, 4, tzinfo=UTC))

    assert list(epcis_validator().iter_errors(document)) == []
    shipment = read_epcis_json(json.dumps(document).encode())
    assert (shipment.events, shipment.warnings[0]) == (
        3,
        "the file has no shipping event, so it expects no lines",
    )


def test_the_exported_events_say_what_happened_in_cbv_words_and_digital_links() -> None:
    document = build_epcis_document(trace(), created_at=datetime(2026, 6, 4, tzinfo=UTC))

    received, dispensed, destroyed = document["epcisBody"]["eventList"]
    assert received == {
        "type": "ObjectEvent",
        "eventTime": "2026-06-01T14:05:00.000Z",
        "eventTimeZoneOffset": "+00:00",
        "epcList": [f"https://id.gs1.org/01/{UNIT_GTIN}/21/100001"],
        "action": "OBSERVE",
        "bizStep": "receiving",
        "disposition": "in_progress",
        "readPoint": {"id": "https://id.gs1.org/414/0614141000029"},
        "bizLocation": {"id": "https://id.gs1.org/414/0614141000029"},
        "bizTransactionList": [{"type": "po", "bizTransaction": "PO-77812"}],
        "sourceList": [{"type": "owning_party", "source": "https://id.gs1.org/417/0312345000011"}],
        "destinationList": [
            {"type": "owning_party", "destination": "https://id.gs1.org/417/0614141000012"}
        ],
    }
    assert dispensed["eventTime"] == "2026-06-02T09:00:00.000-05:00"
    assert dispensed["eventTimeZoneOffset"] == "-05:00"
    assert (dispensed["bizStep"], dispensed["disposition"]) == ("dispensing", "partially_dispensed")
    assert dispensed["quantityList"] == [
        {"epcClass": f"https://id.gs1.org/01/{UNIT_GTIN}/10/LOT%2FB2.7", "quantity": 30}
    ]
    assert destroyed["action"] == "DELETE"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"biz_step": "receivingg"}, "neither a CBV bizstep value nor a URI"),
        ({"disposition": "urn:epcglobal:cbv:disp:gone"}, "not a CBV disp term"),
        ({"event_time": datetime(2026, 6, 1, 14, 5)}, "timezone"),
        ({"epcs": (), "quantities": ()}, "no EPCs and no quantities"),
        ({"epcs": ("100001",)}, "is not an EPC URI"),
    ],
)
def test_a_trace_event_the_schema_would_refuse_cannot_be_made(
    change: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ValidationFailed, match=expected):
        dataclasses.replace(trace()[0], **change)
