"""EPCIS 1.2 XML shipment data as exchanged under the GS1 US DSCSA Implementation Guideline.

The document is an ``epcis:EPCISDocument`` with a Standard Business Document Header (sender and
receiver GLNs), master data (EPCClass: NDC, name, form, strength, manufacturer; Location: names)
and an event list of commissioning ObjectEvents (ILMD lot and expiry), packing AggregationEvents
and a shipping ObjectEvent (business transactions, source and destination parties). The EPCIS 2.0
XML namespace is read the same way. :mod:`epcis_assembly` turns the events into the shipment.

The parser is hardened: a file with a DOCTYPE is refused outright (checked on the raw bytes before
parsing and on the parsed tree, which also catches encodings the byte check cannot see), entities
are never resolved, nothing is loaded from the network or the file system, and libxml2's limits on
depth and text size stay on (no ``huge_tree``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from lxml import etree

from rxledger.adapters.ingest.epcis_assembly import assemble
from rxledger.adapters.ingest.epcis_common import (
    CbvValue,
    DocumentHeader,
    Epc,
    EventRecord,
    PartyRef,
    Quantity,
    Vocabulary,
    business_transaction,
    cbv_value,
    check_offset,
    mda_name,
    parse_date,
    parse_epc,
    parse_quantity,
    parse_timestamp,
    party,
    product_info,
    reject,
)
from rxledger.adapters.ingest.limits import require_size
from rxledger.domain.errors import InvalidIdentifier, ShipmentDataRejected
from rxledger.domain.shipments import BusinessTransaction, ProductInfo, ShipmentData

EPCIS_NAMESPACES = ("urn:epcglobal:epcis:xsd:1", "urn:epcglobal:epcis:xsd:2")
SBDH = "{http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader}"
MDA = "{urn:epcglobal:cbv:mda}"
_ROOTS = frozenset(f"{{{ns}}}EPCISDocument" for ns in EPCIS_NAMESPACES)
_EVENT_KINDS = frozenset(
    (
        *("ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent"),
        *("AssociationEvent", "QuantityEvent"),
    )
)
_ACTIONS = frozenset(("ADD", "OBSERVE", "DELETE"))

Element = Any  # lxml.etree._Element; lxml ships no type information


def read_epcis_xml(data: bytes) -> ShipmentData:
    """Read an EPCIS 1.2 XML file into the shipment it announces, or refuse it as a whole."""
    require_size(data)
    root = parse_hardened(data)
    reader = _Reader(root)
    header = reader.header()
    events = [reader.event(index, element) for index, element in enumerate(reader.event_elements())]
    return assemble("epcis-xml", header, events, reader.warnings)


def parse_hardened(data: bytes) -> Element:
    """Parse XML with no DTD, no entities and no network; a DOCTYPE anywhere is refused."""
    if b"<!DOCTYPE" in data:
        raise _doctype_refused()
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as exc:
        line, column = exc.position
        raise ShipmentDataRejected(
            f"the file is not well-formed XML: {exc.msg}",
            reason="syntax",
            line=line,
            column=column,
        ) from exc
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise _doctype_refused()
    return root


def _doctype_refused() -> ShipmentDataRejected:
    return ShipmentDataRejected(
        "the file has a DOCTYPE declaration; DTDs and entities are refused in shipment data, "
        "since they can read local files or expand without bound",
        reason="doctype",
    )


@lru_cache(maxsize=256)
def _names(name: str) -> frozenset[str]:
    """An EPCIS element's tag: unqualified, as the 1.2 schema has it, or in an EPCIS namespace."""
    return frozenset((name, *(f"{{{ns}}}{name}" for ns in EPCIS_NAMESPACES)))


def _local(element: Element) -> str:
    tag = element.tag
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _text(element: Element | None) -> str | None:
    if element is None or element.text is None:
        return None
    return element.text.strip() or None


class _Reader:
    """Reads one parsed document; knows each element's path for the error messages."""

    def __init__(self, root: Element) -> None:
        if root.tag not in _ROOTS:
            raise ShipmentDataRejected(
                f"the file is not an EPCIS document: its root element is {root.tag}, "
                "not epcis:EPCISDocument",
                reason="root",
                root=str(root.tag),
            )
        self.root = root
        self.tree = root.getroottree()
        self.warnings: list[str] = []

    def path(self, element: Element) -> str:
        return str(self.tree.getpath(element))

    def child(self, element: Element | None, *names: str) -> Element | None:
        """The first element along ``names``, each an EPCIS (or a Clark-notation) name."""
        for name in names:
            if element is None:
                return None
            wanted = _names(name) if name[0] != "{" else frozenset((name,))
            element = next((c for c in element if c.tag in wanted), None)
        return element

    def children(self, element: Element | None, name: str) -> Iterator[Element]:
        if element is not None:
            wanted = _names(name)
            yield from (c for c in element if c.tag in wanted)

    # --- header ------------------------------------------------------------------------------

    def header(self) -> DocumentHeader:
        header = self.child(self.root, "EPCISHeader")
        sbdh = self.child(header, f"{SBDH}StandardBusinessDocumentHeader")
        master = self.child(header, "extension", "EPCISMasterData")
        if master is None:
            master = self.child(header, "EPCISMasterData")
        names, products = self._master_data(master)
        sender = _text(self.child(sbdh, f"{SBDH}Sender", f"{SBDH}Identifier"))
        receiver = _text(self.child(sbdh, f"{SBDH}Receiver", f"{SBDH}Identifier"))
        instance = self.child(sbdh, f"{SBDH}DocumentIdentification", f"{SBDH}InstanceIdentifier")
        return DocumentHeader(
            sender=party(sender, names) if sender else None,
            receiver=party(receiver, names) if receiver else None,
            instance_id=_text(instance),
            products=products,
            party_names=names,
        )

    def _master_data(
        self, master: Element | None
    ) -> tuple[dict[str, str], tuple[ProductInfo, ...]]:
        names: dict[str, str] = {}
        products: dict[str, ProductInfo] = {}
        vocabularies = self.children(self.child(master, "VocabularyList"), "Vocabulary")
        for vocabulary in vocabularies:
            kind = vocabulary.get("type", "")
            elements = self.children(
                self.child(vocabulary, "VocabularyElementList"), "VocabularyElement"
            )
            for element in elements:
                attributes = self._attributes(element)
                identifier = element.get("id", "")
                if kind.endswith("EPCClass"):
                    gtin = self._class_gtin(element, identifier)
                    if gtin is not None:
                        products.setdefault(gtin, product_info(gtin, attributes))
                elif kind.endswith("Location") and "name" in attributes:
                    names[identifier] = attributes["name"]
        return names, tuple(products.values())

    def _attributes(self, element: Element) -> dict[str, str]:
        found: dict[str, str] = {}
        for attribute in self.children(element, "attribute"):
            name = mda_name(attribute.get("id", ""))
            value = _text(attribute)
            if name is not None and value is not None:
                found[name] = value
        return found

    def _class_gtin(self, element: Element, identifier: str) -> str | None:
        try:
            epc = parse_epc(identifier)
        except InvalidIdentifier as exc:
            raise reject(self.path(element), exc.message, value=identifier) from exc
        if epc.gtin is None:
            self.warnings.append(f"{self.path(element)}: the EPCClass {identifier!r} names no GTIN")
        return epc.gtin

    # --- events ------------------------------------------------------------------------------

    def event_elements(self) -> Iterator[Element]:
        event_list = self.child(self.root, "EPCISBody", "EventList")
        if event_list is None:
            raise reject(self.path(self.root), "EPCISBody/EventList is missing")
        for element in event_list:
            if _local(element) == "extension":  # 1.2 wraps TransformationEvent in <extension>
                yield from (e for e in element if _local(e) in _EVENT_KINDS)
            elif isinstance(element.tag, str):
                yield element

    def event(self, index: int, element: Element) -> EventRecord:
        kind = _local(element)
        where = self.path(element)
        if kind not in _EVENT_KINDS:
            self.warnings.append(f"{where}: {kind} is not an EPCIS event; it is ignored")
            return EventRecord(index, where, kind)
        record = _EventReader(self, index, where, element, kind).read()
        declared = self.child(element, "baseExtension", "errorDeclaration")
        if declared is not None or self.child(element, "errorDeclaration") is not None:
            self.warnings.append(f"{where}: the event is declared erroneous, so it is ignored")
            return EventRecord(index, where, "ErroneousEvent", event_time=record.event_time)
        return record


class _EventReader:
    """Reads one event element; every error names the element and the event's index."""

    def __init__(
        self, reader: _Reader, index: int, where: str, element: Element, kind: str
    ) -> None:
        self.reader, self.index, self.where = reader, index, where
        self.element, self.kind = element, kind
        self.extension = reader.child(element, "extension")

    def read(self) -> EventRecord:
        lot, expiry = self._ilmd()
        return EventRecord(
            index=self.index,
            where=self.where,
            kind=self.kind,
            event_time=self._times(),
            action=self._action(),
            biz_step=self._cbv("bizStep", "bizstep"),
            disposition=self._cbv("disposition", "disp"),
            epcs=self._epcs("childEPCs" if self.kind == "AggregationEvent" else "epcList"),
            parent=self._parent(),
            quantities=self._quantities(),
            lot=lot,
            expiry=expiry,
            transactions=self._transactions(),
            sources=self._parties("sourceList", "source"),
            destinations=self._parties("destinationList", "destination"),
        )

    def fail(self, element: Element, message: str, **details: object) -> ShipmentDataRejected:
        return reject(self.reader.path(element), message, event_index=self.index, **details)

    def _field(self, name: str) -> Element | None:
        """A field that EPCIS 1.2 puts in the event's ``extension`` and 2.0 in the event itself."""
        found = self.reader.child(self.element, name)
        return found if found is not None else self.reader.child(self.extension, name)

    def _required_text(self, name: str) -> tuple[Element, str]:
        element = self.reader.child(self.element, name)
        text = _text(element)
        if element is None or text is None:
            raise self.fail(self.element, f"{name} is missing")
        return element, text

    def _times(self) -> datetime:
        """eventTime (and recordTime) with a UTC offset, and a well-formed eventTimeZoneOffset."""
        event_time = self._timestamp(*self._required_text("eventTime"))
        element, offset = self._required_text("eventTimeZoneOffset")
        try:
            check_offset(offset)
        except InvalidIdentifier as exc:
            raise self.fail(element, exc.message, value=offset) from exc
        record_time = self.reader.child(self.element, "recordTime")
        if record_time is not None:
            self._timestamp(record_time, _text(record_time) or "")
        return event_time

    def _timestamp(self, element: Element, text: str) -> datetime:
        try:
            return parse_timestamp(text)
        except InvalidIdentifier as exc:
            raise self.fail(element, exc.message, value=text) from exc

    def _action(self) -> str | None:
        if self.kind not in ("ObjectEvent", "AggregationEvent", "TransactionEvent"):
            return None
        element, action = self._required_text("action")
        if action not in _ACTIONS:
            raise self.fail(element, f"the action {action!r} is not ADD, OBSERVE or DELETE")
        return action

    def _cbv(self, name: str, vocabulary: Vocabulary) -> str | None:
        element = self.reader.child(self.element, name)
        text = _text(element)
        if text is None:
            return None
        value = self._cbv_value(element, text, vocabulary)
        return value.value

    def _cbv_value(self, element: Element, text: str, vocabulary: Vocabulary) -> CbvValue:
        try:
            value = cbv_value(text, vocabulary)
        except InvalidIdentifier as exc:
            raise self.fail(element, exc.message, value=text) from exc
        if not value.known:
            self.reader.warnings.append(
                f"{self.reader.path(element)}: {text!r} is not a CBV {vocabulary} term"
            )
        return value

    def _epc(self, element: Element) -> Epc:
        text = _text(element) or ""
        try:
            return parse_epc(text)
        except InvalidIdentifier as exc:
            raise self.fail(element, exc.message, value=text) from exc

    def _epcs(self, name: str) -> tuple[Epc, ...]:
        epc_list = self.reader.child(self.element, name)
        return tuple(self._epc(e) for e in self.reader.children(epc_list, "epc"))

    def _parent(self) -> Epc | None:
        element = self.reader.child(self.element, "parentID")
        return self._epc(element) if element is not None else None

    def _quantities(self) -> tuple[Quantity, ...]:
        name = "childQuantityList" if self.kind == "AggregationEvent" else "quantityList"
        elements = self.reader.children(self._field(name), "quantityElement")
        return tuple(q for q in map(self._quantity, elements) if q is not None)

    def _quantity(self, element: Element) -> Quantity | None:
        epc_class = self.reader.child(element, "epcClass")
        if epc_class is None:
            raise self.fail(element, "a quantityElement needs an epcClass")
        amount_text = _text(self.reader.child(element, "quantity"))
        if amount_text is None:
            return None  # a quantity left unspecified counts nothing
        uom = _text(self.reader.child(element, "uom"))
        try:
            amount = parse_quantity(Decimal(amount_text), uom)
        except InvalidOperation as exc:
            message = f"the quantity {amount_text!r} is not a number"
            raise self.fail(element, message, value=amount_text) from exc
        except InvalidIdentifier as exc:
            raise self.fail(element, exc.message, value=amount_text) from exc
        return Quantity(self._epc(epc_class), amount, uom)

    def _ilmd(self) -> tuple[str | None, date | None]:
        ilmd = self._field("ilmd")
        if ilmd is None:
            return None, None
        lot = _text(self.reader.child(ilmd, f"{MDA}lotNumber"))
        expiry_element = self.reader.child(ilmd, f"{MDA}itemExpirationDate")
        expiry_text = _text(expiry_element)
        if expiry_text is None:
            return lot, None
        try:
            return lot, parse_date(expiry_text)
        except InvalidIdentifier as exc:
            raise self.fail(expiry_element, exc.message, value=expiry_text) from exc

    def _transactions(self) -> tuple[BusinessTransaction, ...]:
        transactions = []
        listed = self.reader.child(self.element, "bizTransactionList")
        for element in self.reader.children(listed, "bizTransaction"):
            raw_type, value = element.get("type"), _text(element)
            if value is None:
                raise self.fail(element, "a bizTransaction needs a value")
            kind = self._cbv_value(element, raw_type, "btt").value if raw_type else "unspecified"
            transactions.append(business_transaction(kind, value))
        return tuple(transactions)

    def _parties(self, list_name: str, name: str) -> tuple[PartyRef, ...]:
        refs = []
        for element in self.reader.children(self._field(list_name), name):
            raw_type, value = element.get("type"), _text(element)
            if raw_type is None or value is None:
                raise self.fail(element, f"a {name} needs a type and a value")
            refs.append(PartyRef(self._cbv_value(element, raw_type, "sdt").value, value))
        return tuple(refs)
