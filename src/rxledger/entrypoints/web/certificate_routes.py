"""Certificates of analysis on the item page of a cannabis item: each lot with its status and
certificates, an upload form (whoever receives), pass and fail buttons (whoever approves items,
not the user who attached it), and the file itself."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from rxledger.domain import errors
from rxledger.domain.certificates import MAX_CERTIFICATE_BYTES, LabResult, needs_certificate
from rxledger.domain.model import Item
from rxledger.entrypoints.web.fields import Fields
from rxledger.entrypoints.web.render import WebRoute, see_other
from rxledger.entrypoints.web.session import Ctx, FormDep, PostCtx, WebContext
from rxledger.services import catalog, certificates

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def certificate_panel(ctx: WebContext, item: Item) -> dict[str, Any]:
    """The item page's certificates section: for a cannabis item, its lots (newest expiry last)
    with their certificates and lab results; nothing for other items."""
    if not needs_certificate(item):
        return {}
    lots = catalog.list_lots(ctx.rt, ctx.actor, item.id)
    found = certificates.certificates_of_lots(ctx.rt, ctx.actor, [lot.id for lot in lots])
    return {
        "coa_lots": [(lot, found.get(lot.id, [])) for lot in lots],
        "coa_results": certificates.lab_results(ctx.rt, ctx.actor, [lot.id for lot in lots]),
    }


@router.post("/items/{item_id}/certificates", response_class=HTMLResponse)
def attach(ctx: PostCtx, data: FormDep, item_id: int) -> Response:
    """Upload a lot's certificate (a multipart form); back to the item page."""
    fields = Fields(data)
    lot = catalog.get_lot(ctx.rt, ctx.actor, fields.integer("lot_id", "the lot"))
    if lot.item_id != item_id:
        raise errors.LotItemMismatch(f"lot {lot.id} is not a lot of item {item_id}")
    upload = data.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise errors.ValidationFailed("choose the certificate's file", field="file")
    content = upload.file.read(MAX_CERTIFICATE_BYTES + 1)  # one byte more is refused as too large
    view = certificates.attach_certificate(
        ctx.rt,
        ctx.actor,
        lot.id,
        upload.filename,
        content,
        laboratory=fields.text("laboratory", max_length=200),
    )
    return _back(item_id, f"Certificate {view.filename} attached to lot {lot.lot_number}")


@router.post("/certificates/{certificate_id}/result", response_class=HTMLResponse)
def decide(ctx: PostCtx, data: FormDep, certificate_id: int) -> Response:
    fields = Fields(data)
    result = LabResult.decision(fields.required_text("result", "a lab result", max_length=10))
    view = certificates.decide_certificate(ctx.rt, ctx.actor, certificate_id, result)
    return _back(view.item_id, f"Certificate {view.filename}: lab result {result.value}")


@router.get("/certificates/{certificate_id}/file")
def download(ctx: Ctx, certificate_id: int) -> Response:
    view, content = certificates.certificate_content(ctx.rt, ctx.actor, certificate_id)
    safe = "".join(c for c in view.filename if c.isalnum() or c in "._-") or "certificate"
    return Response(
        content,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{safe}"'},
    )


def _back(item_id: int, message: str) -> Response:
    return see_other(f"/items/{item_id}?done={quote(message)}#certificates")
