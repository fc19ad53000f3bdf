"""From EPCIS events to the shipment a receipt should contain.

The rules, the same for EPCIS 1.2 XML and 2.0 JSON:

- An ObjectEvent with action ADD commissions its packages; its ILMD gives their lot and expiry.
  The same package commissioned twice with a different lot or expiry is refused.
- An AggregationEvent ADD or OBSERVE puts its children into its parent (pallet SSCC → case SSCC or
  SGTIN → unit SGTIN); DELETE takes them out. A package is in at most one container at a time,
  and a container can never end up inside itself: both are refused.
- A shipping event (business step ``shipping``) ships its packages with everything inside them;
  ``void_shipping`` takes them back. The packages of the shipment are the shipped packages and
  their contents, pallet first; without a shipping event, every package the file names.
- Lines count the shipped saleable units (serialized packages that hold nothing) per GTIN, lot
  and purchase order, plus the class-level quantities (LGTIN or GTIN) of the shipping events.
- Odd but acceptable data is a warning, never silently dropped: a serialized unit that is
  aggregated or shipped but never commissioned in the file is expected with unknown lot and
  expiry (it may have been commissioned in an earlier file; receiving takes lot and expiry from
  the scan), commissioned packages that are not shipped, shipped products without master data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from rxledger.adapters.ingest.epcis_common import (
    DocumentHeader,
    Epc,
    EventRecord,
    PartyRef,
    Quantity,
    party,
    reject,
)
from rxledger.domain.shipments import (
    BusinessTransaction,
    ExpectedLine,
    ExpectedPackage,
    Party,
    ProductInfo,
    ShipmentData,
    ShipmentFormat,
)

_LATEST = datetime.max.replace(tzinfo=UTC)
_SHOWN = 5  # identifiers named in one warning


@dataclass(slots=True)
class _Package:
    epc: Epc
    lot: str | None = None
    expiry: date | None = None
    commissioned: bool = False
    parent: str | None = None
    children: dict[str, None] = field(default_factory=dict)  # an ordered set


@dataclass(slots=True)
class _LineTotal:
    quantity: int = 0
    expiries: set[date] = field(default_factory=set)


@dataclass(slots=True)
class _Trace:
    """The state of the packages as the events, in time order, leave them."""

    packages: dict[str, _Package] = field(default_factory=dict)
    shipped: dict[str, str | None] = field(default_factory=dict)  # key → purchase order
    shipping_events: list[EventRecord] = field(default_factory=list)
    transactions: dict[BusinessTransaction, None] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def package(self, epc: Epc) -> _Package:
        found = self.packages.get(epc.key)
        if found is None:
            found = self.packages[epc.key] = _Package(epc)
        return found

    def apply(self, event: EventRecord) -> None:
        for transaction in event.transactions:
            self.transactions[transaction] = None
        for epc in event.epcs:
            if epc.is_package:
                self.package(epc)
        if event.kind == "ObjectEvent" and event.action == "ADD":
            self._commission(event)
        if event.kind == "AggregationEvent":
            self._aggregate(event)
        if event.biz_step == "shipping":
            self._ship(event)
        elif event.biz_step == "void_shipping":
            for epc in (*event.epcs, *((event.parent,) if event.parent else ())):
                self.shipped.pop(epc.key, None)

    def _commission(self, event: EventRecord) -> None:
        """Commissioning gives a package its lot and expiry; a different second one is refused."""
        for epc in event.epcs:
            if not epc.is_package:
                continue
            package = self.packages[epc.key]
            if package.commissioned and (package.lot, package.expiry) != (event.lot, event.expiry):
                raise reject(
                    event.where,
                    f"{epc.uri} is commissioned again with lot {event.lot!r} and expiry "
                    f"{event.expiry}, but it already has lot {package.lot!r} and expiry "
                    f"{package.expiry}",
                    event_index=event.index,
                    epc=epc.uri,
                )
            package.lot, package.expiry, package.commissioned = event.lot, event.expiry, True

    def _aggregate(self, event: EventRecord) -> None:
        if event.parent is None or not event.parent.is_package:
            if event.action == "ADD":
                raise reject(
                    event.where,
                    "an AggregationEvent with action ADD needs a parentID naming a package",
                    event_index=event.index,
                )
            return
        parent = self.package(event.parent)
        children = [epc for epc in event.epcs if epc.is_package]
        if event.action == "DELETE":
            self._unpack(parent, children)
        else:
            for child in children:
                self._pack(event, parent, self.packages[child.key])

    def _pack(self, event: EventRecord, parent: _Package, child: _Package) -> None:
        """A package is in one container at a time, and never (indirectly) inside itself."""
        parent_key, child_key = parent.epc.key, child.epc.key
        if child.parent is not None and child.parent != parent_key:
            raise reject(
                event.where,
                f"{child.epc.uri} is packed into {parent.epc.uri}, but it is still in "
                f"{self.packages[child.parent].epc.uri}",
                event_index=event.index,
                epc=child.epc.uri,
            )
        ancestor: str | None = parent_key
        while ancestor is not None:
            if ancestor == child_key:
                raise reject(
                    event.where,
                    f"{child.epc.uri} cannot be packed into {parent.epc.uri}, which it contains",
                    event_index=event.index,
                    epc=child.epc.uri,
                )
            ancestor = self.packages[ancestor].parent
        child.parent = parent_key
        parent.children[child_key] = None

    def _unpack(self, parent: _Package, children: Sequence[Epc]) -> None:
        keys = [c.key for c in children] if children else list(parent.children)
        for key in keys:
            if key in parent.children:
                del parent.children[key]
                self.packages[key].parent = None

    def _ship(self, event: EventRecord) -> None:
        self.shipping_events.append(event)
        purchase_order = next((t.id for t in event.transactions if t.type == "po"), None)
        for epc in (*event.epcs, *((event.parent,) if event.parent else ())):
            if epc.is_package:
                self.package(epc)
                self.shipped.setdefault(epc.key, purchase_order)


def assemble(
    shipment_format: ShipmentFormat,
    header: DocumentHeader,
    events: Sequence[EventRecord],
    warnings: Iterable[str] = (),
) -> ShipmentData:
    """Apply the events in time order (document order among equal times); normalize the result."""
    trace = _Trace(warnings=list(warnings))
    for event in sorted(events, key=lambda e: e.event_time or _LATEST):
        trace.apply(event)
    order, purchase_orders = _shipment_packages(trace)
    packages = _expected_packages(trace, order)
    products = {p.gtin: p for p in header.products if p.gtin}
    lines = _serialized_lines(trace, order, purchase_orders)
    lines += _quantity_lines(trace)
    _warn_about(trace, order, products)
    shipping = trace.shipping_events[0] if trace.shipping_events else None
    names = header.party_names or {}
    return ShipmentData(
        format=shipment_format,
        shipment_id=_shipment_id(trace, header),
        shipped_at=shipping.event_time if shipping else None,
        sender=header.sender or _party_of(shipping, "owning_party", names, source=True),
        receiver=header.receiver or _party_of(shipping, "owning_party", names, source=False),
        ship_from=_party_of(shipping, "location", names, source=True),
        ship_to=_party_of(shipping, "location", names, source=False),
        transactions=tuple(trace.transactions),
        products=header.products,
        lines=_numbered(lines, products),
        packages=packages,
        events=len(events),
        warnings=tuple(trace.warnings),
    )


def _shipment_packages(trace: _Trace) -> tuple[list[str], dict[str, str | None]]:
    """The shipped packages and their contents, depth first; each with its shipment's PO."""
    if trace.shipping_events:
        roots: Mapping[str, str | None] = trace.shipped
    else:
        roots = {key: None for key, p in trace.packages.items() if p.parent is None}
    order: list[str] = []
    purchase_orders: dict[str, str | None] = {}
    for root, purchase_order in roots.items():
        stack = [root]
        while stack:
            key = stack.pop()
            if key in purchase_orders:
                continue  # a package shipped both on its own and inside its container
            purchase_orders[key] = purchase_order
            order.append(key)
            stack.extend(reversed(trace.packages[key].children))
    return order, purchase_orders


def _expected_packages(trace: _Trace, order: Sequence[str]) -> tuple[ExpectedPackage, ...]:
    included = set(order)
    result = []
    for key in order:
        package = trace.packages[key]
        epc = package.epc
        result.append(
            ExpectedPackage(
                gtin=epc.gtin,
                serial=epc.serial,
                lot=package.lot,
                expiry=package.expiry,
                sscc=epc.sscc,
                parent=package.parent if package.parent in included else None,
                container=bool(package.children),
            )
        )
    return tuple(result)


_LineKey = tuple[str, str | None, str | None, str]  # gtin, lot, purchase order, unit
_Line = tuple[_LineKey, int, date | None]  # key, quantity, expiry


def _serialized_lines(
    trace: _Trace, order: Sequence[str], purchase_orders: Mapping[str, str | None]
) -> list[_Line]:
    """Count the shipped saleable units per GTIN, lot and PO; a lot has its earliest expiry."""
    if not trace.shipping_events:
        return []
    totals: dict[_LineKey, _LineTotal] = {}
    for key in order:
        package = trace.packages[key]
        gtin = package.epc.gtin
        if package.epc.kind != "sgtin" or package.children or gtin is None:
            continue
        total = totals.setdefault((gtin, package.lot, purchase_orders[key], "EA"), _LineTotal())
        total.quantity += 1
        if package.expiry is not None:
            total.expiries.add(package.expiry)
    lines: list[_Line] = []
    for (gtin, lot, po, unit), total in totals.items():
        if len(total.expiries) > 1:
            trace.warnings.append(
                f"units of GTIN {gtin} lot {lot!r} carry different expiry dates "
                f"({', '.join(sorted(map(str, total.expiries)))}); the earliest is expected"
            )
        expiry = min(total.expiries) if total.expiries else None
        lines.append(((gtin, lot, po, unit), total.quantity, expiry))
    return lines


def _quantity_lines(trace: _Trace) -> list[_Line]:
    """Class-level quantities (LGTIN, GTIN) of the shipping events, in whole units."""
    lines: list[_Line] = []
    for event in trace.shipping_events:
        purchase_order = next((t.id for t in event.transactions if t.type == "po"), None)
        for quantity in event.quantities:
            counted = _whole(quantity)
            if quantity.epc.gtin is None or counted is None:
                trace.warnings.append(
                    f"{event.where}: the quantity {quantity.amount} {quantity.uom or ''} of "
                    f"{quantity.epc.uri} is not a whole number of a product, so it is no line"
                )
                continue
            key = (quantity.epc.gtin, quantity.epc.lot, purchase_order, quantity.uom or "EA")
            lines.append((key, counted, None))
    return lines


def _whole(quantity: Quantity) -> int | None:
    amount: Decimal = quantity.amount
    return int(amount) if amount == amount.to_integral_value() else None


def _numbered(
    lines: Sequence[_Line], products: Mapping[str, ProductInfo]
) -> tuple[ExpectedLine, ...]:
    result = []
    for number, ((gtin, lot, po, unit), quantity, expiry) in enumerate(lines, start=1):
        product = products.get(gtin)
        result.append(
            ExpectedLine(
                line_no=number,
                quantity=quantity,
                unit=unit,
                gtin=gtin,
                ndc=product.ndc if product else None,
                lot=lot,
                expiry=expiry,
                description=product.name if product else None,
                purchase_order=po,
            )
        )
    return tuple(result)


def _warn_about(trace: _Trace, order: Sequence[str], products: Mapping[str, ProductInfo]) -> None:
    if not trace.shipping_events:
        trace.warnings.append("the file has no shipping event, so it expects no lines")
    never = [k for k in order if trace.packages[k].epc.kind == "sgtin"]
    never = [k for k in never if not trace.packages[k].commissioned]
    if never:
        trace.warnings.append(
            f"{len(never)} serialized package(s) are never commissioned in this file, so their "
            f"lot and expiry are unknown: {_some(never)}"
        )
    if trace.shipping_events:
        shipped = set(order)
        idle = [k for k, p in trace.packages.items() if p.commissioned and k not in shipped]
        if idle:
            trace.warnings.append(
                f"{len(idle)} commissioned package(s) are not shipped: {_some(idle)}"
            )
    gtins = dict.fromkeys(trace.packages[k].epc.gtin for k in order)
    missing = [g for g in gtins if g is not None and g not in products]
    if missing:
        trace.warnings.append(f"no master data for GTIN(s) {_some(missing)}")


def _some(keys: Sequence[str]) -> str:
    shown = ", ".join(keys[:_SHOWN])
    return shown if len(keys) <= _SHOWN else f"{shown}, …"


def _shipment_id(trace: _Trace, header: DocumentHeader) -> str | None:
    """The despatch advice number names the shipment; else the document's own id."""
    desadv = next((t.id for t in trace.transactions if t.type == "desadv"), None)
    return desadv or header.instance_id


def _party_of(
    event: EventRecord | None, kind: str, names: Mapping[str, str], *, source: bool
) -> Party | None:
    if event is None:
        return None
    refs: Sequence[PartyRef] = event.sources if source else event.destinations
    found = next((r.id for r in refs if r.type == kind), None)
    return party(found, names) if found else None
