"""The unit of work: one database transaction per use case, rolled back unless the service commits.

Transient failures of concurrency (PostgreSQL deadlock or serialization failure, SQLite busy) are
retried here, a bounded number of times, by re-running the whole use case.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from rxledger.adapters.database import READ_ONLY
from rxledger.domain.errors import ConcurrencyExhausted

T = TypeVar("T")
_TRANSIENT_SQLSTATES = {"40001", "40P01", "55P03"}
MAX_ATTEMPTS = 8


class UnitOfWork:
    """``with uow: ...; uow.commit()``. Leaving the block without commit rolls back."""

    connection: Connection

    def __init__(self, engine: Engine, *, read_only: bool = False) -> None:
        self._engine = engine
        self._read_only = read_only

    def __enter__(self) -> UnitOfWork:
        # SQLite has one writer at a time; queueing this process's writers on a lock is fairer
        # than SQLite's busy handler, whose sleeps starve some threads for seconds.
        self._writer_lock = (
            _sqlite_writer_lock(self._engine)
            if self._engine.dialect.name == "sqlite" and not self._read_only
            else None
        )
        if self._writer_lock is not None:
            self._writer_lock.acquire()
        try:
            options: dict[str, object] = {}
            if self._read_only:
                options[READ_ONLY] = True
                if self._engine.dialect.name == "postgresql":
                    # One snapshot for every statement of a read (a page and its running balance
                    # must agree); psycopg folds this into its BEGIN, no extra round trip.
                    options |= {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
            self.connection = self._engine.connect().execution_options(**options)
            self._transaction = self.connection.begin()
        except BaseException:
            if self._writer_lock is not None:
                self._writer_lock.release()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._transaction.is_active:
                if self._read_only and exc_type is None:
                    # A read ends with COMMIT: psycopg forgets its prepared statements on every
                    # ROLLBACK, and an API request begins with a read (the token), so rolling
                    # back made PostgreSQL parse and plan every posting statement afresh.
                    self._transaction.commit()
                else:
                    self._transaction.rollback()
        finally:
            self.connection.close()
            if self._writer_lock is not None:
                self._writer_lock.release()

    def commit(self) -> None:
        self._transaction.commit()

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name


UnitOfWorkFactory = Callable[..., UnitOfWork]

_writer_locks: dict[int, threading.RLock] = {}
_writer_locks_guard = threading.Lock()


def _sqlite_writer_lock(engine: Engine) -> threading.RLock:
    with _writer_locks_guard:
        return _writer_locks.setdefault(id(engine), threading.RLock())


def is_transient(exc: BaseException) -> bool:
    """A failure that a retry of the whole transaction may cure."""
    if isinstance(exc, DBAPIError):
        sqlstate = getattr(exc.orig, "sqlstate", None)
        if sqlstate in _TRANSIENT_SQLSTATES:
            return True
        if isinstance(exc, OperationalError) and "database is locked" in str(exc.orig):
            return True
    return False


def with_retries(work: Callable[[], T], *, attempts: int = MAX_ATTEMPTS) -> T:
    """Run ``work`` again after a transient concurrency failure, with jittered backoff."""
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except DBAPIError as exc:
            if not is_transient(exc) or attempt == attempts:
                if is_transient(exc):
                    raise ConcurrencyExhausted(
                        f"gave up after {attempts} attempts under contention", attempts=attempts
                    ) from exc
                raise
            time.sleep(random.uniform(0, 0.002 * 2**attempt))  # noqa: S311
    raise AssertionError("unreachable")
