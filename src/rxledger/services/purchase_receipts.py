"""Receiving against a purchase order: one ledger receipt, and what it brought per PO line.

The receipt is posted by ``stock.receive``; its ``on_posted`` hook writes the ``purchase_receipts``
rows in the same transaction, under the PO's row lock, after judging once more what the PO has
received by then. The document and its PO rows commit together or not at all, and a replayed
idempotency key returns the first document without running the hook, so nothing counts twice.

Rules (``domain.purchasing``): only an open PO receives; a line may be received in part, in full,
or over (flagged) up to the policy's tolerance; a substitute NDC must be the same generic,
strength and form unless forced with a reason, which is kept on the document's note. The document's
reference is the PO's number.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from sqlalchemy import Connection

from rxledger.adapters import locking
from rxledger.adapters import purchasing_repository as pr
from rxledger.adapters import repository as repo
from rxledger.domain import errors
from rxledger.domain.ledger import PlannedMovement, require_quantity
from rxledger.domain.model import Item
from rxledger.domain.permissions import Permission
from rxledger.domain.purchasing import (
    PurchaseOrderStatus,
    PurchasingPolicy,
    ReceiptStatus,
    check_receipt,
    check_substitute,
    receipt_status,
    require_status,
)
from rxledger.services import reports, stock
from rxledger.services.posting import AfterPosting, Header, PostedDocument
from rxledger.services.purchase_orders import (
    PurchaseOrderLineView,
    PurchaseOrderView,
    get_purchase_order,
    load_view,
    order_row,
)
from rxledger.services.runtime import Actor, Runtime

OPEN = PurchaseOrderStatus.OPEN.value


@dataclass(frozen=True, slots=True)
class PoReceiptLine:
    """Units (base units) received against one PO line; ``substitute_item_id`` names the item
    actually received when it is not the ordered one."""

    line_id: int
    quantity: int
    lot_number: str | None = None
    expiry: date | None = None
    substitute_item_id: int | None = None
    substitute_reason: str | None = None
    serial: str | None = None
    gtin: str | None = None


@dataclass(frozen=True, slots=True)
class ReceivePurchaseOrder:
    purchase_order_id: int
    location_id: int
    lines: Sequence[PoReceiptLine]
    header: Header = field(default_factory=Header)


@dataclass(frozen=True, slots=True)
class PoReceiptResult:
    """The posted (or replayed, or dry-run) receipt and the PO as it stands afterwards."""

    document: PostedDocument
    purchase_order: PurchaseOrderView
    over_received_lines: tuple[int, ...]  # PO line ids now received beyond what was ordered

    def as_dict(self) -> dict[str, Any]:
        return {
            "document": self.document.as_dict(),
            "purchase_order": self.purchase_order.as_dict(),
            "over_received_lines": list(self.over_received_lines),
        }


@dataclass(frozen=True, slots=True)
class PoReceiptPreview:
    """What a receipt would post (a dry run) and what each PO line would have received."""

    preview: reports.Preview
    order: PurchaseOrderView
    receiving: Mapping[int, int]  # PO line id -> units this receipt brings

    def received_after(self, line: PurchaseOrderLineView) -> int:
        return line.received_units + self.receiving.get(line.id, 0)

    def status_after(self, line: PurchaseOrderLineView) -> ReceiptStatus:
        return receipt_status(line.ordered_units, self.received_after(line))


@dataclass(frozen=True, slots=True)
class _Planned:
    """A receipt line resolved: its PO line, the item received, and whether it substitutes."""

    line: PurchaseOrderLineView
    item_id: int
    substitute: bool
    given: PoReceiptLine


def receive_purchase_order(rt: Runtime, actor: Actor, cmd: ReceivePurchaseOrder) -> PoReceiptResult:
    """Receive goods against an open PO's lines as one receipt document (all lines or none)."""
    if not cmd.lines or len(cmd.lines) > 1000:
        raise errors.ValidationFailed("a receipt has 1 to 1000 lines")
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        order = load_view(
            conn, actor, order_row(conn, actor, cmd.purchase_order_id, Permission.RECEIVE)
        )
        replay = _is_replay(conn, actor, cmd.header)
        items = _items(conn, actor, order, cmd.lines)
    planned = _plan(order, cmd.lines, items, rt.purchasing_policy, judge=not replay)
    receipt = stock.Receive(
        order.site_id,
        cmd.location_id,
        [_receipt_line(p) for p in planned],
        _header(cmd.header, order, planned, items),
    )
    hook = _record(actor, order, planned, rt.purchasing_policy)
    document = stock.receive(rt, actor, receipt, on_posted=hook)
    after = order if document.dry_run else get_purchase_order(rt, actor, order.id)
    touched = {p.line.id for p in planned}
    over = tuple(
        line.id for line in after.lines if line.id in touched and line.status is ReceiptStatus.OVER
    )
    return PoReceiptResult(document, after, over)


def preview_receipt(rt: Runtime, actor: Actor, cmd: ReceivePurchaseOrder) -> PoReceiptPreview:
    """What receiving would post now, judged by the same rules and locks, writing nothing."""
    header = replace(cmd.header, idempotency_key=f"preview:{uuid.uuid4()}", dry_run=True)
    result = receive_purchase_order(rt, actor, replace(cmd, header=header))
    receiving: dict[int, int] = defaultdict(int)
    for line in cmd.lines:
        receiving[line.line_id] += line.quantity
    return PoReceiptPreview(
        reports.describe_plan(rt, actor, result.document), result.purchase_order, dict(receiving)
    )


def _is_replay(conn: Connection, actor: Actor, header: Header) -> bool:
    """A key already used: the post will answer with the first document, so the PO's state since
    then (more received, closed) must not refuse the retry."""
    key = header.idempotency_key
    return key is not None and repo.document_by_key(conn, actor.organization_id, key) is not None


def _items(
    conn: Connection, actor: Actor, order: PurchaseOrderView, lines: Sequence[PoReceiptLine]
) -> dict[int, Item]:
    wanted = {line.item_id for line in order.lines} | {
        line.substitute_item_id for line in lines if line.substitute_item_id is not None
    }
    return repo.items_by_id(conn, actor.organization_id, wanted)


def _plan(
    order: PurchaseOrderView,
    lines: Sequence[PoReceiptLine],
    items: Mapping[int, Item],
    policy: PurchasingPolicy,
    *,
    judge: bool,
) -> list[_Planned]:
    """Resolve each line to its PO line and item; when judging (not a replay), refuse what the PO's
    status, the substitute rule or the over-receipt tolerance do not allow."""
    if judge:
        require_status(f"purchase order {order.number}", order.status, OPEN)
    planned = []
    for number, given in enumerate(lines, start=1):
        require_quantity(given.quantity)
        line = order.line(given.line_id)
        item_id, substitute = line.item_id, False
        if given.substitute_item_id is not None:
            received = items.get(given.substitute_item_id)
            if received is None:
                raise errors.ItemNotFound(
                    f"line {number}: no item {given.substitute_item_id}",
                    item_id=given.substitute_item_id,
                )
            if judge:
                check_substitute(number, items[line.item_id], received, given.substitute_reason)
            item_id, substitute = received.id, True
        planned.append(_Planned(line, item_id, substitute, given))
    if judge:
        _check_quantities(planned, {line.id: line.received_units for line in order.lines}, policy)
    return planned


def _check_quantities(
    planned: Sequence[_Planned], received: Mapping[int, int], policy: PurchasingPolicy
) -> None:
    """Every PO line's total after this receipt stays within the over-receipt tolerance."""
    receiving: dict[int, int] = defaultdict(int)
    lines = {}
    for p in planned:
        receiving[p.line.id] += p.given.quantity
        lines[p.line.id] = p.line
    for line_id, units in receiving.items():
        line = lines[line_id]
        check_receipt(line.line_no, line.ordered_units, received.get(line_id, 0), units, policy)


def _receipt_line(p: _Planned) -> stock.ReceiptLine:
    g = p.given
    return stock.ReceiptLine(
        p.item_id, g.quantity, g.lot_number, g.expiry, serial=g.serial, gtin=g.gtin
    )


def _header(
    header: Header,
    order: PurchaseOrderView,
    planned: Sequence[_Planned],
    items: Mapping[int, Item],
) -> Header:
    """The document is referenced by the PO's number; substitutes' reasons go on its note."""
    if header.reference not in (None, order.number):
        raise errors.ValidationFailed(
            f"a receipt against {order.number} carries that number as its reference; "
            "put other references in the note",
            field="reference",
        )
    notes = [header.note] if header.note else []
    for number, p in enumerate(planned, start=1):
        reason = (p.given.substitute_reason or "").strip()
        if p.substitute and reason:
            notes.append(
                f"line {number}: {items[p.item_id].sku} received for PO line {p.line.line_no} "
                f"({p.line.sku}): {reason}"
            )
    note = "\n".join(notes)[:2000] or None
    return replace(header, reference=order.number, note=note)


def _record(
    actor: Actor, order: PurchaseOrderView, planned: Sequence[_Planned], policy: PurchasingPolicy
) -> AfterPosting:
    """The hook that writes the PO receipt rows once the document is in, judging the PO again
    under its row lock (a receipt that raced this one has committed by then)."""
    totals: dict[tuple[int, int, bool], int] = defaultdict(int)
    for p in planned:
        totals[(p.line.id, p.item_id, p.substitute)] += p.given.quantity

    def write(conn: Connection, document_id: int, movements: Sequence[PlannedMovement]) -> None:
        status = locking.lock_purchase_order(conn, order.id) or order.status
        require_status(f"purchase order {order.number}", status, OPEN)
        received = pr.received_per_line(conn, [line.id for line in order.lines])
        _check_quantities(planned, {k: v[0] for k, v in received.items()}, policy)
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

    return write
