"""``rxledger audit list``: search the audit trail (who, when, from where, what, before and
after), as a table, JSON or a CSV file; and how ``rxledger check`` prints the hash chains."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from rxledger.domain.errors import ValidationFailed
from rxledger.entrypoints.cli.context import (
    console,
    emit_json,
    err_console,
    handles_errors,
    parse_instant,
    state,
)
from rxledger.services import audit
from rxledger.services.audit import AuditQuery, ChainReport

audit_app = typer.Typer(help="The audit trail: who did what, when and from where.")


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit", no_args_is_help=True)


def _subject(text: str | None) -> tuple[str | None, str | None]:
    """``document:12`` is one subject; ``document`` every subject of that type."""
    if not text:
        return None, None
    kind, _, ident = text.partition(":")
    if not kind.strip():
        raise ValidationFailed("a subject is TYPE or TYPE:ID, e.g. document:12", field="subject")
    return kind.strip(), ident.strip() or None


@audit_app.command("list")
@handles_errors
def list_entries(
    actor: Annotated[str | None, typer.Option("--actor", help="Who acted (user name).")] = None,
    action: Annotated[
        str | None, typer.Option(help="What was done, by prefix: 'post', 'grant role'.")
    ] = None,
    subject: Annotated[
        str | None, typer.Option(help="TYPE or TYPE:ID, e.g. document:12 or user.")
    ] = None,
    since: Annotated[str | None, typer.Option(help="From this instant (ISO 8601).")] = None,
    until: Annotated[str | None, typer.Option(help="Before this instant (ISO 8601).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Rows to show.")] = 50,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Write every matching row to this CSV file.")
    ] = None,
) -> None:
    """The audit trail, newest first."""
    state.json_output = json_output
    rt, who = state.runtime(), state.actor()
    subject_type, subject_id = _subject(subject)
    query = AuditQuery(
        actor, action, subject_type, subject_id, None, parse_instant(since), parse_instant(until)
    )
    if csv_file is not None:
        csv_file.write_text(audit.export_csv(rt, who, query), encoding="utf-8")
        console.print(f"Audit rows written to {csv_file}")
        return
    rows = audit.search(rt, who, query, limit=limit)
    if json_output:
        emit_json([r.as_dict() for r in rows])
        return
    table = Table("#", "when (UTC)", "who", "from", "action", "subject", "site", "after")
    for r in rows:
        table.add_row(
            str(r.id),
            r.occurred_at.strftime("%Y-%m-%d %H:%M:%S"),
            r.actor,
            r.origin,
            r.action,
            f"{r.subject_type}:{r.subject_id}",
            "" if r.site_id is None else str(r.site_id),
            (r.after or "")[:80],
        )
    console.print(table)


def print_chains(reports: Sequence[ChainReport]) -> None:
    """One line per organization: the sealed chain and its head, or its first broken link."""
    for c in reports:
        if c.broken is None:
            console.print(
                f"[green]Audit chain sound[/] (organization {c.organization_id}): {c.links} "
                f"links ({c.movements} movements, {c.audit_rows} audit rows), "
                f"head {c.head_seq} {c.head_hash[:16]}…"
            )
        else:
            b = c.broken
            err_console.print(
                f"[bold red]Audit chain broken[/] (organization {c.organization_id}) at link "
                f"{b.seq} ({b.kind} {b.row_id}, {b.reason}): {b.message}"
            )
