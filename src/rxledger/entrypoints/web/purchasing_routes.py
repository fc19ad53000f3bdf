"""The purchasing screens of a site: requisitions with their approvals inbox, a new requisition
from a supplier's packs, and purchase orders with a receive-against-this-PO form that confirms
(a dry run of the real receipt) before it posts.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from rxledger.domain import errors
from rxledger.domain.ledger import check_client_key
from rxledger.domain.model import LocationType
from rxledger.domain.permissions import Permission, Role
from rxledger.entrypoints.web.fields import Fields
from rxledger.entrypoints.web.render import WebRoute, handling_form, render, see_other
from rxledger.entrypoints.web.session import Ctx, FormDep, PostCtx, WebContext
from rxledger.services import catalog, purchasing
from rxledger.services.posting import Header
from rxledger.services.purchasing import PoReceiptLine, ReceivePurchaseOrder

router = APIRouter(route_class=WebRoute, include_in_schema=False)
INDEX = "purchasing/index.html"
NEW = "purchasing/new_requisition.html"
ORDER = "purchasing/order.html"
CONFIRM = "purchasing/confirm_receipt.html"
MAX_ID = 2**62
OptionalId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
DONE = {"draft": "drafted", "submitted": "submitted for approval", "ordered": "ordered"}


# --- the site's purchasing page -----------------------------------------------------------------


@router.get("/purchasing", response_class=HTMLResponse)
def purchasing_page(request: Request, ctx: Ctx) -> Response:
    """Requisitions waiting for approval (with the approvers' buttons), the others, and the POs."""
    return render(request, INDEX, index_context(ctx, request.query_params))


def index_context(ctx: WebContext, query: Mapping[str, str]) -> dict[str, Any]:
    rt, actor, site_id = ctx.rt, ctx.actor, ctx.site_id
    requisitions = purchasing.list_requisitions(rt, actor, site_id=site_id, limit=60)
    return {
        "waiting": [r for r in requisitions if r.status == "submitted"],
        "requisitions": [r for r in requisitions if r.status != "submitted"][:30],
        "orders": purchasing.list_purchase_orders(rt, actor, site_id=site_id, limit=30),
        "is_pharmacist": Role.PHARMACIST in actor.roles_at(site_id),
        "done": query.get("done", "")[:40],
        "requisition": query.get("requisition", "")[:20],
    }


@router.post("/purchasing/requisitions/{requisition_id}/{action}", response_class=HTMLResponse)
def decide(
    requisition_id: int, action: str, request: Request, ctx: PostCtx, data: FormDep
) -> Response:
    """Submit, approve, reject (with a reason) or cancel a requisition; refusals show the page."""
    handling_form(request, INDEX, lambda: index_context(ctx, {}))
    note = Fields(data).text("note", max_length=2000)
    rt, actor = ctx.rt, ctx.actor
    if action == "submit":
        view = purchasing.submit_requisition(rt, actor, requisition_id)
    elif action == "approve":
        view = purchasing.approve_requisition(rt, actor, requisition_id, note)
    elif action == "reject":
        view = purchasing.reject_requisition(rt, actor, requisition_id, note or "")
    elif action == "cancel":
        view = purchasing.cancel_requisition(rt, actor, requisition_id)
    else:
        raise errors.NotFound(f"no requisition action {action!r}", action=action)
    done = DONE.get(view.status, view.status)
    return see_other(f"/purchasing?done={done}&requisition={view.id}")


# --- a new requisition --------------------------------------------------------------------------


@router.get("/purchasing/requisitions/new", response_class=HTMLResponse)
def new_requisition(request: Request, ctx: Ctx, supplier_id: OptionalId = None) -> Response:
    """A supplier's packs with a packs field each: the order form of one supplier."""
    ctx.actor.require(Permission.ORDER, ctx.site_id)
    return render(request, NEW, new_context(ctx, supplier_id, {}))


def new_context(
    ctx: WebContext, supplier_id: int | None, values: Mapping[str, str]
) -> dict[str, Any]:
    suppliers = purchasing.list_suppliers(ctx.rt, ctx.actor)
    chosen = supplier_id or (suppliers[0].id if suppliers else None)
    supplier = purchasing.get_supplier(ctx.rt, ctx.actor, chosen) if chosen else None
    return {"suppliers": suppliers, "supplier": supplier, "values": values}


@router.post("/purchasing/requisitions", response_class=HTMLResponse)
def create_requisition(request: Request, ctx: PostCtx, data: FormDep) -> Response:
    """Draft the requisition of the packs entered (and submit it when asked)."""
    fields = Fields(data)
    supplier_id = fields.optional_integer("supplier_id", "supplier")
    handling_form(request, NEW, lambda: new_context(ctx, supplier_id, fields.values()))
    lines = [
        purchasing.RequisitionLineSpec(int(name.removeprefix("packs_")), packs)
        for name in sorted(fields.values())
        if name.startswith("packs_") and name.removeprefix("packs_").isdigit()
        for packs in [fields.optional_integer(name, "packs")]
        if packs
    ]
    if supplier_id is None or not lines:
        raise errors.ValidationFailed("enter the packs to order of at least one item")
    spec = purchasing.NewRequisition(
        ctx.site_id, supplier_id, lines, fields.text("note", max_length=2000)
    )
    view = purchasing.create_requisition(ctx.rt, ctx.actor, spec)
    if fields.flag("submit"):
        view = purchasing.submit_requisition(ctx.rt, ctx.actor, view.id)
    done = DONE.get(view.status, view.status)
    return see_other(f"/purchasing?done={done}&requisition={view.id}")


# --- a purchase order, and receiving against it -------------------------------------------------


@router.get("/purchasing/orders/{order_id}", response_class=HTMLResponse)
def order_page(order_id: int, request: Request, ctx: Ctx) -> Response:
    """A PO: per line ordered, received and open; its receipts; the receive and close forms."""
    return render(request, ORDER, order_context(ctx, order_id, request.query_params))


def order_context(ctx: WebContext, order_id: int, values: Mapping[str, str]) -> dict[str, Any]:
    order = purchasing.get_purchase_order(ctx.rt, ctx.actor, order_id)
    locations = [
        loc
        for loc in catalog.list_locations(ctx.rt, ctx.actor, order.site_id)
        if not loc.is_virtual
    ]
    dock = next((loc.id for loc in locations if loc.type is LocationType.RECEIVING), None)
    return {
        "order": order,
        "locations": locations,
        "default_location": dock or (locations[0].id if locations else None),
        "values": dict(values),
        "done": values.get("done", "")[:20],
    }


@router.post("/purchasing/orders/{order_id}/receive/confirm", response_class=HTMLResponse)
def confirm_receipt(order_id: int, request: Request, ctx: PostCtx, data: FormDep) -> Response:
    """What receiving would post, computed by the service without writing; or the form again."""
    fields = Fields(data)
    handling_form(request, ORDER, lambda: order_context(ctx, order_id, fields.values()))
    preview = purchasing.preview_receipt(ctx.rt, ctx.actor, _command(ctx, order_id, fields))
    values = {k: v for k, v in fields.values().items() if k != "idempotency_key"}
    context = {
        "preview": preview,
        "order": preview.order,
        "values": values,
        "key": f"web:{uuid.uuid4()}",
    }
    return render(request, CONFIRM, context)


@router.post("/purchasing/orders/{order_id}/receive", response_class=HTMLResponse)
def post_receipt(order_id: int, request: Request, ctx: PostCtx, data: FormDep) -> Response:
    """Post with the confirm page's idempotency key: a second submit returns the first result."""
    fields = Fields(data)
    handling_form(request, ORDER, lambda: order_context(ctx, order_id, fields.values()))
    fields.required_text("idempotency_key", "the confirm step")
    result = purchasing.receive_purchase_order(ctx.rt, ctx.actor, _command(ctx, order_id, fields))
    return see_other(f"/purchasing/orders/{order_id}?posted={result.document.id}")


@router.post("/purchasing/orders/{order_id}/{action}", response_class=HTMLResponse)
def finish_order(
    order_id: int, action: str, request: Request, ctx: PostCtx, data: FormDep
) -> Response:
    """Close (short lines and all) or cancel (nothing received) an open PO."""
    handling_form(request, ORDER, lambda: order_context(ctx, order_id, {}))
    note = Fields(data).text("note", max_length=2000)
    if action == "close":
        purchasing.close_purchase_order(ctx.rt, ctx.actor, order_id, note)
    elif action == "cancel":
        purchasing.cancel_purchase_order(ctx.rt, ctx.actor, order_id, note)
    else:
        raise errors.NotFound(f"no purchase order action {action!r}", action=action)
    return see_other(f"/purchasing/orders/{order_id}?done={action}d")


def _command(ctx: WebContext, order_id: int, fields: Fields) -> ReceivePurchaseOrder:
    """One receipt line per PO line with a quantity: ``qty_<line>``, ``lot_<line>``,
    ``expiry_<line>``, and a substitute (``sub_<line>``: SKU, NDC or GTIN) with its reason."""
    lines = []
    for name in sorted(fields.values()):
        suffix = name.removeprefix("qty_")
        if not name.startswith("qty_") or not suffix.isdigit():
            continue
        quantity = fields.optional_integer(name, f"quantity of line {suffix}")
        if not quantity:
            continue
        substitute = fields.text(f"sub_{suffix}", max_length=60)
        lines.append(
            PoReceiptLine(
                int(suffix),
                quantity,
                fields.text(f"lot_{suffix}", max_length=40),
                fields.optional_date(f"expiry_{suffix}", f"expiry of line {suffix}"),
                catalog.find_item(ctx.rt, ctx.actor, substitute).id if substitute else None,
                fields.text(f"reason_{suffix}", max_length=500),
            )
        )
    if not lines:
        raise errors.ValidationFailed("enter the quantity received of at least one line")
    header = Header(
        note=fields.text("note", max_length=500),
        idempotency_key=check_client_key(fields.text("idempotency_key")),
    )
    location = fields.integer("location_id", "location")
    return ReceivePurchaseOrder(order_id, location, lines, header)
