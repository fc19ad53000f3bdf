"""``rxledger forecast``: forecast a demand CSV without a database.

The file is read whole or refused whole (``INVALID_INPUT_FILE``, naming every bad line); the output
CSV has one row per series and future period: ``series,date,forecast,q0.5,q0.9,q0.95,model``.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from rxledger.entrypoints.cli.context import console, handles_errors


class Frequency(StrEnum):
    daily = "D"
    weekly = "W"


InputFile = Annotated[
    Path,
    typer.Option(
        "--input",
        "-i",
        help="Demand CSV: series (or item, site), date, quantity.",
        exists=True,
        dir_okay=False,
        readable=True,
    ),
]
OutputFile = Annotated[Path, typer.Option("--output", "-o", help="Forecast CSV to write.")]
Freq = Annotated[Frequency, typer.Option("--freq", help="D (daily) or W (weekly) periods.")]
Horizon = Annotated[int, typer.Option("--horizon", min=1, help="Periods to forecast.")]


def register(app: typer.Typer) -> None:
    app.command("forecast")(forecast)


@handles_errors
def forecast(input_file: InputFile, output: OutputFile, freq: Freq, horizon: Horizon) -> None:
    """Forecast every series of a demand CSV: model picked by backtest, quantiles 0.5/0.9/0.95."""
    from rxledger.analytics.demand_csv import read_demand_csv
    from rxledger.analytics.forecasting import forecast_demand

    demand = read_demand_csv(input_file)
    result = forecast_demand(demand, freq=freq.value, horizon=horizon)
    out = result.forecasts.rename(columns={"unique_id": "series", "ds": "date"})
    out["date"] = out["date"].dt.strftime("%Y-%m-%d")
    columns = ["series", "date", "forecast", "q0.5", "q0.9", "q0.95", "model"]
    out[columns].to_csv(output, index=False, float_format="%.4f")
    chosen = result.summary["model"].value_counts()
    console.print(
        f"{len(result.summary)} series, {horizon} periods each, written to {output} "
        f"(models: {', '.join(f'{m} {n}' for m, n in chosen.items())})"
    )
