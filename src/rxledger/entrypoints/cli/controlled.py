"""CLI for controlled substances: ``rxledger controlled log`` (the perpetual inventory log of an
item at a site) and ``rxledger controlled inventory`` (the biennial count sheet), as a table,
JSON, CSV or PDF; and the ``--witness`` option the posting commands share."""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from rxledger.entrypoints import controlled_reports
from rxledger.entrypoints.cli.context import (
    console,
    emit_json,
    handles_errors,
    parse_instant,
    state,
)
from rxledger.services import catalog, controlled
from rxledger.services.controlled import Witness

controlled_app = typer.Typer(help="Controlled substances: perpetual log and biennial inventory.")

WITNESS_PASSWORD_ENV = "RXLEDGER_WITNESS_PASSWORD"  # noqa: S105 - a variable name
WitnessOption = Annotated[
    str | None,
    typer.Option(
        "--witness",
        help="Witness of a schedule II posting: a second user, who types their password "
        f"(or scripts set {WITNESS_PASSWORD_ENV}).",
    ),
]
Site = Annotated[str, typer.Option("--site", help="Site code.")]
CsvFile = Annotated[Path | None, typer.Option("--csv", help="Write the report as CSV here.")]
PdfFile = Annotated[Path | None, typer.Option("--pdf", help="Write the report as PDF here.")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def witness(username: str | None) -> Witness | None:
    """The witness named by ``--witness``, with the password from the environment or a hidden
    prompt (never from the command line, where it would stay in the shell's history)."""
    if username is None:
        return None
    password = os.environ.get(WITNESS_PASSWORD_ENV)
    if password is None:
        password = typer.prompt(f"Password of witness {username}", hide_input=True)
    return Witness(username, password)


def register(app: typer.Typer) -> None:
    app.add_typer(controlled_app, name="controlled", no_args_is_help=True)


def _site_id(site: str) -> int:
    return catalog.site_by_code(state.runtime(), state.actor(), site).id


@controlled_app.command("log")
@handles_errors
def log_command(
    site: Site,
    item: Annotated[str, typer.Option("--item", help="SKU, NDC or GTIN.")],
    since: Annotated[str | None, typer.Option("--since", help="ISO 8601, inclusive.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="ISO 8601, exclusive.")] = None,
    csv_file: CsvFile = None,
    pdf_file: PdfFile = None,
    json_output: Json = False,
) -> None:
    """The perpetual inventory log of a controlled item at a site, with its running balance."""
    rt, actor = state.runtime(), state.actor()
    item_id = catalog.find_item(rt, actor, item).id
    log = controlled.perpetual_log(
        rt, actor, _site_id(site), item_id, parse_instant(since), parse_instant(until)
    )
    if csv_file is not None:
        csv_file.write_text(controlled_reports.log_csv(log), encoding="utf-8")
    if pdf_file is not None:
        pdf_file.write_bytes(controlled_reports.log_pdf(log, rt.clock.now()))
    if json_output:
        emit_json(
            {
                "site": log.site.code,
                "item": log.item.sku,
                "opening": log.opening,
                "closing": log.closing,
                "rows": [asdict(r) for r in log.rows],
            }
        )
        return
    table = Table(
        "when (UTC)", "doc", "type", "reference", "lot", "in", "out", "balance", "by", "witness",
        title=f"{log.item.name} at {log.site.code}: opening {log.opening}, closing {log.closing}",
    )  # fmt: skip
    for r in log.rows:
        table.add_row(
            f"{r.occurred_at:%Y-%m-%d %H:%M}", str(r.document_id), r.doc_type, r.reference or "",
            r.lot_number, str(r.quantity_in or ""), str(r.quantity_out or ""), str(r.balance),
            r.posted_by, r.witness or "",
        )  # fmt: skip
    console.print(table)


@controlled_app.command("inventory")
@handles_errors
def inventory_command(
    site: Site,
    count: Annotated[
        int | None, typer.Option("--count", help="A count session: its counts and signed result.")
    ] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="ISO 8601 (default now).")] = None,
    csv_file: CsvFile = None,
    pdf_file: PdfFile = None,
    json_output: Json = False,
) -> None:
    """The biennial inventory count sheet of a site's controlled stock, per item and lot."""
    rt, actor = state.runtime(), state.actor()
    sheet = controlled.biennial_sheet(
        rt, actor, _site_id(site), parse_instant(as_of), count_session_id=count
    )
    if csv_file is not None:
        csv_file.write_text(controlled_reports.sheet_csv(sheet), encoding="utf-8")
    if pdf_file is not None:
        pdf_file.write_bytes(controlled_reports.sheet_pdf(sheet, rt.clock.now()))
    if json_output:
        emit_json(
            {
                "site": sheet.site.code,
                "as_of": sheet.as_of,
                "lines": [asdict(ln) | {"difference": ln.difference} for ln in sheet.lines],
                "result": asdict(sheet.result) if sheet.result else None,
            }
        )
        return
    table = Table(
        "item", "schedule", "lot", "expiry", "system", "counted", "difference", "counted by",
        title=f"Controlled stock at {sheet.site.code} as of {sheet.as_of:%Y-%m-%d %H:%M} UTC",
    )  # fmt: skip
    for ln in sheet.lines:
        table.add_row(
            f"{ln.name} {ln.strength}".strip(), ln.dea_schedule or ln.cannabis_category or "",
            ln.lot_number, ln.expiry or "", str(ln.system_on_hand),
            "" if ln.counted is None else str(ln.counted),
            "" if ln.difference is None else str(ln.difference), ln.counted_by or "",
        )  # fmt: skip
    console.print(table)
    if sheet.result is not None:
        r = sheet.result
        console.print(
            f"Count {r.session_id} ({r.status}): counted by {', '.join(r.counted_by) or '-'}; "
            f"document {r.document_id or '-'} posted by {r.posted_by or '-'}, "
            f"witnessed by {', '.join(r.witnesses) or '-'}"
        )
