"""``rxledger forecast``: forecast a demand CSV without a database, or the ledger's own history.

With ``--input`` the file is read whole or refused whole (``INVALID_INPUT_FILE``, naming every bad
line). Without it the ledger's weekly demand is forecast (``--site``, ``--item``). The output CSV
has one row per series and future period: ``series,date,forecast,q0.5,q0.9,q0.95,model``.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import pandas as pd
import typer
from rich.table import Table

from rxledger.domain.errors import ValidationFailed
from rxledger.entrypoints.cli.context import console, handles_errors, state

if TYPE_CHECKING:
    from rxledger.analytics.forecasting import ForecastResult


class Frequency(StrEnum):
    daily = "D"
    weekly = "W"


InputFile = Annotated[
    Path | None,
    typer.Option(
        "--input",
        "-i",
        help="Demand CSV: series (or item, site), date, quantity.",
        exists=True,
        dir_okay=False,
        readable=True,
    ),
]
OutputFile = Annotated[Path | None, typer.Option("--output", "-o", help="Forecast CSV to write.")]
Freq = Annotated[
    Frequency, typer.Option("--freq", help="D (daily) or W (weekly) periods; the ledger is weekly.")
]
SiteCode = Annotated[str | None, typer.Option("--site", help="Ledger mode: a site code.")]
ItemCode = Annotated[str | None, typer.Option("--item", help="Ledger mode: SKU, NDC or GTIN.")]
COLUMNS = ["series", "date", "forecast", "q0.5", "q0.9", "q0.95", "model"]
Horizon = Annotated[int, typer.Option("--horizon", min=1, help="Periods to forecast.")]


def register(app: typer.Typer) -> None:
    app.command("forecast")(forecast)


@handles_errors
def forecast(
    horizon: Horizon,
    input_file: InputFile = None,
    output: OutputFile = None,
    freq: Freq = Frequency.weekly,
    site: SiteCode = None,
    item: ItemCode = None,
) -> None:
    """Forecast every series of a demand CSV (``--input``) or of the ledger: model picked by
    backtest, quantiles 0.5/0.9/0.95."""
    from rxledger.analytics.demand_csv import read_demand_csv
    from rxledger.analytics.forecasting import forecast_demand

    if input_file is not None:
        demand = read_demand_csv(input_file)
        result = forecast_demand(demand, freq=freq.value, horizon=horizon)
    else:
        result = _from_ledger(horizon, site, item)
    out = result.forecasts.rename(columns={"unique_id": "series", "ds": "date"})
    out["date"] = out["date"].dt.strftime("%Y-%m-%d")
    if output is not None:
        out[COLUMNS].to_csv(output, index=False, float_format="%.4f")
    else:
        _print(out[COLUMNS])
    chosen = result.summary["model"].value_counts()
    console.print(
        f"{len(result.summary)} series, {horizon} periods each"
        + (f", written to {output}" if output is not None else "")
        + f" (models: {', '.join(f'{m} {n}' for m, n in chosen.items())})"
    )


def _from_ledger(horizon: int, site: str | None, item: str | None) -> ForecastResult:
    from rxledger.services import catalog, replenishment

    rt, actor = state.runtime(), state.actor()
    site_id = None if site is None else catalog.site_by_code(rt, actor, site).id
    item_id = None if item is None else catalog.find_item(rt, actor, item).id
    found = replenishment.forecast_items(
        rt, actor, site_id=site_id, item_id=item_id, horizon=horizon
    )
    if found.result is None:
        raise ValidationFailed("no whole week of demand history to forecast")
    return found.result


def _print(rows: pd.DataFrame) -> None:
    table = Table(title="Forecast (first 60 rows)")
    for column in COLUMNS:
        table.add_column(column)
    for row in rows.head(60).itertuples(index=False):
        table.add_row(*(f"{v:.2f}" if isinstance(v, float) else str(v) for v in row))
    console.print(table)
