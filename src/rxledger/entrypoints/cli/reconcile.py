"""``rxledger reconcile``: import another system's on-hand export (METRC packages JSON, a POS or
any on-hand CSV), compare it with the ledger, settle the differences, and check a day's POS sales
against the ledger's dispenses."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from rxledger.domain.errors import ValidationFailed
from rxledger.entrypoints.cli.context import console, emit_json, handles_errors, state
from rxledger.entrypoints.cli.controlled import WitnessOption, witness
from rxledger.services import catalog, reconciliation
from rxledger.services.reconciliation import Comparison

Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
SnapshotId = Annotated[int, typer.Argument(metavar="SNAPSHOT", min=1)]
SiteCode = Annotated[str, typer.Option("--site", help="The site's code.")]
CountSession = Annotated[
    int | None, typer.Option("--count-session", min=1, help="Show this count's latest counts.")
]

reconcile_app = typer.Typer(help="Reconcile the ledger with POS and track-and-trace exports.")


def register(app: typer.Typer) -> None:
    app.add_typer(reconcile_app, name="reconcile", no_args_is_help=True)


@reconcile_app.command("import")
@handles_errors
def import_(
    file: Annotated[Path, typer.Argument(metavar="FILE")],
    source: Annotated[str, typer.Option("--source", help="metrc, pos or csv.")],
    site: SiteCode,
    json_output: Json = False,
) -> None:
    """Store an on-hand export for a site; the same file again creates nothing."""
    state.json_output = json_output
    rt, actor = state.runtime(), state.actor()
    site_id = catalog.site_by_code(rt, actor, site).id
    result = reconciliation.import_snapshot(rt, actor, site_id, source, file.name, _read(file))
    if json_output:
        emit_json(result.as_dict())
        return
    seen = " (already imported)" if result.duplicate else ""
    console.print(f"snapshot {result.snapshot_id}: {result.lines} line(s){seen}")


@reconcile_app.command("show")
@handles_errors
def show(
    snapshot_id: SnapshotId,
    count_session: CountSession = None,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Also write the rows here.")
    ] = None,
    json_output: Json = False,
) -> None:
    """Ledger against the export (and a count), row by row, with the differences."""
    state.json_output = json_output
    comparison = reconciliation.compare(state.runtime(), state.actor(), snapshot_id, count_session)
    if csv_file is not None:
        _write_csv(comparison, csv_file)
    if json_output:
        emit_json(comparison.as_dict())
        return
    table = Table(title=f"Snapshot {snapshot_id} ({comparison.source}, {comparison.file_name})")
    for column in ("key", "item", "lot", "ledger", "counted", "external", "difference", "status"):
        table.add_column(column)
    for r in comparison.rows:
        table.add_row(
            r.key,
            r.sku or "",
            r.lot_number or "",
            str(r.ledger),
            "" if r.counted is None else str(r.counted),
            "" if r.external is None else str(r.external),
            f"{r.difference:+d}",
            r.status
            + (f" (awaiting approval {r.approval_id})" if r.approval_id is not None else ""),
        )
    console.print(table)
    console.print(", ".join(f"{k}: {v}" for k, v in comparison.totals().items()))


@reconcile_app.command("adjust")
@handles_errors
def adjust(
    snapshot_id: SnapshotId,
    reason: Annotated[str, typer.Option("--reason", help="An active reason code, e.g. COUNT.")],
    line: Annotated[
        list[str] | None, typer.Option("--line", help="A row's key (tag, SKU or SKU/lot).")
    ] = None,
    trust: Annotated[
        str, typer.Option("--trust", help="The figure that is right: external, ledger or count.")
    ] = "external",
    count_session: CountSession = None,
    external_reason: Annotated[
        str | None, typer.Option("--external-reason", help="METRC's AdjustmentReason.")
    ] = None,
    note: Annotated[str | None, typer.Option("--note")] = None,
    witness_name: WitnessOption = None,
    json_output: Json = False,
) -> None:
    """Adjust the ledger to the trusted figures and print the METRC adjustments to send.

    Above the adjustment approval policy the adjustment is held for approval instead (and no
    METRC adjustments are printed until it posts); schedule II stock needs ``--witness``."""
    state.json_output = json_output
    if trust not in reconciliation.TRUSTS:
        raise ValidationFailed(f"--trust is one of {', '.join(reconciliation.TRUSTS)}")
    proposal = reconciliation.propose(
        state.runtime(),
        state.actor(),
        snapshot_id,
        reason,
        keys=line or None,
        trust=trust,  # checked above
        count_session_id=count_session,
        external_reason=external_reason,
        note=note,
        witness=witness(witness_name),
    )
    result = proposal.as_dict()
    if json_output:
        emit_json(result)
        return
    document = proposal.document
    if proposal.held:
        console.print(
            f"ledger adjustment held for approval {proposal.approval_id} "
            f"(worth {proposal.value} at standard cost): nothing posted yet"
        )
    else:
        console.print(
            f"ledger adjustment: document {document.id}" if document else "ledger: no change"
        )
    for key, why in proposal.skipped:
        console.print(f"left alone {key}: {why}")
    if proposal.held:
        console.print("METRC: nothing to send until the adjustment is approved; settle again then")
        return
    console.print("METRC POST /packages/v2/adjust:")
    print(json.dumps(result["metrc"], indent=2))


@reconcile_app.command("sales")
@handles_errors
def sales(
    file: Annotated[Path, typer.Argument(metavar="FILE")],
    site: SiteCode,
    day: Annotated[str, typer.Option("--day", help="The business day, YYYY-MM-DD (UTC).")],
    json_output: Json = False,
) -> None:
    """Units sold per SKU in a POS sales export against the day's dispenses in the ledger."""
    state.json_output = json_output
    try:
        business_day = date.fromisoformat(day)
    except ValueError as exc:
        raise ValidationFailed(f"--day {day!r} is not a date (YYYY-MM-DD)") from exc
    rt, actor = state.runtime(), state.actor()
    site_id = catalog.site_by_code(rt, actor, site).id
    rows = reconciliation.sales_reconciliation(
        rt, actor, site_id, _read(file), business_day, file_name=file.name
    )
    if json_output:
        emit_json([vars(r) for r in rows])
        return
    table = Table(title=f"POS sales against dispenses, {business_day}")
    for column in ("sku", "item", "POS", "ledger", "difference", "status"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            r.sku, r.name or "", str(r.pos_units), str(r.ledger_units), f"{r.difference:+d}",
            r.status,
        )  # fmt: skip
    console.print(table)


def _read(file: Path) -> bytes:
    if not file.is_file():
        raise ValidationFailed(f"{file} is not a file", file=str(file))
    return file.read_bytes()


def _write_csv(comparison: Comparison, path: Path) -> None:
    columns = ("key", "kind", "sku", "lot_number", "ledger", "counted", "external", "difference",
               "status", "unit", "note", "approval_id")  # fmt: skip
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for r in comparison.rows:
            values = [getattr(r, c) for c in columns]
            writer.writerow(["" if v is None else v for v in values])
