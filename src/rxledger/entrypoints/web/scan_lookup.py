"""Product fields take a scan: a GS1 DataMatrix, a Digital Link, bracketed (AI) text, a GTIN or an
NDC names the product through the scanning service, and its lot and expiry fill the form's lot
fields; anything else is looked up as a SKU, an exact code, or (in the picker) a name."""

from __future__ import annotations

from datetime import date

from rxledger.domain import errors
from rxledger.domain.model import Item
from rxledger.entrypoints.web.fields import Fields
from rxledger.entrypoints.web.session import WebContext
from rxledger.services import catalog, scanning
from rxledger.services.scanning import ScanResult

_SCAN_STARTS = ("]", "(", "^", "\x1d", "http://", "https://", "HTTP://", "HTTPS://", "urn:epc:")


def looks_like_scan(text: str) -> bool:
    """GS1 data as a scanner types it, rather than words to search for."""
    return text.startswith(_SCAN_STARTS) or "\x1d" in text


def find_product(ctx: WebContext, code: str) -> tuple[Item, ScanResult | None]:
    """The product a scan or code names. A scan that is not valid GS1 data may still be a SKU;
    if it is not one either, the scan's own error (``INVALID_SCAN``) is the answer."""
    try:
        result = scanning.parse_scan(ctx.rt, ctx.actor, code)
    except errors.InvalidScan as invalid:
        try:
            return catalog.find_item(ctx.rt, ctx.actor, code), None
        except errors.ItemNotFound:
            raise invalid from None
    if result.item is None:
        try:
            return catalog.find_item(ctx.rt, ctx.actor, code), None  # a numeric SKU
        except errors.ItemNotFound:
            scanning.require_item(result)  # AMBIGUOUS_NDC or ITEM_NOT_FOUND
    item = scanning.require_item(result)
    return catalog.get_item(ctx.rt, ctx.actor, item.id), result


def scanned_pack(item: Item, scanned: ScanResult | None) -> int | None:
    """A scanned case counts in cases: the package level the barcode names, if it is this item's."""
    if scanned is None or scanned.package is None or scanned.item is None:
        return None
    return scanned.package.base_units if scanned.item.id == item.id else None


def fill_from_scan(
    ctx: WebContext, fields: Fields, item: Item, scanned: ScanResult | None, lots: str
) -> Fields:
    """The form's fields with the scan's lot and expiry where the user left them empty: the lot
    number and expiry of a receipt, or the lot of stock already on file."""
    if scanned is None or scanned.item is None or scanned.item.id != item.id:
        return fields
    values = fields.values()
    lot, expiry = scanned.scan.lot, scanned.scan.expiry
    if lot and not values.get("lot_number"):
        values["lot_number"] = lot
    if expiry and not values.get("expiry"):
        values["expiry"] = expiry.isoformat()
    if lot and lots != "none" and not values.get("lot_id"):
        values["lot_id"] = str(scanned_lot(ctx, item, lot))
    return Fields(values)


def scanned_lot(ctx: WebContext, item: Item, lot_number: str) -> int:
    """The lot on file that a scan names; stock of another lot must not go out in its place."""
    try:
        return catalog.find_lot(ctx.rt, ctx.actor, item.id, lot_number).id
    except errors.LotNotFound as exc:
        raise errors.LotNotFound(
            f"the scanned lot {lot_number} of {item.name} is not on file",
            lot_number=lot_number,
            field="scan",
        ) from exc


def scan_hints(scanned: ScanResult | None) -> dict[str, str]:
    """What the picker tells the page's script to fill in (lot number, expiry)."""
    if scanned is None:
        return {}
    hints = {"lot": scanned.scan.lot or "", "expiry": _iso(scanned.scan.expiry)}
    return {k: v for k, v in hints.items() if v}


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""
