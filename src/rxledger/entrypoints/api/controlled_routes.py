"""Controlled substances: the perpetual inventory log of an item at a site and the biennial
inventory count sheet, as JSON, CSV or PDF."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel

from rxledger.entrypoints import controlled_reports
from rxledger.entrypoints.api.deps import MAX_ID, ActorDep, RuntimeDep
from rxledger.entrypoints.api.errors import ERROR_RESPONSES
from rxledger.services import controlled
from rxledger.services.controlled import BiennialSheet, PerpetualLog

router = APIRouter(responses=ERROR_RESPONSES, tags=["controlled substances"])

SiteId = Annotated[int, Query(ge=1, le=MAX_ID)]
Format = Annotated[Literal["json", "csv", "pdf"], Query(description="json, csv or pdf.")]
_FILES = {
    200: {
        "content": {"application/json": {}, "text/csv": {}, "application/pdf": {}},
        "description": "The report as JSON, CSV or PDF.",
    }
}


class LogRowOut(BaseModel):
    movement_id: int
    occurred_at: AwareDatetime
    document_id: int
    doc_type: str
    reference: str | None
    reason_code: str | None
    lot_number: str
    from_location: str
    to_location: str
    quantity_in: int
    quantity_out: int
    balance: int
    posted_by: str
    witness: str | None


class LogOut(BaseModel):
    site_id: int
    item_id: int
    sku: str
    item_name: str
    dea_schedule: str | None
    cannabis_category: str | None
    since: AwareDatetime | None
    until: AwareDatetime | None
    opening: int
    closing: int
    rows: list[LogRowOut]


class SheetLineOut(BaseModel):
    item_id: int
    sku: str
    name: str
    strength: str
    base_unit: str
    dea_schedule: str | None
    cannabis_category: str | None
    lot_id: int | None
    lot_number: str
    expiry: str | None
    system_on_hand: int
    counted: int | None
    counted_by: str | None
    difference: int | None


class SignedResultOut(BaseModel):
    session_id: int
    title: str
    status: str
    created_by: str
    closed_at: AwareDatetime | None
    document_id: int | None
    posted_by: str | None
    witnesses: list[str]
    counted_by: list[str]


class SheetOut(BaseModel):
    site_id: int
    as_of: AwareDatetime
    lines: list[SheetLineOut]
    result: SignedResultOut | None


def _file(body: str | bytes, media_type: str, name: str) -> Response:
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _log_json(log: PerpetualLog) -> dict[str, Any]:
    item = log.item
    return {
        "site_id": log.site.id,
        "item_id": item.id,
        "sku": item.sku,
        "item_name": item.name,
        "dea_schedule": item.dea_schedule.value if item.dea_schedule else None,
        "cannabis_category": item.cannabis_category,
        "since": log.since,
        "until": log.until,
        "opening": log.opening,
        "closing": log.closing,
        "rows": [asdict(r) for r in log.rows],
    }


def _sheet_json(sheet: BiennialSheet) -> dict[str, Any]:
    return {
        "site_id": sheet.site.id,
        "as_of": sheet.as_of,
        "lines": [asdict(ln) | {"difference": ln.difference} for ln in sheet.lines],
        "result": asdict(sheet.result) if sheet.result else None,
    }


@router.get("/controlled/log", response_model=LogOut, responses=_FILES)  # type: ignore[arg-type]
def perpetual_log(
    rt: RuntimeDep,
    actor: ActorDep,
    site_id: SiteId,
    item_id: Annotated[int, Query(ge=1, le=MAX_ID)],
    since: Annotated[AwareDatetime | None, Query()] = None,
    until: Annotated[AwareDatetime | None, Query()] = None,
    format: Format = "json",  # noqa: A002 - the query parameter's name
) -> Any:
    """The perpetual inventory log of a controlled item at a site: every movement into or out of
    its physical stock, oldest first, with the running balance, who posted and who witnessed."""
    log = controlled.perpetual_log(rt, actor, site_id, item_id, since, until)
    name = f"perpetual-log-{log.site.code}-{log.item.sku}"
    if format == "csv":
        return _file(controlled_reports.log_csv(log), "text/csv", f"{name}.csv")
    if format == "pdf":
        pdf = controlled_reports.log_pdf(log, rt.clock.now())
        return _file(pdf, "application/pdf", f"{name}.pdf")
    return _log_json(log)


@router.get("/controlled/inventory", response_model=SheetOut, responses=_FILES)  # type: ignore[arg-type]
def biennial_inventory(
    rt: RuntimeDep,
    actor: ActorDep,
    site_id: SiteId,
    count_session_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    as_of: Annotated[AwareDatetime | None, Query()] = None,
    format: Format = "json",  # noqa: A002 - the query parameter's name
) -> Any:
    """The biennial inventory count sheet: controlled stock per item and lot with a blank counted
    column, or with a count session's counted quantities and its signed result."""
    sheet = controlled.biennial_sheet(rt, actor, site_id, as_of, count_session_id=count_session_id)
    name = f"controlled-inventory-{sheet.site.code}"
    if format == "csv":
        return _file(controlled_reports.sheet_csv(sheet), "text/csv", f"{name}.csv")
    if format == "pdf":
        pdf = controlled_reports.sheet_pdf(sheet, rt.clock.now())
        return _file(pdf, "application/pdf", f"{name}.pdf")
    return _sheet_json(sheet)
