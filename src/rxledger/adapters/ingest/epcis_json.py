"""EPCIS 2.0 JSON / JSON-LD shipment data, validated against the GS1 schema and checked beyond it.

A file is accepted only if it is JSON (no NaN or Infinity), nested at most ``MAX_DEPTH`` deep, an
``EPCISDocument`` or ``EPCISQueryDocument`` valid under the EPCIS 2.0 JSON Schema, and if beyond
the schema: business steps and dispositions are CBV 2.0 terms (bare words or their web URIs) or
URIs of another vocabulary, times are ISO 8601 date-times with a UTC offset, quantities are
numbers ≥ 0 and whole when they have no unit of measure, and every EPC parses. JSON-LD is read as
plain JSON with the standard context's compact names (``cbvmda:lotNumber``); the context itself
is not fetched. The events become a shipment by the same rules as EPCIS 1.2 XML
(:mod:`epcis_assembly`).
"""

from __future__ import annotations

import itertools
import json
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from jsonschema.exceptions import ValidationError

from rxledger.adapters.ingest.epcis_assembly import assemble
from rxledger.adapters.ingest.epcis_common import (
    DocumentHeader,
    Epc,
    EventRecord,
    PartyRef,
    Quantity,
    Vocabulary,
    business_transaction,
    cbv_value,
    mda_name,
    parse_date,
    parse_epc,
    parse_quantity,
    parse_timestamp,
    party,
    product_info,
    reject,
)
from rxledger.adapters.ingest.epcis_schema import epcis_validator
from rxledger.adapters.ingest.limits import require_size
from rxledger.domain.errors import InvalidIdentifier, ShipmentDataRejected
from rxledger.domain.shipments import BusinessTransaction, ProductInfo, ShipmentData

# An EPCIS document is about 10 levels deep (sensor reports, user extensions add a few); the
# bound keeps hostile nesting away from the recursive schema validator.
MAX_DEPTH = 32
_DOCUMENT_TYPES = ("EPCISDocument", "EPCISQueryDocument")
_EPC_LISTS = ("epcList", "childEPCs", "inputEPCList", "outputEPCList")
_QUANTITY_LISTS = ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList")
_SCHEMA_ERRORS_WEIGHED = 100
_MESSAGE_LIMIT = 300

JsonObject = dict[str, Any]


def read_epcis_json(data: bytes) -> ShipmentData:
    """Read an EPCIS 2.0 JSON file into the shipment it announces, or refuse it as a whole."""
    require_size(data)
    document = load_json(data)
    require_depth(document, MAX_DEPTH)
    if not isinstance(document, dict) or document.get("type") not in _DOCUMENT_TYPES:
        raise ShipmentDataRejected(
            "the file is not an EPCIS document: its root is not an EPCISDocument or "
            "EPCISQueryDocument object",
            reason="root",
        )
    require_schema(document)
    reader = _Reader(document)
    events = [reader.event(i, e) for i, e in enumerate(reader.event_list())]
    return assemble("epcis-json", reader.header(), events, reader.warnings)


def load_json(data: bytes) -> Any:
    """Decode JSON text (UTF-8, -16 or -32); numbers with a fraction become ``Decimal``."""
    try:
        return json.loads(data, parse_float=Decimal, parse_constant=_refuse_constant)
    except RecursionError as exc:
        raise ShipmentDataRejected("the JSON is nested too deeply to read", reason="depth") from exc
    except json.JSONDecodeError as exc:
        raise ShipmentDataRejected(
            f"the file is not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
            reason="syntax",
            line=exc.lineno,
            column=exc.colno,
        ) from exc
    except ValueError as exc:  # undecodable bytes, NaN, integers beyond Python's digit limit
        raise ShipmentDataRejected(f"the file is not JSON: {exc}", reason="syntax") from exc


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def require_depth(document: Any, limit: int) -> None:
    """Refuse arrays and objects nested more than ``limit`` deep (checked without recursion)."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            raise ShipmentDataRejected(
                f"the JSON is nested too deeply: more than {limit} levels",
                reason="depth",
                limit=limit,
            )
        values = node.values() if isinstance(node, dict) else node
        stack.extend((v, depth + 1) for v in values if isinstance(v, dict | list))


def require_schema(document: Any) -> None:
    """Refuse a document the EPCIS 2.0 JSON Schema refuses, naming the most specific place."""
    errors = itertools.islice(epcis_validator().iter_errors(document), _SCHEMA_ERRORS_WEIGHED)
    error = _deepest(errors)
    if error is None:
        return
    pointer = json_pointer(error.absolute_path)
    message = error.message
    if len(message) > _MESSAGE_LIMIT:
        message = message[:_MESSAGE_LIMIT] + "…"
    raise reject(
        pointer or "/",
        f"the document does not match the EPCIS 2.0 JSON schema: {message}",
        reason="schema",
        json_path=error.json_path,
        schema_path="/".join(map(str, error.absolute_schema_path)),
    )


def _deepest(errors: Iterable[ValidationError]) -> ValidationError | None:
    """The error deepest in the document, looking inside ``anyOf``/``oneOf`` failures; the first
    (the outer one) among equals. A schema error high up ("not valid under any of the given
    schemas" for a whole event) rarely tells the sender what to fix."""
    best: ValidationError | None = None
    queue = deque(errors)
    while queue:
        error = queue.popleft()
        if best is None or len(error.absolute_path) > len(best.absolute_path):
            best = error
        queue.extend(error.context or ())
    return best


def json_pointer(parts: Sequence[str | int] | Any) -> str:
    """RFC 6901: ``/epcisBody/eventList/0/bizStep``."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


class _Reader:
    """Reads one schema-valid document; every error names the JSON pointer of the value."""

    def __init__(self, document: JsonObject) -> None:
        self.document = document
        self.warnings: list[str] = []
        self.names: dict[str, str] = {}
        self.query = "queryResults" in document["epcisBody"]
        self.events_at = (
            "/epcisBody/queryResults/resultsBody/eventList"
            if self.query
            else "/epcisBody/eventList"
        )

    def event_list(self) -> list[JsonObject]:
        body = self.document["epcisBody"]
        if self.query:
            return list(body["queryResults"].get("resultsBody", {}).get("eventList", []))
        return list(body.get("eventList", []))

    def header(self) -> DocumentHeader:
        if "creationDate" in self.document:
            try:
                parse_timestamp(self.document["creationDate"])
            except InvalidIdentifier as exc:
                raise reject(
                    "/creationDate", exc.message, value=self.document["creationDate"]
                ) from exc
        products = self._master_data()
        sender, receiver = self.document.get("sender"), self.document.get("receiver")
        return DocumentHeader(
            sender=party(sender, self.names) if sender else None,
            receiver=party(receiver, self.names) if receiver else None,
            instance_id=self.document.get("instanceIdentifier"),
            products=products,
            party_names=self.names,
        )

    def _master_data(self) -> tuple[ProductInfo, ...]:
        master = self.document.get("epcisHeader", {}).get("epcisMasterData", {})
        products: dict[str, ProductInfo] = {}
        for v, vocabulary in enumerate(master.get("vocabularyList", [])):
            kind = vocabulary["type"]
            for e, element in enumerate(vocabulary.get("vocabularyElementList", [])):
                where = f"/epcisHeader/epcisMasterData/vocabularyList/{v}/vocabularyElementList/{e}"
                attributes = _attributes(element.get("attributes", []))
                if kind.endswith("EPCClass"):
                    gtin = self._class_gtin(where, element["id"])
                    if gtin is not None:
                        products.setdefault(gtin, product_info(gtin, attributes))
                elif kind.endswith("Location") and "name" in attributes:
                    self.names[element["id"]] = attributes["name"]
        return tuple(products.values())

    def _class_gtin(self, where: str, identifier: str) -> str | None:
        try:
            gtin = parse_epc(identifier).gtin
        except InvalidIdentifier as exc:
            raise reject(f"{where}/id", exc.message, value=identifier) from exc
        if gtin is None:
            self.warnings.append(f"{where}/id: the EPCClass {identifier!r} names no GTIN")
        return gtin

    def event(self, index: int, event: JsonObject) -> EventRecord:
        where = f"{self.events_at}/{index}"
        reader = _EventReader(self, index, where, event)
        record = reader.read()
        if "errorDeclaration" in event:
            self.warnings.append(f"{where}: the event is declared erroneous, so it is ignored")
            return EventRecord(index, where, "ErroneousEvent", event_time=record.event_time)
        return record


def _attributes(attributes: Sequence[JsonObject]) -> dict[str, str]:
    found: dict[str, str] = {}
    for attribute in attributes:
        name, value = mda_name(attribute["id"]), attribute.get("attribute")
        if name is not None and isinstance(value, str | int | Decimal):
            found[name] = str(value)
    return found


class _EventReader:
    """Checks one event beyond the schema and keeps what shipment data needs."""

    def __init__(self, reader: _Reader, index: int, where: str, event: JsonObject) -> None:
        self.reader, self.index, self.where, self.event = reader, index, where, event
        self.kind: str = event["type"]

    def fail(self, field: str, exc: InvalidIdentifier, value: object) -> ShipmentDataRejected:
        return reject(f"{self.where}/{field}", exc.message, event_index=self.index, value=value)

    def read(self) -> EventRecord:
        lot, expiry = self._ilmd()
        epc_lists = {name: self._epcs(name) for name in _EPC_LISTS if name in self.event}
        quantities = {
            name: self._quantities(name) for name in _QUANTITY_LISTS if name in self.event
        }
        own = "childEPCs" if self.kind == "AggregationEvent" else "epcList"
        own_quantities = "childQuantityList" if self.kind == "AggregationEvent" else "quantityList"
        return EventRecord(
            index=self.index,
            where=self.where,
            kind=self.kind,
            event_time=self._times(),
            action=self.event.get("action"),
            biz_step=self._cbv("bizStep", "bizstep"),
            disposition=self._cbv("disposition", "disp"),
            epcs=epc_lists.get(own, ()),
            parent=self._parent(),
            quantities=quantities.get(own_quantities, ()),
            lot=lot,
            expiry=expiry,
            transactions=self._transactions(),
            sources=self._parties("sourceList", "source"),
            destinations=self._parties("destinationList", "destination"),
        )

    def _times(self) -> datetime:
        """eventTime and recordTime are date-times with an offset (the schema's pattern checks
        eventTimeZoneOffset)."""
        event_time = self._timestamp("eventTime")
        if "recordTime" in self.event:
            self._timestamp("recordTime")
        return event_time

    def _timestamp(self, field: str) -> datetime:
        text = self.event[field]
        try:
            return parse_timestamp(text)
        except InvalidIdentifier as exc:
            raise self.fail(field, exc, text) from exc

    def _cbv(self, field: str, vocabulary: Vocabulary) -> str | None:
        text = self.event.get(field)
        return self._cbv_value(field, text, vocabulary) if text is not None else None

    def _cbv_value(self, field: str, text: str, vocabulary: Vocabulary) -> str:
        try:
            value = cbv_value(text, vocabulary)
        except InvalidIdentifier as exc:
            raise self.fail(field, exc, text) from exc
        if not value.known:
            self.reader.warnings.append(
                f"{self.where}/{field}: {text!r} is not a CBV {vocabulary} term"
            )
        return value.value

    def _epc(self, field: str, text: str) -> Epc:
        try:
            return parse_epc(text)
        except InvalidIdentifier as exc:
            raise self.fail(field, exc, text) from exc

    def _parent(self) -> Epc | None:
        return self._epc("parentID", self.event["parentID"]) if "parentID" in self.event else None

    def _epcs(self, name: str) -> tuple[Epc, ...]:
        return tuple(self._epc(f"{name}/{i}", text) for i, text in enumerate(self.event[name]))

    def _quantities(self, name: str) -> tuple[Quantity, ...]:
        found = []
        for i, element in enumerate(self.event[name]):
            epc = self._epc(f"{name}/{i}/epcClass", element["epcClass"])
            if "quantity" not in element:
                continue  # a quantity left unspecified counts nothing
            amount, uom = element["quantity"], element.get("uom")
            try:
                found.append(Quantity(epc, parse_quantity(Decimal(amount), uom), uom))
            except InvalidIdentifier as exc:
                raise self.fail(f"{name}/{i}/quantity", exc, amount) from exc
        return tuple(found)

    def _ilmd(self) -> tuple[str | None, date | None]:
        ilmd: Mapping[str, Any] = self.event.get("ilmd", {})
        lot = expiry = None
        for key, value in ilmd.items():
            name = mda_name(key)
            if name == "lotNumber" and isinstance(value, str | int):
                lot = str(value)
            elif name == "itemExpirationDate":
                expiry = self._expiry(f"ilmd/{key}", value)
        return lot, expiry

    def _expiry(self, field: str, value: object) -> date:
        try:
            if not isinstance(value, str):
                raise InvalidIdentifier(f"{value!r} is not a date of the form YYYY-MM-DD")
            return parse_date(value)
        except InvalidIdentifier as exc:
            raise self.fail(field, exc, value) from exc

    def _transactions(self) -> tuple[BusinessTransaction, ...]:
        found = []
        for i, entry in enumerate(self.event.get("bizTransactionList", [])):
            raw_type = entry.get("type")
            kind = (
                self._cbv_value(f"bizTransactionList/{i}/type", raw_type, "btt")
                if raw_type
                else "unspecified"
            )
            found.append(business_transaction(kind, entry["bizTransaction"]))
        return tuple(found)

    def _parties(self, list_name: str, name: str) -> tuple[PartyRef, ...]:
        found = []
        for i, entry in enumerate(self.event.get(list_name, [])):
            kind = self._cbv_value(f"{list_name}/{i}/type", entry["type"], "sdt")
            found.append(PartyRef(kind, entry[name]))
        return tuple(found)
