"""A product's trace as an EPCIS 2.0 JSON document (DSCSA: trace of a product identifier).

The caller (a service) turns ledger movements into :class:`TraceEvent` values — receipt, moves,
dispense, destruction — and :func:`build_epcis_document` writes them as ObjectEvents of one
``EPCISDocument``. Identifiers are GS1 Digital Link URIs, which EPCIS 2.0 accepts and which need
no GS1 company prefix length (an EPC URN does): ``/01/{gtin}/21/{serial}`` for a unit,
``/01/{gtin}/10/{lot}`` for a lot, ``/414/{gln}`` for a location and ``/417/{gln}`` for a party.
Business steps and dispositions are written as CBV bare words. A :class:`TraceEvent` refuses what
the schema would refuse, so every document built validates against the EPCIS 2.0 JSON Schema.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import quote

from rxledger.adapters.ingest.epcis_common import Vocabulary, cbv_value, parse_epc
from rxledger.domain.errors import InvalidIdentifier, ValidationFailed

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
DIGITAL_LINK = "https://id.gs1.org"
_UOM = re.compile(r"[A-Z0-9]{2,3}")


def sgtin_uri(gtin: str, serial: str) -> str:
    """A serialized unit (the DSCSA product identifier's GTIN and serial) as a Digital Link."""
    return f"{DIGITAL_LINK}/01/{gtin}/21/{quote(serial, safe='')}"


def lgtin_uri(gtin: str, lot: str) -> str:
    """A lot of a product as a Digital Link (an EPC class, for quantities)."""
    return f"{DIGITAL_LINK}/01/{gtin}/10/{quote(lot, safe='')}"


def sscc_uri(sscc: str) -> str:
    return f"{DIGITAL_LINK}/00/{sscc}"


def location_uri(gln: str) -> str:
    """A physical location's GLN (AI 414), for readPoint and bizLocation."""
    return f"{DIGITAL_LINK}/414/{gln}"


def party_uri(gln: str) -> str:
    """A party's GLN (AI 417), for owning and possessing parties."""
    return f"{DIGITAL_LINK}/417/{gln}"


@dataclass(frozen=True, slots=True)
class TraceQuantity:
    """A quantity of an EPC class (a lot or product), in units or in ``uom`` (UN/ECE rec. 20)."""

    epc_class: str
    quantity: Decimal | int
    uom: str | None = None


@dataclass(frozen=True, slots=True)
class TraceEvent:
    """One thing that happened to the traced product, in EPCIS terms."""

    event_time: datetime
    biz_step: str
    disposition: str | None = None
    epcs: tuple[str, ...] = ()
    quantities: tuple[TraceQuantity, ...] = ()
    action: Literal["ADD", "OBSERVE", "DELETE"] = "OBSERVE"
    read_point: str | None = None
    biz_location: str | None = None
    biz_transactions: tuple[tuple[str, str], ...] = ()  # (CBV type word, document id)
    sources: tuple[tuple[str, str], ...] = ()  # (owning_party | possessing_party | location, URI)
    destinations: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        """Refuse what the schema would refuse: naive times, non-CBV words, nothing to name."""
        if self.event_time.utcoffset() is None:
            raise ValidationFailed("a trace event's time needs a timezone", field="event_time")
        _cbv_word(self.biz_step, "bizstep")
        if self.disposition is not None:
            _cbv_word(self.disposition, "disp")
        if not self.epcs and not self.quantities:
            raise ValidationFailed("a trace event with no EPCs and no quantities names nothing")
        for uri in (*self.epcs, *(q.epc_class for q in self.quantities)):
            _checked_epc(uri)
        for quantity in self.quantities:
            _check_quantity(quantity)


def _cbv_word(value: str, vocabulary: Vocabulary) -> str:
    """The CBV bare word for a CBV value in any form; another vocabulary's URI as it is."""
    try:
        term = cbv_value(value, vocabulary)
    except InvalidIdentifier as exc:
        raise ValidationFailed(exc.message, field=vocabulary, value=value) from exc
    if not term.known:
        raise ValidationFailed(f"{value!r} is not a CBV {vocabulary} term", field=vocabulary)
    return term.value


def _checked_epc(uri: str) -> str:
    try:
        parse_epc(uri)
    except InvalidIdentifier as exc:
        raise ValidationFailed(exc.message, field="epc", value=uri) from exc
    return uri


def _check_quantity(quantity: TraceQuantity) -> None:
    amount = Decimal(quantity.quantity)
    if amount < 0 or (quantity.uom is None and amount != amount.to_integral_value()):
        raise ValidationFailed(f"the quantity {amount} cannot be exported", field="quantity")
    if quantity.uom is not None and not _UOM.fullmatch(quantity.uom):
        raise ValidationFailed(f"{quantity.uom!r} is not a UN/ECE unit code", field="uom")


def build_epcis_document(events: Sequence[TraceEvent], *, created_at: datetime) -> dict[str, Any]:
    """An ``EPCISDocument`` holding ``events`` in order, created at ``created_at``."""
    if created_at.utcoffset() is None:
        raise ValidationFailed("the document's creation time needs a timezone", field="created_at")
    return {
        "@context": [EPCIS_CONTEXT],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": _timestamp(created_at),
        "epcisBody": {"eventList": [_object_event(e) for e in events]},
    }


def _object_event(event: TraceEvent) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventTime": _timestamp(event.event_time),
        "eventTimeZoneOffset": _offset(event.event_time),
    }
    if event.epcs:
        body["epcList"] = list(dict.fromkeys(event.epcs))
    if event.quantities:
        body["quantityList"] = [_quantity(q) for q in event.quantities]
    body["action"] = event.action
    body["bizStep"] = _cbv_word(event.biz_step, "bizstep")
    if event.disposition is not None:
        body["disposition"] = _cbv_word(event.disposition, "disp")
    if event.read_point:
        body["readPoint"] = {"id": event.read_point}
    if event.biz_location:
        body["bizLocation"] = {"id": event.biz_location}
    if event.biz_transactions:
        body["bizTransactionList"] = [
            {"type": _cbv_word(kind, "btt"), "bizTransaction": document_id}
            for kind, document_id in event.biz_transactions
        ]
    if event.sources:
        body["sourceList"] = [{"type": _cbv_word(k, "sdt"), "source": s} for k, s in event.sources]
    if event.destinations:
        body["destinationList"] = [
            {"type": _cbv_word(kind, "sdt"), "destination": d} for kind, d in event.destinations
        ]
    return body


def _quantity(quantity: TraceQuantity) -> dict[str, Any]:
    amount = Decimal(quantity.quantity)
    number: int | float = int(amount) if amount == amount.to_integral_value() else float(amount)
    element: dict[str, Any] = {"epcClass": quantity.epc_class, "quantity": number}
    if quantity.uom is not None:
        element["uom"] = quantity.uom
    return element


def _timestamp(moment: datetime) -> str:
    """ISO 8601 with milliseconds, in the event's own offset (``Z`` for UTC)."""
    text = moment.isoformat(timespec="milliseconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _offset(moment: datetime) -> str:
    offset = moment.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{rest:02d}"
