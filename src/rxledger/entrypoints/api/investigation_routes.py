"""Quarantine, DSCSA investigations and traceability: discrepancies, suspect product, transaction
information per product identifier and per shipment, and a product's EPCIS trace."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from rxledger.domain.investigations import Finding, Resolution
from rxledger.entrypoints.api import investigation_schemas as s
from rxledger.entrypoints.api.deps import MAX_ID, NO_NUL, ActorDep, IdPath, RuntimeDep
from rxledger.entrypoints.api.errors import ERROR_RESPONSES
from rxledger.entrypoints.api.schemas import WitnessIn
from rxledger.services import investigations, traceability
from rxledger.services.controlled import Witness
from rxledger.services.investigations import CloseInvestigation, Outcome, ResolveDiscrepancy

router = APIRouter(responses=ERROR_RESPONSES)
EPCIS_MEDIA_TYPE = "application/ld+json"

SiteQuery = Annotated[int | None, Query(ge=1, le=MAX_ID, description="One site; default all.")]
Gtin = Annotated[str, Path(min_length=8, max_length=14, pattern=r"^[0-9]+$")]
Serial = Annotated[str, Path(min_length=1, max_length=40, pattern=NO_NUL)]


# --- discrepancies ------------------------------------------------------------------------------


@router.get("/discrepancies", response_model=list[s.DiscrepancyOut], tags=["quarantine"])
def list_discrepancies(
    rt: RuntimeDep,
    actor: ActorDep,
    site_id: SiteQuery = None,
    status: Annotated[Literal["open", "resolved"] | None, Query()] = "open",
) -> list[dict[str, Any]]:
    """Receiving discrepancies with their scanned line and session, and what each holds in
    quarantine; the sites the caller may view."""
    found = investigations.list_discrepancies(rt, actor, site_id, status)
    return [d.as_dict() for d in found]


@router.post(
    "/discrepancies/{discrepancy_id}/resolution",
    response_model=s.ResolvedOut,
    tags=["quarantine"],
)
def resolve_discrepancy(
    discrepancy_id: IdPath, body: s.ResolutionIn, rt: RuntimeDep, actor: ActorDep
) -> dict[str, Any]:
    """Release, return or destroy what a discrepancy holds in quarantine (posting its document),
    or close one that holds nothing. Needs INVESTIGATE at the site; a second resolution is a 409
    ``DISCREPANCY_ALREADY_RESOLVED``. Returning or destroying schedule II stock needs a `witness`
    (422 ``WITNESS_REQUIRED``; a wrong password is 403 ``WITNESS_CREDENTIALS_INVALID``)."""
    command = ResolveDiscrepancy(
        discrepancy_id,
        Resolution(body.outcome),
        body.location_id,
        body.reason_code,
        body.note,
        witness=_witness(body.witness),
    )
    return _outcome("discrepancy", investigations.resolve_discrepancy(rt, actor, command))


# --- DSCSA investigations -----------------------------------------------------------------------


@router.get("/investigations", response_model=list[s.InvestigationOut], tags=["quarantine"])
def list_investigations(
    rt: RuntimeDep,
    actor: ActorDep,
    site_id: SiteQuery = None,
    status: Annotated[Literal["open", "cleared", "illegitimate"] | None, Query()] = "open",
) -> list[dict[str, Any]]:
    """Investigations of suspect product (DSCSA), newest first."""
    return [i.as_dict() for i in investigations.list_investigations(rt, actor, site_id, status)]


@router.get(
    "/investigations/{investigation_id}", response_model=s.InvestigationOut, tags=["quarantine"]
)
def get_investigation(investigation_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    """An investigation with its notes and, once closed, its outcome and notification."""
    return investigations.get_investigation(rt, actor, investigation_id).as_dict()


@router.post(
    "/investigations/{investigation_id}/notes",
    response_model=s.InvestigationOut,
    status_code=201,
    tags=["quarantine"],
)
def add_note(
    investigation_id: IdPath, body: s.NoteIn, rt: RuntimeDep, actor: ActorDep
) -> dict[str, Any]:
    """Add a signed, timestamped note (INVESTIGATE at the site)."""
    return investigations.add_note(rt, actor, investigation_id, body.note).as_dict()


@router.post(
    "/investigations/{investigation_id}/close", response_model=s.ClosedOut, tags=["quarantine"]
)
def close_investigation(
    investigation_id: IdPath, body: s.CloseIn, rt: RuntimeDep, actor: ActorDep
) -> dict[str, Any]:
    """Close as cleared (the package is released from quarantine) or illegitimate (destroyed;
    `notification_reference` and `notified_at` are required; schedule II product needs a
    `witness`, else 422 ``WITNESS_REQUIRED``). A second close is a 409
    ``INVESTIGATION_ALREADY_CLOSED``."""
    command = CloseInvestigation(
        investigation_id,
        Finding(body.outcome),
        body.note,
        body.location_id,
        body.notification_reference,
        body.notified_at,
        witness=_witness(body.witness),
    )
    return _outcome("investigation", investigations.close_investigation(rt, actor, command))


def _witness(body: WitnessIn | None) -> Witness | None:
    return Witness(body.username, body.password) if body is not None else None


# --- traceability -------------------------------------------------------------------------------


@router.get(
    "/products/{gtin}/{serial}/transaction-information",
    response_model=s.TransactionInformationOut,
    tags=["traceability"],
)
def transaction_information(
    gtin: Gtin, serial: Serial, rt: RuntimeDep, actor: ActorDep
) -> dict[str, Any]:
    """DSCSA transaction information of a product identifier: the shipments whose data list it
    (sender, receiver, ship date, lot, expiry, raw file and its SHA-256) and the receiving that
    scanned it (session, disposition, receipt document)."""
    return traceability.transaction_information(rt, actor, gtin, serial).as_dict()


@router.get(
    "/products/{gtin}/{serial}/trace",
    response_class=Response,
    tags=["traceability"],
    responses={
        200: {
            "description": "An EPCIS 2.0 JSON-LD document (validates against the GS1 schema).",
            "content": {EPCIS_MEDIA_TYPE: {"schema": {"type": "object"}}},
        }
    },
)
def trace(gtin: Gtin, serial: Serial, rt: RuntimeDep, actor: ActorDep) -> Response:
    """A product's trace — receipt, moves, dispense or destruction — as EPCIS 2.0 ObjectEvents."""
    document = traceability.trace(rt, actor, gtin, serial).epcis
    return Response(json.dumps(document), media_type=EPCIS_MEDIA_TYPE)


@router.get("/shipments/{shipment_id}", response_model=s.ShipmentOut, tags=["traceability"])
def get_shipment(shipment_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    """A shipment's transaction information: its lines, declared packages (with aggregation),
    raw file metadata and the receiving sessions against it."""
    return traceability.shipment(rt, actor, shipment_id).as_dict()


@router.get(
    "/shipments/{shipment_id}/file",
    response_class=Response,
    tags=["traceability"],
    responses={
        200: {
            "description": "The file byte for byte as the trading partner sent it.",
            "content": {"application/octet-stream": {"schema": {"type": "string"}}},
        }
    },
)
def get_shipment_file(shipment_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> Response:
    """The raw shipment file; its SHA-256 is in the `X-Content-SHA256` header."""
    raw = traceability.shipment_file(rt, actor, shipment_id)
    safe = "".join(c for c in raw.filename if c.isalnum() or c in "._-") or "shipment"
    return Response(
        raw.content,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="{safe}"',
            "X-Content-SHA256": raw.sha256,
        },
    )


def _outcome(key: str, outcome: Outcome) -> dict[str, Any]:
    body = outcome.as_dict()
    return {key: body["record"], "document": body["document"]}
