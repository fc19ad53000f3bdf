"""EPCIS vocabulary shared by the 1.2 XML and 2.0 JSON readers: EPCs, CBV values, times, parties.

An EPC names either one package (an SGTIN: GTIN + serial, or an SSCC) or a class of product (an
LGTIN: GTIN + lot, or a GTIN alone). Both the EPC URN forms of the GS1 Tag Data Standard
(``urn:epc:id:sgtin:0312345.067890.1001``) and GS1 Digital Link URIs
(``https://id.gs1.org/01/00312345678906/21/1001``) are read; GTINs and SSCCs come out in their
plain GS1 digit form with the check digit. Other GS1 keys (GRAI, GIAI, SGLN, ...) and private URIs
are valid EPCs that a pharmacy does not stock; they are kept as ``other``.

Every parse failure raises :class:`InvalidIdentifier`; the readers turn it into
``ShipmentDataRejected`` naming the element path or JSON pointer where the value was found.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Literal
from urllib.parse import unquote

from biip import ParseError
from biip.checksums import gs1_standard_check_digit
from biip.gs1_digital_link_uris import GS1DigitalLinkURI

from rxledger.domain.errors import InvalidIdentifier, ShipmentDataRejected
from rxledger.domain.shipments import BusinessTransaction, Party, ProductInfo

EpcKind = Literal["sgtin", "sscc", "lgtin", "gtin", "other"]


@dataclass(frozen=True, slots=True)
class Epc:
    """A parsed EPC: a package (``sgtin``, ``sscc``) or a product class (``lgtin``, ``gtin``)."""

    kind: EpcKind
    uri: str
    gtin: str | None = None
    serial: str | None = None
    lot: str | None = None
    sscc: str | None = None

    @property
    def is_package(self) -> bool:
        return self.kind in ("sgtin", "sscc")

    @property
    def key(self) -> str:
        """The package identity, as :attr:`ExpectedPackage.key` spells it."""
        if self.sscc is not None:
            return self.sscc
        return f"{self.gtin}:{self.serial}"


# --- EPC URNs (GS1 Tag Data Standard) ----------------------------------------------------------

_SGTIN = re.compile(r"urn:epc:id:sgtin:([0-9]+)\.([0-9]+)\.(.*)")
_SSCC = re.compile(r"urn:epc:id:sscc:([0-9]+)\.([0-9]+)")
_LGTIN = re.compile(r"urn:epc:class:lgtin:([0-9]+)\.([0-9]+)\.(.*)")
_GTIN_PATTERN = re.compile(r"urn:epc:idpat:sgtin:([0-9]+)\.([0-9]+)\.\*")
_GCP_LENGTHS = range(6, 13)
# Characters an EPC URN may carry unescaped in a serial or lot; the rest of GS1's character set 82
# is written as %XX (TDS 2.x, table "Characters permitted in the GS3A3 component").
_URN_TEXT = re.compile(r"(?:[A-Za-z0-9!'()*+,\-.:;=_]|%[0-9A-Fa-f]{2})+")
_CSET82 = re.compile(r"[!-\"%-/0-9:-?A-Z_a-z]{1,20}")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S+")


def _with_check_digit(body: str) -> str:
    return body + str(gs1_standard_check_digit(body))


@lru_cache(maxsize=4096)
def _gtin(company_prefix: str, indicator_item: str) -> str:
    """GTIN-14 = indicator digit, company prefix, item reference, check digit (TDS §6.3.1)."""
    if len(company_prefix) not in _GCP_LENGTHS or len(company_prefix) + len(indicator_item) != 13:
        raise InvalidIdentifier(
            "the company prefix (6 to 12 digits) and the indicator digit and item reference "
            "must have 13 digits together"
        )
    return _with_check_digit(indicator_item[0] + company_prefix + indicator_item[1:])


def _sscc(company_prefix: str, serial_reference: str) -> str:
    """SSCC-18 = extension digit, company prefix, serial reference, check digit (TDS §6.3.2)."""
    if len(company_prefix) not in _GCP_LENGTHS or len(company_prefix) + len(serial_reference) != 17:
        raise InvalidIdentifier(
            "the company prefix (6 to 12 digits) and the extension digit and serial reference "
            "must have 17 digits together"
        )
    return _with_check_digit(serial_reference[0] + company_prefix + serial_reference[1:])


def _urn_text(raw: str, what: str) -> str:
    """Decode a serial or lot from its URN form and check it against GS1 character set 82."""
    if not raw:
        raise InvalidIdentifier(f"the {what} is empty")
    if not _URN_TEXT.fullmatch(raw):
        raise InvalidIdentifier(f"the {what} {raw!r} has characters an EPC URN may not carry")
    text = unquote(raw)
    if not _CSET82.fullmatch(text):
        raise InvalidIdentifier(f"the {what} must be 1 to 20 characters of GS1 character set 82")
    return text


def _parse_urn(uri: str) -> Epc:
    if match := _SGTIN.fullmatch(uri):
        cp, item, serial = match.groups()
        return Epc("sgtin", uri, _gtin(cp, item), serial=_urn_text(serial, "serial"))
    if match := _LGTIN.fullmatch(uri):
        cp, item, lot = match.groups()
        return Epc("lgtin", uri, _gtin(cp, item), lot=_urn_text(lot, "lot"))
    if match := _GTIN_PATTERN.fullmatch(uri):
        return Epc("gtin", uri, _gtin(match[1], match[2]))
    if match := _SSCC.fullmatch(uri):
        return Epc("sscc", uri, sscc=_sscc(match[1], match[2]))
    parts = uri.split(":")
    if len(parts) > 3 and parts[3] in ("sgtin", "sscc", "lgtin"):
        raise InvalidIdentifier(f"it is not a well-formed {parts[3]} URN")
    return Epc("other", uri)


# --- GS1 Digital Link URIs ----------------------------------------------------------------------


def _checked(key: str, value: str) -> str:
    if gs1_standard_check_digit(value[:-1]) != int(value[-1]):
        raise InvalidIdentifier(f"the {key} {value} has a wrong check digit")
    return value


def _parse_digital_link(uri: str) -> Epc:
    """Read a Digital Link with biip; a link whose primary key is a GTIN or SSCC must be valid."""
    try:
        elements = {e.ai.ai: e.value for e in GS1DigitalLinkURI.parse(uri).element_strings}
    except ParseError as exc:
        if "/01/" in uri or "/00/" in uri:
            raise InvalidIdentifier(f"it is not a valid GS1 Digital Link ({exc})") from exc
        return Epc("other", uri)
    if "00" in elements:
        return Epc("sscc", uri, sscc=_checked("SSCC", elements["00"]))
    if "01" not in elements:
        return Epc("other", uri)
    gtin = _checked("GTIN", elements["01"])
    if "21" in elements:
        return Epc("sgtin", uri, gtin, serial=elements["21"])
    if "10" in elements:
        return Epc("lgtin", uri, gtin, lot=elements["10"])
    return Epc("gtin", uri, gtin)


@lru_cache(maxsize=1 << 16)
def parse_epc(uri: str) -> Epc:
    """Parse an EPC URN or Digital Link URI; anything that is not a URI at all is refused.

    SGTIN, SSCC and LGTIN URNs and GTIN/SSCC Digital Links must be well formed with valid check
    digits; any other URI is a valid EPC of a kind the pharmacy does not track (``other``).
    """
    try:
        if uri.startswith("urn:epc:"):
            return _parse_urn(uri)
        if uri.startswith(("https://", "http://")):
            return _parse_digital_link(uri)
    except InvalidIdentifier as exc:
        raise InvalidIdentifier(
            f"{uri!r} is not a valid EPC: {exc.message}", identifier=uri
        ) from exc
    if _URI.fullmatch(uri):
        return Epc("other", uri)
    raise InvalidIdentifier(f"{uri!r} is not an EPC URI", identifier=uri)


# --- CBV values ----------------------------------------------------------------------------------


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


BIZ_STEPS = _words(
    "accepting arriving assembling collecting commissioning consigning creating_class_instance "
    "cycle_counting decommissioning departing destroying disassembling dispensing encoding "
    "entering_exiting holding inspecting installing killing loading other packing picking "
    "receiving removing repackaging repairing replacing reserving retail_selling shipping "
    "staging_outbound stock_taking stocking storing transporting unloading unpacking "
    "void_shipping sensor_reporting sampling"
)
DISPOSITIONS = _words(
    "active container_closed damaged destroyed dispensed disposed encoded expired in_progress "
    "in_transit inactive no_pedigree_match non_sellable_other partially_dispensed recalled "
    "reserved retail_sold returned sellable_accessible sellable_not_accessible stolen unknown "
    "available completeness_verified completeness_inferred conformant container_open "
    "mismatch_instance mismatch_class mismatch_quantity needs_replacement non_conformant "
    "unavailable"
)
TRANSACTION_TYPES = _words(
    "bol cert desadv inv pedigree po poc prodorder recadv rma testprd testres upevt"
)
SOURCE_DESTINATION_TYPES = frozenset(("owning_party", "possessing_party", "location"))

Vocabulary = Literal["bizstep", "disp", "btt", "sdt"]
_VOCABULARY_WORDS: dict[Vocabulary, frozenset[str]] = {
    "bizstep": BIZ_STEPS,
    "disp": DISPOSITIONS,
    "btt": TRANSACTION_TYPES,
    "sdt": SOURCE_DESTINATION_TYPES,
}
# CBV 2.0 web URI names of the vocabularies (https://ref.gs1.org/cbv/BizStep-shipping).
_WEB_NAMES: dict[Vocabulary, str] = {
    "bizstep": "BizStep",
    "disp": "Disp",
    "btt": "BTT",
    "sdt": "SDT",
}
_CBV_URN = re.compile(r"urn:epcglobal:cbv:(bizstep|disp|btt|sdt):(.+)")
_CBV_WEB = re.compile(r"https?://(?:ref|ns)\.gs1\.org/cbv/(BizStep|Disp|BTT|SDT)-(.+)")
_VOCABULARY_BY_WEB_NAME = {web: vocabulary for vocabulary, web in _WEB_NAMES.items()}


@dataclass(frozen=True, slots=True)
class CbvValue:
    """A business step, disposition or type: a CBV word, or the URI of another vocabulary."""

    value: str
    known: bool = True  # False: written in a CBV form, but not a term of the CBV


def cbv_value(raw: str, vocabulary: Vocabulary) -> CbvValue:
    """Normalize a CBV value given as a bare word, a ``urn:epcglobal:cbv:`` URN or a web URI.

    A bare word must be a CBV term; a CBV URI of this vocabulary with an unknown term is kept but
    marked unknown (the caller warns); a CBV URI of another vocabulary (a disposition given as a
    business step) is refused; the URI of a vocabulary outside the CBV is accepted as it is.
    """
    words = _VOCABULARY_WORDS[vocabulary]
    if raw in words:
        return CbvValue(raw)
    found = _cbv_uri_parts(raw)
    if found is not None:
        if found[0] != vocabulary:
            raise InvalidIdentifier(f"{raw!r} is a CBV {found[0]} value, not a {vocabulary} value")
        return CbvValue(found[1], known=found[1] in words)
    if ":" in raw and _URI.fullmatch(raw):
        return CbvValue(raw)
    raise InvalidIdentifier(f"{raw!r} is neither a CBV {vocabulary} value nor a URI", value=raw)


def _cbv_uri_parts(raw: str) -> tuple[Vocabulary, str] | None:
    if match := _CBV_URN.fullmatch(raw):
        urn_vocabulary: Vocabulary = match[1]  # type: ignore[assignment]
        return urn_vocabulary, match[2]
    if match := _CBV_WEB.fullmatch(raw):
        return _VOCABULARY_BY_WEB_NAME[match[1]], match[2]
    return None


# --- Times, dates and quantities -----------------------------------------------------------------

_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:Z|[+-][0-9]{2}:[0-9]{2})"
)
_OFFSET = re.compile(r"[+-](?:(?:0[0-9]|1[0-3]):[0-5][0-9]|14:00)")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_timestamp(text: str) -> datetime:
    """An ISO 8601 date-time with seconds and a UTC offset (``Z`` or ``±hh:mm``) as EPCIS needs."""
    if not _DATE_TIME.fullmatch(text):
        raise InvalidIdentifier(f"{text!r} is not an ISO 8601 date-time with a UTC offset")
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidIdentifier(f"{text!r} is not a valid date-time: {exc}") from exc


def check_offset(text: str) -> str:
    """An ``eventTimeZoneOffset``: ``±hh:mm`` between -14:00 and +14:00."""
    if not _OFFSET.fullmatch(text):
        raise InvalidIdentifier(f"{text!r} is not a time zone offset of the form ±hh:mm")
    return text


def parse_date(text: str) -> date:
    """A calendar date ``YYYY-MM-DD`` (ILMD ``itemExpirationDate``)."""
    if not _DATE.fullmatch(text):
        raise InvalidIdentifier(f"{text!r} is not a date of the form YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidIdentifier(f"{text!r} is not a valid date: {exc}") from exc


def parse_quantity(amount: Decimal, uom: str | None) -> Decimal:
    """A quantity is a number ≥ 0; with no unit of measure it counts instances, so it is whole."""
    if not amount.is_finite() or amount < 0:
        raise InvalidIdentifier(f"the quantity {amount} is not a number of at least 0")
    if uom is None and amount != amount.to_integral_value():
        raise InvalidIdentifier(
            f"the quantity {amount} has no unit of measure, so it must be whole"
        )
    return amount


# --- Events as both readers see them -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Quantity:
    epc: Epc
    amount: Decimal
    uom: str | None = None


@dataclass(frozen=True, slots=True)
class PartyRef:
    """An entry of a ``sourceList`` or ``destinationList``: its type word and the party's URI."""

    type: str
    id: str


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One EPCIS event with what shipment data needs, whichever syntax it came in."""

    index: int
    where: str  # the XML element path or JSON pointer of the event
    kind: str  # ObjectEvent, AggregationEvent, TransactionEvent, TransformationEvent, ...
    event_time: datetime | None = None
    action: str | None = None
    biz_step: str | None = None
    disposition: str | None = None
    epcs: tuple[Epc, ...] = ()
    parent: Epc | None = None
    quantities: tuple[Quantity, ...] = ()
    lot: str | None = None
    expiry: date | None = None
    transactions: tuple[BusinessTransaction, ...] = ()
    sources: tuple[PartyRef, ...] = ()
    destinations: tuple[PartyRef, ...] = ()


@dataclass(frozen=True, slots=True)
class DocumentHeader:
    """What the document says about itself: parties, id, master data."""

    sender: Party | None = None
    receiver: Party | None = None
    instance_id: str | None = None
    products: tuple[ProductInfo, ...] = ()
    party_names: Mapping[str, str] | None = None


def reject(where: str, message: str, **details: object) -> ShipmentDataRejected:
    """The error refusing a file: ``where`` is the element path or JSON pointer of the problem."""
    return ShipmentDataRejected(f"{where}: {message}", path=where, **details)


# --- Business transactions and parties -----------------------------------------------------------

_CBV_BT = re.compile(r"urn:epcglobal:cbv:bt:[0-9]{13}:(.+)")
_SGLN = re.compile(r"urn:epc:id:sgln:([0-9]+)\.([0-9]*)\.(.+)")
_PGLN = re.compile(r"urn:epc:id:pgln:([0-9]+)\.([0-9]*)")


def business_transaction(type_word: str, value: str) -> BusinessTransaction:
    """A business transaction: a CBV ``urn:epcglobal:cbv:bt:<GLN>:<id>`` keeps only the id."""
    match = _CBV_BT.fullmatch(value)
    return BusinessTransaction(type=type_word, id=match[1] if match else value)


def party(identifier: str, names: Mapping[str, str] | None = None) -> Party:
    """A party or location: SGLN with extension 0, PGLN and 13-digit GLNs become a plain GLN."""
    name = names.get(identifier) if names else None
    gln = _gln(identifier)
    if gln is not None:
        return Party(id=gln, scheme="gln", name=name)
    if identifier.startswith("urn:epc:id:sgln:"):
        return Party(id=identifier, scheme="sgln", name=name)
    return Party(id=identifier, scheme="other", name=name)


def _gln(identifier: str) -> str | None:
    if len(identifier) == 13 and identifier.isascii() and identifier.isdigit():
        valid = gs1_standard_check_digit(identifier[:12]) == int(identifier[12])
        return identifier if valid else None
    match = _SGLN.fullmatch(identifier)
    if match and match[3] == "0" and len(match[1]) + len(match[2]) == 12:
        return _with_check_digit(match[1] + match[2])
    match = _PGLN.fullmatch(identifier)
    if match and len(match[1]) + len(match[2]) == 12:
        return _with_check_digit(match[1] + match[2])
    return None


# --- Master data ---------------------------------------------------------------------------------

_MDA_PREFIXES = ("urn:epcglobal:cbv:mda#", "urn:epcglobal:cbv:mda:", "cbvmda:")
_NDC_TYPE_CODES = frozenset(("FDA_NDC_11", "FDA_NDC_10", "FDA_NDC", "NDC", "US_FDA_NDC"))


def mda_name(attribute_id: str) -> str | None:
    """The CBV master data attribute of an id: ``urn:epcglobal:cbv:mda#lotNumber`` → lotNumber."""
    for prefix in _MDA_PREFIXES:
        if attribute_id.startswith(prefix):
            return attribute_id[len(prefix) :]
    return None


def product_info(gtin: str, attributes: Mapping[str, str]) -> ProductInfo:
    """ProductInfo from the CBV master data attributes of an EPCClass (GS1 US DSCSA guideline).

    The NDC is ``additionalTradeItemIdentification`` when its type code is an FDA NDC type (or
    absent, as some senders leave it out); any other additional identification is not an NDC.
    """
    type_code = attributes.get("additionalTradeItemIdentificationTypeCode")
    ndc = attributes.get("additionalTradeItemIdentification")
    if type_code is not None and type_code.strip().upper() not in _NDC_TYPE_CODES:
        ndc = None
    return ProductInfo(
        gtin=gtin,
        ndc=ndc,
        name=attributes.get("regulatedProductName") or attributes.get("descriptionShort"),
        dosage_form=attributes.get("dosageFormType"),
        strength=attributes.get("strengthDescription"),
        manufacturer=attributes.get("manufacturerOfTradeItemPartyName"),
        package_description=attributes.get("netContentDescription"),
    )
