"""``rxledger count``: plan, count, submit, recount, investigate and approve cycle counts; daily
partial counts split across technicians; accuracy and shrinkage."""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import typer
from rich.table import Table

from rxledger.domain import errors
from rxledger.domain.counts import Tolerance
from rxledger.entrypoints.cli.context import console, emit_json, handles_errors, state
from rxledger.entrypoints.cli.controlled import WitnessOption, witness
from rxledger.services import catalog, counts

count_app = typer.Typer(help="Cycle counts: plan, count, submit, recount, investigate, approve.")
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
Site = Annotated[str, typer.Option("--site", help="Site code.")]


tolerance_app = typer.Typer(help="Keep or forget a count tolerance of the organization.")
count_app.add_typer(tolerance_app, name="tolerance", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(count_app, name="count", no_args_is_help=True)


def _site(code: str) -> int:
    return catalog.site_by_code(state.runtime(), state.actor(), code).id


def _show(view: counts.CountView, json_output: bool) -> None:
    if json_output:
        emit_json(asdict(view))
        return
    console.print(
        f"Count {view.id} · {view.title} · {view.program} · {view.status}"
        + (" · blind" if view.blind else "")
    )
    table = Table()
    for column in (
        "line",
        "id",
        "location",
        "item",
        "lot",
        "counted",
        "system",
        "variance",
        "status",
    ):
        table.add_column(column)
    for line in view.lines:
        last = line.entries[-1] if line.entries else None
        table.add_row(
            str(line.line_no),
            str(line.id),
            line.location_code,
            f"{line.item_name} {line.strength}",
            line.lot_number or "",
            str(line.tally if line.tally is not None else (last.counted if last else "")),
            "" if line.system_quantity is None else str(line.system_quantity),
            "" if line.variance is None else str(line.variance),
            line.status,
        )
    console.print(table)


@count_app.command("plan")
@handles_errors
def plan(
    site: Site,
    title: Annotated[str, typer.Option("--title", help="What is counted.")],
    program: Annotated[
        str, typer.Option("--program", help="manual, abc, risk, category, biennial.")
    ] = "manual",
    location: Annotated[list[str] | None, typer.Option("--location", help="Location code.")] = None,
    item: Annotated[list[str] | None, typer.Option("--item", help="SKU, NDC or GTIN.")] = None,
    category: Annotated[
        str | None, typer.Option("--category", help="CII, edible, tablet …")
    ] = None,
    open_count: Annotated[
        bool, typer.Option("--not-blind", help="Show system quantities.")
    ] = False,
    assigned_to: Annotated[str | None, typer.Option("--assign", help="Who counts.")] = None,
    json_output: Json = False,
) -> None:
    """Plan a count; its lines are chosen by the program, in walking order."""
    rt, actor = state.runtime(), state.actor()
    site_id = _site(site)
    spec = counts.NewCount(
        site_id=site_id,
        title=title,
        program=program,
        location_ids=[catalog.location_by_code(rt, actor, site_id, c).id for c in location or []],
        item_ids=[catalog.find_item(rt, actor, i).id for i in item or []],
        category=category,
        blind=not open_count,
        assigned_to=assigned_to,
    )
    _show(counts.create_count(rt, actor, spec), json_output)


@count_app.command("daily")
@handles_errors
def daily(
    site: Site,
    counter: Annotated[list[str], typer.Option("--counter", help="A technician; repeat.")],
    lines: Annotated[int, typer.Option("--lines", min=1, help="Lines per counter.")] = 40,
    json_output: Json = False,
) -> None:
    """Today's partial counts: the lines due by ABC class, split across the counters."""
    made = counts.daily_counts(
        state.runtime(), state.actor(), _site(site), counter, lines_per_counter=lines
    )
    if json_output:
        emit_json([asdict(v) for v in made])
        return
    for view in made:
        console.print(f"Count {view.id} for {view.assigned_to}: {len(view.lines)} line(s)")


@count_app.command("list")
@handles_errors
def list_counts(
    site: Annotated[str | None, typer.Option("--site")] = None, json_output: Json = False
) -> None:
    """Counts of the sites you see, newest first."""
    rows = counts.list_counts(state.runtime(), state.actor(), site_id=_site(site) if site else None)
    if json_output:
        emit_json([asdict(v) for v in rows])
        return
    table = Table("id", "title", "program", "status", "planned by", "assigned to")
    for v in rows:
        table.add_row(str(v.id), v.title, v.program, v.status, v.created_by, v.assigned_to or "")
    console.print(table)


@count_app.command("show")
@handles_errors
def show(count_id: int, json_output: Json = False) -> None:
    """A count and its lines (system quantities only where you may see them)."""
    _show(counts.get_count(state.runtime(), state.actor(), count_id), json_output)


@count_app.command("tally")
@handles_errors
def tally(line_id: int, quantity: int, json_output: Json = False) -> None:
    """Type a line's count (0 confirms an empty bin)."""
    _show(counts.set_tally(state.runtime(), state.actor(), line_id, quantity), json_output)


@count_app.command("scan")
@handles_errors
def scan(
    count_id: int,
    code: str,
    location: Annotated[str | None, typer.Option("--location", help="Location code.")] = None,
    quantity: Annotated[int | None, typer.Option("--quantity", min=1)] = None,
    json_output: Json = False,
) -> None:
    """Add a scanned package to its line."""
    rt, actor = state.runtime(), state.actor()
    view = counts.get_count(rt, actor, count_id)
    location_id = (
        catalog.location_by_code(rt, actor, view.site_id, location).id if location else None
    )
    _show(
        counts.scan(rt, actor, count_id, code, location_id=location_id, quantity=quantity),
        json_output,
    )


@count_app.command("submit")
@handles_errors
def submit(count_id: int, json_output: Json = False) -> None:
    """Freeze the first count of every line and judge the variances."""
    _show(counts.submit(state.runtime(), state.actor(), count_id), json_output)


@count_app.command("recount")
@handles_errors
def recount(line_id: int, quantity: int, json_output: Json = False) -> None:
    """Recount a line (someone who did not count it before) and submit the recount."""
    rt, actor = state.runtime(), state.actor()
    counts.set_tally(rt, actor, line_id, quantity)
    _show(counts.submit_recount(rt, actor, line_id), json_output)


@count_app.command("investigate")
@handles_errors
def investigate(
    line_id: int,
    findings: Annotated[str | None, typer.Option("--findings", help="What was found.")] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Reason code.")] = None,
    json_output: Json = False,
) -> None:
    """Show a line's movements since its last good count and likely explanations; with
    ``--findings`` and ``--reason``, record them."""
    rt, actor = state.runtime(), state.actor()
    if findings and reason:
        _show(
            counts.investigate(rt, actor, line_id, findings=findings, reason_code=reason),
            json_output,
        )
        return
    view = counts.investigation(rt, actor, line_id)
    if json_output:
        emit_json(
            {
                "since": view.since,
                "movements": [asdict(m) for m in view.movements],
                "explanations": list(view.explanations),
            }
        )
        return
    for text in view.explanations or ("nothing obvious",):
        console.print(f"• {text}")
    table = Table("when", "document", "reference", "by", "change", "balance")
    for m in view.movements:
        table.add_row(
            f"{m.occurred_at:%Y-%m-%d %H:%M}",
            f"{m.doc_type} #{m.document_id}",
            m.reference or "",
            m.posted_by,
            str(m.change),
            str(m.balance),
        )
    console.print(table)


@count_app.command("approve")
@handles_errors
def approve(line_id: int, witness_name: WitnessOption = None, json_output: Json = False) -> None:
    """Approve an investigated variance: the adjustment posts (schedule II: ``--witness``)."""
    view = counts.approve(state.runtime(), state.actor(), line_id, witness=witness(witness_name))
    _show(view, json_output)


@count_app.command("accuracy")
@handles_errors
def accuracy(
    site: Annotated[str | None, typer.Option("--site")] = None,
    period: Annotated[
        str, typer.Option("--period", help="M (month), Q (quarter) or Y (year).")
    ] = "M",
    json_output: Json = False,
) -> None:
    """Inventory accuracy and shrinkage per site, period and dosage form."""
    rows = counts.accuracy(
        state.runtime(),
        state.actor(),
        site_id=_site(site) if site else None,
        period=period.upper(),
    )
    if json_output:
        emit_json([_row(r) for r in rows])
        return
    table = Table("site", "period", "form", "lines", "accuracy", "shrinkage", "value")
    for r in rows:
        table.add_row(
            str(r.site_id),
            r.period,
            r.category,
            str(r.lines_counted),
            "" if r.accuracy is None else f"{r.accuracy:.1%}",
            str(r.shrinkage_units),
            f"{r.shrinkage_value:,.2f}",
        )
    console.print(table)


def _row(r: counts.AccuracyRow) -> dict[str, Any]:
    return asdict(r) | {"accuracy": r.accuracy}


@count_app.command("tolerances")
@handles_errors
def tolerances(json_output: Json = False) -> None:
    """The organization's count tolerances by program (* any) and class, and the defaults."""
    rows = counts.list_tolerances(state.runtime(), state.actor())
    if json_output:
        emit_json([asdict(t) for t in rows])
        return
    table = Table("program", "class", "units", "value", "set by", "")
    for t in rows:
        table.add_row(
            t.program,
            t.item_class,
            str(t.units),
            f"{t.value:,.2f}",
            t.set_by or "",
            "default" if t.default else "",
        )
    console.print(table)


def _show_tolerance(t: Tolerance, verb: str, json_output: bool) -> None:
    if json_output:
        emit_json(asdict(t))
        return
    console.print(
        f"{verb}: class {t.item_class} in program {t.program} tolerates {t.units} unit(s) and "
        f"{t.value:,.2f} at cost" + (" (the default)" if t.default else "")
    )


@tolerance_app.command("set")
@handles_errors
def set_tolerance(
    program: Annotated[str, typer.Argument(help="manual, category, abc, risk, biennial or *.")],
    item_class: Annotated[str, typer.Argument(help="A, B, C or controlled.")],
    units: Annotated[int, typer.Option("--units", help="Base units of difference tolerated.")],
    value: Annotated[str, typer.Option("--value", help="Value at cost tolerated, e.g. 40.00.")],
    json_output: Json = False,
) -> None:
    """Keep a tolerance for a class in a count program (administrators of every site)."""
    try:
        amount = Decimal(value.replace(",", ""))
    except InvalidOperation as exc:
        raise errors.ValidationFailed("the value is an amount, e.g. 40.00", field="value") from exc
    kept = counts.set_tolerance(state.runtime(), state.actor(), program, item_class, units, amount)
    _show_tolerance(kept, "Kept", json_output)


@tolerance_app.command("unset")
@handles_errors
def unset_tolerance(
    program: Annotated[str, typer.Argument(help="manual, category, abc, risk, biennial or *.")],
    item_class: Annotated[str, typer.Argument(help="A, B, C or controlled.")],
    json_output: Json = False,
) -> None:
    """Forget a kept tolerance: the class falls back to any program's rule or the default."""
    now = counts.remove_tolerance(state.runtime(), state.actor(), program, item_class)
    _show_tolerance(now, "Now", json_output)
