"""Imported shipment data as the receiving dock sees it: which shipments a site expects, which are
being received, which are done. A session is opened against one of them (``services.receiving``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

from rxledger.adapters import shipments_repository as shipments_repo
from rxledger.domain import errors
from rxledger.domain.permissions import Permission
from rxledger.services.runtime import Actor, Runtime

ShipmentStatus = Literal["expected", "receiving", "received"]
STATUSES: tuple[ShipmentStatus, ...] = ("expected", "receiving", "received")


@dataclass(frozen=True, slots=True)
class ShipmentSummary:
    """One imported shipment: who sent it, what its data lists, and how far receiving got."""

    id: int
    site_id: int | None
    format: str
    reference: str | None
    sender: str | None
    receiver: str | None
    purchase_order_number: str | None
    shipped_at: datetime | None
    status: str
    filename: str
    imported_at: datetime
    imported_by: str
    lines: int
    serials: int
    warnings: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "warnings": list(self.warnings)}


def list_shipments(
    rt: Runtime,
    actor: Actor,
    site_id: int,
    *,
    status: ShipmentStatus | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[ShipmentSummary]:
    """A site's imported shipments, newest first: ``expected`` ones await a receiving session,
    ``receiving`` ones have one open, ``received`` ones were posted. Needs VIEW at the site."""
    actor.require(Permission.VIEW, site_id)
    with rt.uow(read_only=True) as uow:
        rows = shipments_repo.shipments_of_site(
            uow.connection,
            actor.organization_id,
            site_id,
            status=status,
            limit=limit,
            offset=offset,
        )
    return [_summary(row) for row in rows]


def get_shipment(rt: Runtime, actor: Actor, shipment_id: int) -> ShipmentSummary:
    """One imported shipment as the dock lists it; needs VIEW at its site."""
    with rt.uow(read_only=True) as uow:
        row = shipments_repo.shipment_summary(uow.connection, actor.organization_id, shipment_id)
    if row is None:
        raise errors.NotFound(f"no shipment {shipment_id}", shipment_id=shipment_id)
    if row.site_id is None:
        actor.require_anywhere(Permission.VIEW)
    else:
        actor.require(Permission.VIEW, row.site_id)
    return _summary(row)


def _summary(row: Any) -> ShipmentSummary:
    counts = json.loads(row.summary or "{}")
    return ShipmentSummary(
        id=row.id,
        site_id=row.site_id,
        format=row.format,
        reference=row.reference,
        sender=row.sender,
        receiver=row.receiver,
        purchase_order_number=row.purchase_order_number,
        shipped_at=row.shipped_at,
        status=row.status,
        filename=row.filename,
        imported_at=row.received_at,
        imported_by=row.received_by,
        lines=int(counts.get("lines", 0)),
        serials=int(counts.get("serials", 0)),
        warnings=tuple(str(w) for w in counts.get("warnings", ())),
    )
