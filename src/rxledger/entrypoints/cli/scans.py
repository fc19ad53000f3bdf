"""``rxledger scan``: read a barcode scan, or a day's scanner log, against the item master.

In a shell, the GS separator a scanner sends can be typed as ``^`` (GS1's notation for FNC1) or
passed with ``$'\\x1d'``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from rxledger.domain.errors import RxLedgerError, ValidationFailed
from rxledger.entrypoints.cli.context import console, emit_json, err_console, handles_errors, state
from rxledger.entrypoints.errors import exit_code
from rxledger.services import scanning
from rxledger.services.runtime import Actor, Runtime

Data = Annotated[
    str | None, typer.Argument(help="The scan: raw scanner data, (AI) text, a URI or an NDC.")
]
InputFile = Annotated[
    Path | None,
    typer.Option(
        "--input",
        "-i",
        help="A file of scans, one per line; each line gets one result.",
        exists=True,
        dir_okay=False,
        readable=True,
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print JSON (one object per line).")]


def register(app: typer.Typer) -> None:
    app.command("scan")(scan)


@handles_errors
def scan(data: Data = None, input_file: InputFile = None, json_output: Json = False) -> None:
    """Parse a scan and find its item and package level; exits non-zero on an invalid scan."""
    if (data is None) == (input_file is None):
        raise ValidationFailed("give either a scan or --input FILE, not both")
    state.json_output = json_output
    rt, actor = state.runtime(), state.actor()
    if data is not None:
        result = scanning.parse_scan(rt, actor, data)
        if json_output:
            emit_json(result.as_dict())
        else:
            _print(result)
        return
    assert input_file is not None
    failed = _scan_file(rt, actor, input_file, json_output)
    if failed is not None:
        raise typer.Exit(exit_code(failed))


def _scan_file(rt: Runtime, actor: Actor, path: Path, json_output: bool) -> RxLedgerError | None:
    """One result per non-blank line, in order; the first refusal decides the exit status."""
    first: RxLedgerError | None = None
    table = Table()
    for column in ("line", "gtin", "ndc", "lot", "expiry", "serial", "item", "problem"):
        table.add_column(column, overflow="fold")
    with path.open(encoding="utf-8", errors="replace", newline="\n") as lines:
        for number, line in enumerate(lines, start=1):
            text = line.rstrip("\r\n")
            if not text.strip():
                continue
            row: dict[str, Any] = {"line": number, "input": text}
            try:
                row |= scanning.parse_scan(rt, actor, text).as_dict()
            except RxLedgerError as error:
                first = first or error
                row["error"] = error.as_dict()
            if json_output:
                emit_json(row)
            else:
                table.add_row(*_cells(row))
    if not json_output:
        console.print(table)
    return first


def _cells(row: dict[str, Any]) -> list[str]:
    if "error" in row:
        return [str(row["line"]), "", "", "", "", "", "", row["error"]["message"]]
    item = row["item"]
    return [
        str(row["line"]),
        row["gtin"] or row["sscc"] or "",
        row["ndc"] or ("ambiguous" if row["ndc_ambiguous"] else row["ndc10"] or ""),
        row["lot"] or "",
        row["expiry"] or "",
        row["serial"] or "",
        f"{item['name']} ({row['package']['level'] if row['package'] else '?'})" if item else "",
        "",
    ]


def _print(result: scanning.ScanResult) -> None:
    shown = result.as_dict()
    table = Table("field", "value", title=f"Scan ({shown['format']})")
    for key in ("gtin", "sscc", "ndc10", "ndc11", "ndc", "lot", "expiry", "serial", "epc"):
        if shown[key]:
            table.add_row(key, str(shown[key]))
    if shown["ndc_ambiguous"]:
        table.add_row("ndc", "ambiguous: " + " or ".join(shown["ndc_candidates"]))
    item, package = shown["item"], shown["package"]
    table.add_row("item", f"{item['name']} (SKU {item['sku']})" if item else "not in item master")
    if package:
        table.add_row("package", f"{package['level']} of {package['base_units']}")
    for element in shown["elements"]:
        table.add_row(f"({element['ai']}) {element['title']}", element["value"])
    console.print(table)
    if item is None:
        err_console.print("[yellow]No item in the item master matches this scan.[/]")
