"""The pure rules of item stewardship and certificates of analysis."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest

from rxledger.domain import errors
from rxledger.domain.certificates import (
    LabResult,
    certificate_file,
    require_release,
    status_after_result,
    status_on_receipt,
)
from rxledger.domain.model import Item, Lot, LotStatus, Package
from rxledger.domain.receiving import (
    ExpectedContent,
    ReceivedUnit,
    ReceivingPolicy,
    judge,
    was_marked_damaged,
)
from rxledger.domain.stewardship import ProposedItem, check_checker, check_proposal, place_gtin

CANNABIS = Item(1, 1, "PR-1", "Blue Dream pre-roll", "pre-roll", cannabis_category="pre-roll")
TABLETS = Item(2, 1, "CET-10", "Cetirizine 10 mg", "tablet")
LOT = Lot(7, 1, 1, "BD-0601", date(2027, 6, 30))


# --- placing a linked GTIN ----------------------------------------------------------------------


def test_a_gtin_fills_the_level_of_its_size_that_has_none() -> None:
    packages = [Package("unit", 1), Package("bottle", 100, gtin="00000000000017")]
    assert place_gtin(packages, 1, None) == place_gtin(packages, 1, "unit")
    assert place_gtin(packages, 1, None).fill


@pytest.mark.parametrize(
    ("taken", "expected"),
    [((), "package"), (("package",), "package-2"), (("package", "package-2"), "package-3")],
)
def test_a_new_level_is_named_package_then_numbered(taken: tuple[str, ...], expected: str) -> None:
    packages = [Package(name, 10, gtin=f"0000000000{n:03d}5") for n, name in enumerate(taken)]
    placed = place_gtin(packages, 30, None)
    assert (placed.level, placed.fill) == (expected, False)


def test_a_named_level_that_exists_is_refused() -> None:
    with pytest.raises(errors.DuplicateCode):
        place_gtin([Package("box", 12, gtin="00000000000017")], 12, "box")
    with pytest.raises(errors.ValidationFailed):
        place_gtin([], 12, "x" * 21)


# --- proposals and maker-checker ----------------------------------------------------------------


def test_a_proposal_is_normalized_and_filed_under_its_ndc_or_gtin() -> None:
    proposal = ProposedItem(1, " Cetirizine ", "tablet", "9506000134352", 30, ndc10="0777-3105-02")
    checked = check_proposal(proposal)
    assert (checked.name, checked.gtin, checked.sku) == (
        "Cetirizine",
        "09506000134352",
        "00777310502",
    )
    plain = check_proposal(ProposedItem(1, "Cetirizine", "tablet", "09506000134352", 30))
    assert plain.sku == "GTIN-09506000134352"


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"name": ""}, errors.ValidationFailed),
        ({"base_unit": " "}, errors.ValidationFailed),
        ({"package_units": 0}, errors.InvalidQuantity),
        ({"package_units": True}, errors.InvalidQuantity),
        ({"gtin": "09506000134353"}, errors.InvalidIdentifier),
        ({"ndc10": "12345"}, errors.InvalidIdentifier),
    ],
)
def test_a_proposal_without_what_makes_an_item_is_refused(
    changes: dict[str, object], error: type[errors.RxLedgerError]
) -> None:
    values: dict[str, object] = {
        "site_id": 1,
        "name": "Cetirizine",
        "base_unit": "tablet",
        "gtin": "09506000134352",
        "package_units": 30,
        **changes,
    }
    with pytest.raises(error):
        check_proposal(ProposedItem(**values))  # type: ignore[arg-type]


def test_the_maker_is_not_the_checker_whatever_the_case() -> None:
    check_checker("pharm-bo", "tech-ann", "proposed this item")
    with pytest.raises(errors.SelfApproval) as refused:
        check_checker("Tech-Ann", "tech-ann", "proposed this item")
    assert refused.value.code == "SELF_APPROVAL_FORBIDDEN"


# --- lab results and lot statuses ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "status", "current", "expected"),
    [
        (CANNABIS, LotStatus.AVAILABLE, None, LotStatus.ON_HOLD),
        (CANNABIS, LotStatus.AVAILABLE, LabResult.FAILED, LotStatus.ON_HOLD),
        (CANNABIS, LotStatus.AVAILABLE, LabResult.PASSED, LotStatus.AVAILABLE),
        (CANNABIS, LotStatus.RECALLED, None, LotStatus.RECALLED),
        (TABLETS, LotStatus.AVAILABLE, None, LotStatus.AVAILABLE),
    ],
)
def test_a_receipt_holds_a_cannabis_lot_without_a_passed_result(
    item: Item, status: LotStatus, current: LabResult | None, expected: LotStatus
) -> None:
    lot = Lot(LOT.id, 1, item.id, LOT.lot_number, LOT.expiry, status)
    assert status_on_receipt(item, lot, current) is expected


@pytest.mark.parametrize(
    ("status", "result", "expected"),
    [
        (LotStatus.ON_HOLD, LabResult.PASSED, LotStatus.AVAILABLE),
        (LotStatus.QUARANTINED, LabResult.PASSED, LotStatus.QUARANTINED),
        (LotStatus.RECALLED, LabResult.PASSED, LotStatus.RECALLED),
        (LotStatus.ON_HOLD, LabResult.FAILED, LotStatus.QUARANTINED),
        (LotStatus.AVAILABLE, LabResult.FAILED, LotStatus.QUARANTINED),
        (LotStatus.EXPIRED, LabResult.FAILED, LotStatus.EXPIRED),
    ],
)
def test_a_result_releases_a_held_lot_or_quarantines_it(
    status: LotStatus, result: LabResult, expected: LotStatus
) -> None:
    assert status_after_result(status, result) is expected


def test_a_cannabis_lot_is_released_only_with_a_passed_result() -> None:
    require_release(CANNABIS, LOT, LotStatus.AVAILABLE, LabResult.PASSED)
    require_release(CANNABIS, LOT, LotStatus.QUARANTINED, None)
    require_release(TABLETS, LOT, LotStatus.AVAILABLE, None)
    with pytest.raises(errors.CertificateRequired) as refused:
        require_release(CANNABIS, LOT, LotStatus.AVAILABLE, LabResult.FAILED)
    assert refused.value.details == {"lot_id": 7, "lab_result": "failed"}


def test_a_decision_is_passed_or_failed() -> None:
    assert LabResult.decision(" Passed ") is LabResult.PASSED
    with pytest.raises(errors.ValidationFailed):
        LabResult.decision("pending")


def test_a_certificate_file_keeps_its_bytes_and_loses_its_directories() -> None:
    file = certificate_file("../../etc/C:\\labs\\coa\x07.pdf", b"%PDF-1.4")
    assert file.filename == "coa.pdf"
    assert (file.content, file.sha256) == (b"%PDF-1.4", hashlib.sha256(b"%PDF-1.4").hexdigest())
    with pytest.raises(errors.ValidationFailed):
        certificate_file("coa.pdf", b"")


# --- the damage of an unknown package survives judging it again ---------------------------------


def test_an_unknown_damaged_package_keeps_its_damage_in_the_detail() -> None:
    unit = ReceivedUnit(None, "09506000134352", "B7", date(2028, 1, 31), None, 1)
    verdict = judge(unit, ExpectedContent.none(), ReceivingPolicy(), date(2026, 6, 1), damaged=True)
    assert verdict.reason is not None
    assert verdict.reason.value == "unknown_gtin"
    assert was_marked_damaged(verdict.detail)
    plain = judge(unit, ExpectedContent.none(), ReceivingPolicy(), date(2026, 6, 1))
    assert not was_marked_damaged(plain.detail)
