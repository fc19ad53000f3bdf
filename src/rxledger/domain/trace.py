"""What a ledger movement of a serialized package means in EPCIS terms (CBV business step,
disposition and action), for the DSCSA trace of a product identifier.

The ledger knows where a package went and by which document; the trace says it in the words
trading partners and regulators read: received, stored, held, dispensed, shipped, returned,
destroyed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rxledger.domain.model import AVAILABLE_TYPES, DocumentType, LocationType

Action = Literal["ADD", "OBSERVE", "DELETE"]


@dataclass(frozen=True, slots=True)
class CbvEvent:
    biz_step: str
    disposition: str | None
    action: Action = "OBSERVE"


_HOLDING = {LocationType.QUARANTINE, LocationType.RETURNS}


def disposition_at(location: LocationType) -> str | None:
    """The state of a package that has arrived at a physical location."""
    if location in AVAILABLE_TYPES:
        return "sellable_accessible"
    if location in _HOLDING:
        return "non_sellable_other"
    if location is LocationType.RECEIVING:
        return "in_progress"
    return None


def describe_movement(
    doc_type: DocumentType, source: LocationType, target: LocationType
) -> CbvEvent:
    """The CBV event of one movement: by where the package went (or came from) first, by the
    document that moved it when both ends are physical."""
    outward = _OUTWARD.get(target)
    if outward is not None:
        return outward
    inward = _INWARD.get(source)
    if inward is not None:
        return CbvEvent(inward, disposition_at(target))
    if target is LocationType.QUARANTINE:
        return CbvEvent("holding", "non_sellable_other")
    if source is LocationType.QUARANTINE:
        return CbvEvent("inspecting", disposition_at(target))  # released after inspection
    step = "storing" if doc_type in (DocumentType.PUT_AWAY, DocumentType.MOVE) else "other"
    return CbvEvent(step, disposition_at(target))


# Leaving the pharmacy's physical stock, by the virtual location it goes to.
_OUTWARD: dict[LocationType, CbvEvent] = {
    LocationType.PATIENT: CbvEvent("dispensing", "dispensed"),
    LocationType.WASTE: CbvEvent("destroying", "destroyed", "DELETE"),
    LocationType.REVERSE_DISTRIBUTOR: CbvEvent("shipping", "returned"),
    LocationType.SUPPLIER: CbvEvent("shipping", "returned"),
    LocationType.IN_TRANSIT: CbvEvent("shipping", "in_transit"),
    LocationType.ADJUSTMENT: CbvEvent("cycle_counting", None),
}
# Entering it, by the virtual location it comes from.
_INWARD: dict[LocationType, str] = {
    LocationType.SUPPLIER: "receiving",
    LocationType.IN_TRANSIT: "receiving",
    LocationType.PATIENT: "receiving",
    LocationType.REVERSE_DISTRIBUTOR: "receiving",
    LocationType.WASTE: "other",  # a reversed destruction
    LocationType.ADJUSTMENT: "cycle_counting",
}
