"""Item stewardship: the packages of the current site's open receiving sessions whose GTIN the
item master did not know, with forms to link the GTIN to an item or propose a new item; the
proposals waiting for a pharmacist, with approve and reject; and judging a session again."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from rxledger.domain.stewardship import ProposedItem
from rxledger.entrypoints.web.fields import Fields
from rxledger.entrypoints.web.render import WebRoute, handling_form, render, see_other
from rxledger.entrypoints.web.session import Ctx, FormDep, PostCtx, WebContext
from rxledger.services import catalog, rejudging, stewardship

router = APIRouter(route_class=WebRoute, include_in_schema=False)
PAGE = "stewardship/index.html"
HERE = "/stewardship"


@router.get(HERE, response_class=HTMLResponse)
def index(request: Request, ctx: Ctx) -> Response:
    """What waits for the item master at the current site; ``gtin`` and ``session_id`` in the
    query fill the forms (the links of an unknown package)."""
    query = Fields(request.query_params)
    prefill = {k: v for k in ("gtin", "session_id") if (v := query.text(k, max_length=20))}
    return render(request, PAGE, page_context(ctx, prefill, done=query.text("done") or ""))


@router.post(HERE + "/link", response_class=HTMLResponse)
def link(request: Request, ctx: PostCtx, data: FormDep) -> Response:
    """Link a GTIN to the item found by SKU, NDC or GTIN, as its package of N base units."""
    fields = Fields(data)
    handling_form(request, PAGE, lambda: page_context(ctx, fields.values(), "link"))
    item = catalog.find_item(ctx.rt, ctx.actor, fields.required_text("item", "the item"))
    gtin = fields.required_text("gtin", "the GTIN", max_length=14)
    stewardship.link_gtin(
        ctx.rt,
        ctx.actor,
        item.id,
        gtin,
        fields.quantity("base_units", "base units per package"),
        level=fields.text("level", max_length=20),
    )
    return _done(f"GTIN {gtin} is now a package of {item.name}")


@router.post(HERE + "/proposals", response_class=HTMLResponse)
def propose(request: Request, ctx: PostCtx, data: FormDep) -> Response:
    fields = Fields(data)
    handling_form(request, PAGE, lambda: page_context(ctx, fields.values(), "propose"))
    proposal = stewardship.propose_item(ctx.rt, ctx.actor, _proposal(ctx, fields))
    return _done(f"Proposal #{proposal.id} waits for a pharmacist")


@router.post(HERE + "/proposals/{proposal_id}/approve", response_class=HTMLResponse)
def approve(request: Request, ctx: PostCtx, data: FormDep, proposal_id: int) -> Response:
    fields = Fields(data)
    handling_form(request, PAGE, lambda: page_context(ctx, fields.values()))
    done = stewardship.approve_proposal(
        ctx.rt, ctx.actor, proposal_id, fields.text("note", max_length=2000)
    )
    return _done(f"Proposal #{proposal_id} approved: item #{done.item_id} {done.name} created")


@router.post(HERE + "/proposals/{proposal_id}/reject", response_class=HTMLResponse)
def reject(request: Request, ctx: PostCtx, data: FormDep, proposal_id: int) -> Response:
    fields = Fields(data)
    handling_form(request, PAGE, lambda: page_context(ctx, fields.values()))
    note = fields.required_text("note", "a reason", max_length=2000)
    stewardship.reject_proposal(ctx.rt, ctx.actor, proposal_id, note)
    return _done(f"Proposal #{proposal_id} rejected")


@router.post(HERE + "/sessions/{session_id}/rejudge", response_class=HTMLResponse)
def rejudge(request: Request, ctx: PostCtx, session_id: int) -> Response:
    handling_form(request, PAGE, lambda: page_context(ctx))
    result = rejudging.rejudge_unknown(ctx.rt, ctx.actor, session_id)
    counts = ", ".join(
        f"{result.count(o)} {o}"
        for o in ("accepted", "quarantined", "rescan", "unknown")
        if result.count(o)
    )
    return _done(f"Session {session_id} judged again: {counts or 'nothing to judge'}")


def page_context(
    ctx: WebContext, values: dict[str, str] | None = None, form: str = "", done: str = ""
) -> dict[str, Any]:
    site_id = ctx.site_id
    pending = stewardship.list_proposals(ctx.rt, ctx.actor, site_id=site_id, status="pending")
    return {
        "unknown": stewardship.unknown_scans(ctx.rt, ctx.actor, site_id),
        "pending": pending,
        "values": values or {},
        "form": form,
        "done": done,
    }


def _proposal(ctx: WebContext, fields: Fields) -> ProposedItem:
    return ProposedItem(
        site_id=ctx.site_id,
        name=fields.required_text("name", "the product's name", max_length=300),
        base_unit=fields.required_text("base_unit", "the base unit", max_length=30),
        gtin=fields.required_text("gtin", "the GTIN", max_length=14),
        package_units=fields.quantity("package_units", "base units per package"),
        strength=fields.text("strength", max_length=120) or "",
        dosage_form=fields.text("dosage_form", max_length=120) or "",
        generic_name=fields.text("generic_name", max_length=300) or "",
        ndc10=fields.text("ndc10", max_length=13),
        cannabis_category=fields.text("cannabis_category", max_length=60),
        note=fields.text("note", max_length=2000),
        session_id=fields.optional_integer("session_id", "session"),
    )


def _done(message: str) -> Response:
    return see_other(f"{HERE}?done={quote(message)}")
