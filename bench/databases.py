"""Fresh, migrated databases for one benchmark run: SQLite files in a temporary directory and
databases on one durable throwaway PostgreSQL cluster (fsync on, as in production)."""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

from rxledger.adapters.database import create_db_engine, migrate, server_version
from rxledger.devtools.pgcluster import PgCluster, start_cluster

ENGINES = ("sqlite", "postgresql")
POOL_SIZE = 32  # more than the 16 workers, so no worker waits for a connection


class Databases:
    """Hands out empty migrated databases; ``close()`` removes every one of them."""

    def __init__(self, engines: tuple[str, ...]) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="rxledger-bench-")
        self._names = itertools.count(1)
        self.versions: dict[str, str] = {}
        self.cluster: PgCluster | None = (
            start_cluster(durable=True) if "postgresql" in engines else None
        )

    def url(self, engine: str, name: str) -> str:
        """A new database for one benchmark; its URL."""
        unique = f"bench_{name}_{next(self._names)}"
        if engine == "sqlite":
            return f"sqlite:///{Path(self._tmp.name) / unique}.db"
        assert self.cluster is not None
        admin = create_engine(self.cluster.url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{unique}"'))
        admin.dispose()
        return self.cluster.url(unique)

    @contextmanager
    def engine(self, engine: str, name: str) -> Iterator[Engine]:
        """A migrated engine on a new database, disposed of afterwards."""
        db = create_db_engine(self.url(engine, name), pool_size=POOL_SIZE)
        migrate(db)
        self.versions.setdefault(engine, server_version(db))
        try:
            yield db
        finally:
            db.dispose()

    def close(self) -> None:
        if self.cluster is not None:
            self.cluster.stop()
        self._tmp.cleanup()
