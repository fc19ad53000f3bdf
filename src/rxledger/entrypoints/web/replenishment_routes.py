"""The replenishment screens of a site: suggested orders grouped by supplier (accept as a draft
requisition, packs editable; CSV export), and an item's forecast chart: weekly history, forecast,
the 0.5–0.95 quantile band, the chosen model and the backtest errors of every candidate.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from rxledger.domain import errors
from rxledger.domain.permissions import Permission
from rxledger.entrypoints.api.replenishment_routes import (
    SUGGESTION_FIELDS,
    item_forecast_view,
    records,
)
from rxledger.entrypoints.web.fields import Fields
from rxledger.entrypoints.web.render import WebRoute, handling_form, render, see_other
from rxledger.entrypoints.web.session import Ctx, FormDep, PostCtx, WebContext
from rxledger.services import catalog, replenishment

router = APIRouter(route_class=WebRoute, include_in_schema=False)
INDEX = "replenishment/index.html"
ITEM = "replenishment/item.html"
CHART_WIDTH, CHART_HEIGHT, PAD = 760, 260, 36


@router.get("/replenishment", response_class=HTMLResponse)
def replenishment_page(request: Request, ctx: Ctx) -> Response:
    """The site's suggested orders, one card per supplier."""
    return render(request, INDEX, index_context(ctx, {}))


def index_context(ctx: WebContext, values: Mapping[str, str]) -> dict[str, Any]:
    ctx.actor.require(Permission.VIEW, ctx.site_id)
    plan = replenishment.plan(ctx.rt, ctx.actor, site_id=ctx.site_id)
    rows = records(plan.suggestions, SUGGESTION_FIELDS)
    suppliers: dict[int, dict[str, Any]] = {}
    for row in rows:
        group = suppliers.setdefault(
            row["supplier_id"],
            {"id": row["supplier_id"], "code": row["supplier_code"], "lines": [], "value": 0.0},
        )
        group["lines"].append(row)
        group["value"] += row["order_value"]
    return {
        "as_of": plan.as_of,
        "suppliers": list(suppliers.values()),
        "lines": len(rows),
        "total": sum(g["value"] for g in suppliers.values()),
        "series": len(plan.policy),
        "values": values,
    }


@router.get("/replenishment/suggestions.csv")
def suggestions_csv(request: Request, ctx: Ctx) -> Response:
    """The site's suggestions as CSV, the same columns as the API's export."""
    plan = replenishment.plan(ctx.rt, ctx.actor, site_id=ctx.site_id)
    body = plan.suggestions[list(SUGGESTION_FIELDS)].to_csv(index=False, float_format="%.4f")
    return Response(
        body,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="suggestions-{plan.as_of}.csv"'},
    )


@router.post("/replenishment/accept", response_class=HTMLResponse)
def accept(request: Request, ctx: PostCtx, data: FormDep) -> Response:
    """Draft a requisition of the ticked lines of one supplier, in the packs entered."""
    fields = Fields(data)
    handling_form(request, INDEX, lambda: index_context(ctx, fields.values()))
    supplier_id = fields.optional_integer("supplier_id", "supplier")
    ticked = {name.removeprefix("take_") for name in fields.values() if name.startswith("take_")}
    lines = [
        replenishment.AcceptedLine(int(offer), packs)
        for offer in sorted(ticked)
        if offer.isdigit()
        for packs in [fields.optional_integer(f"packs_{offer}", "packs")]
        if packs
    ]
    if supplier_id is None or not lines:
        raise errors.ValidationFailed("tick at least one line with packs to order")
    view = replenishment.accept(
        ctx.rt, ctx.actor, site_id=ctx.site_id, supplier_id=supplier_id, lines=lines
    )
    return see_other(f"/purchasing?done=drafted&requisition={view.id}")


@router.get("/replenishment/items/{item_id}", response_class=HTMLResponse)
def item_page(item_id: int, request: Request, ctx: Ctx) -> Response:
    """One item's forecast chart at the site."""
    item = catalog.get_item(ctx.rt, ctx.actor, item_id)
    found = replenishment.forecast_items(
        ctx.rt, ctx.actor, site_id=ctx.site_id, item_id=item_id, horizon=13
    )
    view = item_forecast_view(found, item_id, ctx.site_id)
    return render(request, ITEM, {"item": item, "f": view, "chart": chart(view)})


def chart(view: Mapping[str, Any]) -> dict[str, Any]:
    """Coordinates for an SVG: history as bars (out-of-stock weeks marked), the forecast line and
    its 0.5–0.95 band."""
    history, forecast = view["history"], view["forecast"]
    weeks = len(history) + len(forecast)
    top: float = max(
        [float(h["demand"]) for h in history] + [float(p["q95"]) for p in forecast] + [1.0]
    )
    width, height = CHART_WIDTH - 2 * PAD, CHART_HEIGHT - 2 * PAD
    step = width / max(weeks, 1)

    def x(i: int) -> float:
        return round(PAD + (i + 0.5) * step, 1)

    def y(v: float) -> float:
        return round(PAD + height - float(v) / top * height, 1)

    bars = [
        {
            "x": round(PAD + i * step + step * 0.1, 1),
            "y": y(h["demand"]),
            "w": round(step * 0.8, 1),
            "h": round(h["demand"] / top * height, 1),
            "out": h["out_of_stock"],
            "label": f"week of {h['week']}: {h['demand']:g}",
        }
        for i, h in enumerate(history)
    ]
    start = len(history)
    line = " ".join(f"{x(start + i)},{y(p['forecast'])}" for i, p in enumerate(forecast))
    upper = [f"{x(start + i)},{y(p['q95'])}" for i, p in enumerate(forecast)]
    lower = [f"{x(start + i)},{y(p['q50'])}" for i, p in enumerate(forecast)]
    ticks = [{"y": y(top * k / 4), "label": f"{top * k / 4:,.0f}"} for k in range(5)]
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "bars": bars,
        "line": line,
        "band": " ".join(upper + lower[::-1]),
        "ticks": ticks,
        "split": round(PAD + start * step, 1),
        "pad": PAD,
        "bottom": PAD + height,
    }
