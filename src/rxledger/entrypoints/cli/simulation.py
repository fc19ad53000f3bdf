"""``rxledger simulate``: replay demand under an inventory policy: a CSV without a database
(``--input``), or the ledger's own daily dispensing (``--site``, ``--item``) at standard cost; in
ledger mode, series shorter than the warm-up plus a day are left out, and counted.

A file is read whole or refused whole (``INVALID_INPUT_FILE``, naming every bad line); the replay
follows ``rxledger.analytics.simulation``. The output is a table of totals and one of the first 20
series, or with ``--json`` one object ``{policy, settings, totals, series}`` in which a figure that
does not exist (a fill rate without demand, a value without a unit cost) is ``null``.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from rxledger.entrypoints.cli.context import console, emit_json, handles_errors

if TYPE_CHECKING:
    from rxledger.analytics.simulation import SimulationResult

SHOWN_SERIES = 20


class PolicyName(StrEnum):
    rxledger = "rxledger"
    avg365 = "avg365"
    amc = "amc"


InputFile = Annotated[
    Path | None,
    typer.Option(
        "--input",
        "-i",
        help="Daily demand CSV: series (or item, site), date, quantity.",
        exists=True,
        dir_okay=False,
        readable=True,
    ),
]
PolicyOption = Annotated[PolicyName, typer.Option("--policy", help="The policy to replay.")]
LeadTime = Annotated[int, typer.Option("--lead-time-days", help="Days from order to usable stock.")]
Review = Annotated[int, typer.Option("--review-days", help="Days between order decisions.")]
ServiceLevel = Annotated[
    float,
    typer.Option("--service-level", help="rxledger: P(demand over lead time + review ≤ S)."),
]
ShelfLife = Annotated[
    int | None,
    typer.Option(
        "--shelf-life-days", help="Days a received lot may be issued (default: never expires)."
    ),
]
Warmup = Annotated[
    int, typer.Option("--warmup-days", help="Leading days that only teach demand, not scored.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
SiteCode = Annotated[str | None, typer.Option("--site", help="Ledger mode: a site code.")]
ItemCode = Annotated[str | None, typer.Option("--item", help="Ledger mode: SKU, NDC or GTIN.")]


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate)


@handles_errors
def simulate(
    policy: PolicyOption,
    lead_time_days: LeadTime,
    review_days: Review,
    input_file: InputFile = None,
    service_level: ServiceLevel = 0.95,
    shelf_life_days: ShelfLife = None,
    warmup_days: Warmup = 91,
    site: SiteCode = None,
    item: ItemCode = None,
    json_output: JsonOption = False,
) -> None:
    """Replay every series of a daily demand CSV (or of the ledger) under a policy: fill rate,
    stock-outs, stock."""
    from rxledger.analytics.demand_csv import read_demand_csv
    from rxledger.analytics.simulation import simulate as replay

    unit_cost: dict[str, float] | None = None
    if input_file is not None:
        demand = read_demand_csv(input_file)
    else:
        demand, unit_cost = _from_ledger(site, item, warmup_days)
    result = replay(
        demand,
        policy.value,
        unit_cost=unit_cost,
        lead_time_days=lead_time_days,
        review_days=review_days,
        service_level=service_level,
        shelf_life_days=shelf_life_days,
        warmup_days=warmup_days,
    )
    if json_output:
        emit_json(
            {
                "policy": result.policy,
                "settings": asdict(result.settings),
                "totals": {key: _plain(value) for key, value in result.totals.items()},
                "series": [
                    {key: _plain(value) for key, value in row.items()}
                    for row in result.series.to_dict(orient="records")
                ],
            }
        )
        return
    _print_tables(result)


def _from_ledger(
    site: str | None, item: str | None, warmup_days: int
) -> tuple[Any, dict[str, float]]:
    from rxledger.entrypoints.cli.context import state
    from rxledger.services import catalog, demand, replenishment

    rt, actor = state.runtime(), state.actor()
    site_id = None if site is None else catalog.site_by_code(rt, actor, site).id
    item_ids = None if item is None else [catalog.find_item(rt, actor, item).id]
    history = demand.demand_history(rt, actor, site_id=site_id, item_ids=item_ids)
    series = history.series()
    days = series.groupby("unique_id")["ds"].transform("size")
    short = series.loc[days <= warmup_days, "unique_id"].nunique()
    if short:
        console.print(f"{short} series with {warmup_days} days of history or fewer left out")
    return series[days > warmup_days], replenishment.unit_costs(rt, actor)


def _plain(value: Any) -> Any:
    """A JSON-ready value: numpy scalars as Python numbers, NaN as None."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _print_tables(result: SimulationResult) -> None:
    run, totals = result.settings, result.totals
    shelf = f"{run.shelf_life_days} d" if run.shelf_life_days else "none"
    console.print(
        f"Policy [bold]{result.policy}[/]: lead time {run.lead_time_days} d, review "
        f"{run.review_days} d, service level {run.service_level:g}, shelf life {shelf}, "
        f"warm-up {run.warmup_days} d"
    )
    table = Table("measure", "value", title="Totals")
    for key, value in totals.items():
        table.add_row(key.replace("_", " "), _figure(value))
    console.print(table)
    shown = min(SHOWN_SERIES, len(result.series))
    series = Table(title=f"First {shown} of {len(result.series)} series")
    series.add_column("series", no_wrap=True)
    for header in ("demand", "lost", "fill", "out days", "on hand", "orders", "expired"):
        series.add_column(header, justify="right")
    for row in result.series.head(SHOWN_SERIES).itertuples(index=False):
        series.add_row(
            str(row.unique_id),
            f"{row.demand:,}",
            f"{row.lost:,}",
            _figure(row.fill_rate),
            str(row.stockout_days),
            f"{row.avg_on_hand_units:,.1f}",
            str(row.orders),
            f"{row.units_expired:,}",
        )
    console.print(series)


def _figure(value: float) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "–"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.4f}" if abs(value) < 10 else f"{value:,.1f}"
