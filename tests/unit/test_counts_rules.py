"""Count tolerances: which rule judges a line, and what a tolerance may be."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rxledger.domain import errors
from rxledger.domain.counts import (
    DEFAULT_RULES,
    CountPolicy,
    Tolerance,
    VarianceRule,
    check_tolerance,
    item_class,
    with_defaults,
)


def test_the_program_rule_then_any_program_then_the_default() -> None:
    policy = CountPolicy.of(
        [
            Tolerance("manual", "C", 10, Decimal(5)),
            Tolerance("*", "C", 7, Decimal(3)),
            Tolerance("abc", "controlled", 1, Decimal(1)),
        ]
    )
    assert policy.rule_for(controlled=False, abc="C", program="manual") == VarianceRule(
        10, Decimal(5)
    )
    assert policy.rule_for(controlled=False, abc=None, program="risk") == VarianceRule(
        7, Decimal(3)
    )
    assert policy.rule_for(controlled=False, abc="B", program="manual") == DEFAULT_RULES["B"]
    # a controlled item is judged as controlled whatever its ABC class, and by the zero rule
    # even when a tolerance for it was kept (before such rules were refused)
    assert policy.rule_for(controlled=True, abc="C", program="abc") == DEFAULT_RULES["controlled"]
    assert (
        policy.rule_for(controlled=True, abc="C", program="manual") == DEFAULT_RULES["controlled"]
    )
    assert CountPolicy().rule_for(controlled=False, abc=None) == DEFAULT_RULES["C"]


def test_a_line_class() -> None:
    assert item_class(controlled=True, abc="A") == "controlled"
    assert item_class(controlled=False, abc="A") == "A"
    assert item_class(controlled=False, abc=None) == "C"
    assert item_class(controlled=False, abc="Z") == "C"


def test_the_defaults_not_overridden_are_listed_as_defaults() -> None:
    listed = with_defaults([Tolerance("*", "B", 1, Decimal(1)), Tolerance("risk", "A", 0, 0)])
    assert [(t.program, t.item_class, t.default) for t in listed] == [
        ("*", "A", True),
        ("*", "B", False),
        ("*", "C", True),
        ("*", "controlled", True),
        ("risk", "A", False),
    ]


@pytest.mark.parametrize(
    ("program", "klass", "units", "value", "error", "field"),
    [
        ("weekly", "C", 1, Decimal(1), errors.ValidationFailed, "program"),
        ("*", "D", 1, Decimal(1), errors.ValidationFailed, "item_class"),
        ("*", "C", -1, Decimal(1), errors.InvalidQuantity, "units"),
        ("*", "C", 1.5, Decimal(1), errors.InvalidQuantity, "units"),
        ("*", "C", True, Decimal(1), errors.InvalidQuantity, "units"),
        ("*", "C", 1, Decimal(-1), errors.ValidationFailed, "value"),
        ("*", "C", 1, Decimal("NaN"), errors.ValidationFailed, "value"),
        ("*", "C", 1, Decimal("0.00001"), errors.ValidationFailed, "value"),
    ],
)
def test_a_bad_tolerance_is_refused_with_its_field(
    program: str, klass: str, units: object, value: object, error: type, field: str
) -> None:
    with pytest.raises(error) as raised:
        check_tolerance(program, klass, units, value)
    assert raised.value.details["field"] == field


def test_a_good_tolerance() -> None:
    assert check_tolerance("biennial", "C", 0, Decimal("2.5")) == (0, Decimal("2.5000"))
    assert check_tolerance("*", "A", 3, 4) == (3, Decimal("4.0000"))
    assert check_tolerance("*", "controlled", 0, 0) == (0, Decimal(0))


@pytest.mark.parametrize(("units", "value"), [(1, 0), (0, Decimal("0.01")), (5, Decimal(500))])
def test_controlled_substances_tolerate_no_difference(units: int, value: Decimal) -> None:
    # an accepted variance posts at once as the system: no witness, investigation or approval
    with pytest.raises(errors.ValidationFailed) as raised:
        check_tolerance("*", "controlled", units, value)
    assert raised.value.details["field"] == "item_class"
