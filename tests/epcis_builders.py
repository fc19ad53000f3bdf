"""EPCIS documents for tests and benchmarks: small events, and DSCSA shipments of any size.

``dscsa_xml(n)`` and ``dscsa_json(n)`` build one shipment of ``n`` serialized bottles (one
company prefix, two lots), packed 12 to a case SSCC, cases 50 to a pallet SSCC, the pallets
shipped in one shipping event with a purchase order; the EPCIS 1.2 XML and 2.0 JSON forms carry
the same content.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from biip.checksums import gs1_standard_check_digit

COMPANY_PREFIX = "0312345"
UNIT_ITEM = "067890"  # indicator 0 + item reference 67890
UNIT_GTIN = "00312345678906"
NDC11 = "12345678900"
PER_CASE = 12
CASES_PER_PALLET = 50
EPCIS_NS = "urn:epcglobal:epcis:xsd:1"


def sgtin(serial: str | int, item: str = UNIT_ITEM) -> str:
    return f"urn:epc:id:sgtin:{COMPANY_PREFIX}.{item}.{serial}"


def sscc(reference: int) -> str:
    """An SSCC URN with extension digit 0 and a 9-digit serial reference."""
    return f"urn:epc:id:sscc:{COMPANY_PREFIX}.0{reference:09d}"


def sscc_digits(reference: int) -> str:
    body = f"0{COMPANY_PREFIX}{reference:09d}"
    return body + str(gs1_standard_check_digit(body))


# --- EPCIS 1.2 XML --------------------------------------------------------------------------------


def _epcs(tag: str, epcs: Iterable[str]) -> str:
    return f"<{tag}>" + "".join(f"<epc>{e}</epc>" for e in epcs) + f"</{tag}>"


def _times(time: str) -> str:
    return f"<eventTime>{time}</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset>"


def xml_commissioning(
    epcs: Sequence[str],
    lot: str = "LOT-A1",
    expiry: str = "2027-03-31",
    time: str = "2026-05-20T08:00:00Z",
) -> str:
    return (
        f"<ObjectEvent>{_times(time)}{_epcs('epcList', epcs)}<action>ADD</action>"
        "<bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep>"
        "<disposition>urn:epcglobal:cbv:disp:active</disposition><extension><ilmd>"
        f"<cbvmda:lotNumber>{lot}</cbvmda:lotNumber>"
        f"<cbvmda:itemExpirationDate>{expiry}</cbvmda:itemExpirationDate>"
        "</ilmd></extension></ObjectEvent>"
    )


def xml_aggregation(
    parent: str, children: Sequence[str], action: str = "ADD", time: str = "2026-05-20T10:00:00Z"
) -> str:
    return (
        f"<AggregationEvent>{_times(time)}<parentID>{parent}</parentID>"
        f"{_epcs('childEPCs', children)}<action>{action}</action>"
        "<bizStep>urn:epcglobal:cbv:bizstep:packing</bizStep></AggregationEvent>"
    )


def xml_shipping(
    epcs: Sequence[str],
    purchase_order: str = "PO-1",
    time: str = "2026-05-28T09:30:00Z",
    biz_step: str = "urn:epcglobal:cbv:bizstep:shipping",
) -> str:
    return (
        f"<ObjectEvent>{_times(time)}{_epcs('epcList', epcs)}<action>OBSERVE</action>"
        f"<bizStep>{biz_step}</bizStep>"
        "<disposition>urn:epcglobal:cbv:disp:in_transit</disposition><bizTransactionList>"
        f'<bizTransaction type="urn:epcglobal:cbv:btt:po">{purchase_order}</bizTransaction>'
        "</bizTransactionList></ObjectEvent>"
    )


def xml_document(*events: str, header: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<epcis:EPCISDocument xmlns:epcis="{EPCIS_NS}" xmlns:cbvmda="urn:epcglobal:cbv:mda" '
        'schemaVersion="1.2" creationDate="2026-05-28T14:00:00Z">'
        f"{header}<EPCISBody><EventList>{''.join(events)}</EventList></EPCISBody>"
        "</epcis:EPCISDocument>"
    ).encode()


# --- Shipments of any size ------------------------------------------------------------------------


def _shipment_plan(serials: int) -> tuple[list[str], list[tuple[str, list[str]]], list[str]]:
    """Units, (case, units) and (pallet, cases) of a shipment of ``serials`` bottles."""
    units = [sgtin(100000 + i) for i in range(serials)]
    cases = [
        (sscc(1 + i // PER_CASE), units[i : i + PER_CASE]) for i in range(0, serials, PER_CASE)
    ]
    case_ids = [c for c, _ in cases]
    pallets = [
        (sscc(900000 + i), case_ids[i : i + CASES_PER_PALLET])
        for i in range(0, len(case_ids), CASES_PER_PALLET)
    ]
    return units, cases + pallets, [p for p, _ in pallets]


def dscsa_xml(serials: int) -> bytes:
    units, containers, pallets = _shipment_plan(serials)
    half = serials // 2
    events = [
        xml_commissioning(units[:half], lot="LOT-A1"),
        xml_commissioning(units[half:], lot="LOT-B2", expiry="2027-09-30"),
        *(xml_aggregation(parent, children) for parent, children in containers),
        xml_shipping(pallets, purchase_order="PO-77812"),
    ]
    return xml_document(*events)


def json_event(kind: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "eventTime": fields.pop("eventTime", "2026-05-20T08:00:00Z"),
        "eventTimeZoneOffset": "+00:00",
        **fields,
    }


def json_commissioning(
    epcs: Sequence[str], lot: str = "LOT-A1", expiry: str = "2027-03-31"
) -> dict[str, Any]:
    return json_event(
        "ObjectEvent",
        epcList=list(epcs),
        action="ADD",
        bizStep="commissioning",
        disposition="active",
        ilmd={"cbvmda:lotNumber": lot, "cbvmda:itemExpirationDate": expiry},
    )


def json_aggregation(parent: str, children: Sequence[str], action: str = "ADD") -> dict[str, Any]:
    return json_event(
        "AggregationEvent",
        eventTime="2026-05-20T10:00:00Z",
        parentID=parent,
        childEPCs=list(children),
        action=action,
        bizStep="packing",
    )


def json_shipping(epcs: Sequence[str], purchase_order: str = "PO-1") -> dict[str, Any]:
    return json_event(
        "ObjectEvent",
        eventTime="2026-05-28T09:30:00Z",
        epcList=list(epcs),
        action="OBSERVE",
        bizStep="shipping",
        disposition="in_transit",
        bizTransactionList=[{"type": "po", "bizTransaction": purchase_order}],
    )


def json_document(*events: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-05-28T14:00:00Z",
        **extra,
        "epcisBody": {"eventList": list(events)},
    }


def as_bytes(document: dict[str, Any]) -> bytes:
    return json.dumps(document).encode()


def dscsa_json(serials: int) -> bytes:
    units, containers, pallets = _shipment_plan(serials)
    half = serials // 2
    events = [
        json_commissioning(units[:half], lot="LOT-A1"),
        json_commissioning(units[half:], lot="LOT-B2", expiry="2027-09-30"),
        *(json_aggregation(parent, children) for parent, children in containers),
        json_shipping(pallets, purchase_order="PO-77812"),
    ]
    return as_bytes(json_document(*events))
