"""Receiving sessions: open a receipt (against shipment data, a PO, or blind), scan each package,
confirm counts, close (one receipt document), put away by shelf label; and the imported shipments
a session can be opened against."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from rxledger.entrypoints.api import receiving_schemas as r
from rxledger.entrypoints.api import schemas as s
from rxledger.entrypoints.api.deps import (
    MAX_ID,
    ActorDep,
    IdempotencyKey,
    IdPath,
    PagingDep,
    RuntimeDep,
)
from rxledger.entrypoints.api.errors import ERROR_RESPONSES
from rxledger.services import receiving, shipments
from rxledger.services.receiving import ExpectedLine, ReceivingLine, ReceivingSession

router = APIRouter(responses=ERROR_RESPONSES, tags=["receiving"])
SiteQuery = Annotated[int, Query(ge=1, le=MAX_ID, description="The receiving site.")]
SESSIONS = "/receiving-sessions"


@router.post(SESSIONS, response_model=r.SessionOut, status_code=201)
def open_session(body: r.SessionIn, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    """Open a receipt at the site's receiving dock: against an imported shipment's data, a
    purchase order, or blind (a DSCSA product received blind goes to quarantine). Needs RECEIVE
    at the site."""
    session = receiving.open_session(
        rt,
        actor,
        body.site_id,
        shipment_id=body.shipment_id,
        purchase_order_id=body.purchase_order_id,
    )
    return _session(session)


@router.get(SESSIONS, response_model=s.Page[r.SessionSummaryOut])
def list_sessions(
    rt: RuntimeDep,
    actor: ActorDep,
    paging: PagingDep,
    site_id: SiteQuery,
    status: Annotated[Literal["open", "posted", "cancelled"] | None, Query()] = None,
) -> dict[str, Any]:
    """A site's receiving sessions, newest first (headers only)."""
    found = receiving.list_sessions(
        rt, actor, site_id, status=status, limit=paging.limit + 1, offset=paging.offset
    )
    items = [_header(x) for x in found[: paging.limit]]
    return s.page(items, paging.limit, paging.offset, len(found) > paging.limit)


@router.get(SESSIONS + "/{session_id}", response_model=r.SessionOut)
def get_session(session_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    """A session with its scanned lines, what its shipment lists against what was accepted, and
    its discrepancies."""
    return _session(receiving.get_session(rt, actor, session_id))


@router.post(SESSIONS + "/{session_id}/scans", response_model=r.ScanVerdictOut, status_code=201)
def scan(
    session_id: IdPath,
    body: r.ReceivingScanIn,
    response: Response,
    rt: RuntimeDep,
    actor: ActorDep,
    key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Record one scanned package, judged at once: accepted to the dock, or to quarantine with
    the reason (expired, short-dated, unknown GTIN, not in the shipment's data, damaged, no
    transaction data). A case or pallet the shipment lists adds every unit inside it. Send an
    `Idempotency-Key`: a retried scan then returns its first lines (200) instead of counting the
    package twice."""
    outcome = receiving.scan(
        rt,
        actor,
        session_id,
        body.scan,
        packages=body.packages,
        damaged=body.damaged,
        idempotency_key=key,
    )
    if outcome.replayed:
        response.status_code = 200
    return {
        "verdict": outcome.verdict,
        "message": outcome.message,
        "item_name": outcome.item_name,
        "quarantined": outcome.quarantined,
        "lines": [_line(x) for x in outcome.lines],
    }


@router.patch(SESSIONS + "/{session_id}/lines/{line_id}", response_model=r.ReceivingLineOut)
def set_count(
    session_id: IdPath, line_id: IdPath, body: r.LinePatch, rt: RuntimeDep, actor: ActorDep
) -> dict[str, Any]:
    """Confirm or correct a line's count, in packages of the scanned level, while the session is
    open (a serialized package is always one)."""
    receiving.set_count(rt, actor, session_id, line_id, body.packages)
    session = receiving.get_session(rt, actor, session_id)
    return _line(next(x for x in session.lines if x.id == line_id))


@router.delete(SESSIONS + "/{session_id}/lines/{line_id}", status_code=204)
def remove_line(session_id: IdPath, line_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> Response:
    """Take back a mis-scan while the session is open, with the discrepancy it opened; a line
    that made its package suspect is refused (`UNDER_INVESTIGATION`)."""
    receiving.remove_line(rt, actor, session_id, line_id)
    return Response(status_code=204)


@router.post(SESSIONS + "/{session_id}/cancel", response_model=r.SessionOut)
def cancel(session_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    """Give up an open session: nothing is posted, its lines stay on record, its discrepancies
    are closed as cancelled and its shipment may be received again."""
    return _session(receiving.cancel(rt, actor, session_id))


@router.post(
    SESSIONS + "/{session_id}/close",
    response_model=s.DocumentOut,
    status_code=201,
    responses={200: {"description": "Closed before: the first receipt, `replayed: true`."}},
)
def close(
    session_id: IdPath,
    response: Response,
    rt: RuntimeDep,
    actor: ActorDep,
    _key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Post the session as one receipt: accepted packages to the receiving dock, the rest (and
    counts above the shipment's data) to quarantine, shortages recorded as discrepancies. The
    close is idempotent per session whatever the key: a second close returns the first receipt."""
    document = receiving.close(rt, actor, session_id)
    if document.replayed:
        response.status_code = 200
    return document.as_dict()


@router.post(SESSIONS + "/{session_id}/put-away", response_model=s.DocumentOut, status_code=201)
def put_away(
    session_id: IdPath, body: r.PutAwayIn, rt: RuntimeDep, actor: ActorDep
) -> dict[str, Any]:
    """Move the session's accepted stock from the dock to the scanned shelf (MOVE at the site);
    each line records when it became available."""
    return receiving.put_away(rt, actor, session_id, body.location).as_dict()


@router.get("/shipments", response_model=s.Page[r.ShipmentSummaryOut])
def list_shipments(
    rt: RuntimeDep,
    actor: ActorDep,
    paging: PagingDep,
    site_id: SiteQuery,
    status: Annotated[
        Literal["expected", "receiving", "received"] | None,
        Query(description="expected: awaiting a session; receiving: one is open."),
    ] = None,
) -> dict[str, Any]:
    """A site's imported shipment data (EPCIS, ASN, manifests), newest first."""
    found = shipments.list_shipments(
        rt, actor, site_id, status=status, limit=paging.limit + 1, offset=paging.offset
    )
    items = [x.as_dict() for x in found[: paging.limit]]
    return s.page(items, paging.limit, paging.offset, len(found) > paging.limit)


# --- service views to bodies --------------------------------------------------------------------


def _header(session: ReceivingSession) -> dict[str, Any]:
    return {
        "id": session.id,
        "site_id": session.site_id,
        "location_id": session.location_id,
        "quarantine_location_id": session.quarantine_location_id,
        "purchase_order_id": session.purchase_order_id,
        "shipment_id": session.shipment_id,
        "status": session.status,
        "opened_by": session.opened_by,
        "opened_at": session.opened_at,
        "closed_at": session.closed_at,
        "receipt_document_id": session.receipt_document_id,
    }


def _session(session: ReceivingSession) -> dict[str, Any]:
    return {
        **_header(session),
        "lines": [_line(x) for x in session.lines],
        "expected": [_expected(x) for x in session.expected],
        "discrepancies": [
            {k: d.get(k) for k in ("id", "reason", "details", "status", "line_id")}
            for d in session.discrepancies
        ],
    }


def _line(line: ReceivingLine) -> dict[str, Any]:
    after = line.available_after
    return {
        "id": line.id,
        "line_no": line.line_no,
        "item_id": line.item_id,
        "gtin": line.gtin,
        "lot_number": line.lot_number,
        "expiry": line.expiry,
        "serial": line.serial,
        "quantity": line.quantity,
        "package_units": line.package_units,
        "packages": line.packages,
        "disposition": line.disposition,
        "reason": line.reason,
        "note": line.note,
        "scanned_by": line.scanned_by,
        "scanned_at": line.scanned_at,
        "available_at": line.available_at,
        "available_after_seconds": None if after is None else int(after.total_seconds()),
    }


def _expected(line: ExpectedLine) -> dict[str, Any]:
    return {
        "item_id": line.item_id,
        "gtin": line.gtin,
        "lot_number": line.lot_number,
        "expiry": line.expiry,
        "description": line.description,
        "expected": line.expected,
        "received": line.received,
        "outstanding": line.outstanding,
    }
