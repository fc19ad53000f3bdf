"""The reading screens: dashboard, product search and item page, documents."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from rxledger.domain.identifiers import Ndc
from rxledger.domain.model import DocumentType, Item, Location
from rxledger.entrypoints.web.certificate_routes import certificate_panel
from rxledger.entrypoints.web.render import WebRoute, render, see_other
from rxledger.entrypoints.web.scan_lookup import find_product, looks_like_scan
from rxledger.entrypoints.web.session import Ctx
from rxledger.entrypoints.web.stock_forms import FORMS
from rxledger.entrypoints.web.stock_routes import likely_source, picker_context
from rxledger.services import catalog, queries, reports

router = APIRouter(route_class=WebRoute, include_in_schema=False)
HISTORY_PAGE = 25
DOCUMENTS_PAGE = 30
SEARCH_PAGE = 30
Cursor = Annotated[int | None, Query(ge=1, le=2**62)]
Offset = Annotated[int, Query(ge=0, le=100_000)]
Text = Annotated[str, Query(max_length=120)]


@router.get("/", response_class=HTMLResponse)
def home(ctx: Ctx) -> Response:
    return see_other("/dashboard")


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, ctx: Ctx) -> Response:
    """The current site at a glance: value, gaps, expiries, recent documents, dispensing."""
    site_id = ctx.site_id
    context = {
        "figures": reports.site_dashboard(ctx.rt, ctx.actor, site_id),
        "recent": reports.site_documents(ctx.rt, ctx.actor, site_id, limit=8),
        "weeks": reports.weekly_dispensed(ctx.rt, ctx.actor, site_id, weeks=12),
    }
    return render(request, "dashboard.html", context)


@router.get("/scan", response_class=HTMLResponse)
def scan(request: Request, ctx: Ctx, code: Text = "") -> Response:
    """The header's scan field: one match opens the item, several are listed. GS1 data (a
    DataMatrix, a Digital Link) opens its item or says what is wrong with it."""
    if looks_like_scan(code.strip()):
        return see_other(f"/items/{find_product(ctx, code.strip())[0].id}")
    found = catalog.search_items(ctx.rt, ctx.actor, code, limit=2) if code.strip() else []
    if len(found) == 1:
        return see_other(f"/items/{found[0].id}")
    return see_other(f"/items?{urlencode({'q': code.strip()})}" if code.strip() else "/items")


@router.get("/items", response_class=HTMLResponse)
def items(request: Request, ctx: Ctx, q: Text = "", offset: Offset = 0) -> Response:
    """Products by name, or by an exact SKU, NDC or GTIN, a page at a time."""
    found = catalog.search_items(ctx.rt, ctx.actor, q, limit=SEARCH_PAGE + 1, offset=offset)
    context = {
        "q": q,
        "items": found[:SEARCH_PAGE],
        "offset": offset,
        "more": len(found) > SEARCH_PAGE,
        "page": SEARCH_PAGE,
    }
    return render(request, "items.html", context)


@router.get("/items/{item_id}", response_class=HTMLResponse)
def item_page(request: Request, ctx: Ctx, item_id: int, before: Cursor = None) -> Response:
    """An item: its details, its lots where they are, its ledger and a year of dispensing."""
    rt, actor, site_id = ctx.rt, ctx.actor, ctx.site_id
    item = catalog.get_item(rt, actor, item_id)
    history = queries.item_history(
        rt, actor, item_id, site_id=site_id, limit=HISTORY_PAGE + 1, before_movement_id=before
    )
    balances = queries.balances(rt, actor, item_id=item_id)
    here = [b for b in balances if b.site_id == site_id]
    locations = catalog.list_locations(rt, actor)
    context: dict[str, Any] = {
        "item": item,
        "ndc11": Ndc.parse(item.ndc10).ndc11_hyphenated if item.ndc10 else None,
        "here": here,
        "sites": _on_hand_per_site(ctx, balances),
        "history": history[:HISTORY_PAGE],
        "older": history[HISTORY_PAGE - 1].movement_id if len(history) > HISTORY_PAGE else None,
        "before": before,
        "codes": {loc.id: loc.code for loc in locations},
        "weeks": reports.weekly_dispensed(rt, actor, site_id, weeks=52, item_id=item_id),
    }
    if ctx.can("dispense"):
        context.update(_dispense_panel(ctx, item, here, locations))
    context.update(certificate_panel(ctx, item))
    return render(request, "item.html", context)


def _dispense_panel(
    ctx: Ctx, item: Item, here: list[queries.BalanceRow], locations: list[Location]
) -> dict[str, Any]:
    """The item page's dispense form: the product picked, from where it most likely goes."""
    physical = [loc for loc in locations if loc.site_id == ctx.site_id and not loc.is_virtual]
    stock: dict[int, int] = {}
    for b in here:
        stock[b.location_id] = stock.get(b.location_id, 0) + b.on_hand
    return {
        "dispense": picker_context(ctx, FORMS["dispense"], item, ""),
        "locations": physical,
        "dispense_from": likely_source(physical, stock),
    }


def _on_hand_per_site(ctx: Ctx, balances: list[queries.BalanceRow]) -> list[tuple[str, int]]:
    codes = {s.id: s.code for s in ctx.sites}
    totals: dict[int, int] = {}
    for b in balances:
        totals[b.site_id] = totals.get(b.site_id, 0) + b.on_hand
    return [(codes.get(site, str(site)), qty) for site, qty in sorted(totals.items())]


@router.get("/documents", response_class=HTMLResponse)
def documents(
    request: Request,
    ctx: Ctx,
    type: Annotated[str, Query(max_length=30)] = "",  # noqa: A002 - the query parameter's name
    before: Cursor = None,
) -> Response:
    """The current site's documents, newest first, optionally of one type, a page at a time."""
    doc_type = type if type in {t.value for t in DocumentType} else None
    rows = reports.site_documents(
        ctx.rt,
        ctx.actor,
        ctx.site_id,
        doc_type=doc_type,
        before_id=before,
        limit=DOCUMENTS_PAGE + 1,
    )
    context = {
        "rows": rows[:DOCUMENTS_PAGE],
        "older": rows[DOCUMENTS_PAGE - 1].id if len(rows) > DOCUMENTS_PAGE else None,
        "doc_type": doc_type or "",
        "types": [t.value for t in DocumentType],
        "before": before,
    }
    return render(request, "documents.html", context)


@router.get("/documents/{document_id}", response_class=HTMLResponse)
def document_page(request: Request, ctx: Ctx, document_id: int) -> Response:
    """One document: header, movements with names and codes, what followed or undid it."""
    view = reports.describe_document(ctx.rt, ctx.actor, document_id)
    return render(request, "document.html", {"view": view, "doc": view.document})
