"""Values an 856 item carries, parsed and checked: quantities, NDCs, GTINs, GLNs and SSCCs.

Each parser names the segment it read from when it refuses a value, so the sender can find it.
"""

from __future__ import annotations

from biip import ParseError
from biip.checksums import gs1_standard_check_digit
from biip.sscc import Sscc

from rxledger.adapters.ingest.x12 import Segment, rejected
from rxledger.domain.errors import InvalidIdentifier
from rxledger.domain.identifiers import (
    Ndc,
    NdcLayout,
    is_ascii_digits,
    ndc11_candidates,
    ndc_from_gtin,
    normalize_gtin,
)

# LIN qualifiers (X12 element 235) for an NDC whose hyphen layout the qualifier states.
NDC_LAYOUTS: dict[str, NdcLayout] = {"N1": "4-4-2", "N2": "5-3-2", "N3": "5-4-1"}


def whole_quantity(segment: Segment, index: int) -> int:
    """A shipped quantity is a positive whole number: 12, not 12.5, 0 or -3."""
    text = segment.value(index)
    if not is_ascii_digits(text):
        raise rejected(
            f"{segment.name(index)} quantity {text!r} is not a whole number",
            segment,
            element=segment.name(index),
            value=text,
        )
    if int(text) <= 0:
        raise rejected(
            f"{segment.name(index)} quantity {text!r} must be positive",
            segment,
            element=segment.name(index),
            value=text,
        )
    return int(text)


def read_ndc(qualifier: str, value: str, segment: Segment) -> str:
    """The NDC as the line should carry it: labelled 10-digit form when the layout is given,
    11 digits for the 5-4-2 billing form (N4), as written for a plain ND."""
    digits = value.replace("-", "")
    try:
        if qualifier in NDC_LAYOUTS:
            ndc = Ndc.from_digits(digits, NDC_LAYOUTS[qualifier])
            if "-" in value and value != ndc.ndc10:
                raise InvalidIdentifier(f"{value!r} is not in the {ndc.layout} layout")
            return ndc.ndc10
        if qualifier == "N4" or "-" not in value:
            if not (is_ascii_digits(digits) and len(digits) in (10, 11)):
                raise InvalidIdentifier(f"{value!r} is not a 10- or 11-digit NDC")
            if qualifier == "N4" and len(digits) != 11:
                raise InvalidIdentifier(f"{value!r} is not an 11-digit NDC")
            return digits if qualifier == "N4" else value
        Ndc.parse(value)
        return value
    except InvalidIdentifier as exc:
        raise rejected(f"{qualifier} {exc.message}", segment, value=value) from exc


def _ndc_digit_forms(ndc: str) -> set[str]:
    """The 10 labelled digits this NDC may stand for (several for an 11-digit billing form)."""
    digits = ndc.replace("-", "")
    if len(digits) == 11:
        return {candidate.digits for candidate in ndc11_candidates(digits)}
    return {digits}


def check_gtin_carries_ndc(gtin: str, ndc: str, segment: Segment) -> None:
    """A GS1 US GTIN (prefix 03) holds an NDC; it must be the line's NDC."""
    inside = ndc_from_gtin(gtin)
    if inside is not None and inside not in _ndc_digit_forms(ndc):
        raise rejected(
            f"GTIN {gtin} carries NDC {inside}, not the line's NDC {ndc}",
            segment,
            gtin=gtin,
            ndc=ndc,
        )


def read_gtin(value: str, segment: Segment) -> str:
    try:
        return normalize_gtin(value)
    except InvalidIdentifier as exc:
        raise rejected(exc.message, segment, value=value) from exc


def read_gln(value: str, segment: Segment) -> str:
    """A GLN: 13 digits whose last is the GS1 check digit."""
    if not (is_ascii_digits(value) and len(value) == 13):
        raise rejected(f"N104 {value!r} is not a 13-digit GLN", segment, value=value)
    expected = gs1_standard_check_digit(value[:-1])
    if int(value[-1]) != expected:
        raise rejected(
            f"GLN {value} has check digit {value[-1]}, expected {expected}", segment, value=value
        )
    return value


def read_sscc(value: str, segment: Segment) -> str:
    """An SSCC-18, with or without its application identifier 00 in front."""
    digits = value[2:] if len(value) == 20 and value.startswith("00") else value
    try:
        return str(Sscc.parse(digits).value)
    except ParseError as exc:
        raise rejected(f"{value!r} is not a valid SSCC: {exc}", segment, value=value) from exc
