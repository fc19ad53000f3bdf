"""CLI commands for goods coming in: importing shipment data files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from rxledger.domain.errors import FileTooLarge
from rxledger.entrypoints.cli.context import console, emit_json, handles_errors, state
from rxledger.services import catalog, imports
from rxledger.services.imports import MAX_FILE_BYTES


def register(app: typer.Typer) -> None:
    app.command("import")(import_file)


@handles_errors
def import_file(
    fmt: Annotated[str, typer.Argument(metavar="FORMAT", help="epcis, asn (X12 856) or manifest.")],
    path: Annotated[Path, typer.Argument(metavar="FILE", exists=True, dir_okay=False)],
    site: Annotated[str | None, typer.Option("--site", help="Receiving site code.")] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Validate and report only; import nothing.")
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Import a shipment data file (EPCIS, X12 856, METRC manifest) for a site.

    The raw file is kept with its SHA-256; importing the same file again creates nothing.
    Exits non-zero when the file is rejected.
    """
    state.json_output = json_output
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise FileTooLarge(
            f"{path.name} is {size:,} bytes; at most {MAX_FILE_BYTES:,} are accepted",
            size=size,
            limit=MAX_FILE_BYTES,
        )
    rt, actor = state.runtime(), state.actor()
    site_id = catalog.site_by_code(rt, actor, site).id if site else None
    result = imports.import_shipment(
        rt, actor, fmt, path.read_bytes(), filename=path.name, site_id=site_id, check=check
    )
    if json_output:
        emit_json(result.as_dict())
        return
    summary = result.as_dict()
    title = (
        "Checked (nothing imported)"
        if check
        else ("Already imported: nothing new" if result.duplicate else "Imported")
    )
    table = Table("", "", title=f"{title}: {path.name}")
    for key in ("format", "shipment_id", "documents", "events", "products", "serials", "lines"):
        table.add_row(key, str(summary[key]))
    if result.file_id:
        table.add_row("file", f"{result.file_id} (sha256 {result.sha256[:16]}…)")
    console.print(table)
    for warning in summary["warnings"]:
        console.print(f"[yellow]warning[/]: {warning}")
    for product in result.unmatched:
        console.print(f"[yellow]not in the item master[/]: {product}")
