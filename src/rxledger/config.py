"""Settings from the environment, read when the composition root asks, never at import time."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

DEFAULT_DATABASE_PATH = Path("var/rxledger.db")


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    backdate_window: timedelta = timedelta(days=7)
    future_tolerance: timedelta = timedelta(seconds=60)
    environment: str = "development"

    @classmethod
    def from_env(cls, database_url: str | None = None) -> Settings:
        """``RXLEDGER_DATABASE_URL`` (default: the embedded SQLite file ``./var/rxledger.db``),
        ``RXLEDGER_BACKDATE_DAYS`` (default 7), ``RXLEDGER_ENV`` (default development)."""
        url = database_url or os.environ.get("RXLEDGER_DATABASE_URL") or default_database_url()
        days = float(os.environ.get("RXLEDGER_BACKDATE_DAYS", "7"))
        if days < 0:
            raise ValueError("RXLEDGER_BACKDATE_DAYS cannot be negative")
        return cls(
            database_url=url,
            backdate_window=timedelta(days=days),
            environment=os.environ.get("RXLEDGER_ENV", "development"),
        )


def default_database_url() -> str:
    return f"sqlite:///{DEFAULT_DATABASE_PATH}"
