"""The ``rxledger`` command line: set-up, the demo network, integrity, queries and stock postings.

The database is chosen by ``--database URL`` or ``RXLEDGER_DATABASE_URL`` (default: the embedded
SQLite file ``./var/rxledger.db``). Every write accepts ``--key`` as its idempotency key.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from rxledger import bootstrap
from rxledger.entrypoints.cli import (
    approvals,
    audit,
    certificates,
    controlled,
    counts,
    forecasting,
    investigations,
    postings,
    purchasing,
    receiving,
    reconcile,
    replenishment,
    scans,
    simulation,
)
from rxledger.entrypoints.cli.context import (
    console,
    emit_json,
    err_console,
    handles_errors,
    parse_instant,
    state,
)
from rxledger.entrypoints.errors import EXIT_CHECK_FAILED
from rxledger.services import catalog, integrity, queries

app = typer.Typer(
    name="rxledger",
    help="rxledger: a lot- and serial-level stock ledger for pharmacies and dispensaries.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
postings.register(app)
scans.register(app)
receiving.register(app)
purchasing.register(app)
investigations.register(app)
certificates.register(app)
counts.register(app)
controlled.register(app)
forecasting.register(app)
replenishment.register(app)
simulation.register(app)
reconcile.register(app)
audit.register(app)
approvals.register(app)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


@app.callback()
def _main(
    database: Annotated[
        str | None,
        typer.Option("--database", "-d", envvar="RXLEDGER_DATABASE_URL", help="Database URL."),
    ] = None,
    org: Annotated[str | None, typer.Option("--org", help="Organization code.")] = None,
    user: Annotated[
        str | None, typer.Option("--user", envvar="RXLEDGER_USER", help="Who acts.")
    ] = None,
) -> None:
    state.reset(database, org, user)


@app.command()
@handles_errors
def init() -> None:
    """Create the database or migrate it to the newest schema."""
    rt = state.runtime(migrate=True)
    console.print(f"Database ready: {bootstrap.describe_database(rt)}")


@app.command()
@handles_errors
def demo(
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing when the database holds data.")
    ] = False,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed, the same demo.")] = 7,
    days: Annotated[int, typer.Option(help="Days of history to generate.")] = 730,
    items: Annotated[int, typer.Option(help="Number of items.")] = 400,
) -> None:
    """Build the demo network (a hospital with a satellite and a cabinet, and a retail pharmacy)."""
    from rxledger.demo import build_demo, is_empty
    from rxledger.demo.people import create_demo_users

    rt = state.runtime(migrate=True)
    if not is_empty(rt):
        if if_empty:
            console.print("The database already holds data; demo not loaded.")
            _print_demo_sign_ins()
            return
        err_console.print("[red]The database is not empty.[/] Use a fresh database for the demo.")
        raise typer.Exit(5)
    started = time.perf_counter()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
    ) as progress:
        tasks: dict[str, TaskID] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done, total=total)

        summary = build_demo(rt, seed=seed, days=days, item_count=items, progress=report)
    org = catalog.organization_by_code(rt, summary.organization)
    create_demo_users(rt, org.id)
    console.print(
        f"Demo network ready in {time.perf_counter() - started:.0f} s: {summary.items} items, "
        f"{summary.documents:,} documents, {summary.movements:,} movements."
    )
    _print_demo_sign_ins()


def _print_demo_sign_ins() -> None:
    from rxledger.demo.people import DEMO_USERS

    table = Table("user", "password", "role", "sites", title="Demo sign-ins (development only)")
    for user in DEMO_USERS:
        table.add_row(user.username, user.password, user.role.value, user.where)
    console.print(table)


@app.command()
@handles_errors
def check(json_output: JsonOption = False) -> None:
    """Recompute every balance from the ledger; verify conservation and non-negativity; seal
    and verify the audit hash chain of every organization."""
    rt = state.runtime()
    report = integrity.check(rt)
    chains = integrity.check_chains(rt)
    sound = report.ok and all(c.ok for c in chains)
    if json_output:
        emit_json({**report.as_dict(), "ok": sound, "chains": [c.as_dict() for c in chains]})
    elif report.ok:
        console.print(
            f"[green]Ledger sound[/]: {report.movements} movements, {report.balances} balances, "
            "conservation and non-negativity hold."
        )
    else:
        err_console.print(f"[bold red]{len(report.findings)} problem(s) found[/]")
        table = Table("check", "finding")
        for finding in report.findings[:200]:
            table.add_row(finding.check, finding.message)
        err_console.print(table)
    if not json_output:
        audit.print_chains(chains)
    if not sound:
        raise typer.Exit(EXIT_CHECK_FAILED)


@app.command("stock")
@handles_errors
def stock_position(
    site: Annotated[str | None, typer.Option(help="Site code.")] = None,
    item: Annotated[str | None, typer.Option(help="SKU, NDC or GTIN.")] = None,
    summary: Annotated[bool, typer.Option("--summary", help="One line per site.")] = False,
    limit: Annotated[int, typer.Option(help="Rows to show per site.")] = 50,
    json_output: JsonOption = False,
) -> None:
    """The stock position: on hand, available and value per site and item."""
    rt = state.runtime()
    actor = state.actor()
    if summary:
        _print_summary(rt, actor, json_output)
        return
    site_id = catalog.site_by_code(rt, actor, site).id if site else None
    item_id = catalog.find_item(rt, actor, item).id if item else None
    rows = queries.stock_position(rt, actor, site_id=site_id, item_id=item_id)
    if json_output:
        emit_json([asdict(r) for r in rows])
        return
    shown: dict[str, int] = {}
    table = Table("site", "sku", "item", "on hand", "available", "unit", "value", "lots", "expiry")
    for r in rows:
        shown[r.site_code] = shown.get(r.site_code, 0) + 1
        if shown[r.site_code] > limit:
            continue
        table.add_row(
            r.site_code,
            r.sku,
            r.item_name[:40],
            str(r.on_hand),
            str(r.available),
            r.base_unit,
            f"{r.value:,.2f}",
            str(r.lots),
            str(r.nearest_expiry or ""),
        )
    console.print(table)


def _print_summary(rt: object, actor: object, json_output: bool) -> None:
    summaries = queries.site_summaries(rt, actor)  # type: ignore[arg-type]
    if json_output:
        emit_json([asdict(s) for s in summaries])
        return
    table = Table(
        "site",
        "items in stock",
        "at zero",
        "units",
        "value ($)",
        "expired lots",
        "lots ≤30 d",
        "controlled",
        title="Stock position of the network",
    )
    for s in summaries:
        table.add_row(
            s.site_code,
            str(s.items_in_stock),
            str(s.items_at_zero),
            f"{s.units:,}",
            f"{s.value:,.2f}",
            str(s.expired_lots),
            str(s.lots_expiring_30d),
            str(s.controlled_items),
        )
    console.print(table)


@app.command()
@handles_errors
def history(
    item: Annotated[str, typer.Argument(help="SKU, NDC or GTIN.")],
    site: Annotated[str | None, typer.Option(help="Site code (default: all sites).")] = None,
    location: Annotated[str | None, typer.Option(help="Location code within --site.")] = None,
    limit: Annotated[int, typer.Option(help="Newest movements to show.")] = 50,
    json_output: JsonOption = False,
) -> None:
    """An item's ledger, newest first, with the running balance of the scope."""
    rt = state.runtime()
    actor = state.actor()
    found = catalog.find_item(rt, actor, item)
    site_id = catalog.site_by_code(rt, actor, site).id if site else None
    location_id = None
    if location:
        if site_id is None:
            raise typer.BadParameter("--location needs --site")
        location_id = catalog.location_by_code(rt, actor, site_id, location).id
    rows = queries.item_history(
        rt, actor, found.id, site_id=site_id, location_id=location_id, limit=limit
    )
    if json_output:
        emit_json([asdict(r) for r in rows])
        return
    names = {loc.id: loc.code for loc in catalog.list_locations(rt, actor)}
    table = Table(
        "when",
        "doc",
        "type",
        "lot",
        "from",
        "to",
        "change",
        "balance",
        "by",
        title=f"{found.name} ({found.sku})",
    )
    for r in rows:
        table.add_row(
            r.occurred_at.strftime("%Y-%m-%d %H:%M"),
            str(r.document_id),
            r.doc_type,
            r.lot_number,
            names.get(r.from_location_id, "?"),
            names.get(r.to_location_id, "?"),
            f"{r.change:+d}",
            str(r.balance),
            r.posted_by,
        )
    console.print(table)


@app.command()
@handles_errors
def balance(
    item: Annotated[str, typer.Argument(help="SKU, NDC or GTIN.")],
    site: Annotated[str | None, typer.Option(help="Site code.")] = None,
    location: Annotated[str | None, typer.Option(help="Location code within --site.")] = None,
    lot: Annotated[str | None, typer.Option(help="Lot number.")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="ISO 8601 instant.")] = None,
    json_output: JsonOption = False,
) -> None:
    """The on-hand of an item (or one lot) in a location, a site or everywhere, now or as of."""
    rt = state.runtime()
    actor = state.actor()
    found = catalog.find_item(rt, actor, item)
    site_id = catalog.site_by_code(rt, actor, site).id if site else None
    location_id = (
        catalog.location_by_code(rt, actor, site_id, location).id if location and site_id else None
    )
    lot_id = catalog.find_lot(rt, actor, found.id, lot).id if lot else None
    instant = parse_instant(as_of)
    qty = queries.balance(
        rt,
        actor,
        item_id=found.id,
        lot_id=lot_id,
        site_id=site_id,
        location_id=location_id,
        as_of=instant,
    )
    if json_output:
        emit_json({"item_id": found.id, "sku": found.sku, "on_hand": qty, "as_of": instant})
    else:
        console.print(f"{found.name}: {qty} {found.base_unit}")


@app.command()
@handles_errors
def document(doc_id: int, json_output: JsonOption = False) -> None:
    """Show one document and its movements."""
    rt = state.runtime()
    posted = queries.get_document(rt, state.actor(), doc_id)
    postings.print_document(posted, json_output)


@app.command()
@handles_errors
def sites(json_output: JsonOption = False) -> None:
    """The organization's sites and their locations."""
    rt = state.runtime()
    actor = state.actor()
    rows = catalog.list_sites(rt, actor)
    locations = catalog.list_locations(rt, actor)
    if json_output:
        emit_json(
            [
                {
                    **asdict(s),
                    "locations": [asdict(loc) for loc in locations if loc.site_id == s.id],
                }
                for s in rows
            ]
        )
        return
    table = Table("site", "name", "kind", "DEA", "locations")
    for s in rows:
        codes = ", ".join(
            loc.code for loc in locations if loc.site_id == s.id and not loc.is_virtual
        )
        table.add_row(s.code, s.name, s.kind, s.dea_number or "", codes)
    console.print(table)


@app.command()
@handles_errors
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
) -> None:
    """Serve the web UI and the API on an existing database (SQLite or PostgreSQL by URL)."""
    import os

    import uvicorn

    from rxledger.config import Settings

    settings = Settings.from_env(state.database_url)
    rt = state.runtime()  # refuses an unmigrated database before binding the port
    console.print(
        f"rxledger serving {bootstrap.describe_database(rt)} on http://{host}:{port}/ "
        f"(API docs at http://{host}:{port}/api/v1/docs)"
    )
    os.environ["RXLEDGER_DATABASE_URL"] = settings.database_url
    uvicorn.run(
        "rxledger.entrypoints.api.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        proxy_headers=False,
    )


def main() -> None:
    app()
