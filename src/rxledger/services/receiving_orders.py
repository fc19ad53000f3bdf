"""A receiving session against a purchase order: what its receipt brings per PO line.

When a session receives against a PO (named when it is opened, or found by the PO number in the
shipment's data), its accepted units are counted against the PO's lines on close: the ordered
item first, then equivalent substitutes, each line up to its over-receipt allowance. What no line
has room for — more than was ordered, or something not ordered — goes to quarantine like any
other discrepancy, never into available stock. The PO receipt rows are written in the posting
transaction under the PO's row lock, exactly as a receipt against the PO's own form does.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from rxledger.adapters import locking
from rxledger.adapters import purchasing_repository as pr
from rxledger.adapters import repository as repo
from rxledger.domain import errors
from rxledger.domain.purchasing import PurchaseOrderStatus, over_receipt_allowance
from rxledger.domain.receiving import Allocation, OrderLine, allocate_to_order
from rxledger.services.runtime import Actor, Runtime

Key = tuple[int, str | None]  # (item, lot)


@dataclass(frozen=True)
class OrderPlan:
    """How a session's accepted units count against its PO, and what exceeds it."""

    order_id: int | None = None
    number: str | None = None
    allocations: tuple[Allocation, ...] = ()
    # Units to hold back in quarantine per (item, lot), and per item what no line could take.
    quarantine: dict[Key, int] = field(default_factory=dict)
    excess_by_item: dict[int, int] = field(default_factory=dict)


def order_for_shipment(
    conn: Connection, actor: Actor, site_id: int, number: str | None
) -> int | None:
    """The open PO of this site whose number the shipment's data names, if there is one."""
    if not number:
        return None
    row = pr.purchase_order_by_number(conn, actor.organization_id, number)
    if row is None or row.site_id != site_id or row.status != PurchaseOrderStatus.OPEN.value:
        return None
    return int(row.id)


def plan(
    rt: Runtime,
    actor: Actor,
    order_id: int | None,
    accepted: dict[Key, int],
    splittable: set[Key],
) -> OrderPlan:
    """Allocate the accepted units (per item and lot) to the PO's lines; the excess per item is
    taken back from its splittable (not serialized) lots, latest lot number first."""
    if order_id is None:
        return OrderPlan()
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        order = pr.purchase_order_by_id(conn, actor.organization_id, order_id)
        if order is None:
            raise errors.PurchaseOrderNotFound(f"no purchase order {order_id}", order_id=order_id)
        if order.status != PurchaseOrderStatus.OPEN.value:
            raise errors.StatusConflict(f"purchase order {order.number} is {order.status}")
        lines = pr.purchase_order_lines(conn, [order_id])
        received = pr.received_per_line(conn, [line.id for line in lines])
        per_item: dict[int, int] = defaultdict(int)
        for (item_id, _lot), units in accepted.items():
            per_item[item_id] += units
        items = repo.items_by_id(
            conn, actor.organization_id, set(per_item) | {line.item_id for line in lines}
        )
    policy = rt.purchasing_policy
    room = [
        OrderLine(
            line.id,
            items[line.item_id],
            max(
                over_receipt_allowance(line.ordered_units, policy)
                - received.get(line.id, (0, 0))[0],
                0,
            ),
        )
        for line in sorted(lines, key=lambda ln: ln.line_no)
    ]
    allocations, excess = allocate_to_order(per_item, items, room)
    return OrderPlan(
        order_id,
        order.number,
        tuple(allocations),
        _take_back(excess, accepted, splittable),
        excess,
    )


def _take_back(
    excess: dict[int, int], accepted: dict[Key, int], splittable: set[Key]
) -> dict[Key, int]:
    held: dict[Key, int] = {}
    for item_id, units in excess.items():
        left = units
        for key in sorted(
            (k for k in splittable if k[0] == item_id), key=lambda k: k[1] or "", reverse=True
        ):
            take = min(left, accepted.get(key, 0))
            if take > 0:
                held[key] = take
                left -= take
    return held


def record(conn: Connection, actor: Actor, order: OrderPlan, document_id: int) -> None:
    """In the posting transaction: the PO must still be open; write what each line received."""
    if order.order_id is None:
        return
    status = locking.lock_purchase_order(conn, order.order_id)
    if status != PurchaseOrderStatus.OPEN.value:
        raise errors.StatusConflict(f"purchase order {order.number} is no longer open")
    totals: dict[tuple[int, int, bool], int] = defaultdict(int)
    for a in order.allocations:
        totals[(a.line_id, a.item_id, a.substitute)] += a.units
    pr.insert_purchase_receipts(
        conn,
        [
            {
                "organization_id": actor.organization_id,
                "purchase_order_line_id": line_id,
                "document_id": document_id,
                "item_id": item_id,
                "units": units,
                "substitute": substitute,
            }
            for (line_id, item_id, substitute), units in sorted(totals.items())
        ],
    )


def excess_discrepancies(order: OrderPlan, accepted: dict[Key, int]) -> list[dict[str, Any]]:
    """The discrepancy records of units the PO had no room for, per (item, lot) as count
    mismatches are recorded: ``received`` accepted at the dock, ``expected`` what the PO took;
    what could not be held back (serialized packages) is recorded without a lot."""
    note = f"more than {order.number} ordered, or not on it"
    found = []
    for item_id, units in sorted(order.excess_by_item.items()):
        left = units
        for (item, lot), held in sorted(order.quarantine.items(), key=lambda kv: kv[0][1] or ""):
            if item == item_id:
                got = accepted.get((item, lot), held)
                found.append(
                    {
                        "item_id": item,
                        "lot": lot,
                        "expected": got - held,
                        "received": got,
                        "note": note,
                    }
                )
                left -= held
        if left > 0:
            found.append(
                {"item_id": item_id, "lot": None, "expected": 0, "received": left, "note": note}
            )
    return found
