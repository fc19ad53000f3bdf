"""The composition root: builds engine, clock, policy and runtime when called, never at import."""

from __future__ import annotations

from datetime import timedelta

from rxledger.adapters.database import create_db_engine, describe, is_migrated, migrate
from rxledger.config import Settings
from rxledger.domain.clock import Clock, SystemClock
from rxledger.services.runtime import LedgerPolicy, Runtime, SecurityPolicy


def build(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    migrate_schema: bool = False,
    pool_size: int = 20,
) -> Runtime:
    """Wire a runtime for the configured database; optionally create or upgrade its schema."""
    settings = settings or Settings.from_env()
    settings.check()
    engine = create_db_engine(settings.database_url, pool_size=pool_size)
    if migrate_schema:
        migrate(engine)
    return Runtime(
        engine=engine,
        clock=clock or SystemClock(),
        policy=LedgerPolicy(
            backdate_window=settings.backdate_window, future_tolerance=settings.future_tolerance
        ),
        security=SecurityPolicy(
            secret_key=settings.secret_key,
            session_lifetime=timedelta(hours=settings.session_hours),
        ),
    )


def needs_migration(runtime: Runtime) -> bool:
    return not is_migrated(runtime.engine)


def describe_database(runtime: Runtime) -> str:
    """The database URL without its password, for messages."""
    return describe(runtime.engine)
