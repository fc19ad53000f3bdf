"""``rxledger po``: purchase orders, receipts against their lines, closing, and what is on order.

A PO is named by its number (``PO-CENTRAL-000012``) or id; its lines by their line numbers.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.table import Table

from rxledger.domain.errors import ValidationFailed
from rxledger.domain.ledger import check_client_key
from rxledger.entrypoints.cli.context import (
    console,
    emit_json,
    handles_errors,
    parse_instant,
    state,
)
from rxledger.services import catalog, purchasing
from rxledger.services.posting import Header
from rxledger.services.purchasing import PoReceiptLine, PurchaseOrderView

Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
Order = Annotated[str, typer.Argument(help="PO number (PO-CENTRAL-000012) or id.")]
Note = Annotated[str | None, typer.Option("--note", help="A note kept with the record.")]

po_app = typer.Typer(help="Purchase orders: list, show, receive against, close, on order.")


def register(app: typer.Typer) -> None:
    app.add_typer(po_app, name="po", no_args_is_help=True)


def _order(number: str) -> PurchaseOrderView:
    return purchasing.purchase_order_by_number(state.runtime(), state.actor(), number)


@po_app.command("list")
@handles_errors
def po_list(
    site: Annotated[str | None, typer.Option("--site", help="Site code.")] = None,
    status: Annotated[str | None, typer.Option("--status", help="open, closed, cancelled.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Newest orders to show.")] = 50,
    json_output: Json = False,
) -> None:
    """Purchase orders, newest first, with their receipt progress."""
    rt, actor = state.runtime(), state.actor()
    site_id = catalog.site_by_code(rt, actor, site).id if site else None
    rows = purchasing.list_purchase_orders(rt, actor, site_id=site_id, status=status, limit=limit)
    if json_output:
        emit_json([o.as_dict() for o in rows])
        return
    table = Table("number", "supplier", "status", "received", "open units", "expected", "value")
    for o in rows:
        table.add_row(
            o.number,
            o.supplier_code,
            o.status,
            o.receipt_status.value,
            f"{o.open_units:,}",
            str(o.expected_on or ""),
            f"{o.value:,.2f}",
        )
    console.print(table)


@po_app.command("show")
@handles_errors
def po_show(order: Order, json_output: Json = False) -> None:
    """A purchase order: per line ordered, received, open and status."""
    print_order(_order(order), json_output)


@po_app.command("receive")
@handles_errors
def po_receive(
    order: Order,
    location: Annotated[str, typer.Option("--location", help="Where the goods land.")],
    line: Annotated[
        list[str],
        typer.Option("--line", help="LINE:QUANTITY[:LOT[:EXPIRY]] in base units, repeatable."),
    ],
    substitute: Annotated[
        list[str] | None,
        typer.Option("--substitute", help="LINE=ITEM: the item received instead (SKU/NDC/GTIN)."),
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why a non-equivalent substitute is accepted.")
    ] = None,
    note: Note = None,
    occurred_at: Annotated[
        str | None, typer.Option("--occurred-at", help="Business time, ISO 8601.")
    ] = None,
    key: Annotated[str | None, typer.Option("--key", help="Idempotency key.")] = None,
    json_output: Json = False,
) -> None:
    """Receive against a PO's lines as one receipt document (partial, complete or over)."""
    rt, actor = state.runtime(), state.actor()
    found = _order(order)
    location_id = catalog.location_by_code(rt, actor, found.site_id, location).id
    swaps = dict(_substitute(found, spec) for spec in substitute or [])
    lines = [_receipt_line(found, spec, swaps, reason) for spec in line]
    header = Header(
        note=note, occurred_at=parse_instant(occurred_at), idempotency_key=check_client_key(key)
    )
    result = purchasing.receive_purchase_order(
        rt, actor, purchasing.ReceivePurchaseOrder(found.id, location_id, lines, header)
    )
    if json_output:
        emit_json(result.as_dict())
        return
    replay = " (replayed: already posted with this key)" if result.document.replayed else ""
    console.print(f"Posted receipt document {result.document.id}{replay}.")
    print_order(result.purchase_order, False)
    if result.over_received_lines:
        console.print("[yellow]Over-received[/]: more than ordered on some lines (flagged).")


def _line_id(order: PurchaseOrderView, number: str) -> int:
    if not number.strip().isdigit():
        raise ValidationFailed(f"{number!r} is not a line number of {order.number}")
    for po_line in order.lines:
        if po_line.line_no == int(number):
            return po_line.id
    raise ValidationFailed(f"{order.number} has no line {number}", line=number)


def _substitute(order: PurchaseOrderView, spec: str) -> tuple[int, int]:
    number, _, item = spec.partition("=")
    if not item:
        raise ValidationFailed(f"--substitute {spec!r}: write LINE=ITEM")
    found = catalog.find_item(state.runtime(), state.actor(), item.strip())
    return _line_id(order, number), found.id


def _receipt_line(
    order: PurchaseOrderView, spec: str, swaps: dict[int, int], reason: str | None
) -> PoReceiptLine:
    parts = spec.split(":")
    if len(parts) < 2 or len(parts) > 4 or not parts[1].strip().isdigit():
        raise ValidationFailed(f"--line {spec!r}: write LINE:QUANTITY[:LOT[:EXPIRY]]")
    line_id = _line_id(order, parts[0])
    try:
        expiry = date.fromisoformat(parts[3]) if len(parts) > 3 and parts[3] else None
    except ValueError as exc:
        raise ValidationFailed(f"--line {spec!r}: the expiry is YYYY-MM-DD") from exc
    return PoReceiptLine(
        line_id,
        int(parts[1]),
        parts[2] if len(parts) > 2 and parts[2] else None,
        expiry,
        swaps.get(line_id),
        reason if line_id in swaps else None,
    )


@po_app.command("close")
@handles_errors
def po_close(order: Order, note: Note = None, json_output: Json = False) -> None:
    """Close a PO: nothing more is expected, short lines included."""
    rt, actor = state.runtime(), state.actor()
    print_order(purchasing.close_purchase_order(rt, actor, _order(order).id, note), json_output)


@po_app.command("cancel")
@handles_errors
def po_cancel(order: Order, note: Note = None, json_output: Json = False) -> None:
    """Cancel a PO that has received nothing."""
    rt, actor = state.runtime(), state.actor()
    print_order(purchasing.cancel_purchase_order(rt, actor, _order(order).id, note), json_output)


@po_app.command("on-order")
@handles_errors
def po_on_order(
    site: Annotated[str | None, typer.Option("--site", help="Site code.")] = None,
    item: Annotated[str | None, typer.Option("--item", help="SKU, NDC or GTIN.")] = None,
    json_output: Json = False,
) -> None:
    """Open quantities per item and site: what open purchase orders still bring."""
    rt, actor = state.runtime(), state.actor()
    site_id = catalog.site_by_code(rt, actor, site).id if site else None
    item_id = catalog.find_item(rt, actor, item).id if item else None
    rows = purchasing.on_order(rt, actor, site_id=site_id, item_id=item_id)
    if json_output:
        emit_json([r.as_dict() for r in rows])
        return
    table = Table("site", "sku", "item", "on order", "POs", "next expected", title="On order")
    for r in rows:
        table.add_row(
            r.site_code,
            r.sku,
            r.item_name,
            f"{r.open_units:,} {r.base_unit}",
            str(r.purchase_orders),
            str(r.next_expected or ""),
        )
    console.print(table)


def print_order(order: PurchaseOrderView, json_output: bool) -> None:
    if json_output:
        emit_json(order.as_dict())
        return
    title = (
        f"{order.number} · {order.site_code} · {order.supplier_name} · {order.status} · "
        f"{order.receipt_status.value}"
    )
    table = Table("line", "sku", "item", "ordered", "received", "open", "status", title=title)
    for line in order.lines:
        table.add_row(
            str(line.line_no),
            line.sku,
            line.item_name,
            f"{line.ordered_units:,}",
            f"{line.received_units:,}",
            f"{line.open_units:,}",
            line.status.value,
        )
    console.print(table)
