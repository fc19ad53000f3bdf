"""Test databases: a real SQLite file and a real PostgreSQL server the tests start themselves.

Each test gets a fresh database copied from a migrated template (a file copy on SQLite,
``CREATE DATABASE ... TEMPLATE`` on PostgreSQL), so tests never see each other's rows and the
immutability triggers never stand in the way of clean-up.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from rxledger.adapters.database import create_db_engine, migrate
from rxledger.devtools.pgcluster import PgCluster, PostgresUnavailable, start_cluster
from rxledger.domain.clock import ManualClock
from rxledger.services.runtime import LedgerPolicy, Runtime

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
_counter = itertools.count()
# One template per xdist worker, so workers sharing RXLEDGER_TEST_DATABASE_URL never collide.
TEMPLATE_DB = f"rxl_template_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"


def pytest_report_header() -> str:
    return f"rxledger: CI={os.environ.get('CI', '')!r}, shared data at {SHARED_DATA}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = create_db_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """Base URL of a PostgreSQL server with a migrated template database ``TEMPLATE_DB``."""
    explicit = os.environ.get("RXLEDGER_TEST_DATABASE_URL")
    cluster: PgCluster | None = None
    if explicit:
        base = explicit.rsplit("/", 1)[0]
        admin_url = explicit
    else:
        try:
            cluster = start_cluster()
        except PostgresUnavailable as exc:
            if os.environ.get("CI") == "true":
                pytest.fail(f"CI=true requires PostgreSQL: {exc}")
            pytest.skip(f"PostgreSQL tests skipped: {exc}")
        base = cluster.url().rsplit("/", 1)[0]
        admin_url = cluster.url()
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {TEMPLATE_DB}"))
        conn.execute(text(f"CREATE DATABASE {TEMPLATE_DB}"))
    template = create_db_engine(f"{base}/{TEMPLATE_DB}")
    migrate(template)
    template.dispose()
    try:
        yield base
    finally:
        admin.dispose()
        if cluster is not None:
            cluster.stop()


def _fresh_pg(base: str) -> tuple[str, str]:
    name = f"rxl_test_{os.getpid()}_{next(_counter)}"
    admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE {TEMPLATE_DB}'))
    admin.dispose()
    return f"{base}/{name}", name


def _drop_pg(base: str, name: str) -> None:
    admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database on each engine."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "rxledger.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    base: str = request.getfixturevalue("pg_server")
    url, name = _fresh_pg(base)
    yield url
    _drop_pg(base, name)


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "rxledger.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def rt(database_url: str, clock: ManualClock) -> Iterator[Runtime]:
    engine = create_db_engine(database_url, pool_size=25)
    yield Runtime(engine=engine, clock=clock, policy=LedgerPolicy())
    engine.dispose()
