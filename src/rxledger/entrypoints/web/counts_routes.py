"""The count screens of a site: the counts and their accuracy, a new count, the counting screen
(a scan field that adds each package to its line, typed counts, 0 for an empty bin; blind until
submitted), recounts, the investigation of a line, and approval."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from rxledger.domain import errors
from rxledger.domain.counts import ANY_PROGRAM, ITEM_CLASSES
from rxledger.domain.counts import PROGRAMS as COUNT_PROGRAMS
from rxledger.domain.permissions import Permission
from rxledger.entrypoints.web.fields import Fields
from rxledger.entrypoints.web.render import WebRoute, handling_form, render, see_other
from rxledger.entrypoints.web.session import Ctx, FormDep, PostCtx, WebContext
from rxledger.entrypoints.web.stock_forms import witness
from rxledger.services import catalog, counts

router = APIRouter(route_class=WebRoute, include_in_schema=False)
INDEX = "counts/index.html"
COUNT = "counts/count.html"
LINE = "counts/investigation.html"
PROGRAMS = (
    ("manual", "Chosen locations"),
    ("abc", "Due by ABC class (A monthly, B quarterly, C twice a year)"),
    ("risk", "By risk: low stock and high value first"),
    ("category", "A category (CII, edible, tablet …)"),
    ("biennial", "Every controlled substance (biennial inventory)"),
)


@router.get("/counts", response_class=HTMLResponse)
def counts_page(request: Request, ctx: Ctx) -> Response:
    return render(request, INDEX, index_context(ctx, {}))


def index_context(ctx: WebContext, values: Mapping[str, str]) -> dict[str, Any]:
    return {
        "counts": counts.list_counts(ctx.rt, ctx.actor, site_id=ctx.site_id),
        "accuracy": counts.accuracy(ctx.rt, ctx.actor, site_id=ctx.site_id)[-12:],
        "programs": PROGRAMS,
        "locations": [
            loc
            for loc in catalog.list_locations(ctx.rt, ctx.actor, ctx.site_id)
            if not loc.is_virtual
        ],
        "values": values,
        "tolerances": counts.list_tolerances(ctx.rt, ctx.actor),
        "may_keep_tolerances": counts.may_keep_tolerances(ctx.actor),
        "tolerance_programs": (ANY_PROGRAM, *COUNT_PROGRAMS),
        "item_classes": ITEM_CLASSES,
    }


@router.post("/counts/tolerances", response_class=HTMLResponse)
def keep_tolerance(request: Request, ctx: PostCtx, data: FormDep) -> Response:
    """Keep a count tolerance of the organization (or forget it, ``remove``)."""
    fields = Fields(data)
    handling_form(request, INDEX, lambda: index_context(ctx, fields.values()))
    program = fields.required_text("program", "program", max_length=40)
    item_class = fields.required_text("item_class", "class", max_length=20)
    if fields.flag("remove"):
        counts.remove_tolerance(ctx.rt, ctx.actor, program, item_class)
        return see_other("/counts?done=tolerance+removed#tolerances")
    raw = (fields.text("value", max_length=30) or "").replace(",", "")
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise errors.ValidationFailed("the value is an amount, e.g. 40.00", field="value") from exc
    counts.set_tolerance(
        ctx.rt, ctx.actor, program, item_class, fields.integer("units", "units"), value
    )
    return see_other("/counts?done=tolerance+kept#tolerances")


@router.post("/counts", response_class=HTMLResponse)
def create(request: Request, ctx: PostCtx, data: FormDep) -> Response:
    fields = Fields(data)
    handling_form(request, INDEX, lambda: index_context(ctx, fields.values()))
    location = fields.optional_integer("location_id", "location")
    spec = counts.NewCount(
        site_id=ctx.site_id,
        title=fields.text("title") or "",
        program=fields.text("program", max_length=20) or "manual",
        location_ids=[location] if location else [],
        category=fields.text("category", max_length=60),
        blind=fields.flag("blind"),
        freeze=fields.flag("freeze"),
        assigned_to=fields.text("assigned_to", max_length=120),
    )
    view = counts.create_count(ctx.rt, ctx.actor, spec)
    return see_other(f"/counts/{view.id}")


@router.get("/counts/{count_id}", response_class=HTMLResponse)
def count_page(count_id: int, request: Request, ctx: Ctx) -> Response:
    return render(request, COUNT, count_context(ctx, count_id, request.query_params))


def count_context(ctx: WebContext, count_id: int, values: Mapping[str, str]) -> dict[str, Any]:
    view = counts.get_count(ctx.rt, ctx.actor, count_id)
    return {
        "count": view,
        "may_count": ctx.actor.can(Permission.MOVE, view.site_id),
        "may_approve": ctx.actor.can(Permission.ADJUST, view.site_id),
        "may_investigate": ctx.actor.can(Permission.INVESTIGATE, view.site_id),
        "values": values,
        "done": values.get("done", "")[:60],
    }


@router.post("/counts/{count_id}/scan", response_class=HTMLResponse)
def scan(count_id: int, request: Request, ctx: PostCtx, data: FormDep) -> Response:
    """The scanner's Enter: the package's units are added to its line; back to the scan field."""
    fields = Fields(data)
    handling_form(request, COUNT, lambda: count_context(ctx, count_id, fields.values()))
    code = fields.text("code", max_length=500)
    if not code:
        raise errors.ValidationFailed("scan a package", field="code")
    counts.scan(
        ctx.rt,
        ctx.actor,
        count_id,
        code,
        location_id=fields.optional_integer("location_id", "location"),
        quantity=fields.optional_integer("quantity", "quantity"),
    )
    return see_other(f"/counts/{count_id}?done=scanned")


@router.post("/count-lines/{line_id}/tally", response_class=HTMLResponse)
def tally(line_id: int, request: Request, ctx: PostCtx, data: FormDep) -> Response:
    fields = Fields(data)
    count_id = fields.integer("count_id", "count")
    handling_form(request, COUNT, lambda: count_context(ctx, count_id, fields.values()))
    counts.set_tally(ctx.rt, ctx.actor, line_id, fields.integer("quantity", "count"))
    return see_other(f"/counts/{count_id}?done=saved")


@router.post("/counts/{count_id}/submit", response_class=HTMLResponse)
def submit(count_id: int, request: Request, ctx: PostCtx, data: FormDep) -> Response:
    handling_form(request, COUNT, lambda: count_context(ctx, count_id, {}))
    counts.submit(ctx.rt, ctx.actor, count_id)
    return see_other(f"/counts/{count_id}?done=submitted")


@router.post("/count-lines/{line_id}/recount", response_class=HTMLResponse)
def recount(line_id: int, request: Request, ctx: PostCtx, data: FormDep) -> Response:
    fields = Fields(data)
    count_id = fields.integer("count_id", "count")
    handling_form(request, COUNT, lambda: count_context(ctx, count_id, fields.values()))
    counts.set_tally(ctx.rt, ctx.actor, line_id, fields.integer("quantity", "count"))
    counts.submit_recount(ctx.rt, ctx.actor, line_id)
    return see_other(f"/counts/{count_id}?done=recounted")


@router.get("/count-lines/{line_id}", response_class=HTMLResponse)
def line_page(line_id: int, request: Request, ctx: Ctx) -> Response:
    return render(request, LINE, line_context(ctx, line_id, {}))


def line_context(ctx: WebContext, line_id: int, values: Mapping[str, str]) -> dict[str, Any]:
    return {
        "view": counts.investigation(ctx.rt, ctx.actor, line_id),
        "reasons": catalog.list_reason_codes(ctx.rt, ctx.actor),
        "values": values,
    }


@router.post("/count-lines/{line_id}/investigate", response_class=HTMLResponse)
def investigate(line_id: int, request: Request, ctx: PostCtx, data: FormDep) -> Response:
    fields = Fields(data)
    handling_form(request, LINE, lambda: line_context(ctx, line_id, fields.values()))
    view = counts.investigate(
        ctx.rt,
        ctx.actor,
        line_id,
        findings=fields.text("findings", max_length=4000) or "",
        reason_code=fields.text("reason_code", max_length=40) or "",
    )
    return see_other(f"/counts/{view.id}?done=investigated")


@router.post("/count-lines/{line_id}/approve", response_class=HTMLResponse)
def approve(line_id: int, request: Request, ctx: PostCtx, data: FormDep) -> Response:
    fields = Fields(data)
    count_id = fields.integer("count_id", "count")
    handling_form(request, COUNT, lambda: count_context(ctx, count_id, fields.values()))
    counts.approve(ctx.rt, ctx.actor, line_id, witness=witness(fields))
    return see_other(f"/counts/{count_id}?done=approved")
