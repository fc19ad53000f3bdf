"""Replenishment: suggested orders (JSON or CSV) and accepting them as a requisition, ABC/XYZ
classes, and one item's forecast with its history, quantiles, model and backtest error."""

from __future__ import annotations

import math
from datetime import date
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from rxledger.entrypoints.api import purchasing_schemas as ps
from rxledger.entrypoints.api.deps import ActorDep, IdPath, IdQuery, RuntimeDep
from rxledger.entrypoints.api.errors import ERROR_RESPONSES
from rxledger.entrypoints.api.schemas import Id, Strict
from rxledger.services import replenishment, stock_health

router = APIRouter(responses=ERROR_RESPONSES, tags=["replenishment"])
Weeks = Annotated[int, Query(ge=8, le=260, description="Weeks of history read.")]
Horizon = Annotated[int, Query(ge=1, le=52, description="Weeks forecast.")]

SUGGESTION_FIELDS = (
    "site_id",
    "site_code",
    "item_id",
    "sku",
    "name",
    "strength",
    "supplier_id",
    "supplier_code",
    "offer_id",
    "abc",
    "xyz",
    "demand_class",
    "status",
    "model",
    "mase",
    "daily_forecast",
    "lead_time_days",
    "protection_days",
    "protection_mean",
    "service_level",
    "safety_stock",
    "minimum",
    "maximum",
    "available",
    "reserved",
    "on_order",
    "in_transit",
    "position",
    "pack_units",
    "order_packs",
    "order_units",
    "order_value",
    "capped_by_shelf_life",
    "below_minimum",
)
CLASS_FIELDS = (
    "site_id",
    "site_code",
    "item_id",
    "sku",
    "name",
    "abc",
    "xyz",
    "demand_class",
    "demand",
    "consumption_value",
    "cumulative_share",
    "cv",
    "adi",
    "cv2",
)


class SuggestionOut(BaseModel):
    site_id: int
    site_code: str
    item_id: int
    sku: str
    name: str
    strength: str
    supplier_id: int
    supplier_code: str
    offer_id: int = Field(description="The supplier item to order (its pack and price).")
    abc: str
    xyz: str
    demand_class: str = Field(description="smooth, erratic, intermittent, lumpy or none.")
    status: str = Field(description="regular, new, fading or discontinued.")
    model: str = Field(description="The forecasting model the backtest chose.")
    mase: float | None = Field(description="Its backtest mean absolute scaled error.")
    daily_forecast: float
    lead_time_days: int
    protection_days: int = Field(description="Lead time plus the review period.")
    protection_mean: float = Field(description="Forecast demand over the protection days.")
    service_level: float
    safety_stock: float
    minimum: int = Field(description="Reorder point: at or below it, order.")
    maximum: int = Field(description="Order up to this position.")
    available: int
    reserved: int
    on_order: int
    in_transit: int
    position: int = Field(description="available − reserved + on order + in transit.")
    pack_units: int
    order_packs: int
    order_units: int
    order_value: float
    capped_by_shelf_life: bool
    below_minimum: bool = Field(description="The supplier's minimum order value is not met.")


class SuggestionsOut(BaseModel):
    as_of: date
    suggestions: list[SuggestionOut]


class ClassOut(BaseModel):
    site_id: int
    site_code: str
    item_id: int
    sku: str
    name: str
    abc: str
    xyz: str
    demand_class: str
    demand: float
    consumption_value: float
    cumulative_share: float
    cv: float | None
    adi: float | None
    cv2: float | None


class AcceptIn(Strict):
    site_id: Id
    supplier_id: Id
    lines: list[ps.RequisitionLineIn] = Field(min_length=1, max_length=500)
    note: str | None = Field(default=None, max_length=2000)


class WeekOut(BaseModel):
    week: date
    demand: float
    out_of_stock: bool


class ForecastPointOut(BaseModel):
    date: date
    forecast: float
    q50: float
    q90: float
    q95: float


class BacktestOut(BaseModel):
    model: str
    mase: float | None
    scaled_pinball: float | None


class ItemForecastOut(BaseModel):
    item_id: int
    site_id: int
    as_of: date
    status: str
    demand_class: str
    model: str
    mase: float | None
    scaled_pinball: float | None
    history: list[WeekOut]
    forecast: list[ForecastPointOut]
    backtest: list[BacktestOut]


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NaT or value is None:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if hasattr(value, "item"):
        return _clean(value.item())
    return value


def records(frame: pd.DataFrame, fields: tuple[str, ...]) -> list[dict[str, Any]]:
    return [
        {k: _clean(v) for k, v in row.items()}
        for row in frame[list(fields)].to_dict(orient="records")
    ]


@router.get("/replenishment/suggestions", response_model=SuggestionsOut)
def suggestions(
    rt: RuntimeDep, actor: ActorDep, site_id: IdQuery = None, weeks: Weeks = 104
) -> dict[str, Any]:
    """Suggested order lines of the sites this user sees (or one site): forecast, safety stock,
    min/max, position and the order in supplier packs, each line with its reasons."""
    plan = replenishment.plan(rt, actor, site_id=site_id, weeks=weeks)
    return {"as_of": plan.as_of, "suggestions": records(plan.suggestions, SUGGESTION_FIELDS)}


@router.get(
    "/replenishment/suggestions.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
def suggestions_csv(
    rt: RuntimeDep, actor: ActorDep, site_id: IdQuery = None, weeks: Weeks = 104
) -> Response:
    """The same suggestions as a CSV file."""
    plan = replenishment.plan(rt, actor, site_id=site_id, weeks=weeks)
    body = plan.suggestions[list(SUGGESTION_FIELDS)].to_csv(index=False, float_format="%.4f")
    return Response(
        body,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="suggestions-{plan.as_of}.csv"'},
    )


@router.post("/replenishment/accept", response_model=ps.RequisitionOut, status_code=201)
def accept(body: AcceptIn, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    """Accept suggested lines of one supplier (packs as suggested or changed): a draft
    requisition, which then follows the purchasing rules."""
    view = replenishment.accept(
        rt,
        actor,
        site_id=body.site_id,
        supplier_id=body.supplier_id,
        lines=[replenishment.AcceptedLine(x.supplier_item_id, x.packs) for x in body.lines],
        note=body.note,
    )
    return view.as_dict()


@router.get("/replenishment/classes", response_model=list[ClassOut])
def classes(
    rt: RuntimeDep, actor: ActorDep, site_id: IdQuery = None, weeks: Weeks = 104
) -> list[dict[str, Any]]:
    """ABC (consumption value 80/15/5), XYZ (variability) and Syntetos–Boylan demand class per
    item and site."""
    frame = replenishment.classify_items(rt, actor, site_id=site_id, weeks=weeks)
    return records(frame, CLASS_FIELDS)


@router.get("/items/{item_id}/forecast", response_model=ItemForecastOut)
def item_forecast(
    item_id: IdPath,
    rt: RuntimeDep,
    actor: ActorDep,
    site_id: Annotated[int, Query(ge=1, le=2**63 - 1)],
    horizon: Horizon = 13,
) -> dict[str, Any]:
    """One item's weekly history at a site, its forecast with the 0.5/0.9/0.95 quantiles, the
    chosen model and the backtest errors of every candidate."""
    found = replenishment.forecast_items(
        rt, actor, site_id=site_id, item_id=item_id, horizon=horizon
    )
    return item_forecast_view(found, item_id, site_id)


def item_forecast_view(
    found: replenishment.LedgerForecast, item_id: int, site_id: int
) -> dict[str, Any]:
    """The chart's data; an item without a whole week of history has none, and no model."""
    history, result = found.history, found.result
    if result is None:
        return {
            "item_id": item_id,
            "site_id": site_id,
            "as_of": found.as_of,
            "status": "none",
            "demand_class": "none",
            "model": "none",
            "mase": None,
            "scaled_pinball": None,
            "history": [],
            "forecast": [],
            "backtest": [],
        }
    summary = result.summary.iloc[0]
    forecasts = result.forecasts
    return {
        "item_id": item_id,
        "site_id": site_id,
        "as_of": found.as_of,
        "status": summary["status"],
        "demand_class": summary["demand_class"],
        "model": summary["model"],
        "mase": _clean(float(summary["mase"])),
        "scaled_pinball": _clean(float(summary["scaled_pinball"])),
        "history": [
            {"week": w.date(), "demand": float(d), "out_of_stock": bool(o)}
            for w, d, o in zip(
                history["week"], history["demand"], history["out_of_stock"], strict=True
            )
        ],
        "forecast": [
            {
                "date": d.date(),
                "forecast": float(f),
                "q50": float(a),
                "q90": float(b),
                "q95": float(c),
            }
            for d, f, a, b, c in zip(
                forecasts["ds"],
                forecasts["forecast"],
                forecasts["q0.5"],
                forecasts["q0.9"],
                forecasts["q0.95"],
                strict=True,
            )
        ],
        "backtest": [
            {
                "model": m,
                "mase": _clean(float(x)),
                "scaled_pinball": _clean(float(y)),
            }
            for m, x, y in zip(
                result.backtest["model"],
                result.backtest["mase"],
                result.backtest["scaled_pinball"],
                strict=True,
            )
        ],
    }


# --- stock health and KPIs ----------------------------------------------------------------------

DeadDays = Annotated[int, Query(ge=1, le=3650, description="Days without a dispense.")]
By = Annotated[
    list[Literal["site", "abc", "item"]] | None,
    Query(description="Group by site, abc, item (repeat the parameter); default site."),
]
PeriodQuery = Annotated[Literal["M", "Q", "Y"] | None, Query(description="M, Q or Y.")]
HEALTH_FIELDS = {
    "dead": ("site_id", "site_code", "item_id", "sku", "name", "on_hand", "idle_days"),
    "at_risk": (
        "site_id",
        "site_code",
        "item_id",
        "sku",
        "name",
        "lot_id",
        "lot_number",
        "expires_on",
        "on_hand",
        "expected_use",
        "at_risk_units",
        "at_risk_value",
    ),
    "transfers": (
        "item_id",
        "sku",
        "name",
        "lot_id",
        "from_site",
        "to_site",
        "units",
        "transfer_cost",
        "expected_saving",
    ),
    "risk": (
        "site_id",
        "site_code",
        "item_id",
        "sku",
        "name",
        "abc",
        "available",
        "on_order",
        "in_transit",
        "protection_days",
        "protection_mean",
        "stockout_risk",
    ),
}


@router.get("/replenishment/stock-health")
def health(
    rt: RuntimeDep,
    actor: ActorDep,
    site_id: IdQuery = None,
    dead_days: DeadDays = 120,
    risk_limit: Annotated[int, Query(ge=1, le=5000)] = 100,
) -> dict[str, Any]:
    """Dead stock, lots at risk of expiring before use, recommended inter-site transfers (HiGHS)
    and the highest stock-out risks."""
    found = stock_health.stock_health(rt, actor, site_id=site_id, dead_days=dead_days)
    return {
        "as_of": found.as_of,
        "dead": records(found.dead, HEALTH_FIELDS["dead"]),
        "at_risk": records(found.at_risk, HEALTH_FIELDS["at_risk"]),
        "transfers": records(found.transfers, HEALTH_FIELDS["transfers"]),
        "risk": records(found.risk.head(risk_limit), HEALTH_FIELDS["risk"]),
    }


@router.get("/kpis")
def kpis(
    rt: RuntimeDep,
    actor: ActorDep,
    site_id: IdQuery = None,
    by: By = None,
    period: PeriodQuery = "M",
    days: Annotated[int, Query(ge=7, le=1460)] = 365,
) -> list[dict[str, Any]]:
    """Turns, days on hand, stock-out frequency, fill rate, expiry write-off rate and inventory
    value per group and period."""
    groups = tuple(dict.fromkeys(by or ["site"]))
    frame = stock_health.inventory_kpis(
        rt, actor, site_id=site_id, by=groups, period=period, days=days
    )
    return records(frame, tuple(frame.columns))
