"""The purchasing rules of ``domain.purchasing``, without a database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from rxledger.domain import errors
from rxledger.domain.approvals import NON_FORMULARY_ORDER, ORDER, ApprovalPolicy, default_policy
from rxledger.domain.ledger import check_client_key
from rxledger.domain.model import FormularyStatus, Item
from rxledger.domain.permissions import Actor, Grant, Role
from rxledger.domain.purchasing import (
    APPROVE_NON_FORMULARY_ORDER,
    APPROVE_ORDER,
    OrderLine,
    PurchasingPolicy,
    ReceiptStatus,
    Supplier,
    approval_need,
    check_approver,
    check_minimum_order,
    check_pack,
    check_packs,
    check_receipt,
    check_substitute,
    check_supplier_terms,
    deciding_policies,
    expected_on,
    is_equivalent,
    open_quantity,
    order_status,
    over_receipt_allowance,
    parse_gln,
    purchase_order_number,
    receipt_status,
    require_status,
    requisition_value,
)

AMOX = Item(
    1, 1, "AMOX500", "Amoxicillin 500 mg capsule", "capsule", "amoxicillin", "500 mg", "capsule"
)
POLICY = PurchasingPolicy()
SITE = 7


def lines(*specs: tuple[int, str], item: Item = AMOX) -> list[OrderLine]:
    return [OrderLine(item, packs, 100, Decimal(price)) for packs, price in specs]


def actor(name: str, *roles: Role) -> Actor:
    return Actor(1, name, None, tuple(Grant(r, SITE) for r in roles))


# --- value and approval -------------------------------------------------------------------------


def test_the_value_is_packs_times_pack_price() -> None:
    assert requisition_value(lines((3, "12.50"), (2, "0.0125"))) == Decimal("37.5250")
    assert requisition_value([]) == 0
    assert lines((3, "2.00"))[0].units == 300


@pytest.mark.parametrize(
    ("packs", "required"), [(1, False), (79, False), (80, True)], ids=["small", "below", "at"]
)
def test_approval_is_needed_from_the_order_policys_threshold(packs: int, required: bool) -> None:
    need = approval_need(lines((packs, "12.50")), (), SITE)  # 80 x 12.50 = 1,000.00
    assert need.required is required
    assert not need.non_formulary
    assert need.action == APPROVE_ORDER
    if required:
        assert [p.action for p in need.policies] == [ORDER]


def test_a_non_formulary_line_needs_a_pharmacist_whatever_the_value() -> None:
    special = replace(AMOX, id=2, name="Rare", formulary_status=FormularyStatus.NON_FORMULARY)
    need = approval_need(lines((1, "1.00")) + lines((1, "1.00"), item=special), (), SITE)
    assert need.required
    assert need.non_formulary
    assert need.action == APPROVE_NON_FORMULARY_ORDER
    assert need.reasons == ("non-formulary: Rare",)
    assert [p.approver_roles for p in need.policies] == [(Role.PHARMACIST,)]
    restricted = replace(AMOX, formulary_status=FormularyStatus.RESTRICTED)
    assert not approval_need(lines((1, "1.00"), item=restricted), (), SITE).required


def test_the_threshold_is_an_organizations_policy() -> None:
    cheap = ApprovalPolicy(ORDER, (Role.MANAGER,), min_value=Decimal("10.00"), id=1)
    need = approval_need(lines((1, "10.01")), [cheap], SITE)
    assert need.reasons == ("worth 10.01; order worth 10.00 or more: approved by manager",)
    assert need.policies == (cheap,)
    # a site's policy replaces the organization's there
    lenient = ApprovalPolicy(ORDER, (Role.MANAGER,), min_value=Decimal("50.00"), site_id=SITE)
    assert not approval_need(lines((1, "10.01")), [cheap, lenient], SITE).required
    # with its only policy retired, the action falls back on the built-in default (1,000.00)
    retired = replace(cheap, active=False)
    assert not approval_need(lines((1, "10.01")), [retired], SITE).required
    assert approval_need(lines((90, "12.50")), [retired], SITE).policies == (default_policy(ORDER),)
    # a policy kept for another site leaves this one under the organization's (the default)
    elsewhere = replace(lenient, site_id=SITE + 1)
    assert approval_need(lines((1, "10.01")), [elsewhere], SITE).required is False
    assert approval_need(lines((90, "12.50")), [elsewhere], SITE).required


def test_the_approver_is_another_user_with_a_role_each_policy_names() -> None:
    requested_by = {"buyer1", "submitter"}
    order = deciding_policies(APPROVE_ORDER, Decimal("2000"), 10, (), SITE)
    off = deciding_policies(APPROVE_NON_FORMULARY_ORDER, Decimal("5"), 10, (), SITE)
    assert [p.action for p in off] == [NON_FORMULARY_ORDER]
    with pytest.raises(errors.SelfApproval) as refused:
        check_approver(actor("Buyer1", Role.MANAGER), SITE, requested_by, order)
    assert refused.value.code == "SELF_APPROVAL_FORBIDDEN"
    assert refused.value.kind == "forbidden"
    with pytest.raises(errors.SelfApproval):
        check_approver(actor("submitter", Role.PHARMACIST), SITE, requested_by, off)
    check_approver(actor("mgr", Role.MANAGER), SITE, requested_by, order)
    for role in (Role.MANAGER, Role.ADMIN):
        with pytest.raises(errors.PharmacistApprovalRequired):
            check_approver(actor("boss", role), SITE, requested_by, off)
    check_approver(actor("pharm", Role.PHARMACIST), SITE, requested_by, off)
    elsewhere = Actor(1, "pharm", None, (Grant(Role.PHARMACIST, SITE + 1),))
    with pytest.raises(errors.PharmacistApprovalRequired):
        check_approver(elsewhere, SITE, requested_by, off)
    with pytest.raises(errors.Forbidden):
        check_approver(actor("tech", Role.TECHNICIAN), SITE, requested_by, order)
    # a large non-formulary order needs someone both policies name
    both = deciding_policies(APPROVE_NON_FORMULARY_ORDER, Decimal("2000"), 10, (), SITE)
    assert [p.action for p in both] == [ORDER, NON_FORMULARY_ORDER]
    check_approver(actor("pharm", Role.PHARMACIST), SITE, requested_by, both)


def test_packs_come_in_the_suppliers_multiples() -> None:
    check_packs(1, 6, 2)
    with pytest.raises(errors.OrderMultipleNotMet) as refused:
        check_packs(3, 5, 2)
    assert refused.value.details == {"line": 3, "packs": 5, "order_multiple": 2}
    for bad in (0, -2, True):
        with pytest.raises(errors.InvalidQuantity):
            check_packs(1, bad, 1)  # type: ignore[arg-type]


def test_an_order_below_the_minimum_is_refused() -> None:
    supplier = Supplier(1, 1, "S", "Great Lakes", None, 2, Decimal("250.00"))
    check_minimum_order(Decimal("250.00"), supplier)
    with pytest.raises(errors.MinimumOrderNotMet) as refused:
        check_minimum_order(Decimal("249.99"), supplier)
    assert "at least 250.00" in refused.value.message


def test_statuses_allow_their_steps_only() -> None:
    require_status("requisition 1", "draft", "draft")
    with pytest.raises(errors.StatusConflict) as refused:
        require_status("requisition 1", "ordered", "draft", "submitted")
    assert refused.value.details == {"status": "ordered", "allowed": ["draft", "submitted"]}


def test_purchase_order_numbers_and_expected_dates() -> None:
    assert purchase_order_number("CENTRAL", 12) == "PO-CENTRAL-000012"
    ordered = datetime(2026, 6, 1, 23, 30, tzinfo=UTC)
    assert expected_on(ordered, 3) == date(2026, 6, 4)


# --- suppliers ----------------------------------------------------------------------------------


def test_a_gln_has_13_digits_and_a_valid_check_digit() -> None:
    assert parse_gln(" 0614141000012 ") == "0614141000012"
    assert parse_gln("") is None
    assert parse_gln(None) is None
    for bad in ("0614141000013", "123", "061414100001X"):
        with pytest.raises(errors.InvalidIdentifier):
            parse_gln(bad)


def test_supplier_terms_and_packs() -> None:
    check_supplier_terms(0, Decimal(0))
    with pytest.raises(errors.ValidationFailed):
        check_supplier_terms(-1, Decimal(0))
    with pytest.raises(errors.ValidationFailed):
        check_supplier_terms(1, Decimal("-0.01"))
    check_pack(100, Decimal(0), 1)
    with pytest.raises(errors.InvalidQuantity):
        check_pack(100, Decimal(1), 0)
    with pytest.raises(errors.ValidationFailed):
        check_pack(100, Decimal("NaN"), 1)


# --- receipts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("received", "status", "still_open"),
    [(0, "open", 100), (40, "partial", 60), (100, "complete", 0), (105, "over", 0)],
)
def test_a_lines_status_and_open_quantity(received: int, status: str, still_open: int) -> None:
    assert receipt_status(100, received).value == status
    assert open_quantity(100, received) == still_open


def test_a_pos_progress_follows_its_lines() -> None:
    o, p, c, v = (
        ReceiptStatus.OPEN,
        ReceiptStatus.PARTIAL,
        ReceiptStatus.COMPLETE,
        ReceiptStatus.OVER,
    )
    assert order_status([o, o]) is o
    assert order_status([]) is o
    assert order_status([o, c]) is p
    assert order_status([p, c]) is p
    assert order_status([c, c]) is c
    assert order_status([c, v]) is v
    assert order_status([o, v]) is v


def test_over_receipt_is_accepted_up_to_the_tolerance() -> None:
    assert over_receipt_allowance(100, POLICY) == 110
    assert over_receipt_allowance(5, POLICY) == 5  # half a unit rounds down
    assert check_receipt(1, 100, 0, 110, POLICY) is ReceiptStatus.OVER
    assert check_receipt(1, 100, 60, 40, POLICY) is ReceiptStatus.COMPLETE
    with pytest.raises(errors.OverReceiptLimit) as refused:
        check_receipt(2, 100, 100, 11, POLICY)
    assert refused.value.details["allowed"] == 110
    none = PurchasingPolicy(max_over_receipt_percent=Decimal(0))
    with pytest.raises(errors.OverReceiptLimit):
        check_receipt(1, 100, 0, 101, none)


def test_a_substitute_is_the_same_generic_strength_and_form() -> None:
    generic = replace(
        AMOX, id=2, strength="500MG", dosage_form=" Capsule", generic_name="AMOXICILLIN"
    )
    assert is_equivalent(AMOX, generic)
    assert not is_equivalent(AMOX, replace(generic, strength="250 mg"))
    assert not is_equivalent(AMOX, replace(generic, dosage_form="tablet"))
    unknown = replace(AMOX, generic_name="")
    assert not is_equivalent(unknown, replace(generic, generic_name=""))
    check_substitute(1, AMOX, generic, None)


def test_another_product_is_a_substitute_only_with_a_reason() -> None:
    other = replace(AMOX, id=3, name="Cefalexin", generic_name="cefalexin")
    with pytest.raises(errors.SubstituteNotEquivalent) as refused:
        check_substitute(2, AMOX, other, "  ")
    assert refused.value.details == {"line": 2, "ordered_item_id": 1, "substitute_item_id": 3}
    check_substitute(2, AMOX, other, "shortage, prescriber agreed")
    with pytest.raises(errors.ValidationFailed):
        check_substitute(1, AMOX, AMOX, "same item")


def test_rxledgers_own_idempotency_keys_are_not_a_clients() -> None:
    for key in ("held-adjustment:1", "Count-Line:4:approved", "reconcile:1:ledger:a", "preview:x"):
        with pytest.raises(errors.ValidationFailed) as refused:
            check_client_key(key)
        assert refused.value.details["field"] == "idempotency_key"
    assert check_client_key("rx-2026-0001") == "rx-2026-0001"
    assert check_client_key(None) is None
