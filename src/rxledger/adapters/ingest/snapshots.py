"""On-hand snapshots and sales exports of other systems, read for reconciliation with the ledger.

Three shapes, each read whole or refused whole (``InvalidInputFile`` names every bad row by its
line number, or every bad package by its JSON path):

- **METRC packages** (``source="metrc"``): a list of package records, or the paged response of
  ``GET /packages/v2/active`` (``{"Data": [...]}``). Each package is one line: its UID tag
  (``Label``, or ``PackageLabel``) is the external id, ``ProductionBatchNumber`` the lot, and
  ``Quantity`` in ``UnitOfMeasureName`` (or its abbreviation) becomes whole base units (mg, uL,
  EA) by the METRC manifest reader's own conversion (``metrc.base_quantity``). A package at zero
  is kept (zero units); a label listed twice is refused.
- **On-hand CSV** (``source="pos"`` or ``"csv"``): a header with one identifier column (``sku``,
  ``ndc``, ``gtin`` or ``barcode``, the first present), an optional ``lot`` and ``quantity``, a
  whole number of the item's base units, not negative.
- **POS sales CSV**: ``date`` (YYYY-MM-DD, or an ISO date and time), ``sku``, ``quantity`` (whole
  base units; negative for a refund).

Exports name their columns as they please: a header is compared case-, space- and
punctuation-blind, and the usual names stand for each column (``Item Number`` or ``PLU`` for the
SKU, ``UPC`` for a barcode, ``NDC11`` for the NDC, ``Qty``, ``On Hand`` or ``QOH`` for the
quantity, ``Batch`` for the lot, ``Qty Sold`` for sales, ``Transaction Date`` for the day; see
``_ALIASES``). The delimiter is the first of comma, semicolon, tab or bar the header uses, and a
quantity may group its thousands with commas (``1,250``) but never carries a fraction.

Every reader refuses a file over the ingest limit before parsing it.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from rxledger.adapters.ingest import metrc
from rxledger.adapters.ingest.limits import require_size
from rxledger.domain.errors import InvalidInputFile, ShipmentDataRejected

Source = Literal["metrc", "pos", "csv"]
SOURCES: tuple[Source, ...] = ("metrc", "pos", "csv")
IDENTIFIER_COLUMNS = ("sku", "ndc", "gtin", "barcode")
# The names exports use for each column, after ``_column_key`` (lower case, runs of spaces and
# punctuation as one underscore).
_ALIASES: dict[str, tuple[str, ...]] = {
    "sku": (
        "sku",
        "item_sku",
        "item_number",
        "item_no",
        "item_code",
        "product_code",
        "product_sku",
        "plu",
    ),
    "ndc": ("ndc", "ndc10", "ndc_10", "ndc11", "ndc_11", "ndc_code", "national_drug_code"),
    "gtin": ("gtin", "gtin14", "gtin_14", "gtin13"),
    "barcode": ("barcode", "upc", "upc_code", "upc_a", "ean", "ean13", "scan_code"),
    "lot": ("lot", "lot_number", "lot_no", "lot_num", "batch", "batch_number", "batch_no"),
    "quantity": (
        "quantity",
        "qty",
        "on_hand",
        "onhand",
        "qty_on_hand",
        "quantity_on_hand",
        "qoh",
        "unit_count",
        "count",
        "quantity_sold",
        "qty_sold",
        "units_sold",
    ),
    "date": (
        "date",
        "day",
        "sale_date",
        "sales_date",
        "sold_on",
        "transaction_date",
        "business_date",
    ),
}
_DELIMITERS = ",;\t|"
_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+")
MAX_REPORTED = 20
_UNIT_FIELDS = ("UnitOfMeasureName", "UnitOfMeasureAbbreviation")


@dataclass(frozen=True, slots=True)
class Problem:
    """One unreadable row (``line``) or package (``path``): which field, its text, and why."""

    where: str  # "line 4" or "$.Data[2].Quantity"
    field: str
    value: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.field} {self.value!r} {self.reason}"


@dataclass(frozen=True, slots=True)
class SnapshotLine:
    """One line of an external on-hand figure, in the ledger's base units.

    ``identifier`` names the column the external id came from (``label`` for a METRC package);
    ``unit`` is the unit the external system counts it in (METRC's unit name), or None when the
    export counts base units.
    """

    line_no: int
    external_id: str
    identifier: str
    quantity: int
    lot: str | None = None
    unit: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class SalesRow:
    line_no: int
    day: date
    sku: str
    quantity: int


# --- METRC packages -------------------------------------------------------------------------------


def read_metrc_packages(data: bytes, *, name: str = "packages.json") -> list[SnapshotLine]:
    """Every package of a METRC packages response as a line in base units."""
    require_size(data)
    try:
        records = metrc._records(metrc._load(data), "$")
    except ShipmentDataRejected as exc:
        raise _refusal(name, [_problem_of(exc, "$")]) from exc
    lines: list[SnapshotLine] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for number, (obj, path) in enumerate(records, start=1):
        try:
            line = _package(number, obj, path)
        except ShipmentDataRejected as exc:
            problems.append(_problem_of(exc, path))
            continue
        if line.external_id in seen:
            problems.append(
                Problem(
                    path,
                    "Label",
                    line.external_id,
                    f"appears twice (first at {seen[line.external_id]})",
                )
            )
            continue
        seen[line.external_id] = path
        lines.append(line)
    if problems:
        raise _refusal(name, problems)
    return lines


def _package(number: int, obj: dict[str, Any], path: str) -> SnapshotLine:
    label = metrc._required(obj, path, "Label", "PackageLabel")
    quantity_path, quantity = metrc._field(obj, path, ("Quantity",))
    if quantity is None:
        metrc._missing(quantity_path)
    unit_name = metrc._required(obj, path, *_UNIT_FIELDS)
    units = _base_units(quantity, unit_name, quantity_path)
    item: dict[str, Any] = obj["Item"] if isinstance(obj.get("Item"), dict) else {}
    description = metrc._text(obj, path, "ItemName", "ProductName") or metrc._text(
        item, f"{path}.Item", "Name"
    )
    return SnapshotLine(
        line_no=number,
        external_id=label,
        identifier="label",
        quantity=units,
        lot=metrc._text(obj, path, "ProductionBatchNumber"),
        unit=_canonical_unit(unit_name, quantity_path),
        description=description,
    )


def _base_units(quantity: Any, unit_name: str, path: str) -> int:
    """``metrc.base_quantity``, which refuses zero; an active package may stand at zero."""
    if not isinstance(quantity, bool) and isinstance(quantity, int | Decimal) and quantity == 0:
        _canonical_unit(unit_name, path)  # refuses a unit it cannot convert
        return 0
    return metrc.base_quantity(quantity, unit_name, path)[0]


def _canonical_unit(name: str, path: str) -> str:
    """METRC's own name of a unit given by name or abbreviation (``oz`` is ``Ounces``)."""
    metrc._unit(name, path)
    key = name.strip().lower()
    return metrc._ABBREVIATIONS.get(key, key).title()


def in_package_unit(base_units: int, unit: str) -> Decimal:
    """Base units (mg, uL, EA) as a quantity in a METRC unit, exact to 4 decimal places.

    Metric units and counts convert exactly; ounces and pounds are rounded half to even at the
    fourth decimal (about 3 mg of an ounce), the precision METRC keeps.
    """
    factor = metrc._unit(unit, "$").factor
    return (Decimal(base_units) / factor).quantize(Decimal("0.0001"))


def _problem_of(exc: ShipmentDataRejected, fallback: str) -> Problem:
    path = str(exc.details.get("path", fallback))
    reason = exc.message.removeprefix("METRC manifest: ").removeprefix(f"{path}: ")
    return Problem(path, path.rsplit(".", 1)[-1], "", reason)


# --- CSV ------------------------------------------------------------------------------------------


def read_on_hand_csv(data: bytes, *, name: str = "on-hand.csv") -> list[SnapshotLine]:
    """An on-hand export: an identifier column, an optional lot, a whole quantity ≥ 0 per row."""
    header, rows = _csv(data, name)
    identifier = next((c for c in IDENTIFIER_COLUMNS if c in header), None)
    missing = ([] if identifier else ["sku, ndc, gtin or barcode"]) + (
        [] if "quantity" in header else ["quantity"]
    )
    _require_columns(name, missing)
    assert identifier is not None
    lines: list[SnapshotLine] = []
    problems: list[Problem] = []
    for line, cells in rows:
        value = _cell(header, cells, identifier)
        lot = _cell(header, cells, "lot") or None
        row_problems = [] if value else [Problem(f"line {line}", identifier, value, "is empty")]
        quantity = _whole(line, _cell(header, cells, "quantity"), row_problems, signed=False)
        problems.extend(row_problems)
        if not row_problems:
            lines.append(SnapshotLine(line, value, identifier, quantity, lot))
    if problems:
        raise _refusal(name, problems)
    return lines


def read_sales_csv(data: bytes, *, name: str = "sales.csv") -> list[SalesRow]:
    """A POS sales export: ``date``, ``sku``, ``quantity`` (whole; negative for a refund)."""
    header, rows = _csv(data, name)
    _require_columns(name, [c for c in ("date", "sku", "quantity") if c not in header])
    sales: list[SalesRow] = []
    problems: list[Problem] = []
    for line, cells in rows:
        row_problems: list[Problem] = []
        sku = _cell(header, cells, "sku")
        if not sku:
            row_problems.append(Problem(f"line {line}", "sku", sku, "is empty"))
        text = _cell(header, cells, "date")
        try:
            day = _day(text)
        except ValueError:
            row_problems.append(Problem(f"line {line}", "date", text, "is not a date (YYYY-MM-DD)"))
        quantity = _whole(line, _cell(header, cells, "quantity"), row_problems, signed=True)
        problems.extend(row_problems)
        if not row_problems:
            sales.append(SalesRow(line, day, sku, quantity))
    if problems:
        raise _refusal(name, problems)
    return sales


def _csv(data: bytes, name: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The lower-cased header and the non-blank rows with their line numbers (header: line 1)."""
    require_size(data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInputFile(
            f"{name}: the file is not UTF-8 text ({exc.reason} at byte {exc.start})", problems=[]
        ) from exc
    first = text.split("\n", 1)[0]
    delimiter = min((d for d in _DELIMITERS if d in first), key=first.index, default=",")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = _canonical_header(next(reader, []))
        rows = [(reader.line_num, row) for row in reader if any(c.strip() for c in row)]
    except csv.Error as exc:
        raise InvalidInputFile(f"{name}: line {reader.line_num}: {exc}", problems=[]) from exc
    return header, rows


def _column_key(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", text.strip().lower()).strip("_")


def _canonical_header(columns: list[str]) -> list[str]:
    """Each column under the name rxledger reads it by (``sku``, ``quantity``, ...), or its own
    normalized name; the first column of a kind wins when an export repeats one."""
    names: dict[str, str] = {alias: kind for kind, aliases in _ALIASES.items() for alias in aliases}
    taken: set[str] = set()
    header = []
    for column in columns:
        key = _column_key(column)
        kind = names.get(key, key)
        header.append(kind if kind not in taken else key)
        taken.add(kind)
    return header


def _day(text: str) -> date:
    """``YYYY-MM-DD``, or an ISO date and time (the sale's day as the export wrote it)."""
    if len(text) > 10 and text[10] in "T ":
        return datetime.fromisoformat(text).date()
    return date.fromisoformat(text)


def _require_columns(name: str, missing: list[str]) -> None:
    if missing:
        raise InvalidInputFile(
            f"{name}: line 1: the header lacks {', '.join(missing)}",
            problems=[
                {"where": "line 1", "field": c, "value": "", "reason": "missing"} for c in missing
            ],
        )


def _cell(header: list[str], cells: list[str], column: str) -> str:
    at = header.index(column) if column in header else None
    return cells[at].strip() if at is not None and at < len(cells) else ""


def _whole(line: int, text: str, problems: list[Problem], *, signed: bool) -> int:
    """A whole number of base units; ``1.0`` is whole, ``1.5`` is not; ``1,250`` groups its
    thousands (``1,5`` is refused: a fraction, or a typing slip)."""
    if _GROUPED.fullmatch(text):
        text = text.replace(",", "")
    try:
        value = Decimal(text)
    except ArithmeticError:
        value = Decimal("NaN")
    if not value.is_finite() or value != value.to_integral_value():
        problems.append(Problem(f"line {line}", "quantity", text, "is not a whole number"))
        return 0
    if not signed and value < 0:
        problems.append(Problem(f"line {line}", "quantity", text, "is negative"))
        return 0
    return int(value)


def _refusal(name: str, problems: list[Problem]) -> InvalidInputFile:
    shown = "; ".join(str(p) for p in problems[:MAX_REPORTED])
    more = len(problems) - MAX_REPORTED
    tail = f"; and {more} more" if more > 0 else ""
    return InvalidInputFile(
        f"{name}: {len(problems)} problem(s): {shown}{tail}",
        problems=[
            {"where": p.where, "field": p.field, "value": p.value, "reason": p.reason}
            for p in problems
        ],
    )
