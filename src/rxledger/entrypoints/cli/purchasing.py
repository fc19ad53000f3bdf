"""``rxledger supplier`` and ``rxledger requisition``: suppliers with their packs and prices, and
requisitions from draft to purchase order (``rxledger po`` lives in ``purchase_orders.py``).

Items are named by SKU, NDC or GTIN, sites and suppliers by code; ``--json`` prints the record.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated

import typer
from rich.table import Table

from rxledger.domain.errors import SupplierItemNotFound, ValidationFailed
from rxledger.entrypoints.cli import purchase_orders
from rxledger.entrypoints.cli.context import console, emit_json, handles_errors, state
from rxledger.services import catalog, purchasing
from rxledger.services.purchasing import RequisitionView, SupplierItemView

Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
Note = Annotated[str | None, typer.Option("--note", help="A note kept with the record.")]

supplier_app = typer.Typer(help="Suppliers: lead time, minimum order, GLN, packs and prices.")
requisition_app = typer.Typer(help="Requisitions: draft, submit, approve or reject, cancel.")


def register(app: typer.Typer) -> None:
    app.add_typer(supplier_app, name="supplier", no_args_is_help=True)
    app.add_typer(requisition_app, name="requisition", no_args_is_help=True)
    purchase_orders.register(app)


def money(text: str, name: str) -> Decimal:
    """A decimal amount such as 12.50 (never a float)."""
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise ValidationFailed(f"{name} must be an amount such as 12.50", field=name)
    return value


# --- suppliers ----------------------------------------------------------------------------------


@supplier_app.command("add")
@handles_errors
def supplier_add(
    code: Annotated[str, typer.Argument(help="A short unique code.")],
    name: Annotated[str, typer.Argument(help="The supplier's name.")],
    gln: Annotated[str | None, typer.Option("--gln", help="GS1 GLN, 13 digits.")] = None,
    lead_time: Annotated[int, typer.Option("--lead-time", help="Lead time in days.")] = 1,
    minimum: Annotated[str, typer.Option("--minimum", help="Minimum order value.")] = "0",
    json_output: Json = False,
) -> None:
    """Add a supplier."""
    spec = purchasing.NewSupplier(code, name, lead_time, money(minimum, "minimum"), gln)
    supplier = purchasing.create_supplier(state.runtime(), state.actor(), spec)
    if json_output:
        emit_json({"id": supplier.id, "code": supplier.code, "name": supplier.name})
        return
    console.print(f"Supplier {supplier.code} added (id {supplier.id}).")


@supplier_app.command("item")
@handles_errors
def supplier_item(
    supplier: Annotated[str, typer.Argument(help="Supplier code.")],
    item: Annotated[str, typer.Argument(help="SKU, NDC or GTIN.")],
    pack_units: Annotated[int, typer.Option("--pack-units", help="Base units per pack.")],
    price: Annotated[str, typer.Option("--price", help="Price per pack.")],
    multiple: Annotated[int, typer.Option("--multiple", help="Order packs in multiples.")] = 1,
    sku: Annotated[str | None, typer.Option("--sku", help="The supplier's own code.")] = None,
    gtin: Annotated[str | None, typer.Option("--gtin", help="GTIN of the pack.")] = None,
    json_output: Json = False,
) -> None:
    """Offer an item at a supplier: pack size, price per pack and order multiple."""
    rt, actor = state.runtime(), state.actor()
    found = purchasing.supplier_by_code(rt, actor, supplier)
    spec = purchasing.NewSupplierItem(
        catalog.find_item(rt, actor, item).id,
        pack_units,
        money(price, "price"),
        multiple,
        sku,
        gtin,
    )
    offer = purchasing.add_supplier_item(rt, actor, found.id, spec)
    if json_output:
        emit_json(_offer_dict(offer))
        return
    console.print(
        f"{found.code} sells {offer.item_name} in packs of {offer.supplier_item.pack_units} "
        f"{offer.base_unit} at {offer.supplier_item.pack_price} (supplier item {offer.id})."
    )


@supplier_app.command("list")
@handles_errors
def supplier_list(json_output: Json = False) -> None:
    """The organization's suppliers."""
    rows = purchasing.list_suppliers(state.runtime(), state.actor())
    if json_output:
        emit_json(
            [
                {
                    "id": s.id,
                    "code": s.code,
                    "name": s.name,
                    "gln": s.gln,
                    "lead_time_days": s.lead_time_days,
                    "minimum_order_value": s.minimum_order_value,
                }
                for s in rows
            ]
        )
        return
    table = Table("code", "name", "GLN", "lead time", "minimum order", title="Suppliers")
    for s in rows:
        table.add_row(
            s.code, s.name, s.gln or "", f"{s.lead_time_days} d", f"{s.minimum_order_value:,.2f}"
        )
    console.print(table)


@supplier_app.command("show")
@handles_errors
def supplier_show(
    supplier: Annotated[str, typer.Argument(help="Supplier code.")], json_output: Json = False
) -> None:
    """A supplier and the packs it sells."""
    rt, actor = state.runtime(), state.actor()
    view = purchasing.get_supplier(rt, actor, purchasing.supplier_by_code(rt, actor, supplier).id)
    if json_output:
        emit_json([_offer_dict(o) for o in view.items])
        return
    table = Table("id", "sku", "item", "pack", "price", "multiple", title=view.supplier.name)
    for o in view.items:
        s = o.supplier_item
        table.add_row(
            str(o.id),
            o.sku,
            o.item_name,
            f"{s.pack_units} {o.base_unit}",
            f"{s.pack_price:,.2f}",
            str(s.order_multiple),
        )
    console.print(table)


def _offer_dict(o: SupplierItemView) -> dict[str, object]:
    s = o.supplier_item
    return {
        "id": o.id,
        "supplier_id": s.supplier_id,
        "item_id": s.item_id,
        "sku": o.sku,
        "item_name": o.item_name,
        "pack_units": s.pack_units,
        "pack_price": s.pack_price,
        "order_multiple": s.order_multiple,
    }


# --- requisitions -------------------------------------------------------------------------------

LineSpec = Annotated[
    list[str],
    typer.Option(
        "--line",
        help="ITEM=PACKS, or ITEM=PACKS@PACK_UNITS when the supplier sells several pack sizes.",
    ),
]


@requisition_app.command("create")
@handles_errors
def requisition_create(
    site: Annotated[str, typer.Option("--site", help="Site code.")],
    supplier: Annotated[str, typer.Option("--supplier", help="Supplier code.")],
    line: LineSpec,
    note: Note = None,
    submit: Annotated[bool, typer.Option("--submit", help="Submit it at once.")] = False,
    json_output: Json = False,
) -> None:
    """Draft a requisition (and with --submit, submit it)."""
    rt, actor = state.runtime(), state.actor()
    site_id = catalog.site_by_code(rt, actor, site).id
    found = purchasing.get_supplier(rt, actor, purchasing.supplier_by_code(rt, actor, supplier).id)
    lines = [_requisition_line(found.items, spec) for spec in line]
    spec = purchasing.NewRequisition(site_id, found.supplier.id, lines, note)
    view = purchasing.create_requisition(rt, actor, spec)
    if submit:
        view = purchasing.submit_requisition(rt, actor, view.id)
    print_requisition(view, json_output)


def _requisition_line(
    offers: tuple[SupplierItemView, ...], spec: str
) -> purchasing.RequisitionLineSpec:
    """``ITEM=PACKS[@PACK_UNITS]``: the supplier's pack of the item named by SKU, NDC or GTIN."""
    item_text, _, rest = spec.partition("=")
    packs_text, _, units_text = rest.partition("@")
    if (
        not item_text
        or not packs_text.strip().isdigit()
        or (units_text and not units_text.isdigit())
    ):
        raise ValidationFailed(f"--line {spec!r}: write ITEM=PACKS or ITEM=PACKS@PACK_UNITS")
    item = catalog.find_item(state.runtime(), state.actor(), item_text.strip())
    matching = [
        o
        for o in offers
        if o.supplier_item.item_id == item.id
        and (not units_text or o.supplier_item.pack_units == int(units_text))
    ]
    if len(matching) != 1:
        raise SupplierItemNotFound(
            f"--line {spec!r}: the supplier has {len(matching)} packs of {item.name}"
            + ("; add @PACK_UNITS" if matching else ""),
            item_id=item.id,
        )
    return purchasing.RequisitionLineSpec(matching[0].id, int(packs_text))


@requisition_app.command("submit")
@handles_errors
def requisition_submit(requisition_id: int, json_output: Json = False) -> None:
    """Submit a draft: ordered at once, or waiting for another user's approval."""
    view = purchasing.submit_requisition(state.runtime(), state.actor(), requisition_id)
    print_requisition(view, json_output)


@requisition_app.command("approve")
@handles_errors
def requisition_approve(requisition_id: int, note: Note = None, json_output: Json = False) -> None:
    """Approve a waiting requisition (not one's own) and place its purchase order."""
    view = purchasing.approve_requisition(state.runtime(), state.actor(), requisition_id, note)
    print_requisition(view, json_output)


@requisition_app.command("reject")
@handles_errors
def requisition_reject(
    requisition_id: int,
    note: Annotated[str, typer.Option("--note", help="Why it is rejected.")],
    json_output: Json = False,
) -> None:
    """Reject a waiting requisition, with a reason."""
    view = purchasing.reject_requisition(state.runtime(), state.actor(), requisition_id, note)
    print_requisition(view, json_output)


@requisition_app.command("cancel")
@handles_errors
def requisition_cancel(requisition_id: int, json_output: Json = False) -> None:
    """Cancel a draft or waiting requisition."""
    view = purchasing.cancel_requisition(state.runtime(), state.actor(), requisition_id)
    print_requisition(view, json_output)


@requisition_app.command("show")
@handles_errors
def requisition_show(requisition_id: int, json_output: Json = False) -> None:
    """One requisition with its lines and approval."""
    view = purchasing.get_requisition(state.runtime(), state.actor(), requisition_id)
    print_requisition(view, json_output)


@requisition_app.command("list")
@handles_errors
def requisition_list(
    site: Annotated[str | None, typer.Option("--site", help="Site code.")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="draft, submitted, ordered, ...")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="Newest requisitions to show.")] = 50,
    json_output: Json = False,
) -> None:
    """Requisitions, newest first."""
    rt, actor = state.runtime(), state.actor()
    site_id = catalog.site_by_code(rt, actor, site).id if site else None
    rows = purchasing.list_requisitions(rt, actor, site_id=site_id, status=status, limit=limit)
    if json_output:
        emit_json([r.as_dict() for r in rows])
        return
    table = Table("id", "site", "supplier", "status", "value", "by", "PO", title="Requisitions")
    for r in rows:
        table.add_row(
            str(r.id),
            r.site_code,
            r.supplier_code,
            _status(r),
            f"{r.total_value:,.2f}",
            r.requested_by,
            r.purchase_order_number or "",
        )
    console.print(table)


def _status(r: RequisitionView) -> str:
    if r.status == "submitted" and r.approval and r.approval.pharmacist_required:
        return "submitted (pharmacist)"
    return r.status


def print_requisition(view: RequisitionView, json_output: bool) -> None:
    if json_output:
        emit_json(view.as_dict())
        return
    title = (
        f"Requisition {view.id} · {view.site_code} · {view.supplier_name} · {_status(view)} · "
        f"{view.total_value:,.2f}"
    )
    table = Table("line", "sku", "item", "packs", "units", "value", title=title)
    for line in view.lines:
        table.add_row(
            str(line.line_no),
            line.sku,
            line.item_name,
            f"{line.packs} × {line.pack_units}",
            f"{line.units:,} {line.base_unit}",
            f"{line.value:,.2f}",
        )
    console.print(table)
    if view.approval is not None:
        a = view.approval
        who = f" by {a.decided_by}" if a.decided_by else ""
        console.print(f"Approval: {a.status}{who} ({a.note or a.action})")
    if view.purchase_order_number:
        console.print(f"Purchase order: {view.purchase_order_number}")
