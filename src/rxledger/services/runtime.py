"""What every use case is given: a unit-of-work factory, a clock and the ledger's policies."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Engine

from rxledger.domain.clock import Clock
from rxledger.domain.permissions import Actor
from rxledger.domain.purchasing import PurchasingPolicy
from rxledger.domain.receiving import ReceivingPolicy
from rxledger.services.reference_cache import ReferenceCache
from rxledger.services.unit_of_work import UnitOfWork

__all__ = [
    "Actor",
    "LedgerPolicy",
    "PurchasingPolicy",
    "ReceivingPolicy",
    "Runtime",
    "SecurityPolicy",
]


@dataclass(frozen=True, slots=True)
class LedgerPolicy:
    backdate_window: timedelta = timedelta(days=7)
    # Tolerated client clock skew; anything later than now + this is refused as future-dated.
    future_tolerance: timedelta = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class SecurityPolicy:
    secret_key: str = "development-only-secret-key"  # noqa: S105 - see config.Settings.check
    session_lifetime: timedelta = timedelta(hours=12)
    max_failed_sign_ins: int = 5
    failed_sign_in_window: timedelta = timedelta(minutes=15)
    min_password_length: int = 10


@dataclass(frozen=True, slots=True)
class Runtime:
    """Built once by the composition root (``rxledger.bootstrap``) and passed to every service."""

    engine: Engine
    clock: Clock
    policy: LedgerPolicy = field(default_factory=LedgerPolicy)
    security: SecurityPolicy = field(default_factory=SecurityPolicy)
    receiving_policy: ReceivingPolicy = field(default_factory=ReceivingPolicy)
    purchasing_policy: PurchasingPolicy = field(default_factory=PurchasingPolicy)
    references: ReferenceCache = field(default_factory=ReferenceCache, compare=False, repr=False)

    def uow(self, *, read_only: bool = False) -> UnitOfWork:
        return UnitOfWork(self.engine, read_only=read_only)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name
