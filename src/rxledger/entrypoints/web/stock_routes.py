"""Stock forms: fill (with the scanner-first product picker), confirm, post."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from rxledger.domain import errors
from rxledger.domain.identifiers import normalize_gtin
from rxledger.domain.model import Item, Location
from rxledger.entrypoints.web.fields import Fields
from rxledger.entrypoints.web.render import WebRoute, handling_form, render, see_other
from rxledger.entrypoints.web.scan_lookup import (
    fill_from_scan,
    find_product,
    looks_like_scan,
    scan_hints,
    scanned_pack,
)
from rxledger.entrypoints.web.session import Ctx, FormDep, PostCtx, WebContext, local_path
from rxledger.entrypoints.web.stock_forms import (
    WITNESS_PASSWORD,
    StockForm,
    form_named,
    require_form,
)
from rxledger.services import approvals, catalog, queries, reports, stock
from rxledger.services.scanning import ScanResult

router = APIRouter(route_class=WebRoute, include_in_schema=False)
FORM_PAGE = "stock/form.html"


@dataclass(frozen=True, slots=True)
class LotChoice:
    lot_id: int
    lot_number: str
    expiry: str
    status: str
    on_hand: int
    where: str


# --- pages --------------------------------------------------------------------------------------


@router.get("/stock/{slug}", response_class=HTMLResponse)
def stock_form(slug: str, request: Request, ctx: Ctx) -> Response:
    """An empty form, or one filled from the query (a product, a document, a location)."""
    form = form_named(slug)
    require_form(ctx, form)
    fields = Fields(request.query_params)
    picked, scanned = _item(ctx, fields)
    if picked is not None:
        fields = fill_from_scan(ctx, fields, picked, scanned, form.lots)
    return render(request, FORM_PAGE, form_context(ctx, form, fields.values(), picked))


@router.post("/stock/{slug}/confirm", response_class=HTMLResponse)
def confirm_stock_form(slug: str, request: Request, ctx: PostCtx, data: FormDep) -> Response:
    """What posting would change, computed by the service without writing; or the form again."""
    form, fields = form_named(slug), Fields(data)
    picked, fields = _declare_form(request, ctx, form, fields)
    preview = reports.preview(ctx.rt, ctx.actor, form.use_case, form.parse(fields, picked))
    values = {k: v for k, v in fields.values().items() if k not in ("scan", "idempotency_key")}
    values.pop(WITNESS_PASSWORD, None)  # asked again on the confirm page, never carried in it
    if picked is not None:
        values["item_id"] = str(picked.id)
    context = {
        "form": form,
        "preview": preview,
        "values": values,
        "picked": picked,
        "key": f"web:{uuid.uuid4()}",
        "back": f"/stock/{form.slug}?{urlencode(values)}",
    }
    return render(request, "stock/confirm.html", context)


@router.post("/stock/{slug}", response_class=HTMLResponse)
def post_stock_form(slug: str, request: Request, ctx: PostCtx, data: FormDep) -> Response:
    """Post with the confirm page's idempotency key: a second submit returns the first result."""
    form, fields = form_named(slug), Fields(data)
    picked, fields = _declare_form(request, ctx, form, fields)
    fields.required_text("idempotency_key", "the confirm step")
    command = form.parse(fields, picked)
    if isinstance(command, stock.Adjust):
        # adjustments go through the approval policies: a large one waits in the inbox
        outcome = approvals.request_adjustment(ctx.rt, ctx.actor, command)
        if outcome.document is None:
            return see_other(f"/approvals?done=held+for+approval&approval={outcome.approval_id}")
        document = outcome.document
    else:
        document = form.use_case(ctx.rt, ctx.actor, command)
    target = local_path(fields.text("next", max_length=500), f"/documents/{document.id}")
    joiner = "&" if "?" in target else "?"
    return see_other(f"{target}{joiner}posted={document.id}")


def _declare_form(
    request: Request, ctx: WebContext, form: StockForm, fields: Fields
) -> tuple[Item | None, Fields]:
    """Declare the form (a refusal shows it again with the error), then find its product; a scan
    sent without JavaScript also fills the lot fields the user left empty."""
    found: dict[str, Item | None] = {"item": None}
    handling_form(
        request,
        FORM_PAGE,
        lambda: form_context(ctx, form, fields.values(), found["item"]),
    )
    found["item"], scanned = _item(ctx, fields)
    if found["item"] is None:
        return None, fields
    return found["item"], fill_from_scan(ctx, fields, found["item"], scanned, form.lots)


def _item(ctx: WebContext, fields: Fields) -> tuple[Item | None, ScanResult | None]:
    """The product a form names: a chosen id, or (without JavaScript) the scan it was sent with."""
    item_id = fields.optional_integer("item_id", "product")
    if item_id is not None:
        return catalog.get_item(ctx.rt, ctx.actor, item_id), None
    scan = fields.text("scan", max_length=4096)
    return find_product(ctx, scan) if scan else (None, None)


# --- the product picker (htmx partials) ---------------------------------------------------------


@router.get("/pick", response_class=HTMLResponse)
def pick(request: Request, ctx: Ctx) -> Response:
    """Resolve a scan (GTIN, NDC, SKU) or a chosen search result into the picked product."""
    fields = Fields(request.query_params)
    form = form_named(fields.text("form") or "dispense")
    code = fields.text("code", max_length=1000) or ""
    handling_form(request, "stock/_picker.html", lambda: picker_context(ctx, form, None, code))
    item_id = fields.optional_integer("item_id", "product")
    scanned = None
    if item_id is not None:
        picked: Item | None = catalog.get_item(ctx.rt, ctx.actor, item_id)
    elif _looks_like_code(code) or looks_like_scan(code):
        picked, scanned = find_product(ctx, code)
    else:
        return _search_or_pick(request, ctx, form, code)
    context = picker_context(ctx, form, picked, code, scanned)
    return render(request, "stock/_picker.html", context)


@router.get("/pick/search", response_class=HTMLResponse)
def pick_search(request: Request, ctx: Ctx) -> Response:
    """Live search by name while typing: a short list to choose from."""
    fields = Fields(request.query_params)
    form = form_named(fields.text("form") or "dispense")
    query = fields.text("scan") or ""
    results = catalog.search_items(ctx.rt, ctx.actor, query, limit=8) if len(query) >= 2 else []
    return render(request, "stock/_results.html", {"form": form, "results": results})


def _search_or_pick(request: Request, ctx: WebContext, form: StockForm, text: str) -> Response:
    results = catalog.search_items(ctx.rt, ctx.actor, text, limit=8) if text else []
    if len(results) == 1:
        picked = catalog.get_item(ctx.rt, ctx.actor, results[0].id)
        return render(request, "stock/_picker.html", picker_context(ctx, form, picked, text))
    if text and not results:
        raise errors.ItemNotFound(f"no product matches {text!r}", query=text)
    context = {**picker_context(ctx, form, None, text), "results": results}
    return render(request, "stock/_picker.html", context)


def _looks_like_code(text: str) -> bool:
    compact = text.replace("-", "").replace(" ", "")
    return compact.isdigit() or (compact.isalnum() and any(c.isdigit() for c in compact))


# --- what the templates need --------------------------------------------------------------------


def form_context(
    ctx: WebContext, form: StockForm, values: Mapping[str, str], picked: Item | None
) -> dict[str, Any]:
    site_id = ctx.site_id
    locations = [
        loc
        for loc in catalog.list_locations(ctx.rt, ctx.actor, site_id)
        if not loc.is_virtual and loc.site_id == site_id
    ]
    where = _stock_by_location(ctx, picked) if picked and form.from_stock else {}
    context: dict[str, Any] = {
        **picker_context(ctx, form, picked, values.get("scan", "")),
        "values": values,
        "locations": locations,
        "default_location": likely_source(locations, where) or _default_location(form, locations),
    }
    if form.slug == "transfer":
        context["destinations"] = reports.transfer_destinations(ctx.rt, ctx.actor, site_id)
    if form.slug == "adjust":
        context["reasons"] = catalog.list_reason_codes(ctx.rt, ctx.actor)
    if form.slug == "receive-transfer":
        context["shipments"] = reports.inbound_shipments(ctx.rt, ctx.actor, site_id)
    return context


def picker_context(
    ctx: WebContext,
    form: StockForm,
    picked: Item | None,
    code: str,
    scanned: ScanResult | None = None,
) -> dict[str, Any]:
    context: dict[str, Any] = {
        "form": form,
        "picked": picked,
        "code": code,
        "results": [],
        "values": {},
        "scan": scan_hints(scanned),
    }
    if picked is not None:
        context["pack"] = scanned_pack(picked, scanned) or _scanned_pack(picked, code)
        if form.lots != "none":
            lots = lot_choices(ctx, picked, include_empty=form.lots == "required")
            context["lots"] = lots
            lot = scanned.scan.lot if scanned else None
            chosen = [c.lot_id for c in lots if lot and c.lot_number == lot]
            context["values"] = {"lot_id": str(chosen[0])} if chosen else {}
    return context


def _scanned_pack(item: Item, code: str) -> int:
    """A scanned case GTIN counts in cases: preselect the package the barcode names."""
    digits = code.strip()
    if not digits.isdigit() or len(digits) not in (8, 12, 13, 14):
        return 1
    try:
        gtin = normalize_gtin(digits)
    except errors.InvalidIdentifier:
        return 1
    return next((p.base_units for p in item.packages if p.gtin == gtin), 1)


def lot_choices(ctx: WebContext, item: Item, *, include_empty: bool) -> list[LotChoice]:
    """The item's lots at the current site with their on-hand per location, first expiry first."""
    rows = queries.balances(ctx.rt, ctx.actor, site_id=ctx.site_id, item_id=item.id)
    stocked: dict[int, list[Any]] = {}
    for r in rows:
        stocked.setdefault(r.lot_id, []).append(r)
    choices = [
        LotChoice(
            lot_id,
            group[0].lot_number,
            str(group[0].expiry or ""),
            group[0].lot_status,
            sum(r.on_hand for r in group),
            ", ".join(f"{r.location_code} {r.on_hand:,}" for r in group),
        )
        for lot_id, group in stocked.items()
    ]
    if include_empty:
        choices += [
            LotChoice(lot.id, lot.lot_number, str(lot.expiry or ""), lot.status.value, 0, "")
            for lot in catalog.list_lots(ctx.rt, ctx.actor, item.id)
            if lot.id not in stocked
        ]
    return sorted(choices, key=lambda c: (c.expiry or "9999", c.lot_number))


def _stock_by_location(ctx: WebContext, item: Item) -> dict[int, int]:
    stock: dict[int, int] = {}
    for b in queries.balances(ctx.rt, ctx.actor, site_id=ctx.site_id, item_id=item.id):
        stock[b.location_id] = stock.get(b.location_id, 0) + b.on_hand
    return stock


def likely_source(locations: list[Location], stock: Mapping[int, int]) -> int | None:
    """Where stock of a product most likely comes from: the stocking location holding most."""
    usable = {loc.id for loc in locations if loc.type.holds_available_stock}
    held = {location_id: qty for location_id, qty in stock.items() if location_id in usable}
    return max(held, key=lambda location_id: held[location_id]) if held else None


def _default_location(form: StockForm, locations: list[Location]) -> int | None:
    for wanted in form.location_types:
        for loc in locations:
            if loc.type is wanted:
                return loc.id
    return locations[0].id if locations else None
