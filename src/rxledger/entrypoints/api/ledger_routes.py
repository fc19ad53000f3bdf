"""Documents (post, get, reverse), balances now and as of an instant, and item history."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime

from rxledger.domain.model import LocationType
from rxledger.entrypoints.api import schemas as s
from rxledger.entrypoints.api.approvals_routes import HeldAdjustmentOut, held_out
from rxledger.entrypoints.api.deps import (
    MAX_ID,
    NO_NUL,
    ActorDep,
    IdempotencyKey,
    IdPath,
    IdQuery,
    PagingDep,
    RuntimeDep,
)
from rxledger.entrypoints.api.errors import ERROR_RESPONSES
from rxledger.services import approvals, queries, stock
from rxledger.services.controlled import Witness
from rxledger.services.posting import Header, PostedDocument

router = APIRouter(responses=ERROR_RESPONSES)
_POSTED = {"response_model": s.DocumentOut, "status_code": 201, "tags": ["documents"]}


def _header(body: Any, key: str | None) -> Header:
    return Header(
        reference=getattr(body, "reference", None),
        note=getattr(body, "note", None),
        occurred_at=getattr(body, "occurred_at", None),
        idempotency_key=key,
    )


def _lines(body_lines: list[s.StockLineIn]) -> list[stock.StockLine]:
    return [
        stock.StockLine(x.item_id, x.quantity, x.lot_id, x.serial_id, x.note) for x in body_lines
    ]


def _witness(body: s.WitnessIn | None) -> Witness | None:
    return Witness(body.username, body.password) if body is not None else None


def _out(doc: PostedDocument) -> dict[str, Any]:
    return doc.as_dict()


@router.post("/documents/receipts", **_POSTED)  # type: ignore[arg-type]
def post_receipt(
    body: s.ReceiptIn, rt: RuntimeDep, actor: ActorDep, key: IdempotencyKey = None
) -> dict[str, Any]:
    """Receive goods from a supplier into a physical location; lots are created on first sight."""
    lines = [
        stock.ReceiptLine(
            x.item_id, x.quantity, x.lot_number, x.expiry, x.manufacturer, x.serial, x.gtin
        )
        for x in body.lines
    ]
    return _out(
        stock.receive(
            rt, actor, stock.Receive(body.site_id, body.location_id, lines, _header(body, key))
        )
    )


@router.post("/documents/moves", **_POSTED)  # type: ignore[arg-type]
def post_move(
    body: s.MoveIn, rt: RuntimeDep, actor: ActorDep, key: IdempotencyKey = None
) -> dict[str, Any]:
    """Put away or move stock between physical locations of one site."""
    command = stock.Move(
        body.site_id,
        body.from_location_id,
        body.to_location_id,
        _lines(body.lines),
        _header(body, key),
        put_away=body.put_away,
    )
    return _out(stock.move(rt, actor, command))


@router.post("/documents/transfers", **_POSTED)  # type: ignore[arg-type]
def post_transfer(
    body: s.TransferIn, rt: RuntimeDep, actor: ActorDep, key: IdempotencyKey = None
) -> dict[str, Any]:
    """Ship stock to another site; it stays in transit until received there."""
    command = stock.ShipTransfer(
        body.site_id,
        body.from_location_id,
        body.to_site_id,
        _lines(body.lines),
        _header(body, key),
        _witness(body.witness),
    )
    return _out(stock.ship_transfer(rt, actor, command))


@router.post("/documents/{shipment_id}/transfer-receipts", **_POSTED)  # type: ignore[arg-type]
def post_transfer_receipt(
    shipment_id: IdPath,
    body: s.TransferReceiptIn,
    rt: RuntimeDep,
    actor: ActorDep,
    key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Receive a shipment at its destination site (all still in transit, or the given lines)."""
    command = stock.ReceiveTransfer(
        shipment_id,
        body.location_id,
        _lines(body.lines),
        _header(body, key),
        _witness(body.witness),
    )
    return _out(stock.receive_transfer(rt, actor, command))


@router.post("/documents/dispenses", **_POSTED)  # type: ignore[arg-type]
def post_dispense(
    body: s.DispenseIn, rt: RuntimeDep, actor: ActorDep, key: IdempotencyKey = None
) -> dict[str, Any]:
    """Dispense to a patient or customer; lots first-expiry-first-out unless named."""
    command = stock.Dispense(body.site_id, body.location_id, _lines(body.lines), _header(body, key))
    return _out(stock.dispense(rt, actor, command))


@router.post("/documents/{dispense_id}/returns", **_POSTED)  # type: ignore[arg-type]
def post_return(
    dispense_id: IdPath,
    body: s.ReturnIn,
    rt: RuntimeDep,
    actor: ActorDep,
    key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Return dispensed stock (a dispense reversal), never more than was dispensed."""
    command = stock.ReverseDispense(
        dispense_id, body.location_id, _lines(body.lines), _header(body, key)
    )
    return _out(stock.reverse_dispense(rt, actor, command))


@router.post(
    "/documents/adjustments",
    **_POSTED,  # type: ignore[arg-type]
    responses={202: {"model": HeldAdjustmentOut, "description": "Held for approval."}},
)
def post_adjustment(
    body: s.AdjustmentIn, rt: RuntimeDep, actor: ActorDep, key: IdempotencyKey = None
) -> Any:
    """Adjust on-hand by a signed delta or to a counted quantity, each line with a reason code.
    Above its approval policy (by default worth 250.00 or more at standard cost) nothing is
    posted: 202 with the approval it waits for (``/approvals/inbox``)."""
    lines = [
        stock.AdjustLine(
            x.item_id, x.location_id, x.lot_id, x.reason_code, x.delta, x.counted, x.note
        )
        for x in body.lines
    ]
    command = stock.Adjust(body.site_id, lines, _header(body, key), _witness(body.witness))
    outcome = approvals.request_adjustment(rt, actor, command)
    if outcome.document is None:
        return JSONResponse(held_out(outcome), status_code=202)
    return _out(outcome.document)


@router.post("/documents/destructions", **_POSTED)  # type: ignore[arg-type]
def post_destruction(
    body: s.DestructionIn, rt: RuntimeDep, actor: ActorDep, key: IdempotencyKey = None
) -> dict[str, Any]:
    """Destroy stock (to waste) or hand it to the reverse distributor, with a reason code; name
    the lot of expired or held stock (first-expiry-first-out takes usable lots only)."""
    command = stock.Destroy(
        body.site_id,
        body.from_location_id,
        _lines(body.lines),
        body.reason_code,
        LocationType(body.to),
        _header(body, key),
        _witness(body.witness),
    )
    return _out(stock.destroy(rt, actor, command))


@router.post("/documents/{document_id}/reversal", **_POSTED)  # type: ignore[arg-type]
def post_reversal(
    document_id: IdPath,
    body: s.ReversalIn,
    rt: RuntimeDep,
    actor: ActorDep,
    key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Undo a document with a reversing document that points at it."""
    return _out(stock.reverse(rt, actor, stock.Reverse(document_id, _header(body, key))))


@router.get("/documents", response_model=s.Page[s.DocumentSummaryOut], tags=["documents"])
def list_documents(
    rt: RuntimeDep,
    actor: ActorDep,
    paging: PagingDep,
    site_id: IdQuery = None,
    doc_type: Annotated[str | None, Query(max_length=30, pattern=NO_NUL)] = None,
) -> dict[str, Any]:
    """Document headers, newest first."""
    rows = queries.list_documents(
        rt, actor, site_id=site_id, doc_type=doc_type, limit=paging.limit + 1, offset=paging.offset
    )
    return s.page(rows[: paging.limit], paging.limit, paging.offset, len(rows) > paging.limit)


@router.get("/documents/{document_id}", response_model=s.DocumentOut, tags=["documents"])
def get_document(document_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return _out(queries.get_document(rt, actor, document_id))


@router.get("/balances", response_model=s.Page[s.BalanceOut], tags=["balances"])
def balances(
    rt: RuntimeDep,
    actor: ActorDep,
    paging: PagingDep,
    site_id: IdQuery = None,
    location_id: IdQuery = None,
    item_id: IdQuery = None,
    lot_id: IdQuery = None,
    as_of: Annotated[
        AwareDatetime | None, Query(description="An instant with timezone; default now.")
    ] = None,
    include_virtual: bool = False,
) -> dict[str, Any]:
    """On-hand per (location, item, lot), now or as of a past instant."""
    rows = queries.balances(
        rt,
        actor,
        site_id=site_id,
        location_id=location_id,
        item_id=item_id,
        lot_id=lot_id,
        as_of=as_of,
        include_virtual=include_virtual,
    )
    chunk = rows[paging.offset : paging.offset + paging.limit]
    return s.page(
        [asdict(r) for r in chunk],
        paging.limit,
        paging.offset,
        len(rows) > paging.offset + paging.limit,
    )


@router.get("/items/{item_id}/history", response_model=s.HistoryPage, tags=["items"])
def item_history(
    item_id: IdPath,
    rt: RuntimeDep,
    actor: ActorDep,
    site_id: IdQuery = None,
    location_id: IdQuery = None,
    lot_id: IdQuery = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="A movement id: show older movements.")
    ] = None,
) -> dict[str, Any]:
    """An item's movements, newest first, with the running balance of the scope (a location, a
    site's physical locations, or all of them)."""
    rows = queries.item_history(
        rt,
        actor,
        item_id,
        site_id=site_id,
        location_id=location_id,
        lot_id=lot_id,
        limit=limit + 1,
        before_movement_id=before,
    )
    shown = rows[:limit]
    return {
        "items": [asdict(r) for r in shown],
        "next_before": shown[-1].movement_id if len(rows) > limit else None,
    }
