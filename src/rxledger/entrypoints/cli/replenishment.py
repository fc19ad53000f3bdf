"""``rxledger classify`` and ``rxledger replenish``: ABC/XYZ classes and suggested orders from the
ledger, as tables, JSON or CSV; ``replenish --accept`` drafts one requisition per site and
supplier from the suggestions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.table import Table

from rxledger.entrypoints.cli.context import console, emit_json, handles_errors, state
from rxledger.services import catalog, replenishment

Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
SiteCode = Annotated[
    str | None, typer.Option("--site", help="Site code (default: every site you may view).")
]
Weeks = Annotated[int, typer.Option("--weeks", min=8, help="Weeks of history to read.")]
CsvOut = Annotated[Path | None, typer.Option("--csv", help="Also write the rows to this CSV.")]
Shown = Annotated[int, typer.Option("--limit", min=1, help="Rows shown in the table.")]

CLASS_COLUMNS = [
    "site_code",
    "sku",
    "name",
    "abc",
    "xyz",
    "demand_class",
    "consumption_value",
    "cumulative_share",
    "cv",
    "adi",
    "cv2",
]
SUGGESTION_COLUMNS = [
    "site_code",
    "supplier_code",
    "sku",
    "name",
    "strength",
    "abc",
    "demand_class",
    "model",
    "daily_forecast",
    "lead_time_days",
    "protection_mean",
    "safety_stock",
    "minimum",
    "maximum",
    "available",
    "on_order",
    "in_transit",
    "position",
    "order_packs",
    "pack_units",
    "order_units",
    "order_value",
    "capped_by_shelf_life",
    "below_minimum",
    "site_id",
    "supplier_id",
    "offer_id",
    "item_id",
]


def register(app: typer.Typer) -> None:
    app.command("classify")(classify)
    app.command("replenish")(replenish)
    app.command("stock-health")(health)
    app.command("kpis")(kpis)


def _site_id(code: str | None) -> int | None:
    if code is None:
        return None
    return catalog.site_by_code(state.runtime(), state.actor(), code).id


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    clean = frame.astype(object).where(frame.notna(), None)
    return [dict(row) for row in clean.to_dict(orient="records")]


@handles_errors
def classify(
    site: SiteCode = None,
    weeks: Weeks = 104,
    csv: CsvOut = None,
    limit: Shown = 30,
    json_output: Json = False,
) -> None:
    """ABC by consumption value (80/15/5), XYZ by variability, and the Syntetos–Boylan demand
    class (smooth, erratic, intermittent, lumpy) of every item and site."""
    classes = replenishment.classify_items(
        state.runtime(), state.actor(), site_id=_site_id(site), weeks=weeks
    )
    rows = classes[CLASS_COLUMNS]
    if csv is not None:
        rows.to_csv(csv, index=False, float_format="%.4f")
    if json_output:
        emit_json(_records(rows))
        return
    counts = classes.groupby(["abc", "xyz"]).size().unstack(fill_value=0)
    summary = Table(title=f"{len(classes)} item-site series by ABC × XYZ")
    summary.add_column("")
    for column in counts.columns:
        summary.add_column(str(column), justify="right")
    for abc, row in counts.iterrows():
        summary.add_row(str(abc), *(str(int(v)) for v in row))
    console.print(summary)
    table = Table(title=f"Highest consumption value (first {limit})")
    for column in ("site", "SKU", "item", "ABC", "XYZ", "demand", "value", "cum. share"):
        table.add_column(column)
    top = classes.sort_values("consumption_value", ascending=False).head(limit)
    for r in top.itertuples():
        table.add_row(
            str(r.site_code),
            str(r.sku),
            str(r.name)[:40],
            str(r.abc),
            str(r.xyz),
            str(r.demand_class),
            f"{r.consumption_value:,.2f}",
            f"{r.cumulative_share:.1%}",
        )
    console.print(table)


@handles_errors
def replenish(
    site: SiteCode = None,
    weeks: Weeks = 104,
    csv: CsvOut = None,
    limit: Shown = 50,
    accept: Annotated[
        bool, typer.Option("--accept", help="Draft a requisition per site and supplier.")
    ] = False,
    json_output: Json = False,
) -> None:
    """Suggested orders: forecast, safety stock, min/max and position per item, in supplier packs;
    ``--accept`` drafts the requisitions."""
    rt, actor = state.runtime(), state.actor()
    result = replenishment.plan(rt, actor, site_id=_site_id(site), weeks=weeks)
    rows = result.suggestions[SUGGESTION_COLUMNS]
    if csv is not None:
        rows.to_csv(csv, index=False, float_format="%.4f")
    drafted = []
    if accept:
        for (site_id, supplier_id), group in rows.groupby(["site_id", "supplier_id"]):
            lines = [
                replenishment.AcceptedLine(int(r.offer_id), int(r.order_packs))
                for r in group.itertuples()
            ]
            requisition = replenishment.accept(
                rt, actor, site_id=int(site_id), supplier_id=int(supplier_id), lines=lines
            )
            drafted.append(
                {
                    "id": requisition.id,
                    "site": requisition.site_code,
                    "supplier": requisition.supplier_code,
                    "lines": len(requisition.lines),
                    "value": requisition.total_value,
                }
            )
    if json_output:
        emit_json({"as_of": result.as_of, "suggestions": _records(rows), "requisitions": drafted})
        return
    _print_suggestions(rows, limit, result.as_of.isoformat())
    for d in drafted:
        console.print(
            f"Requisition {d['id']} drafted: {d['site']} from {d['supplier']}, "
            f"{d['lines']} line(s), {d['value']:,.2f}."
        )


def _print_suggestions(rows: pd.DataFrame, limit: int, as_of: str) -> None:
    table = Table(title=f"{len(rows)} suggested order line(s) as of {as_of} (first {limit})")
    headers = (
        "site",
        "supplier",
        "item",
        "ABC",
        "model",
        "per day",
        "LT+R mean",
        "safety",
        "min",
        "max",
        "position",
        "order",
        "value",
    )
    for column in headers:
        table.add_column(
            column, justify="left" if column in {"site", "supplier", "item"} else "right"
        )
    for r in rows.head(limit).itertuples():
        flags = (" ⚠ shelf life" if r.capped_by_shelf_life else "") + (
            " ⚠ below minimum" if r.below_minimum else ""
        )
        table.add_row(
            str(r.site_code),
            str(r.supplier_code),
            f"{r.name} {r.strength}"[:40],
            str(r.abc),
            str(r.model),
            f"{r.daily_forecast:.1f}",
            f"{r.protection_mean:.0f}",
            f"{r.safety_stock:.0f}",
            str(r.minimum),
            str(r.maximum),
            str(r.position),
            f"{r.order_packs} × {int(r.pack_units)}{flags}",
            f"{r.order_value:,.2f}",
        )
    console.print(table)
    if len(rows):
        console.print(f"Total {rows['order_value'].sum():,.2f}")


@handles_errors
def health(
    site: SiteCode = None,
    dead_days: Annotated[int, typer.Option("--dead-days", min=1, help="Days idle.")] = 120,
    limit: Shown = 20,
    json_output: Json = False,
) -> None:
    """Dead stock, lots at risk of expiring before use, recommended inter-site transfers and the
    highest stock-out risks."""
    from rxledger.entrypoints.api.replenishment_routes import HEALTH_FIELDS, records
    from rxledger.services import stock_health

    found = stock_health.stock_health(
        state.runtime(), state.actor(), site_id=_site_id(site), dead_days=dead_days
    )
    parts = {
        "dead": found.dead,
        "at_risk": found.at_risk,
        "transfers": found.transfers,
        "risk": found.risk.head(limit),
    }
    if json_output:
        emit_json(
            {"as_of": found.as_of}
            | {name: records(frame, HEALTH_FIELDS[name]) for name, frame in parts.items()}
        )
        return
    for name, frame in parts.items():
        columns = HEALTH_FIELDS[name]
        table = Table(title=f"{name.replace('_', ' ')}: {len(frame)} row(s) (first {limit})")
        shown = [c for c in columns if not c.endswith("_id") or c in {"from_site", "to_site"}]
        for column in shown:
            table.add_column(column)
        for row in records(frame.head(limit), tuple(shown)):
            table.add_row(*(_cell(row[c]) for c in shown))
        console.print(table)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.2f}"
    return "" if value is None else str(value)


@handles_errors
def kpis(
    site: SiteCode = None,
    by: Annotated[
        list[str] | None, typer.Option("--by", help="site, abc or item; repeat to combine.")
    ] = None,
    period: Annotated[str, typer.Option("--period", help="M, Q, Y or all.")] = "M",
    days: Annotated[int, typer.Option("--days", min=7, help="Days of history.")] = 365,
    json_output: Json = False,
) -> None:
    """Turns, days on hand, stock-out frequency, fill rate, expiry write-off rate and inventory
    value per group and period."""
    from rxledger.domain.errors import ValidationFailed
    from rxledger.services import stock_health

    if period not in {"M", "Q", "Y", "all"}:
        raise ValidationFailed("the period is M, Q, Y or all", period=period)
    frame = stock_health.inventory_kpis(
        state.runtime(),
        state.actor(),
        site_id=_site_id(site),
        by=tuple(dict.fromkeys(by or ["site"])),
        period=None if period == "all" else period,  # type: ignore[arg-type]
        days=days,
    )
    if json_output:
        emit_json(_records(frame))
        return
    table = Table(title="Inventory KPIs")
    for column in frame.columns:
        table.add_column(str(column))
    for row in _records(frame):
        table.add_row(*(_cell(v) for v in row.values()))
    console.print(table)
