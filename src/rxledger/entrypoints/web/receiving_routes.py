"""The receiving dock, scanner first: the site's open sessions and the shipments awaiting receipt;
a session page with one scan field (a keyboard-wedge scanner types the barcode and Enter; htmx
posts it and swaps in the verdict and the session's lines, so the page never reloads and the field
keeps the focus); per-line counts; close and post after a confirmation; put away by shelf label.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from rxledger.entrypoints.web.fields import Fields
from rxledger.entrypoints.web.receiving_views import (
    SessionView,
    close_summary,
    scan_text,
    session_view,
)
from rxledger.entrypoints.web.render import WebRoute, handling_form, render, see_other
from rxledger.entrypoints.web.session import Ctx, FormDep, PostCtx, WebContext
from rxledger.services import receiving, shipments
from rxledger.services.receiving import ScanOutcome

router = APIRouter(route_class=WebRoute, include_in_schema=False)
INDEX = "receiving/index.html"
PAGE = "receiving/session.html"
PANEL = "receiving/_panel.html"
CONFIRM = "receiving/close.html"
RECENT = 10


# --- the dock -----------------------------------------------------------------------------------


@router.get("/receiving", response_class=HTMLResponse)
def dock(request: Request, ctx: Ctx) -> Response:
    """Open sessions, shipments awaiting receipt and recently posted sessions at the site."""
    return render(request, INDEX, index_context(ctx))


@router.post("/receiving/sessions", response_class=HTMLResponse)
def open_session(request: Request, ctx: PostCtx, data: FormDep) -> Response:
    """Open a session, blind or against the chosen shipment, and go to its scan page."""
    handling_form(request, INDEX, lambda: index_context(ctx))
    shipment_id = Fields(data).optional_integer("shipment_id", "shipment")
    session = receiving.open_session(ctx.rt, ctx.actor, ctx.site_id, shipment_id=shipment_id)
    return see_other(f"/receiving/{session.id}")


def index_context(ctx: WebContext) -> dict[str, Any]:
    rt, actor, site_id = ctx.rt, ctx.actor, ctx.site_id
    posted = receiving.list_sessions(rt, actor, site_id, status="posted", limit=RECENT)
    return {
        "sessions": receiving.list_sessions(rt, actor, site_id, status="open"),
        "awaiting": shipments.list_shipments(rt, actor, site_id, status="expected"),
        # not "posted": base.html sets that name (the ?posted= alert), hiding the list
        "recently_posted": posted,
    }


# --- one session --------------------------------------------------------------------------------


@router.get("/receiving/{session_id}", response_class=HTMLResponse)
def session_page(request: Request, ctx: Ctx, session_id: int) -> Response:
    return render(request, PAGE, page_context(ctx, session_id))


@router.post("/receiving/{session_id}/scans", response_class=HTMLResponse)
def scan(request: Request, ctx: PostCtx, data: FormDep, session_id: int) -> Response:
    """Judge one scan. From htmx the answer is the panel (verdict, lines, expected); without
    JavaScript, the page again."""
    fields, raw = Fields(data), data.get("scan")
    _declare(request, ctx, session_id, scanned=raw if isinstance(raw, str) else "")
    text = scan_text(raw)
    packages = fields.optional_integer("packages", "packages") or 1
    outcome = receiving.scan(
        ctx.rt, ctx.actor, session_id, text, packages=packages, damaged=fields.flag("damaged")
    )
    if _from_htmx(request):
        return render(request, PANEL, page_context(ctx, session_id, outcome=outcome))
    return see_other(f"/receiving/{session_id}")


@router.post("/receiving/{session_id}/lines/{line_id}", response_class=HTMLResponse)
def set_count(
    request: Request, ctx: PostCtx, data: FormDep, session_id: int, line_id: int
) -> Response:
    """Confirm or correct a line's count in packages."""
    _declare(request, ctx, session_id)
    packages = Fields(data).integer("packages", "packages")
    receiving.set_count(ctx.rt, ctx.actor, session_id, line_id, packages)
    if _from_htmx(request):
        return render(request, PANEL, page_context(ctx, session_id, counted=line_id))
    return see_other(f"/receiving/{session_id}")


@router.post("/receiving/{session_id}/lines/{line_id}/remove", response_class=HTMLResponse)
def remove_line(request: Request, ctx: PostCtx, session_id: int, line_id: int) -> Response:
    """Take back a mis-scan (a suspect package's line is refused, with its reason)."""
    _declare(request, ctx, session_id)
    receiving.remove_line(ctx.rt, ctx.actor, session_id, line_id)
    if _from_htmx(request):
        return render(request, PANEL, page_context(ctx, session_id))
    return see_other(f"/receiving/{session_id}")


@router.post("/receiving/{session_id}/cancel", response_class=HTMLResponse)
def cancel(request: Request, ctx: PostCtx, session_id: int) -> Response:
    """Give up the session: nothing is posted; back to the dock."""
    _declare(request, ctx, session_id)
    receiving.cancel(ctx.rt, ctx.actor, session_id)
    return see_other("/receiving")


@router.get("/receiving/{session_id}/close", response_class=HTMLResponse)
def confirm_close(request: Request, ctx: Ctx, session_id: int) -> Response:
    """What closing will post: accepted and held units, shortages and excess; nothing yet."""
    view = session_view(ctx, receiving.get_session(ctx.rt, ctx.actor, session_id))
    return render(request, CONFIRM, {"view": view, "summary": close_summary(view)})


@router.post("/receiving/{session_id}/close", response_class=HTMLResponse)
def close(request: Request, ctx: PostCtx, session_id: int) -> Response:
    """Post the receipt (a double click replays the first one)."""
    _declare(request, ctx, session_id)
    document = receiving.close(ctx.rt, ctx.actor, session_id)
    return see_other(f"/receiving/{session_id}?posted={document.id}")


@router.post("/receiving/{session_id}/put-away", response_class=HTMLResponse)
def put_away(request: Request, ctx: PostCtx, data: FormDep, session_id: int) -> Response:
    """Move the accepted stock from the dock to the shelf whose label was scanned."""
    _declare(request, ctx, session_id)
    shelf = Fields(data).required_text("location", "the shelf label", max_length=60)
    document = receiving.put_away(ctx.rt, ctx.actor, session_id, shelf)
    return see_other(f"/receiving/{session_id}?posted={document.id}")


def _declare(request: Request, ctx: WebContext, session_id: int, scanned: str = "") -> None:
    """A refusal shows the panel (htmx) or the page again, with the error's code and message."""
    template = PANEL if _from_htmx(request) else PAGE
    handling_form(request, template, lambda: page_context(ctx, session_id, scanned=scanned))


def _from_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def page_context(
    ctx: WebContext,
    session_id: int,
    *,
    outcome: ScanOutcome | None = None,
    scanned: str = "",
    counted: int | None = None,
) -> dict[str, Any]:
    view: SessionView = session_view(ctx, receiving.get_session(ctx.rt, ctx.actor, session_id))
    return {
        "view": view,
        "session": view.session,
        "outcome": outcome,
        "just_scanned": {ln.id for ln in outcome.lines} if outcome else set(),
        "outcome_items": {ln.item_id for ln in outcome.lines} if outcome else set(),
        "outcome_lots": {ln.lot_number for ln in outcome.lines} if outcome else set(),
        "scanned": scanned[:200].replace("\x1d", "\u241d"),  # GS shown as the symbol for GS
        "counted": counted,
        "shipment": (
            shipments.get_shipment(ctx.rt, ctx.actor, view.session.shipment_id)
            if view.session.shipment_id
            else None
        ),
    }
