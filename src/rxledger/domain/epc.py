"""EPC pure-identity URNs (GS1 EPC Tag Data Standard) for serialized products and containers.

An RFID reader or an EPCIS 1.2 document names a unit as ``urn:epc:id:sgtin:CompanyPrefix.
IndicatorItemRef.Serial`` and a pallet or case as ``urn:epc:id:sscc:CompanyPrefix.ExtSerialRef``.
The GTIN or SSCC is the same digits rearranged, plus a GS1 check digit; the serial is
percent-escaped. ``urn:epc:idpat:sgtin:...*`` names every serial of one GTIN.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote

from biip.checksums import gs1_standard_check_digit

from rxledger.domain.gs1_data import invalid

_SGTIN = re.compile(r"^urn:epc:(id|idpat):sgtin:([0-9]{6,12})\.([0-9]{1,7})\.(.+)$", re.IGNORECASE)
_SSCC = re.compile(r"^urn:epc:id:sscc:([0-9]{6,12})\.([0-9]{5,11})$", re.IGNORECASE)
# TDS: characters of a GS1 serial that an EPC URN writes as they are; the rest is %-escaped.
_URN_SAFE = "-_.:;=+,'()*!"


@dataclass(frozen=True, slots=True)
class EpcIdentity:
    """What an EPC URN names: a GTIN (with its serial, unless a pattern) or an SSCC."""

    gtin: str | None = None
    serial: str | None = None
    sscc: str | None = None


def parse_epc(urn: str) -> EpcIdentity:
    """Read an SGTIN, SGTIN pattern or SSCC URN; company prefix and reference must fill the key."""
    sgtin = _SGTIN.match(urn)
    if sgtin:
        kind, prefix, reference, serial = sgtin.groups()
        if len(prefix) + len(reference) != 13:
            raise invalid(
                f"{urn!r}: company prefix and item reference make {len(prefix) + len(reference)} "
                "digits, a GTIN needs 13",
            )
        body = reference[0] + prefix + reference[1:]
        if kind.lower() == "idpat":
            if serial != "*":
                raise invalid(f"{urn!r}: an SGTIN pattern ends in '*'")
            return EpcIdentity(gtin=body + str(gs1_standard_check_digit(body)))
        return EpcIdentity(gtin=body + str(gs1_standard_check_digit(body)), serial=unquote(serial))
    sscc = _SSCC.match(urn)
    if sscc:
        prefix, reference = sscc.groups()
        if len(prefix) + len(reference) != 17:
            raise invalid(
                f"{urn!r}: company prefix and serial reference must make 17 digits",
            )
        body = reference[0] + prefix + reference[1:]
        return EpcIdentity(sscc=body + str(gs1_standard_check_digit(body)))
    raise invalid(
        f"{urn!r} is not an SGTIN or SSCC EPC: only those name a product or a container",
    )


def sgtin_urn(gtin: str, serial: str, company_prefix: str) -> str:
    """The EPC pure-identity URN of a serialized unit; the indicator digit leads the item ref."""
    item_reference = gtin[0] + gtin[1 + len(company_prefix) : 13]
    return f"urn:epc:id:sgtin:{company_prefix}.{item_reference}.{quote(serial, safe=_URN_SAFE)}"


def sscc_urn(sscc: str, company_prefix: str) -> str:
    """The EPC pure-identity URN of a logistic unit (pallet, case) by its SSCC."""
    serial_reference = sscc[0] + sscc[1 + len(company_prefix) : 17]
    return f"urn:epc:id:sscc:{company_prefix}.{serial_reference}"
