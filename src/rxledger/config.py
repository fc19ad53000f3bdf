"""Settings from the environment, read when the composition root asks, never at import time."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

DEFAULT_DATABASE_PATH = Path("var/rxledger.db")
DEVELOPMENT_SECRET_KEY = "development-only-secret-key"  # noqa: S105 - refused outside development


class UnsafeSettings(RuntimeError):
    """Settings that must not be used outside development."""


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    backdate_window: timedelta = timedelta(days=7)
    future_tolerance: timedelta = timedelta(seconds=60)
    environment: str = "development"
    secret_key: str = DEVELOPMENT_SECRET_KEY
    session_hours: float = 12.0

    @classmethod
    def from_env(cls, database_url: str | None = None) -> Settings:
        """``RXLEDGER_DATABASE_URL`` (default: the embedded SQLite file ``./var/rxledger.db``),
        ``RXLEDGER_BACKDATE_DAYS`` (7), ``RXLEDGER_ENV`` (development), ``RXLEDGER_SECRET_KEY``,
        ``RXLEDGER_SESSION_HOURS`` (12)."""
        url = database_url or os.environ.get("RXLEDGER_DATABASE_URL") or default_database_url()
        days = float(os.environ.get("RXLEDGER_BACKDATE_DAYS", "7"))
        if days < 0:
            raise ValueError("RXLEDGER_BACKDATE_DAYS cannot be negative")
        settings = cls(
            database_url=url,
            backdate_window=timedelta(days=days),
            environment=os.environ.get("RXLEDGER_ENV", "development"),
            secret_key=os.environ.get("RXLEDGER_SECRET_KEY", DEVELOPMENT_SECRET_KEY),
            session_hours=float(os.environ.get("RXLEDGER_SESSION_HOURS", "12")),
        )
        settings.check()
        return settings

    def check(self) -> None:
        """Refuse to run outside development with the default or a short secret key."""
        if self.environment == "development":
            return
        if self.secret_key == DEVELOPMENT_SECRET_KEY or len(self.secret_key) < 32:
            raise UnsafeSettings(
                f"RXLEDGER_ENV={self.environment} needs RXLEDGER_SECRET_KEY set to a random value "
                "of at least 32 characters (the development default is refused)"
            )


def default_database_url() -> str:
    return f"sqlite:///{DEFAULT_DATABASE_PATH}"
