"""Cycle counts: what a count line's variance is, when it needs a recount or an investigation, and
who may do each step.

A line is an item (and lot) at a location. Its variance is judged against the ledger's balance at
the instant it was counted, by ``occurred_at``, evaluated when the variance is judged: movements
posted while the count was open, even back-dated ones recorded afterwards, land on the right side
of the count instant, and none of them is taken for a difference. The adjustment that settles a
line is that variance as a delta, so stock that moved after the count keeps moving.

The workflow of a line:

1. **counted** (round 1): within its tolerance it is **accepted** (a non-zero variance posts as a
   ``COUNT`` adjustment at once); beyond it, it needs a **recount**;
2. **recount** (round 2) by a different user than round 1: within tolerance, accepted; beyond it,
   **investigating**;
3. the investigator (anyone who may investigate) records findings and a reason code: **approval**;
4. a user who may adjust and is neither a counter of the line nor its investigator approves: the
   adjustment posts with the reason and the findings (**adjusted**).

Tolerances (``VarianceRule``) are set per ABC class and for controlled substances; a controlled
item (any DEA schedule or cannabis category) tolerates no difference at all by default.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from rxledger.domain import errors


class CountStatus(StrEnum):
    OPEN = "open"  # being counted
    SUBMITTED = "submitted"  # every line counted; lines in their workflow
    CLOSED = "closed"  # every line accepted or adjusted
    CANCELLED = "cancelled"


class LineStatus(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    RECOUNT = "recount"
    INVESTIGATING = "investigating"
    APPROVAL = "approval"
    ADJUSTED = "adjusted"

    @property
    def settled(self) -> bool:
        return self in {LineStatus.ACCEPTED, LineStatus.ADJUSTED}


@dataclass(frozen=True, slots=True)
class VarianceRule:
    """A difference is tolerated while it is at most ``units`` and at most ``value`` at cost."""

    units: int
    value: Decimal

    def tolerates(self, variance: int, unit_cost: Decimal) -> bool:
        return abs(variance) <= self.units and abs(variance) * unit_cost <= self.value


CONTROLLED = "controlled"
DEFAULT_RULES: Mapping[str, VarianceRule] = MappingProxyType(
    {
        CONTROLLED: VarianceRule(0, Decimal(0)),
        "A": VarianceRule(0, Decimal(0)),
        "B": VarianceRule(2, Decimal("25")),
        "C": VarianceRule(5, Decimal("50")),
    }
)


@dataclass(frozen=True)
class CountPolicy:
    """The tolerances by class; an item without a class is treated as class C."""

    rules: Mapping[str, VarianceRule] = field(default_factory=lambda: DEFAULT_RULES)

    def rule_for(self, *, controlled: bool, abc: str | None) -> VarianceRule:
        if controlled:
            return self.rules[CONTROLLED]
        return self.rules.get(abc or "C", self.rules["C"])


def variance(counted: int, system_at_count: int) -> int:
    return counted - system_at_count


def after_count(
    round_no: int, variance_units: int, unit_cost: Decimal, rule: VarianceRule
) -> LineStatus:
    """Where a line goes after its count of ``round_no`` (1 or 2)."""
    if rule.tolerates(variance_units, unit_cost):
        return LineStatus.ACCEPTED
    return LineStatus.RECOUNT if round_no == 1 else LineStatus.INVESTIGATING


def check_recounter(counters: Collection[str], username: str) -> None:
    """A recount is made by someone who has not counted the line before."""
    if username in counters:
        raise errors.SelfApproval(
            "a recount is made by a different user than the first count", user=username
        )


def check_approver(counters: Collection[str], investigator: str | None, username: str) -> None:
    """The approver of a count adjustment is neither a counter of the line nor its investigator."""
    if username in counters or username == investigator:
        raise errors.SelfApproval(
            "the approver of a count adjustment is neither a counter nor the investigator",
            user=username,
        )


def require_line_status(status: LineStatus, *allowed: LineStatus) -> None:
    if status not in allowed:
        raise errors.StatusConflict(
            f"the count line is {status.value}, not {' or '.join(a.value for a in allowed)}",
            status=status.value,
        )
