"""METRC incoming transfer manifests, read from the API's own JSON shapes into ``ShipmentData``.

A manifest file is one of two shapes, both built from METRC API responses as they come:

1. The responses side by side::

       {"transfer":   <one record of GET /transfers/v2/incoming, or that paged response>,
        "deliveries": <GET /transfers/v2/{id}/deliveries: a list or the paged response; optional>,
        "packages":   <GET /transfers/v2/deliveries/{id}/packages: a list or the paged response>}

2. One incoming transfer record with its packages inside it: ``"Packages": [...]``, or
   ``"Deliveries": [{..., "Packages": [...]}]`` (the nesting of METRC's own transfer requests).

A paged response (``{"Data": [...], "Total": …}``) stands for its ``Data``; a transfer response
must hold exactly one transfer. Of several deliveries, ours is the one whose ``Id`` is the
transfer's ``DeliveryId``, else the only one, else the one to the transfer's recipient.

Mapping: ``ManifestNumber`` is the shipment id; the shipper's and the recipient's facility licence
numbers are the sender and receiver (the receiving service checks them against the site); each
package is one ``ExpectedPackage`` whose serial is its UID tag (``PackageLabel``, or ``Label`` in
the package shape of ``GET /packages/v2/{label}``), with its ``LabTestingState``, and one
``ExpectedLine`` referencing the tag. The production batch is the lot; ``ExpirationDate`` (else
``UseByDate``) the expiry.

Quantities are whole numbers in a base unit, computed with ``Decimal`` from the JSON text (never
through a float): weights in milligrams (``mg``), volumes in microlitres (``uL``), counts as
``EA``. A metric or count quantity that is not a whole number of its base unit (1.2345 g, 2.5
each) is refused. The avoirdupois ounce and pound are defined as 28,349.523125 mg and
453,592.37 mg, so most ounce weights are not whole milligrams; they are rounded to the nearest
milligram (half to even), far below any scale's resolution, with a warning giving the exact value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any, NoReturn

from rxledger.adapters.ingest.limits import require_size
from rxledger.domain.errors import ShipmentDataRejected
from rxledger.domain.shipments import (
    BusinessTransaction,
    ExpectedLine,
    ExpectedPackage,
    Party,
    ProductInfo,
    ShipmentData,
)

JsonObject = dict[str, Any]
Located = tuple[JsonObject, str]  # an object and its JSON path, for error messages


@dataclass(frozen=True, slots=True)
class _Unit:
    base: str
    factor: Decimal
    rounds: bool = False  # the definition itself is not a whole number of base units


_GRAM = Decimal(1000)
_UNITS: dict[str, _Unit] = {
    "each": _Unit("EA", Decimal(1)),
    "milligrams": _Unit("mg", Decimal(1)),
    "grams": _Unit("mg", _GRAM),
    "kilograms": _Unit("mg", _GRAM * 1000),
    "ounces": _Unit("mg", Decimal("28349.523125"), rounds=True),
    "pounds": _Unit("mg", Decimal("453592.37"), rounds=True),
    "milliliters": _Unit("uL", Decimal(1000)),
    "liters": _Unit("uL", Decimal(1_000_000)),
}
_ABBREVIATIONS = {"ea": "each", "mg": "milligrams", "g": "grams", "kg": "kilograms",
                  "oz": "ounces", "lb": "pounds", "ml": "milliliters", "l": "liters"}  # fmt: skip
# Far above any package (a tonne is 10^9 mg); bounds the integers a hostile file can make us build.
_MAX_BASE_UNITS = Decimal(10) ** 15
_NOT_SHIPPING = frozenset({"Rejected", "Returned"})
_UNIT_FIELDS = (
    "ShippedUnitOfMeasureName",
    "UnitOfMeasureName",
    "ShippedUnitOfMeasureAbbreviation",
    "UnitOfMeasureAbbreviation",
)


def read_manifest(data: bytes) -> ShipmentData:
    """Read an incoming transfer manifest; refuse it whole if any part of it is unusable."""
    require_size(data)
    transfer, delivery, packages = _parts(_load(data))
    return _ManifestReader(transfer, delivery).read(packages)


# --- JSON -----------------------------------------------------------------------------------------


def _rejected(message: str, path: str, **details: Any) -> ShipmentDataRejected:
    """A ``ShipmentDataRejected`` whose message starts with the JSON path of what is wrong."""
    where = "" if path == "$" or message.startswith("$") else f"{path}: "
    return ShipmentDataRejected(f"METRC manifest: {where}{message}", path=path, **details)


def _missing(path: str) -> NoReturn:
    raise _rejected(f"{path} is missing", path)


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def _load(data: bytes) -> Any:
    """Parse JSON with every number as an exact ``Decimal`` or ``int``; NaN and Infinity refused."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _rejected(
            f"the file is not UTF-8 text ({exc.reason} at byte {exc.start})", "$"
        ) from exc
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant)
    except RecursionError as exc:
        raise _rejected("the JSON is nested too deeply", "$") from exc
    except ValueError as exc:
        raise _rejected(f"the file is not JSON: {exc}", "$") from exc


def _object(value: Any, path: str) -> JsonObject:
    if not isinstance(value, dict):
        raise _rejected(f"{path} must be an object, not {_kind(value)}", path)
    return value


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _records(value: Any, path: str) -> list[Located]:
    """A list of objects, or the ``Data`` of a paged API response."""
    if isinstance(value, dict) and "Data" in value:
        value, path = value["Data"], f"{path}.Data"
    if not isinstance(value, list):
        raise _rejected(f"{path} must be a list, not {_kind(value)}", path)
    return [(_object(item, f"{path}[{i}]"), f"{path}[{i}]") for i, item in enumerate(value)]


def _field(obj: JsonObject, path: str, keys: tuple[str, ...]) -> tuple[str, Any]:
    """The first of ``keys`` that has a value, with its path; else the path of the first key the
    object has at all (so the message names the field the sender's shape uses)."""
    for key in keys:
        if obj.get(key) is not None:
            return f"{path}.{key}", obj[key]
    named = next((key for key in keys if key in obj), keys[0])
    return f"{path}.{named}", None


def _text(obj: JsonObject, path: str, *keys: str) -> str | None:
    """A string field, or None when it is absent or blank; any other type is refused."""
    where, value = _field(obj, path, keys)
    if value is not None and not isinstance(value, str):
        raise _rejected(f"{where} must be a string, not {_kind(value)}", where)
    if value is None or not value.strip():
        return None
    return value.strip()


def _required(obj: JsonObject, path: str, *keys: str) -> str:
    """A string field that must be there and not blank."""
    value = _text(obj, path, *keys)
    if value is None:
        _missing(_field(obj, path, keys)[0])
    return value


# --- the parts of a manifest ----------------------------------------------------------------------


def _parts(document: Any) -> tuple[Located, Located | None, list[Located]]:
    """The transfer, our delivery of it (when given) and our packages, from either shape."""
    root = _object(document, "$")
    if any(key in root for key in ("transfer", "deliveries", "packages")):
        transfer = _one_transfer(root.get("transfer"), "$.transfer")
        delivery = _our_delivery(transfer, _listed(root, "deliveries", "$.deliveries"))
        if "packages" not in root:
            _missing("$.packages")
        return transfer, delivery, _records(root["packages"], "$.packages")
    transfer = (root, "$")
    delivery = _our_delivery(transfer, _listed(root, "Deliveries", "$.Deliveries"))
    if "Packages" in root:
        return transfer, delivery, _records(root["Packages"], "$.Packages")
    if delivery is None or "Packages" not in delivery[0]:
        raise _rejected("the transfer has no packages: give Packages or Deliveries[].Packages", "$")
    return transfer, delivery, _records(delivery[0]["Packages"], f"{delivery[1]}.Packages")


def _listed(root: JsonObject, key: str, path: str) -> list[Located]:
    """An optional list of records: absent or null is none."""
    return _records(root[key], path) if root.get(key) is not None else []


def _one_transfer(value: Any, path: str) -> Located:
    """A transfer record, or a paged response that holds exactly one."""
    if value is None:
        _missing(path)
    if isinstance(value, dict) and "Data" in value:
        records = _records(value, path)
        if len(records) != 1:
            raise _rejected(f"{path} holds {len(records)} transfers; a manifest is one", path)
        return records[0]
    return _object(value, path), path


def _our_delivery(transfer: Located, deliveries: list[Located]) -> Located | None:
    """The delivery named by the transfer's DeliveryId, else the only one, else the recipient's."""
    if not deliveries:
        return None
    obj, path = transfer
    delivery_id = obj.get("DeliveryId")
    if delivery_id is not None:
        for delivery in deliveries:
            if delivery[0].get("Id") == delivery_id:
                return delivery
        raise _rejected(f"no delivery with Id {delivery_id} (the transfer's DeliveryId)", path)
    if len(deliveries) == 1:
        return deliveries[0]
    recipient = obj.get("RecipientFacilityLicenseNumber")
    matches = [d for d in deliveries if d[0].get("RecipientFacilityLicenseNumber") == recipient]
    if recipient is None or len(matches) != 1:
        raise _rejected(
            f"the transfer has {len(deliveries)} deliveries and does not say which is ours "
            "(DeliveryId)",
            path,
        )
    return matches[0]


# --- quantities -----------------------------------------------------------------------------------


def _unit(name: str, path: str) -> _Unit:
    key = name.strip().lower()
    unit = _UNITS.get(_ABBREVIATIONS.get(key, key))
    if unit is None:
        known = ", ".join(n.title() for n in _UNITS)
        raise _rejected(
            f"{path}: unit {name!r} is not one this reader converts ({known})", path, unit=name
        )
    return unit


def _amount(value: Any, path: str) -> Decimal:
    """A JSON number, exactly; strings and booleans are not numbers."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise _rejected(f"{path}: quantity {value!r} is not a number", path)
    amount = Decimal(value)
    if amount <= 0:
        raise _rejected(f"{path}: quantity {value} must be positive", path)
    return amount


def base_quantity(value: Any, unit_name: str, path: str) -> tuple[int, str, str | None]:
    """A package quantity as a whole number of base units, the base unit, and any rounding note.

    Metric weights and volumes and counts must come out whole; ounces and pounds are rounded to
    the milligram because their definitions are not whole milligrams.
    """
    amount, unit = _amount(value, path), _unit(unit_name, path)
    with localcontext() as exact_context:
        exact_context.prec = 60  # JSON numbers are short; 60 digits keep every product exact
        exact = amount * unit.factor
        if exact > _MAX_BASE_UNITS:
            raise _rejected(f"{path}: {amount} {unit_name} is more than any package holds", path)
        whole = exact.to_integral_value(rounding=ROUND_HALF_EVEN)
    if whole == exact:
        return int(whole), unit.base, None
    if not unit.rounds:
        raise _rejected(
            f"{path}: {amount} {unit_name} is not a whole number of {unit.base}",
            path,
            quantity=str(amount),
            unit=unit_name,
        )
    if whole == 0:
        raise _rejected(f"{path}: {amount} {unit_name} is less than one {unit.base}", path)
    note = (
        f"{amount} {unit_name} is {exact.normalize():f} {unit.base}; rounded to {whole} {unit.base}"
    )
    return int(whole), unit.base, note


# --- dates ----------------------------------------------------------------------------------------


def _datetime(obj: JsonObject, path: str, key: str) -> datetime | None:
    """An ISO 8601 date and time; METRC writes 0001-01-01 for none."""
    raw = _text(obj, path, key)
    if raw is None:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise _rejected(f"{path}.{key} {raw!r} is not a date and time", f"{path}.{key}") from exc
    return None if parsed.year == 1 else parsed


def _date(obj: JsonObject, path: str, *keys: str) -> date | None:
    where, _ = _field(obj, path, keys)
    raw = _text(obj, path, *keys)
    if raw is None:
        return None
    try:
        return datetime.fromisoformat(raw).date()
    except ValueError as exc:
        raise _rejected(f"{where} {raw!r} is not a date", where) from exc


# --- the reader -----------------------------------------------------------------------------------


class _ManifestReader:
    """Reads one transfer, our delivery of it and its packages into ``ShipmentData``."""

    def __init__(self, transfer: Located, delivery: Located | None) -> None:
        self.transfer, self.path = transfer
        self.delivery = delivery
        self.warnings: list[str] = []
        self.lines: list[ExpectedLine] = []
        self.packages: list[ExpectedPackage] = []
        self.products: dict[tuple[str | None, str | None], ProductInfo] = {}
        self.labels: dict[str, str] = {}  # UID tag → where it was first seen

    def read(self, packages: list[Located]) -> ShipmentData:
        """The shipment: who sends to whom, when, and what each package holds."""
        if self.transfer.get("IsVoided") is True:
            raise _rejected(
                f"{self.path}: the transfer is voided; it cannot be received", self.path
            )
        manifest = _required(self.transfer, self.path, "ManifestNumber")
        sender, receiver = self._shipper(), self._recipient()
        if sender.id == receiver.id:
            self.warnings.append(f"the shipper and the recipient have the same licence {sender.id}")
        shipped_at, shipped_on = self._departure()
        if not packages:
            raise _rejected("the manifest lists no packages", self.path)
        for obj, path in packages:
            self._read_package(obj, path)
        self._check_count(len(packages))
        return ShipmentData(
            format="metrc-manifest",
            shipment_id=manifest,
            shipped_at=shipped_at,
            shipped_on=shipped_on,
            sender=sender,
            receiver=receiver,
            ship_from=sender,
            ship_to=receiver,
            transactions=self._transactions(manifest),
            products=tuple(self.products.values()),
            lines=tuple(self.lines),
            packages=tuple(self.packages),
            warnings=tuple(self.warnings),
        )

    def _shipper(self) -> Party:
        licence = _required(self.transfer, self.path, "ShipperFacilityLicenseNumber")
        name = _text(self.transfer, self.path, "ShipperFacilityName")
        return Party(licence, "licence", name)

    def _recipient(self) -> Party:
        """The recipient's licence, from the transfer or our delivery; the two must agree."""
        key = "RecipientFacilityLicenseNumber"
        licence = _text(self.transfer, self.path, key)
        name = _text(self.transfer, self.path, "RecipientFacilityName")
        if self.delivery is not None:
            obj, path = self.delivery
            theirs = _text(obj, path, key)
            if licence and theirs and licence != theirs:
                raise _rejected(
                    f"the transfer's recipient licence {licence} differs from its delivery's "
                    f"{theirs}",
                    path,
                )
            licence = licence or theirs
            name = name or _text(obj, path, "RecipientFacilityName")
        if licence is None:
            _missing(f"{self.path}.{key}")
        return Party(licence, "licence", name)

    def _departure(self) -> tuple[datetime | None, date | None]:
        """The actual departure, else the estimated one; without a UTC offset only its date."""
        sources = [self.delivery] if self.delivery else []
        sources.append((self.transfer, self.path))
        for key in ("ActualDepartureDateTime", "EstimatedDepartureDateTime"):
            for obj, path in sources:
                departed = _datetime(obj, path, key)
                if departed is None:
                    continue
                if departed.tzinfo is None:
                    self.warnings.append(
                        f"the departure time {obj[key]} has no UTC offset; only its date is kept"
                    )
                    return None, departed.date()
                return departed.astimezone(UTC), departed.date()
        return None, None

    def _transactions(self, manifest: str) -> tuple[BusinessTransaction, ...]:
        """The manifest itself, and the invoice when the shipper gives one."""
        found = [BusinessTransaction("desadv", manifest)]
        for obj, path in filter(None, [(self.transfer, self.path), self.delivery]):
            invoice = _text(obj, path, "InvoiceNumber")
            if invoice and BusinessTransaction("inv", invoice) not in found:
                found.append(BusinessTransaction("inv", invoice))
        return tuple(found)

    def _read_package(self, obj: JsonObject, path: str) -> None:
        """One package: a UID-tagged package and a line of its quantity in base units."""
        label = _required(obj, path, "PackageLabel", "Label")
        if label in self.labels:
            raise _rejected(
                f"{path}: package label {label} appears twice (first at {self.labels[label]})",
                path,
                label=label,
            )
        self.labels[label] = path
        quantity_path, quantity = _field(obj, path, ("ShippedQuantity", "Quantity"))
        if quantity is None:
            _missing(quantity_path)
        unit_name = _required(obj, path, *_UNIT_FIELDS)
        amount, unit, note = base_quantity(quantity, unit_name, quantity_path)
        self._note_state(obj, path, label)
        if note:
            self.warnings.append(f"package {label}: {note}")
        self._add(obj, path, label, amount, unit)

    def _note_state(self, obj: JsonObject, path: str, label: str) -> None:
        state = _text(obj, path, "ShipmentPackageState", "ShipmentPackageStateName")
        if state in _NOT_SHIPPING:
            self.warnings.append(f"package {label} is in state {state}")

    def _add(self, obj: JsonObject, path: str, label: str, amount: int, unit: str) -> None:
        """The package's line, its UID-tagged package and its product."""
        lot = _text(obj, path, "ProductionBatchNumber")
        expiry = _date(obj, path, "ExpirationDate", "UseByDate")
        item = _object(obj["Item"], f"{path}.Item") if obj.get("Item") is not None else {}
        name = _text(obj, path, "ItemName", "ProductName") or _text(item, f"{path}.Item", "Name")
        category = _text(obj, path, "ItemCategoryName", "ProductCategoryName") or _text(
            item, f"{path}.Item", "ProductCategoryName"
        )
        state = _text(obj, path, "LabTestingState", "LabTestingStateName")
        self.lines.append(
            ExpectedLine(len(self.lines) + 1, amount, unit, lot=lot, expiry=expiry,
                         description=name, reference=label)
        )  # fmt: skip
        self.packages.append(ExpectedPackage(None, label, lot, expiry, lab_testing_state=state))
        if name or category:
            self.products.setdefault((name, category), ProductInfo(name=name, category=category))

    def _check_count(self, listed: int) -> None:
        """The transfer's own package count should match; a difference is worth a warning."""
        obj, _ = self.delivery or (self.transfer, self.path)
        counted = obj.get("DeliveryPackageCount")
        if isinstance(counted, int) and not isinstance(counted, bool) and 0 < counted != listed:
            self.warnings.append(
                f"the transfer counts {counted} packages for this delivery; the manifest lists "
                f"{listed}"
            )
