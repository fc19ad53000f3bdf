"""Approval policies and segregation of duties: which action needs whose approval, and above what.

A policy names an action ("adjustment", ...), optional value and quantity thresholds (reached at
or above; a policy without thresholds always applies), the roles that may approve, and a site
(``None``: every site of the organization). For a site, active site-specific policies of the
action replace the organization-wide ones, and those the built-in default (``DEFAULT_POLICIES``);
of the policies whose threshold is reached, the strictest applies: the one with the fewest
approver roles, then the lowest value threshold.
Whoever decides is never the requester (maker ≠ checker) and holds an approver role at the site.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

from rxledger.domain import errors
from rxledger.domain.permissions import ROLE_PERMISSIONS, Permission, Role

ADJUSTMENT = "adjustment"  # a stock adjustment, valued at standard cost of its absolute deltas
ORDER = "order"  # a requisition, valued at its pack prices, its quantity in base units
NON_FORMULARY_ORDER = "non_formulary_order"  # a requisition with a non-formulary line
# The actions policies may be kept for, and the permission whoever decides one needs anyway.
DECIDING_PERMISSION: Mapping[str, Permission] = MappingProxyType(
    {
        ADJUSTMENT: Permission.ADJUST,
        ORDER: Permission.APPROVE_ORDERS,
        NON_FORMULARY_ORDER: Permission.APPROVE_ORDERS,
    }
)
KNOWN_ACTIONS = frozenset(DECIDING_PERMISSION)
MAX_VALUE = Decimal("9999999999.9999")


@dataclass(frozen=True, slots=True)
class ApprovalPolicy:
    action: str
    approver_roles: tuple[Role, ...]
    min_value: Decimal | None = None
    min_quantity: int | None = None
    site_id: int | None = None  # None: every site
    active: bool = True
    id: int | None = None  # None: a built-in default

    def reached(self, value: Decimal, quantity: int) -> bool:
        """Whether a request of this value and quantity needs this policy's approval."""
        if self.min_value is None and self.min_quantity is None:
            return True
        by_value = self.min_value is not None and value >= self.min_value
        by_quantity = self.min_quantity is not None and quantity >= self.min_quantity
        return by_value or by_quantity

    def describe(self) -> str:
        limits = []
        if self.min_value is not None:
            limits.append(f"worth {self.min_value.quantize(Decimal('0.01'))} or more")
        if self.min_quantity is not None:
            limits.append(f"{self.min_quantity} units or more")
        who = ", ".join(r.value for r in self.approver_roles)
        return f"{self.action} {' or '.join(limits) or 'always'}: approved by {who}"


DEFAULT_POLICIES: tuple[ApprovalPolicy, ...] = (
    ApprovalPolicy(ADJUSTMENT, (Role.PHARMACIST,), min_value=Decimal("250.00")),
    ApprovalPolicy(
        ORDER, (Role.PHARMACIST, Role.MANAGER, Role.ADMIN), min_value=Decimal("1000.00")
    ),
    ApprovalPolicy(NON_FORMULARY_ORDER, (Role.PHARMACIST,)),
)


def parse_roles(text: str) -> tuple[Role, ...]:
    """Comma-separated role names (as stored), each a known role, at least one."""
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    known = {r.value for r in Role}
    unknown = sorted(set(names) - known)
    if unknown or not names:
        raise errors.ValidationFailed(
            f"approver roles are one or more of {', '.join(sorted(known))}",
            field="approver_roles",
            unknown=unknown,
        )
    return tuple(Role(name) for name in dict.fromkeys(names))


def check_policy(policy: ApprovalPolicy, *, roles: bool = True) -> None:
    """A new or changed policy: a known action, thresholds not negative and within what the
    columns hold, and (``roles``) approver roles that may decide the action anyway."""
    if policy.action not in KNOWN_ACTIONS:
        raise errors.ValidationFailed(
            f"policies are kept for {', '.join(sorted(KNOWN_ACTIONS))}",
            field="action",
            action=policy.action,
        )
    if policy.min_value is not None and (
        not policy.min_value.is_finite() or not 0 <= policy.min_value <= MAX_VALUE
    ):
        raise errors.ValidationFailed("the value threshold is not negative", field="min_value")
    if policy.min_quantity is not None and (
        isinstance(policy.min_quantity, bool) or not 0 <= policy.min_quantity <= 10**12
    ):
        raise errors.InvalidQuantity(
            "the quantity threshold is a whole number, not negative", field="min_quantity"
        )
    if not policy.approver_roles:
        raise errors.ValidationFailed("a policy names its approver roles", field="approver_roles")
    needed = DECIDING_PERMISSION[policy.action]
    unable = [r.value for r in policy.approver_roles if needed not in ROLE_PERMISSIONS[r]]
    if unable and roles:
        # an approval only they could give would wait for ever
        raise errors.ValidationFailed(
            f"{', '.join(unable)} may not {needed.value.replace('_', ' ')}, so cannot approve "
            f"a {policy.action.replace('_', ' ')}",
            field="approver_roles",
            unable=unable,
        )


def required(
    action: str,
    value: Decimal,
    quantity: int,
    policies: Iterable[ApprovalPolicy],
    *,
    site_id: int | None = None,
) -> ApprovalPolicy | None:
    """The policy whose approval a request needs, or ``None`` when it goes through at once.

    ``policies`` are the organization's, active or retired. The most specific level with an
    active policy of the action applies: the site's own, else the organization-wide ones, else
    the built-in default — so retiring a policy, or keeping one for another site, never leaves a
    site without control (to waive one, keep a policy with a high threshold)."""
    active = [p for p in policies if p.action == action and p.active]
    specific = [p for p in active if site_id is not None and p.site_id == site_id]
    organization = [p for p in active if p.site_id is None]
    applicable = specific or organization or [p for p in DEFAULT_POLICIES if p.action == action]
    reached = [p for p in applicable if p.reached(value, quantity)]
    if not reached:
        return None
    return min(reached, key=_strictness)


def default_policy(action: str) -> ApprovalPolicy:
    """The built-in policy of an action, used when a held request reaches no policy any more."""
    return next(p for p in DEFAULT_POLICIES if p.action == action)


def _strictness(policy: ApprovalPolicy) -> tuple[int, Decimal, int]:
    lowest = policy.min_value if policy.min_value is not None else Decimal(0)
    return (len(policy.approver_roles), lowest, policy.id or 0)


def check_decider(
    requested_by: str | Sequence[str],
    decider: str,
    decider_roles: Iterable[Role],
    policy: ApprovalPolicy,
) -> None:
    """Maker ≠ checker, then a role the policy names: a pharmacist's approval is refused with
    ``PHARMACIST_APPROVAL_REQUIRED``, any other with ``FORBIDDEN``."""
    makers = {requested_by} if isinstance(requested_by, str) else set(requested_by)
    if decider.casefold() in {name.casefold() for name in makers}:
        raise errors.SelfApproval(
            f"{decider} requested this and may not decide on it; another user must",
            username=decider,
        )
    if set(decider_roles) & set(policy.approver_roles):
        return
    wanted = [r.value for r in policy.approver_roles]
    if policy.approver_roles == (Role.PHARMACIST,):
        raise errors.PharmacistApprovalRequired(
            f"this {policy.action} needs the approval of a pharmacist at the site",
            username=decider,
            approver_roles=wanted,
        )
    raise errors.Forbidden(
        f"this {policy.action} is approved by {', '.join(wanted)}; {decider} is none of them",
        username=decider,
        approver_roles=wanted,
    )
