"""What a barcode scanner (or a person at a keyboard) sends, read into one :class:`Scan`.

Accepted: raw scanner data with or without a symbology identifier (``]d2``, ``]C1``, ``]Q3``,
``]e0``, ...), GS separators (or ``^``, as GS1's syntax engine writes FNC1), bracketed
human-readable data, GS1 Digital Link URIs, EPC URNs, UPC-A/EAN-13/ITF-14 retail barcodes, and
typed NDCs (10 or 11 digits, with or without hyphens). GS1 itself is read by biip
(:mod:`rxledger.domain.gs1_data`); this module decides what the data is and what it says about
the product: GTIN, NDC, lot (kept whole), expiry (day 00 = the month's last day), serial, SSCC.

Two-digit years follow GS1's sliding window around ``today``, which callers take from their clock.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from biip import ParseError
from biip.gs1_element_strings import GS1ElementStrings
from biip.gtin import Gtin
from biip.sscc import Sscc
from biip.upc import Upc

from rxledger.domain import gs1_data
from rxledger.domain.epc import parse_epc, sgtin_urn, sscc_urn
from rxledger.domain.errors import InvalidIdentifier, InvalidScan
from rxledger.domain.gs1_data import invalid
from rxledger.domain.identifiers import Ndc, ndc10_candidates, ndc11_candidates

ScanFormat = Literal["gs1", "hri", "digital_link", "epc", "gtin", "sscc", "ndc"]
MAX_SCAN_LENGTH = 4096  # a GS1 DataMatrix holds at most 2,335 characters
# Symbology identifiers (ISO/IEC 15424) whose data are GS1 element strings after FNC1 ...
_GS1_SYMBOLOGIES = frozenset({"]C1", "]e0", "]e1", "]e2", "]d2", "]Q3", "]J1"})
# ... and those that carry a GTIN as digits: EAN-13/UPC-A/UPC-E, EAN-8, ITF-14.
_RETAIL_SYMBOLOGIES = frozenset({"]E0", "]E4", "]I1"})
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_TYPED_NDC = re.compile(r"^[0-9]{4,5}-[0-9]{3,4}-[0-9]{1,2}$|^[0-9]{10,11}$")


@dataclass(frozen=True, slots=True)
class ScanElement:
    """One AI and its value as scanned; ``date`` for date AIs, in the sliding window."""

    ai: str
    title: str
    value: str
    date: date | None = None
    datetime: datetime | None = None


@dataclass(frozen=True, slots=True)
class NdcReading:
    """The labelled NDCs some digits can be: one when the layout is known, up to three if not."""

    candidates: tuple[Ndc, ...]

    @property
    def ndc(self) -> Ndc | None:
        """The one NDC, when only one layout fits."""
        return self.candidates[0] if len(self.candidates) == 1 else None

    @property
    def ambiguous(self) -> bool:
        return len(self.candidates) > 1

    @property
    def ndc10(self) -> str | None:
        """The 10 digits, when every reading shares them (always, for an NDC inside a GTIN)."""
        digits = {c.digits for c in self.candidates}
        return digits.pop() if len(digits) == 1 else None

    @property
    def ndc11(self) -> str | None:
        """The 11-digit billing form, when every reading shares it (a typed 11-digit NDC)."""
        forms = {c.ndc11 for c in self.candidates}
        return forms.pop() if len(forms) == 1 else None


@dataclass(frozen=True, slots=True)
class Scan:
    """What one scan says. ``elements`` is the data read as GS1 element strings, when it reads as
    such; for a bare number taken as a GTIN (``format == "gtin"``) that reading is only shown,
    never used for lot, expiry or serial."""

    text: str
    format: ScanFormat
    symbology: str | None = None
    gtin: str | None = None
    sscc: str | None = None
    lot: str | None = None
    serial: str | None = None
    expiry: date | None = None
    ndc: NdcReading | None = None
    elements: tuple[ScanElement, ...] = field(default=())
    element_string: str | None = None
    hri: str | None = None
    digital_link: str | None = None
    epc: str | None = None

    @property
    def names_product(self) -> bool:
        """Whether the scan identifies something to stock: a GTIN, an NDC or an SSCC."""
        return bool(self.gtin or self.sscc or self.ndc)


def parse_scan(text: str, today: date) -> Scan:
    """Read one scan; anything that is not a valid GS1 message, GTIN, SSCC, EPC or NDC raises
    ``InvalidScan`` naming what is wrong (check digit, impossible date, unknown AI, ...)."""
    raw = text.strip(" \t\r\n")
    if not raw:
        raise invalid("the scan is empty")
    if len(raw) > MAX_SCAN_LENGTH:
        raise invalid(f"the scan is longer than {MAX_SCAN_LENGTH} characters")
    symbology, data = _split_symbology(raw)
    if not data:
        raise invalid(f"the scan holds no data after the symbology identifier {symbology}")
    if symbology in _GS1_SYMBOLOGIES and not _URI.match(data):
        elements = gs1_data.read_element_data(data)
        return _from_elements(text, "gs1", symbology, elements, today)
    if symbology in _RETAIL_SYMBOLOGIES:
        return _from_gtin(text, _retail_gtin(symbology, data), symbology, None)
    return _read_unmarked(text, symbology, data, today)


def _split_symbology(raw: str) -> tuple[str | None, str]:
    """``]`` + code character + modifier (``]Y`` + n + n more modifiers, ISO/IEC 15424)."""
    if not raw.startswith("]"):
        return None, raw
    if len(raw) < 3 or not raw[1].isascii() or not raw[1].isalpha():
        raise invalid(f"{raw!r} starts with an incomplete symbology identifier")
    length = 3
    if raw[1] == "Y" and raw[2].isdigit():
        length = 3 + int(raw[2])
    return raw[:length], raw[length:]


def _read_unmarked(text: str, symbology: str | None, data: str, today: date) -> Scan:
    """Data without a GS1 symbology identifier: its shape says what it is."""
    if data.startswith("("):
        return _from_elements(text, "hri", symbology, gs1_data.read_hri(data), today)
    if _URI.match(data):
        return _from_uri(text, symbology, data, today)
    if _TYPED_NDC.match(data):
        return _from_typed_ndc(text, symbology, data)
    if data.isascii() and data.isdigit() and len(data) in (8, 12, 13, 14, 18):
        return _from_digits(text, symbology, data, today)
    # A leading ^ or GS is FNC1 in first position, as GS1's syntax engine and scanners write it.
    if data[0] not in ("^", "\x1d") and not (data[:2].isascii() and data[:2].isdigit()):
        raise invalid(
            f"{data[:40]!r} is not GS1 data, a GS1 Digital Link, a GTIN or an NDC",
            reason=f"no GS1 Application Identifier at the start of {data[:40]!r}",
        )
    return _from_elements(text, "gs1", symbology, gs1_data.read_element_data(data), today)


def _from_uri(text: str, symbology: str | None, uri: str, today: date) -> Scan:
    if uri.lower().startswith("urn:epc:"):
        return _from_epc(text, symbology, uri, today)
    elements = gs1_data.read_digital_link(uri)
    return _from_elements(text, "digital_link", symbology, elements, today)


def _from_digits(text: str, symbology: str | None, digits: str, today: date) -> Scan:
    """A bare number of GTIN or SSCC length: that, if its check digit is right, else AI data."""
    try:
        if len(digits) == 18:
            return _from_sscc(text, symbology, Sscc.parse(digits).value)
        gtin = Gtin.parse(digits).as_gtin_14()
    except ParseError as exc:
        try:
            elements = gs1_data.read_element_data(digits)
        except InvalidScan:
            raise gs1_data.refused_by_biip(exc) from None
        return _from_elements(text, "gs1", symbology, elements, today)
    try:
        also = gs1_data.read_element_data(digits)
    except InvalidScan:
        also = GS1ElementStrings()
    return _from_gtin(text, gtin, symbology, also, today)


def _retail_gtin(symbology: str, data: str) -> str:
    try:
        if symbology == "]E0" and len(data) in (6, 7, 8):
            return Upc.parse(data).as_gtin_14()
        return Gtin.parse(data).as_gtin_14()
    except ParseError as exc:
        raise gs1_data.refused_by_biip(exc) from None


def _from_gtin(
    text: str,
    gtin: str,
    symbology: str | None,
    also: GS1ElementStrings | None,
    today: date | None = None,
) -> Scan:
    elements = _elements(also, today) if also and today else ()
    return Scan(
        text,
        "gtin",
        symbology,
        gtin=gtin,
        ndc=_ndc_in_gtin(gtin),
        elements=elements,
        element_string=gs1_data.element_string(also) if also else None,
        hri=gs1_data.hri(also) if also else None,
        digital_link=f"https://id.gs1.org/01/{gtin}",
    )


def _from_sscc(text: str, symbology: str | None, sscc: str) -> Scan:
    return Scan(
        text,
        "sscc",
        symbology,
        sscc=sscc,
        hri=f"(00){sscc}",
        element_string=f"00{sscc}",
        digital_link=f"https://id.gs1.org/00/{sscc}",
        epc=_sscc_epc(sscc),
    )


def _from_typed_ndc(text: str, symbology: str | None, typed: str) -> Scan:
    """A typed NDC: hyphens give the layout; bare digits leave it to the item master."""
    try:
        if "-" in typed:
            hyphenated = Ndc.parse(typed)
            candidates: tuple[Ndc, ...] = (hyphenated,)
        elif len(typed) == 10:
            candidates = tuple(ndc10_candidates(typed))
        else:
            candidates = tuple(ndc11_candidates(typed))
    except InvalidIdentifier as exc:
        if exc.details.get("ambiguous"):
            candidates = tuple(ndc11_candidates(typed))
        else:
            raise invalid(exc.message) from None
    if not candidates:
        raise invalid(f"{typed} is not an 11-digit NDC: no segment has a padding zero")
    gtins = {c.to_gtin() for c in candidates}
    gtin = gtins.pop() if len(gtins) == 1 else None
    link = f"https://id.gs1.org/01/{gtin}" if gtin else None
    return Scan(text, "ndc", symbology, gtin=gtin, ndc=NdcReading(candidates), digital_link=link)


def _from_epc(text: str, symbology: str | None, urn: str, today: date) -> Scan:
    found = parse_epc(urn)
    if found.sscc:
        return _from_sscc(text, symbology, found.sscc)
    elements = gs1_data.read_hri(
        f"(01){found.gtin}" + (f"(21){found.serial}" if found.serial else "")
    )
    return _from_elements(text, "epc", symbology, elements, today)


def _from_elements(
    text: str,
    format_: ScanFormat,
    symbology: str | None,
    elements: GS1ElementStrings,
    today: date,
) -> Scan:
    read = _elements(elements, today)
    values = {e.ai: e for e in read}
    gtin = values["01"].value if "01" in values else None
    serial = values["21"].value if "21" in values else None
    sscc = values["00"].value if "00" in values else None
    return Scan(
        text,
        format_,
        symbology,
        gtin=gtin,
        sscc=sscc,
        lot=values["10"].value if "10" in values else None,
        serial=serial,
        expiry=values["17"].date if "17" in values else None,
        ndc=_ndc_in_gtin(gtin) if gtin else None,
        elements=read,
        element_string=gs1_data.element_string(elements),
        hri=gs1_data.hri(elements),
        digital_link=gs1_data.canonical_digital_link(elements),
        epc=_sgtin_epc(gtin, serial) if gtin and serial else (_sscc_epc(sscc) if sscc else None),
    )


def _elements(elements: GS1ElementStrings, today: date) -> tuple[ScanElement, ...]:
    read: list[ScanElement] = []
    for element in elements:
        day = moment = None
        if element.ai.ai in gs1_data.DATE_AIS and element.date is not None:
            day = gs1_date(element.value[:6], today)
            if element.datetime is not None:
                moment = datetime.combine(day, element.datetime.time())
        read.append(ScanElement(element.ai.ai, element.ai.data_title, element.value, day, moment))
    return tuple(read)


def gs1_date(yymmdd: str, today: date) -> date:
    """A GS1 date: the century by the sliding window (49 years back, 50 ahead of ``today``);
    day 00 is the last day of the month."""
    yy, month, day = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:6])
    century = today.year - today.year % 100
    difference = yy - today.year % 100
    if 51 <= difference <= 99:
        century -= 100
    elif -99 <= difference <= -50:
        century += 100
    year = century + yy
    try:
        return date(year, month, day or calendar.monthrange(year, month)[1])
    except ValueError:
        raise invalid(f"{yymmdd} is not a date") from None


def _ndc_in_gtin(gtin: str) -> NdcReading | None:
    """A GTIN whose company prefix is 03 (GS1 US) carries an NDC in digits 4-13; the hyphen
    layout is not in the digits."""
    if gtin[1:3] != "03":
        return None
    return NdcReading(tuple(ndc10_candidates(gtin[3:13])))


def _sgtin_epc(gtin: str, serial: str) -> str | None:
    try:
        prefix = Gtin.parse(gtin).company_prefix
    except ParseError:
        return None
    return sgtin_urn(gtin, serial, prefix.value) if prefix else None


def _sscc_epc(sscc: str) -> str | None:
    prefix = Sscc.parse(sscc).company_prefix
    return sscc_urn(sscc, prefix.value) if prefix else None


def resolve_ndc(reading: NdcReading, known: list[Ndc]) -> NdcReading:
    """Pick the layout the item master knows: a candidate whose labeler and product code match
    an NDC on file. Still several (or none on file): the reading stays ambiguous."""
    if not reading.ambiguous:
        return reading
    fits = {
        c
        for c in reading.candidates
        if any((c.labeler, c.product) == (k.labeler, k.product) for k in known)
    }
    return NdcReading((fits.pop(),)) if len(fits) == 1 else reading
