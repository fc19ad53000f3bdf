"""``rxledger trace``, ``rxledger investigation`` and ``rxledger discrepancy``: a product
identifier's DSCSA trace, the investigations of suspect product, and receiving discrepancies.

Closing an investigation is signed by a user account (``--user`` or ``RXLEDGER_USER``): an
anonymous console operator may read, not decide.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from rxledger.domain.errors import ValidationFailed
from rxledger.domain.investigations import parse_finding, parse_resolution
from rxledger.entrypoints.cli.context import (
    console,
    emit_json,
    handles_errors,
    parse_instant,
    state,
)
from rxledger.entrypoints.cli.controlled import WitnessOption, witness
from rxledger.services import catalog, investigations, traceability
from rxledger.services.investigations import (
    CloseInvestigation,
    InvestigationView,
    ResolveDiscrepancy,
)

Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]

investigation_app = typer.Typer(help="DSCSA investigations of suspect product: list, note, close.")


def register(app: typer.Typer) -> None:
    app.command("trace")(trace)
    app.add_typer(investigation_app, name="investigation", no_args_is_help=True)
    app.add_typer(discrepancy_app, name="discrepancy", no_args_is_help=True)


@handles_errors
def trace(
    gtin: Annotated[str, typer.Argument(metavar="GTIN", help="The product's GTIN (8-14 digits).")],
    serial: Annotated[str, typer.Argument(metavar="SERIAL", help="The package's serial.")],
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the trace as an EPCIS 2.0 JSON document.")
    ] = False,
) -> None:
    """A product identifier's trace — receipt, moves, dispense or destruction — and, as a table,
    the transaction information it was received with."""
    state.json_output = json_output
    rt, actor = state.runtime(), state.actor()
    found = traceability.trace(rt, actor, gtin, serial)
    if json_output:
        emit_json(found.epcis)
        return
    table = Table(title=f"Trace of GTIN {found.gtin} serial {found.serial}")
    for column in ("when", "document", "from", "to", "EPCIS step", "disposition"):
        table.add_column(column)
    for step in found.steps:
        table.add_row(
            step.occurred_at.strftime("%Y-%m-%d %H:%M"),
            f"#{step.document_id} {step.doc_type}",
            step.from_code,
            step.to_code,
            step.biz_step,
            step.disposition or "",
        )
    console.print(table)
    info = traceability.transaction_information(rt, actor, found.gtin, found.serial)
    for source in info.declared_in:
        console.print(
            f"Declared in shipment {source.shipment_id} ({source.reference or 'no reference'}) "
            f"from {source.sender or 'unknown sender'}, lot {source.lot_number}, "
            f"file {source.file.filename} sha256 {source.file.sha256[:16]}…"
        )
    if not info.declared_in:
        console.print("[yellow]No shipment's transaction information lists this package.[/]")


@investigation_app.command("list")
@handles_errors
def list_cases(
    site: Annotated[str | None, typer.Option("--site", help="Site code; default all.")] = None,
    status: Annotated[
        str, typer.Option("--status", help="open, cleared, illegitimate or all.")
    ] = "open",
    json_output: Json = False,
) -> None:
    """Investigations of suspect product, newest first."""
    state.json_output = json_output
    rt, actor = state.runtime(), state.actor()
    site_id = catalog.site_by_code(rt, actor, site).id if site else None
    found = investigations.list_investigations(
        rt, actor, site_id, None if status == "all" else status
    )
    if json_output:
        emit_json([case.as_dict() for case in found])
        return
    table = Table(title=f"Investigations ({status})")
    for column in ("id", "opened", "product", "serial", "lot", "status", "closed by"):
        table.add_column(column)
    for case in found:
        table.add_row(
            str(case.id),
            case.opened_at.strftime("%Y-%m-%d %H:%M"),
            case.item_name or case.gtin or "",
            case.serial or "",
            case.lot_number or "",
            case.status,
            case.closed_by or "",
        )
    console.print(table)


@investigation_app.command("note")
@handles_errors
def add_note(
    investigation_id: Annotated[int, typer.Argument(metavar="ID")],
    text: Annotated[str, typer.Argument(metavar="NOTE")],
    json_output: Json = False,
) -> None:
    """Add a signed, timestamped note to an investigation."""
    state.json_output = json_output
    case = investigations.add_note(state.runtime(), state.actor(), investigation_id, text)
    _show(case, json_output)


@investigation_app.command("close")
@handles_errors
def close_case(
    investigation_id: Annotated[int, typer.Argument(metavar="ID")],
    outcome: Annotated[str, typer.Option("--outcome", help="cleared or illegitimate.")],
    note: Annotated[str | None, typer.Option("--note", help="Why.")] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="Location code a cleared package goes to.")
    ] = None,
    reference: Annotated[
        str | None,
        typer.Option(
            "--notification-reference", help="Illegitimate: the FDA 3911 / partner notice."
        ),
    ] = None,
    notified_at: Annotated[
        str | None,
        typer.Option("--notified-at", help="Illegitimate: when it was sent (ISO 8601)."),
    ] = None,
    witness_name: WitnessOption = None,
    json_output: Json = False,
) -> None:
    """Close as cleared (the package is released from quarantine) or illegitimate (destroyed, with
    the notification recorded; schedule II product needs ``--witness``)."""
    state.json_output = json_output
    rt, actor = state.runtime(), state.actor()
    case = investigations.get_investigation(rt, actor, investigation_id)
    location = catalog.location_by_code(rt, actor, case.site_id, to).id if to else None
    command = CloseInvestigation(
        investigation_id,
        parse_finding(outcome),
        note,
        location,
        reference,
        _instant(notified_at),
        witness=witness(witness_name),
    )
    done = investigations.close_investigation(rt, actor, command)
    if json_output:
        emit_json(done.as_dict())
        return
    assert isinstance(done.record, InvestigationView)
    _show(done.record, False)
    if done.document is not None:
        console.print(f"Posted {done.document.doc_type.value} document #{done.document.id}.")


def _instant(text: str | None) -> datetime | None:
    try:
        return parse_instant(text)
    except ValueError as exc:
        raise ValidationFailed(f"{text!r} is not an ISO 8601 instant", field="notified_at") from exc


def _show(case: InvestigationView, json_output: bool) -> None:
    if json_output:
        emit_json(case.as_dict())
        return
    rows: list[tuple[str, Any]] = [
        ("investigation", case.id),
        ("product", case.item_name or case.gtin),
        ("serial", case.serial),
        ("status", case.status),
        ("closed by", case.closed_by),
        ("notification", case.notification_reference),
    ]
    table = Table("", "")
    for key, value in rows:
        table.add_row(key, "" if value is None else str(value))
    console.print(table)
    for n in case.notes:
        console.print(f"{n.written_at:%Y-%m-%d %H:%M} {n.written_by}: {n.note}")


discrepancy_app = typer.Typer(help="Receiving discrepancies: list, resolve.")


@discrepancy_app.command("list")
@handles_errors
def list_discrepancies(
    site: Annotated[str | None, typer.Option("--site", help="Site code; default all.")] = None,
    status: Annotated[str, typer.Option("--status", help="open, resolved or all.")] = "open",
    json_output: Json = False,
) -> None:
    """Discrepancies found at receiving, newest first, with what each holds in quarantine."""
    state.json_output = json_output
    rt, actor = state.runtime(), state.actor()
    site_id = catalog.site_by_code(rt, actor, site).id if site else None
    found = investigations.list_discrepancies(
        rt, actor, site_id, None if status == "all" else status
    )
    if json_output:
        emit_json([d.as_dict() for d in found])
        return
    table = Table(title=f"Discrepancies ({status})")
    for column in ("id", "opened", "reason", "product", "lot", "serial", "held", "status"):
        table.add_column(column)
    for d in found:
        table.add_row(
            str(d.id),
            d.opened_at.strftime("%Y-%m-%d %H:%M"),
            d.reason,
            d.item_name or d.gtin or "",
            d.lot_number or "",
            d.serial or "",
            f"{d.held:,}",
            d.status,
        )
    console.print(table)


@discrepancy_app.command("resolve")
@handles_errors
def resolve(
    discrepancy_id: Annotated[int, typer.Argument(metavar="ID")],
    resolution: Annotated[str, typer.Option("--as", help="release, return, destroy or close.")],
    to: Annotated[
        str | None, typer.Option("--to", help="Location code released stock goes to.")
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Reason code for a return or destruction.")
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="Why.")] = None,
    witness_name: WitnessOption = None,
    json_output: Json = False,
) -> None:
    """Resolve a discrepancy: release its quarantined stock, return or destroy it (each a posted
    document; schedule II stock needs ``--witness``), or close it when it holds nothing."""
    state.json_output = json_output
    rt, actor = state.runtime(), state.actor()
    found = investigations.get_discrepancy(rt, actor, discrepancy_id)
    location = catalog.location_by_code(rt, actor, found.site_id, to).id if to else None
    command = ResolveDiscrepancy(
        discrepancy_id,
        parse_resolution(resolution),
        location,
        reason,
        note,
        witness=witness(witness_name),
    )
    done = investigations.resolve_discrepancy(rt, actor, command)
    if json_output:
        emit_json(done.as_dict())
        return
    console.print(f"Discrepancy #{discrepancy_id} resolved: {resolution}.")
    if done.document is not None:
        console.print(f"Posted {done.document.doc_type.value} document #{done.document.id}.")
