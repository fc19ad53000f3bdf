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

Tolerances (``VarianceRule``) are set per item class (ABC class, or ``controlled`` for any DEA
schedule or cannabis category) and count program. An organization may keep its own
(``Tolerance``); for a line the rule is the organization's for (the count's program, the class),
else its rule for (any program ``*``, the class), else the code default of the class
(``DEFAULT_RULES``: a controlled item and class A tolerate no difference at all).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
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


ITEM_CLASSES = ("A", "B", "C", CONTROLLED)
ANY_PROGRAM = "*"
# What chooses a count's lines (``count_sessions.program``); daily counts are ``abc`` counts.
PROGRAMS = ("manual", "category", "abc", "risk", "biennial")
MAX_TOLERANCE_UNITS = 10**9
MAX_TOLERANCE_VALUE = Decimal("9999999999.9999")  # Money(14, 4)


def item_class(*, controlled: bool, abc: str | None) -> str:
    """The class a line is judged by: ``controlled`` for any DEA schedule or cannabis category,
    else its ABC class (C when it has none)."""
    if controlled:
        return CONTROLLED
    return abc if abc in ("A", "B", "C") else "C"


@dataclass(frozen=True, slots=True)
class Tolerance:
    """An organization's tolerance for a class of items in a count program (``*``: any);
    ``default`` marks a code default the organization has not overridden."""

    program: str
    item_class: str
    units: int
    value: Decimal
    set_by: str | None = None
    set_at: datetime | None = None
    default: bool = False

    @property
    def rule(self) -> VarianceRule:
        return VarianceRule(self.units, self.value)


def check_tolerance(program: str, klass: str, units: object, value: object) -> tuple[int, Decimal]:
    """Validate a tolerance to keep: a known program (or ``*``) and class, a whole number of units
    and a value at cost, neither negative. Returns (units, value)."""
    if program != ANY_PROGRAM and program not in PROGRAMS:
        raise errors.ValidationFailed(
            f"the program is * (any) or one of {', '.join(PROGRAMS)}", field="program"
        )
    if klass not in ITEM_CLASSES:
        raise errors.ValidationFailed(
            f"the item class is one of {', '.join(ITEM_CLASSES)}", field="item_class"
        )
    if isinstance(units, bool) or not isinstance(units, int):
        raise errors.InvalidQuantity("the units are a whole number", field="units")
    if not 0 <= units <= MAX_TOLERANCE_UNITS:
        raise errors.InvalidQuantity(
            f"the units are between 0 and {MAX_TOLERANCE_UNITS}", field="units"
        )
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise errors.ValidationFailed("the value is an amount at cost", field="value")
    amount = Decimal(value)
    if not amount.is_finite() or amount < 0 or amount > MAX_TOLERANCE_VALUE:
        raise errors.ValidationFailed(
            "the value is an amount at cost, at least 0", field="value", value=str(value)
        )
    if amount != amount.quantize(Decimal("0.0001")):
        raise errors.ValidationFailed("the value has at most 4 decimal places", field="value")
    if klass == CONTROLLED and (units or amount):
        # an accepted variance posts as the system, with no witness, investigation or approval
        raise errors.ValidationFailed(
            "controlled substances tolerate no difference: every variance is recounted, "
            "investigated and approved",
            field="item_class",
            item_class=klass,
        )
    return units, amount.quantize(Decimal("0.0001"))


@dataclass(frozen=True)
class CountPolicy:
    """The tolerances by class (``rules``, the code defaults unless given) and the organization's
    own by (program, class) (``kept``; program ``*`` for any); an item without a class is treated
    as class C."""

    rules: Mapping[str, VarianceRule] = field(default_factory=lambda: DEFAULT_RULES)
    kept: Mapping[tuple[str, str], VarianceRule] = field(
        default_factory=lambda: MappingProxyType({})
    )

    @classmethod
    def of(cls, tolerances: Iterable[Tolerance]) -> CountPolicy:
        """The code defaults, overridden by an organization's tolerances."""
        return cls(kept={(t.program, t.item_class): t.rule for t in tolerances if not t.default})

    def rule_for(
        self, *, controlled: bool, abc: str | None, program: str = ANY_PROGRAM
    ) -> VarianceRule:
        """The organization's rule for (program, class), else for (any program, class), else the
        default of the class."""
        klass = item_class(controlled=controlled, abc=abc)
        if klass == CONTROLLED:
            return self.rules[CONTROLLED]  # never an organization's: a rule kept earlier too
        for key in ((program, klass), (ANY_PROGRAM, klass)):
            if key in self.kept:
                return self.kept[key]
        return self.rules.get(klass, self.rules["C"])


def with_defaults(kept: Iterable[Tolerance]) -> list[Tolerance]:
    """The kept tolerances, then each class's code default the organization has not overridden
    for any program (``*``), marked ``default``; by program then class."""
    stored = list(kept)
    covered = {(t.program, t.item_class) for t in stored}
    defaults = [
        Tolerance(ANY_PROGRAM, klass, rule.units, rule.value, default=True)
        for klass, rule in DEFAULT_RULES.items()
        if (ANY_PROGRAM, klass) not in covered
    ]
    order = {k: n for n, k in enumerate(ITEM_CLASSES)}
    return sorted(
        stored + defaults,
        key=lambda t: (t.program != ANY_PROGRAM, t.program, order.get(t.item_class, 9)),
    )


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
