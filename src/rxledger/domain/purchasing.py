"""Purchasing rules: what a requisition is worth, when it needs whose approval, and how receipts
against a purchase order's lines are judged.

A requisition is priced from the supplier's packs (packs × pack price), must order in the supplier's
multiples and reach its minimum order value. Below the approval threshold, with only formulary
items, it becomes a purchase order at once; otherwise it waits for the approval of another user
than its requester — a pharmacist when any line is non-formulary. Receipts count against PO lines
in base units: what is still open is ordered − received (never negative); receiving more is
flagged as an over-receipt and refused beyond the policy's tolerance. A substitute NDC is accepted
when it is the same generic, strength and dosage form, or when the receiver forces it with a
reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum

from biip import ParseError
from biip.gln import Gln

from rxledger.domain import errors
from rxledger.domain.approvals import (
    NON_FORMULARY_ORDER,
    ORDER,
    ApprovalPolicy,
    check_decider,
    default_policy,
    required,
)
from rxledger.domain.model import FormularyStatus, Item
from rxledger.domain.permissions import Actor

CENTS = Decimal("0.01")
MAX_UNITS = 10**12  # base units of one line, as everywhere in the ledger
MAX_VALUE = Decimal("9999999999.9999")  # what the schema's money columns hold


@dataclass(frozen=True, slots=True)
class PurchasingPolicy:
    """A PO line may be received up to ``max_over_receipt_percent`` above what was ordered.
    Which orders need approval is an approval policy (``domain.approvals``)."""

    max_over_receipt_percent: Decimal = Decimal(10)


class RequisitionStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"  # waiting for approval
    APPROVED = "approved"
    REJECTED = "rejected"
    ORDERED = "ordered"  # approved and turned into a purchase order
    CANCELLED = "cancelled"


class PurchaseOrderStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class ReceiptStatus(StrEnum):
    """How far a PO line (or a whole PO) has been received."""

    OPEN = "open"  # nothing received yet
    PARTIAL = "partial"
    COMPLETE = "complete"
    OVER = "over"  # more received than ordered (flagged, within the tolerance)


# What an approval row asks for (``approvals.action``).
APPROVE_ORDER = "approve_order"
APPROVE_NON_FORMULARY_ORDER = "approve_non_formulary_order"


@dataclass(frozen=True, slots=True)
class Supplier:
    id: int
    organization_id: int
    code: str
    name: str
    gln: str | None
    lead_time_days: int
    minimum_order_value: Decimal
    active: bool = True


@dataclass(frozen=True, slots=True)
class SupplierItem:
    """One orderable pack of an item at a supplier: its size in base units, price and multiple."""

    id: int
    supplier_id: int
    item_id: int
    pack_units: int
    pack_price: Decimal
    order_multiple: int = 1
    supplier_sku: str | None = None
    gtin: str | None = None
    active: bool = True


@dataclass(frozen=True, slots=True)
class OrderLine:
    """A requisition line as priced: packs of a supplier item, for an item of the item master."""

    item: Item
    packs: int
    pack_units: int
    pack_price: Decimal

    @property
    def units(self) -> int:
        return self.packs * self.pack_units

    @property
    def value(self) -> Decimal:
        return self.packs * self.pack_price


@dataclass(frozen=True, slots=True)
class ApprovalNeed:
    """Whether an order needs approval, under which policies, and whether one of them is the
    non-formulary policy."""

    required: bool
    non_formulary: bool = False
    reasons: tuple[str, ...] = ()
    policies: tuple[ApprovalPolicy, ...] = ()

    @property
    def action(self) -> str:
        return APPROVE_NON_FORMULARY_ORDER if self.non_formulary else APPROVE_ORDER


# --- suppliers ----------------------------------------------------------------------------------


def parse_gln(text: str | None) -> str | None:
    """A supplier's Global Location Number: 13 digits with a valid GS1 check digit, or none."""
    value = (text or "").strip()
    if not value:
        return None
    try:
        return str(Gln.parse(value).value)
    except ParseError as exc:
        raise errors.InvalidIdentifier(f"invalid GLN {value!r}: {exc}", gln=value) from exc


def check_supplier_terms(lead_time_days: int, minimum_order_value: Decimal) -> None:
    """Lead time in whole days and a minimum order value, neither negative."""
    if isinstance(lead_time_days, bool) or not 0 <= lead_time_days <= 3650:
        raise errors.ValidationFailed("lead time is 0 to 3650 days", field="lead_time_days")
    if not minimum_order_value.is_finite() or not 0 <= minimum_order_value <= MAX_VALUE:
        raise errors.ValidationFailed(
            "the minimum order value is not negative", field="minimum_order_value"
        )


def check_pack(pack_units: int, pack_price: Decimal, order_multiple: int) -> None:
    """A pack holds a positive whole number of base units, costs ≥ 0 and orders in multiples ≥ 1
    (within what the columns hold)."""
    for name, value in (("pack_units", pack_units), ("order_multiple", order_multiple)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_UNITS:
            raise errors.InvalidQuantity(f"{name} must be a positive whole number", field=name)
    if not pack_price.is_finite() or not 0 <= pack_price <= MAX_VALUE:
        raise errors.ValidationFailed("the pack price is not negative", field="pack_price")


# --- requisitions -------------------------------------------------------------------------------


def check_packs(line_no: int, packs: int, order_multiple: int) -> None:
    """Packs are a positive whole number and a multiple of the supplier's order multiple."""
    if isinstance(packs, bool) or not isinstance(packs, int) or packs <= 0:
        raise errors.InvalidQuantity(
            f"line {line_no}: packs must be a positive whole number", line=line_no
        )
    if packs % order_multiple:
        raise errors.OrderMultipleNotMet(
            f"line {line_no}: {packs} packs is not a multiple of {order_multiple}",
            line=line_no,
            packs=packs,
            order_multiple=order_multiple,
        )


def check_order_size(lines: Sequence[OrderLine]) -> None:
    """No line above a trillion base units, no order worth more than the money columns hold."""
    for number, line in enumerate(lines, start=1):
        if line.units > MAX_UNITS:
            raise errors.InvalidQuantity(
                f"line {number}: {line.units} units is more than {MAX_UNITS}", line=number
            )
    if requisition_value(lines) > MAX_VALUE:
        raise errors.ValidationFailed(f"an order is worth at most {MAX_VALUE}")


def requisition_value(lines: Iterable[OrderLine]) -> Decimal:
    """The value of an order: the sum of packs × pack price."""
    return sum((line.value for line in lines), Decimal(0))


def check_minimum_order(value: Decimal, supplier: Supplier) -> None:
    """An order below the supplier's minimum order value is refused when submitted."""
    if value < supplier.minimum_order_value:
        raise errors.MinimumOrderNotMet(
            f"the order is worth {value.quantize(CENTS)}; {supplier.name} takes orders of at "
            f"least {supplier.minimum_order_value.quantize(CENTS)}",
            value=str(value),
            minimum=str(supplier.minimum_order_value),
            supplier_id=supplier.id,
        )


def approval_need(
    lines: Sequence[OrderLine], policies: Iterable[ApprovalPolicy], site_id: int | None
) -> ApprovalNeed:
    """Which approval policies an order reaches: the order policy by its value and units, and
    the non-formulary one (by default a pharmacist's, whatever the value) when any line is a
    non-formulary item (``domain.approvals``)."""
    kept = list(policies)
    value = requisition_value(lines)
    units = sum(line.units for line in lines)
    reasons: list[str] = []
    reached: list[ApprovalPolicy] = []
    by_order = required(ORDER, value, units, kept, site_id=site_id)
    if by_order is not None:
        reasons.append(f"worth {value.quantize(CENTS)}; {by_order.describe()}")
        reached.append(by_order)
    off = sorted({line.item.name for line in lines if is_non_formulary(line.item)})
    by_formulary = (
        required(NON_FORMULARY_ORDER, value, units, kept, site_id=site_id) if off else None
    )
    if by_formulary is not None:
        reasons.append("non-formulary: " + ", ".join(off))
        reached.append(by_formulary)
    return ApprovalNeed(
        bool(reached),
        non_formulary=by_formulary is not None,
        reasons=tuple(reasons),
        policies=tuple(reached),
    )


def deciding_policies(
    action: str,
    value: Decimal,
    units: int,
    policies: Iterable[ApprovalPolicy],
    site_id: int | None,
) -> tuple[ApprovalPolicy, ...]:
    """The policies in force now for a waiting order (its approvals row's action, value and
    units), each of which its decider satisfies; the built-in order policy when none is
    reached any more."""
    kept = list(policies)
    reached = [
        p
        for p in (
            required(ORDER, value, units, kept, site_id=site_id),
            required(NON_FORMULARY_ORDER, value, units, kept, site_id=site_id)
            if action == APPROVE_NON_FORMULARY_ORDER
            else None,
        )
        if p is not None
    ]
    return tuple(reached) or (default_policy(ORDER),)


def is_non_formulary(item: Item) -> bool:
    return item.formulary_status is FormularyStatus.NON_FORMULARY


def check_approver(
    approver: Actor,
    site_id: int,
    requested_by: Iterable[str],
    policies: Sequence[ApprovalPolicy],
) -> None:
    """Maker-checker: the approver (or rejecter) is another user than whoever requested or
    submitted the order, and holds at the site a role each policy it reached names (a
    pharmacist for a non-formulary order by default; an administrator is not one)."""
    makers = list(requested_by)
    for policy in policies:
        check_decider(makers, approver.username, approver.roles_at(site_id), policy)


def require_status(what: str, status: str, *allowed: str) -> None:
    """Refuse a step the record's status does not allow, naming the status it is in."""
    if status not in allowed:
        raise errors.StatusConflict(
            f"{what} is {status}; this needs it {' or '.join(allowed)}",
            status=status,
            allowed=list(allowed),
        )


def purchase_order_number(site_code: str, sequence: int) -> str:
    """``PO-<site code>-<sequence>``: the sequence counts the site's purchase orders from 1."""
    return f"PO-{site_code}-{sequence:06d}"


def expected_on(ordered_at: datetime, lead_time_days: int) -> date:
    """When the goods should arrive: the order's day plus the supplier's lead time."""
    return (ordered_at + timedelta(days=lead_time_days)).date()


# --- receipts against purchase order lines ------------------------------------------------------


def open_quantity(ordered: int, received: int) -> int:
    """What is still to come: ordered − received, never below zero."""
    return max(ordered - received, 0)


def receipt_status(ordered: int, received: int) -> ReceiptStatus:
    """A line is open (nothing yet), partial, complete, or over (more than ordered)."""
    if received <= 0:
        return ReceiptStatus.OPEN
    if received < ordered:
        return ReceiptStatus.PARTIAL
    return ReceiptStatus.COMPLETE if received == ordered else ReceiptStatus.OVER


def order_status(statuses: Iterable[ReceiptStatus]) -> ReceiptStatus:
    """A PO's progress from its lines': over if any is over, complete when all are, open when none
    has anything, partial otherwise."""
    seen = set(statuses)
    if ReceiptStatus.OVER in seen:
        return ReceiptStatus.OVER
    if not seen or seen == {ReceiptStatus.OPEN}:
        return ReceiptStatus.OPEN
    done = {ReceiptStatus.COMPLETE, ReceiptStatus.OVER}
    return ReceiptStatus.COMPLETE if seen <= done else ReceiptStatus.PARTIAL


def over_receipt_allowance(ordered: int, policy: PurchasingPolicy) -> int:
    """The most a line may receive in all: ordered plus the tolerance, rounded down."""
    extra = (Decimal(ordered) * policy.max_over_receipt_percent / 100).to_integral_value(
        rounding=ROUND_FLOOR
    )
    return ordered + int(extra)


def check_receipt(
    line_no: int, ordered: int, received_before: int, receiving: int, policy: PurchasingPolicy
) -> ReceiptStatus:
    """Receiving ``receiving`` more units on a line: refused beyond the over-receipt tolerance;
    the line's status afterwards (``over`` flags an accepted over-receipt)."""
    total = received_before + receiving
    allowance = over_receipt_allowance(ordered, policy)
    if total > allowance:
        raise errors.OverReceiptLimit(
            f"PO line {line_no}: {total} units would be received against {ordered} ordered; "
            f"at most {allowance} ({policy.max_over_receipt_percent}% over) are accepted",
            line=line_no,
            ordered=ordered,
            received=received_before,
            receiving=receiving,
            allowed=allowance,
        )
    return receipt_status(ordered, total)


def _same(a: str, b: str) -> bool:
    """Equal ignoring case and spacing ("500 mg" is "500MG")."""
    return "".join(a.split()).casefold() == "".join(b.split()).casefold()


def is_equivalent(ordered: Item, substitute: Item) -> bool:
    """Another item with the same generic name, strength and dosage form (all of them known)."""
    fields = (
        (ordered.generic_name, substitute.generic_name),
        (ordered.strength, substitute.strength),
        (ordered.dosage_form, substitute.dosage_form),
    )
    return all(a.strip() and b.strip() and _same(a, b) for a, b in fields)


def check_substitute(
    line_no: int, ordered: Item, substitute: Item, forced_reason: str | None
) -> None:
    """A substitute NDC is accepted when equivalent to the ordered item, or when the receiver
    forces it with a reason (kept on the receipt document's note)."""
    if substitute.id == ordered.id:
        raise errors.ValidationFailed(
            f"line {line_no}: the substitute is the ordered item itself", line=line_no
        )
    if is_equivalent(ordered, substitute) or (forced_reason or "").strip():
        return
    raise errors.SubstituteNotEquivalent(
        f"line {line_no}: {substitute.name} is not the same generic, strength and form as "
        f"{ordered.name}; give a reason to receive it anyway",
        line=line_no,
        ordered_item_id=ordered.id,
        substitute_item_id=substitute.id,
    )
