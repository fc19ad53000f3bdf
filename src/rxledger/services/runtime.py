"""What every use case is given: a unit-of-work factory, a clock and the ledger's policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Engine

from rxledger.domain.clock import Clock
from rxledger.services.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class LedgerPolicy:
    backdate_window: timedelta = timedelta(days=7)
    # Tolerated client clock skew; anything later than now + this is refused as future-dated.
    future_tolerance: timedelta = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class Runtime:
    """Built once by the composition root (``rxledger.bootstrap``) and passed to every service."""

    engine: Engine
    clock: Clock
    policy: LedgerPolicy = field(default_factory=LedgerPolicy)

    def uow(self, *, read_only: bool = False) -> UnitOfWork:
        return UnitOfWork(self.engine, read_only=read_only)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts, in which organization. People and permissions arrive with the next issue."""

    organization_id: int
    username: str
