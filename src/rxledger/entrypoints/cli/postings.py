"""CLI commands that post documents: receive, move, transfer, dispense, return, adjust, destroy,
reverse. Adjust, destroy and transfers take ``--witness`` for schedule II stock.

They resolve codes (site, location, item by SKU/NDC/GTIN, lot number) to ids, call one service,
and print the posted document (``--json`` for scripts).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.table import Table

from rxledger.domain.ledger import check_client_key
from rxledger.domain.model import LocationType
from rxledger.entrypoints.cli.context import (
    console,
    emit_json,
    handles_errors,
    parse_instant,
    state,
)
from rxledger.entrypoints.cli.controlled import WitnessOption, witness
from rxledger.services import approvals, catalog, reports, stock
from rxledger.services.posting import Header, PostedDocument

Site = Annotated[str, typer.Option("--site", help="Site code.")]
Item = Annotated[str, typer.Argument(help="SKU, NDC or GTIN.")]
Quantity = Annotated[int, typer.Argument(help="Quantity in base units.")]
Lot = Annotated[str | None, typer.Option("--lot", help="Lot number (default: FEFO).")]
Reference = Annotated[str | None, typer.Option("--reference", help="PO, Rx, manifest...")]
Note = Annotated[str | None, typer.Option("--note")]
OccurredAt = Annotated[
    str | None, typer.Option("--occurred-at", help="Business time, ISO 8601 (default now).")
]
Key = Annotated[str | None, typer.Option("--key", help="Idempotency key: a retry posts nothing.")]
Json = Annotated[bool, typer.Option("--json", help="Print the document as JSON.")]


def _header(
    reference: str | None,
    note: str | None,
    occurred_at: str | None,
    key: str | None,
    reason: str | None = None,
) -> Header:
    return Header(reference, note, reason, parse_instant(occurred_at), check_client_key(key))


def print_document(doc: PostedDocument, json_output: bool) -> None:
    if json_output:
        emit_json(doc.as_dict())
        return
    view = reports.describe_document(state.runtime(), state.actor(), doc.id)
    replay = " (replayed: already posted with this key)" if doc.replayed else ""
    table = Table(
        "line",
        "item",
        "lot",
        "expiry",
        "from",
        "to",
        "qty",
        title=(
            f"Document {doc.id} · {doc.doc_type.value} · {view.site_code} · "
            f"{doc.occurred_at:%Y-%m-%d %H:%M} UTC · {doc.posted_by}{replay}"
        ),
    )
    for line in view.lines:
        table.add_row(
            str(line.line_no),
            f"{line.item_name} {line.strength}".strip(),
            line.lot_number,
            str(line.expiry or ""),
            line.from_code,
            line.to_code,
            f"{line.quantity} {line.base_unit}",
        )
    console.print(table)


def _ids(site: str, location: str) -> tuple[int, int]:
    rt, actor = state.runtime(), state.actor()
    site_id = catalog.site_by_code(rt, actor, site).id
    return site_id, catalog.location_by_code(rt, actor, site_id, location).id


def _item(item: str) -> int:
    return catalog.find_item(state.runtime(), state.actor(), item).id


def _lot(item_id: int, lot: str | None) -> int | None:
    return catalog.find_lot(state.runtime(), state.actor(), item_id, lot).id if lot else None


def register(app: typer.Typer) -> None:  # noqa: PLR0915 - one small function per command
    @app.command()
    @handles_errors
    def receive(
        site: Site,
        location: Annotated[str, typer.Option("--location", help="Where the goods land.")],
        item: Item,
        quantity: Quantity,
        lot: Annotated[str | None, typer.Option("--lot", help="Lot number as labelled.")] = None,
        expiry: Annotated[str | None, typer.Option("--expiry", help="YYYY-MM-DD.")] = None,
        serial: Annotated[str | None, typer.Option("--serial")] = None,
        gtin: Annotated[str | None, typer.Option("--gtin")] = None,
        reference: Reference = None,
        note: Note = None,
        occurred_at: OccurredAt = None,
        key: Key = None,
        json_output: Json = False,
    ) -> None:
        """Receive goods from a supplier (no purchase order yet)."""
        site_id, location_id = _ids(site, location)
        line = stock.ReceiptLine(
            _item(item),
            quantity,
            lot,
            date.fromisoformat(expiry) if expiry else None,
            serial=serial,
            gtin=gtin,
        )
        doc = stock.receive(
            state.runtime(),
            state.actor(),
            stock.Receive(site_id, location_id, [line], _header(reference, note, occurred_at, key)),
        )
        print_document(doc, json_output)

    @app.command()
    @handles_errors
    def move(
        site: Site,
        from_location: Annotated[str, typer.Option("--from")],
        to_location: Annotated[str, typer.Option("--to")],
        item: Item,
        quantity: Quantity,
        lot: Lot = None,
        put_away: Annotated[bool, typer.Option("--put-away", help="Record as put-away.")] = False,
        reference: Reference = None,
        note: Note = None,
        occurred_at: OccurredAt = None,
        key: Key = None,
        json_output: Json = False,
    ) -> None:
        """Put away or move stock between locations of one site."""
        site_id, source = _ids(site, from_location)
        _, target = _ids(site, to_location)
        item_id = _item(item)
        doc = stock.move(
            state.runtime(),
            state.actor(),
            stock.Move(
                site_id,
                source,
                target,
                [stock.StockLine(item_id, quantity, _lot(item_id, lot))],
                _header(reference, note, occurred_at, key),
                put_away=put_away,
            ),
        )
        print_document(doc, json_output)

    transfer = typer.Typer(help="Transfers between sites: ship, then receive at the other site.")
    app.add_typer(transfer, name="transfer")

    @transfer.command("ship")
    @handles_errors
    def ship(
        site: Site,
        from_location: Annotated[str, typer.Option("--from")],
        to_site: Annotated[str, typer.Option("--to-site")],
        item: Item,
        quantity: Quantity,
        lot: Lot = None,
        reference: Reference = None,
        note: Note = None,
        occurred_at: OccurredAt = None,
        key: Key = None,
        witness_name: WitnessOption = None,
        json_output: Json = False,
    ) -> None:
        """Ship stock to another site; it waits in transit until received."""
        site_id, source = _ids(site, from_location)
        destination = catalog.site_by_code(state.runtime(), state.actor(), to_site).id
        item_id = _item(item)
        doc = stock.ship_transfer(
            state.runtime(),
            state.actor(),
            stock.ShipTransfer(
                site_id,
                source,
                destination,
                [stock.StockLine(item_id, quantity, _lot(item_id, lot))],
                _header(reference, note, occurred_at, key),
                witness(witness_name),
            ),
        )
        print_document(doc, json_output)

    @transfer.command("receive")
    @handles_errors
    def receive_shipment(
        shipment: Annotated[int, typer.Argument(help="The shipment's document number.")],
        site: Site,
        location: Annotated[str, typer.Option("--location")],
        item: Annotated[str | None, typer.Option("--item", help="Receive only this item.")] = None,
        quantity: Annotated[int | None, typer.Option("--quantity")] = None,
        lot: Lot = None,
        reference: Reference = None,
        note: Note = None,
        occurred_at: OccurredAt = None,
        key: Key = None,
        witness_name: WitnessOption = None,
        json_output: Json = False,
    ) -> None:
        """Receive a shipment (all that is still in transit, or one item's quantity)."""
        _, location_id = _ids(site, location)
        lines: list[stock.StockLine] = []
        if item is not None:
            if quantity is None:
                raise typer.BadParameter("--item needs --quantity")
            item_id = _item(item)
            lines.append(stock.StockLine(item_id, quantity, _lot(item_id, lot)))
        doc = stock.receive_transfer(
            state.runtime(),
            state.actor(),
            stock.ReceiveTransfer(
                shipment,
                location_id,
                lines,
                _header(reference, note, occurred_at, key),
                witness(witness_name),
            ),
        )
        print_document(doc, json_output)

    @app.command()
    @handles_errors
    def dispense(
        site: Site,
        location: Annotated[str, typer.Option("--location")],
        item: Item,
        quantity: Quantity,
        lot: Lot = None,
        reference: Reference = None,
        note: Note = None,
        occurred_at: OccurredAt = None,
        key: Key = None,
        json_output: Json = False,
    ) -> None:
        """Dispense to a patient or customer; earliest-expiring usable lot first."""
        site_id, location_id = _ids(site, location)
        item_id = _item(item)
        doc = stock.dispense(
            state.runtime(),
            state.actor(),
            stock.Dispense(
                site_id,
                location_id,
                [stock.StockLine(item_id, quantity, _lot(item_id, lot))],
                _header(reference, note, occurred_at, key),
            ),
        )
        print_document(doc, json_output)

    @app.command("return")
    @handles_errors
    def return_dispense(
        dispense_id: Annotated[int, typer.Argument(help="The dispense's document number.")],
        site: Site,
        location: Annotated[str, typer.Option("--location", help="Where the returned stock goes.")],
        item: Annotated[str | None, typer.Option("--item")] = None,
        quantity: Annotated[int | None, typer.Option("--quantity")] = None,
        reference: Reference = None,
        note: Note = None,
        occurred_at: OccurredAt = None,
        key: Key = None,
        json_output: Json = False,
    ) -> None:
        """Reverse a dispense back to stock (all of it, or one item's quantity)."""
        _, location_id = _ids(site, location)
        lines = []
        if item is not None:
            if quantity is None:
                raise typer.BadParameter("--item needs --quantity")
            lines.append(stock.StockLine(_item(item), quantity))
        doc = stock.reverse_dispense(
            state.runtime(),
            state.actor(),
            stock.ReverseDispense(
                dispense_id, location_id, lines, _header(reference, note, occurred_at, key)
            ),
        )
        print_document(doc, json_output)

    @app.command()
    @handles_errors
    def adjust(
        site: Site,
        location: Annotated[str, typer.Option("--location")],
        item: Item,
        lot: Annotated[str, typer.Option("--lot", help="Lot number.")],
        reason: Annotated[str, typer.Option("--reason", help="Reason code, e.g. COUNT, DAMAGED.")],
        delta: Annotated[int | None, typer.Option("--delta", help="Signed change.")] = None,
        counted: Annotated[int | None, typer.Option("--counted", help="Set to this count.")] = None,
        reference: Reference = None,
        note: Note = None,
        occurred_at: OccurredAt = None,
        key: Key = None,
        witness_name: WitnessOption = None,
        json_output: Json = False,
    ) -> None:
        """Adjust by a signed delta or set to a counted quantity, with a reason code; above its
        approval policy it is held for approval (``held for approval N``)."""
        site_id, location_id = _ids(site, location)
        item_id = _item(item)
        lot_id = catalog.find_lot(state.runtime(), state.actor(), item_id, lot).id
        line = stock.AdjustLine(
            item_id, location_id, lot_id, reason, delta=delta, counted=counted, note=note
        )
        outcome = approvals.request_adjustment(
            state.runtime(),
            state.actor(),
            stock.Adjust(
                site_id,
                [line],
                _header(reference, note, occurred_at, key, reason),
                witness(witness_name),
            ),
        )
        if outcome.document is not None:
            print_document(outcome.document, json_output)
        elif json_output:
            emit_json(
                {"held": True, "approval_id": outcome.approval_id, "value": str(outcome.value)}
            )
        else:
            console.print(f"held for approval {outcome.approval_id}")

    @app.command()
    @handles_errors
    def destroy(
        site: Site,
        location: Annotated[str, typer.Option("--location", help="Where the stock is now.")],
        item: Item,
        quantity: Quantity,
        reason: Annotated[str, typer.Option("--reason", help="Reason code, e.g. EXPIRED.")],
        lot: Lot = None,
        reverse_distributor: Annotated[
            bool, typer.Option("--reverse-distributor", help="Hand to the reverse distributor.")
        ] = False,
        reference: Reference = None,
        note: Note = None,
        occurred_at: OccurredAt = None,
        key: Key = None,
        witness_name: WitnessOption = None,
        json_output: Json = False,
    ) -> None:
        """Destroy stock (waste) or hand it to the reverse distributor, with a reason code."""
        site_id, location_id = _ids(site, location)
        item_id = _item(item)
        doc = stock.destroy(
            state.runtime(),
            state.actor(),
            stock.Destroy(
                site_id,
                location_id,
                [stock.StockLine(item_id, quantity, _lot(item_id, lot))],
                reason,
                LocationType.REVERSE_DISTRIBUTOR if reverse_distributor else LocationType.WASTE,
                _header(reference, note, occurred_at, key),
                witness(witness_name),
            ),
        )
        print_document(doc, json_output)

    @app.command()
    @handles_errors
    def reverse(
        document_id: Annotated[int, typer.Argument(help="The document to undo.")],
        reference: Reference = None,
        note: Note = None,
        key: Key = None,
        json_output: Json = False,
    ) -> None:
        """Undo a document with a reversing document that points at it."""
        doc = stock.reverse(
            state.runtime(),
            state.actor(),
            stock.Reverse(document_id, _header(reference, note, None, key)),
        )
        print_document(doc, json_output)
