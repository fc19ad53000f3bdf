"""Quarantine & investigations: the current site's open discrepancies and DSCSA investigations,
with resolve and close forms that show what will be posted before it is (confirm, then post).
Returning or destroying schedule II stock takes a witness: their name is carried to the confirm
page, their password is typed again there and never carried in a page."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from rxledger.domain import errors
from rxledger.domain.investigations import parse_finding, parse_resolution
from rxledger.entrypoints.web.fields import Fields
from rxledger.entrypoints.web.render import WebRoute, handling_form, render, see_other
from rxledger.entrypoints.web.session import Ctx, FormDep, PostCtx, WebContext
from rxledger.entrypoints.web.stock_forms import WITNESS_PASSWORD, witness
from rxledger.services import catalog, investigations, reports
from rxledger.services.investigations import (
    CloseInvestigation,
    InvestigationView,
    Outcome,
    ResolveDiscrepancy,
)

router = APIRouter(route_class=WebRoute, include_in_schema=False)
INDEX = "quarantine/index.html"
CASE = "quarantine/investigation.html"
CONFIRM = "quarantine/confirm.html"


# --- pages --------------------------------------------------------------------------------------


@router.get("/quarantine", response_class=HTMLResponse)
def quarantine(request: Request, ctx: Ctx) -> Response:
    """What the current site holds in quarantine, and the suspect product under investigation."""
    done = Fields(request.query_params).text("done") or ""
    return render(request, INDEX, index_context(ctx, done=done))


@router.get("/quarantine/investigations/{investigation_id}", response_class=HTMLResponse)
def investigation(request: Request, ctx: Ctx, investigation_id: int) -> Response:
    done = Fields(request.query_params).text("done") or ""
    return render(request, CASE, case_context(ctx, investigation_id, {}, done))


# --- discrepancies: confirm, then resolve -------------------------------------------------------


@router.post("/quarantine/discrepancies/{discrepancy_id}/confirm", response_class=HTMLResponse)
def confirm_resolution(
    request: Request, ctx: PostCtx, data: FormDep, discrepancy_id: int
) -> Response:
    """What resolving would post, planned by the service as a dry run; nothing is written."""
    fields = Fields(data)
    handling_form(request, INDEX, lambda: index_context(ctx, fields.values(), discrepancy_id))
    outcome = investigations.resolve_discrepancy(
        ctx.rt, ctx.actor, _resolution(fields, discrepancy_id, dry_run=True)
    )
    action = f"/quarantine/discrepancies/{discrepancy_id}/resolve"
    return render(request, CONFIRM, confirm_context(ctx, outcome, fields, action))


@router.post("/quarantine/discrepancies/{discrepancy_id}/resolve", response_class=HTMLResponse)
def resolve(request: Request, ctx: PostCtx, data: FormDep, discrepancy_id: int) -> Response:
    fields = Fields(data)
    handling_form(request, INDEX, lambda: index_context(ctx, fields.values(), discrepancy_id))
    outcome = investigations.resolve_discrepancy(
        ctx.rt, ctx.actor, _resolution(fields, discrepancy_id, dry_run=False)
    )
    return see_other(f"/quarantine?done={quote(_done(f'Discrepancy {discrepancy_id}', outcome))}")


def _resolution(fields: Fields, discrepancy_id: int, *, dry_run: bool) -> ResolveDiscrepancy:
    return ResolveDiscrepancy(
        discrepancy_id,
        parse_resolution(fields.required_text("outcome", "an outcome", max_length=20)),
        fields.optional_integer("location_id", "location"),
        fields.text("reason_code", max_length=40),
        fields.text("note", max_length=2000),
        dry_run=dry_run,
        witness=witness(fields),
    )


# --- investigations: note, confirm, then close --------------------------------------------------


@router.post("/quarantine/investigations/{investigation_id}/notes", response_class=HTMLResponse)
def add_note(request: Request, ctx: PostCtx, data: FormDep, investigation_id: int) -> Response:
    fields = Fields(data)
    handling_form(request, CASE, lambda: case_context(ctx, investigation_id, fields.values()))
    investigations.add_note(
        ctx.rt, ctx.actor, investigation_id, fields.required_text("note", "a note", max_length=4000)
    )
    return see_other(f"/quarantine/investigations/{investigation_id}?done=Note+added")


@router.post("/quarantine/investigations/{investigation_id}/confirm", response_class=HTMLResponse)
def confirm_close(request: Request, ctx: PostCtx, data: FormDep, investigation_id: int) -> Response:
    fields = Fields(data)
    handling_form(request, CASE, lambda: case_context(ctx, investigation_id, fields.values()))
    outcome = investigations.close_investigation(
        ctx.rt, ctx.actor, _close(fields, investigation_id, dry_run=True)
    )
    action = f"/quarantine/investigations/{investigation_id}/close"
    return render(request, CONFIRM, confirm_context(ctx, outcome, fields, action))


@router.post("/quarantine/investigations/{investigation_id}/close", response_class=HTMLResponse)
def close(request: Request, ctx: PostCtx, data: FormDep, investigation_id: int) -> Response:
    fields = Fields(data)
    handling_form(request, CASE, lambda: case_context(ctx, investigation_id, fields.values()))
    outcome = investigations.close_investigation(
        ctx.rt, ctx.actor, _close(fields, investigation_id, dry_run=False)
    )
    message = _done(f"Investigation {investigation_id}", outcome)
    return see_other(f"/quarantine/investigations/{investigation_id}?done={quote(message)}")


def _close(fields: Fields, investigation_id: int, *, dry_run: bool) -> CloseInvestigation:
    return CloseInvestigation(
        investigation_id,
        parse_finding(fields.required_text("outcome", "an outcome", max_length=20)),
        fields.text("note", max_length=2000),
        fields.optional_integer("location_id", "location"),
        fields.text("notification_reference", max_length=120),
        _utc(fields.text("notified_at", max_length=40)),
        dry_run=dry_run,
        witness=witness(fields),
    )


def _utc(text: str | None) -> datetime | None:
    """A time from a ``datetime-local`` field, read as UTC (the page says so)."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise errors.ValidationFailed(
            "notified at must be a date and time (YYYY-MM-DDTHH:MM, UTC)", field="notified_at"
        ) from exc
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _done(what: str, outcome: Outcome) -> str:
    if outcome.document is None:
        return f"{what} closed; no stock moved"
    return f"{what}: posted document #{outcome.document.id}"


# --- what the templates need --------------------------------------------------------------------


def index_context(
    ctx: WebContext, values: dict[str, str] | None = None, active: int | None = None, done: str = ""
) -> dict[str, Any]:
    site_id = ctx.site_id
    return {
        "discrepancies": investigations.list_discrepancies(ctx.rt, ctx.actor, site_id, "open"),
        "cases": investigations.list_investigations(ctx.rt, ctx.actor, site_id, "open"),
        **_choices(ctx, site_id),
        "values": _shown(values or {}),
        "active": active,
        "done": done,
    }


def case_context(
    ctx: WebContext, investigation_id: int, values: dict[str, str], done: str = ""
) -> dict[str, Any]:
    case = investigations.get_investigation(ctx.rt, ctx.actor, investigation_id)
    return {"case": case, **_choices(ctx, case.site_id), "values": _shown(values), "done": done}


def _shown(values: dict[str, str]) -> dict[str, str]:
    """The form's values to show again: the witness's name, never their password."""
    return {k: v for k, v in values.items() if k != WITNESS_PASSWORD}


def confirm_context(
    ctx: WebContext, outcome: Outcome, fields: Fields, action: str
) -> dict[str, Any]:
    preview = (
        reports.describe_plan(ctx.rt, ctx.actor, outcome.document) if outcome.document else None
    )
    return {
        "record": outcome.record,
        "closing": isinstance(outcome.record, InvestigationView),
        "preview": preview,
        # asked again on the confirm page, never carried in it
        "values": _shown(fields.values()),
        "action": action,
    }


def _choices(ctx: WebContext, site_id: int) -> dict[str, Any]:
    locations = [
        loc
        for loc in catalog.list_locations(ctx.rt, ctx.actor, site_id)
        if not loc.is_virtual and loc.site_id == site_id and loc.type.value != "quarantine"
    ]
    return {"locations": locations, "reasons": catalog.list_reason_codes(ctx.rt, ctx.actor)}
