"""Quarantine rules and the trace's CBV words, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rxledger.domain import errors
from rxledger.domain.investigations import (
    Finding,
    Notification,
    Resolution,
    check_resolution,
    destruction_reason,
    parse_finding,
    parse_resolution,
    require_notification,
)
from rxledger.domain.model import DocumentType, LocationType
from rxledger.domain.permissions import Permission, permission_to_post
from rxledger.domain.trace import CbvEvent, describe_movement

OPENED = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


# --- resolutions --------------------------------------------------------------------------------


@pytest.mark.parametrize("resolution", [Resolution.RELEASE, Resolution.RETURN, Resolution.DESTROY])
def test_what_is_held_is_released_returned_or_destroyed(resolution: Resolution) -> None:
    check_resolution(resolution, 100)
    with pytest.raises(errors.QuarantineMismatch) as refused:
        check_resolution(resolution, 0)
    assert refused.value.code == "QUARANTINE_MISMATCH"


def test_only_what_holds_nothing_is_closed() -> None:
    check_resolution(Resolution.CLOSE, 0)
    with pytest.raises(errors.QuarantineMismatch) as refused:
        check_resolution(Resolution.CLOSE, 30)
    assert refused.value.details == {"held": 30}


def test_returns_and_destructions_go_to_their_virtual_locations() -> None:
    assert Resolution.RETURN.destination is LocationType.REVERSE_DISTRIBUTOR
    assert Resolution.DESTROY.destination is LocationType.WASTE
    assert Resolution.RELEASE.destination is None
    assert not Resolution.CLOSE.moves_stock


@pytest.mark.parametrize(
    ("resolution", "reason", "given", "expected"),
    [
        (Resolution.RETURN, "short_dated", None, "RETURNED"),
        (Resolution.DESTROY, "expired", None, "EXPIRED"),
        (Resolution.DESTROY, "damaged", None, "DAMAGED"),
        (Resolution.DESTROY, "not_in_shipment", None, "REJECTED"),
        (Resolution.DESTROY, "expired", "THEFT", "THEFT"),
    ],
)
def test_a_destruction_reason_follows_from_the_quarantine_unless_given(
    resolution: Resolution, reason: str, given: str | None, expected: str
) -> None:
    assert destruction_reason(resolution, reason, given) == expected


def test_unknown_outcomes_are_refused_by_name() -> None:
    assert parse_resolution("return") is Resolution.RETURN
    assert parse_finding("cleared") is Finding.CLEARED
    with pytest.raises(errors.ValidationFailed, match="'keep' is not a resolution"):
        parse_resolution("keep")
    with pytest.raises(errors.ValidationFailed, match="cleared or illegitimate"):
        parse_finding("maybe")


# --- the notification of an illegitimate product ----------------------------------------------


def _notify(finding: Finding, reference: str | None, at: datetime | None) -> Notification | None:
    return require_notification(finding, reference, at, opened_at=OPENED, now=NOW)


def test_an_illegitimate_product_needs_its_notification() -> None:
    with pytest.raises(errors.NotificationRequired) as refused:
        _notify(Finding.ILLEGITIMATE, None, None)
    assert refused.value.code == "NOTIFICATION_REQUIRED"
    assert _notify(Finding.ILLEGITIMATE, " FDA-3911-1 ", NOW) == Notification("FDA-3911-1", NOW)


def test_a_cleared_product_needs_none_but_a_given_one_is_whole() -> None:
    assert _notify(Finding.CLEARED, None, None) is None
    with pytest.raises(errors.NotificationRequired, match="notified_at is missing"):
        _notify(Finding.CLEARED, "FDA-1", None)
    with pytest.raises(errors.NotificationRequired, match="notification_reference is missing"):
        _notify(Finding.ILLEGITIMATE, " ", NOW)


@pytest.mark.parametrize(
    ("at", "message"),
    [
        (NOW + timedelta(minutes=1), "in the future"),
        (OPENED - timedelta(minutes=1), "before the investigation was opened"),
        (datetime(2026, 6, 1, 9, 0), "timezone"),  # naive on purpose
    ],
)
def test_a_notification_time_must_be_plausible(at: datetime, message: str) -> None:
    with pytest.raises(errors.ValidationFailed, match=message):
        _notify(Finding.ILLEGITIMATE, "FDA-1", at)


# --- destruction as a document type -------------------------------------------------------------


def test_destruction_needs_the_permission_to_adjust() -> None:
    assert permission_to_post(DocumentType.DESTRUCTION.value) is Permission.ADJUST


# --- the trace's CBV words ----------------------------------------------------------------------

L = LocationType


@pytest.mark.parametrize(
    ("doc_type", "source", "target", "expected"),
    [
        (DocumentType.RECEIPT, L.SUPPLIER, L.RECEIVING, CbvEvent("receiving", "in_progress")),
        (
            DocumentType.RECEIPT,
            L.SUPPLIER,
            L.QUARANTINE,
            CbvEvent("receiving", "non_sellable_other"),
        ),
        (DocumentType.PUT_AWAY, L.RECEIVING, L.STORAGE, CbvEvent("storing", "sellable_accessible")),
        (DocumentType.MOVE, L.STORAGE, L.QUARANTINE, CbvEvent("holding", "non_sellable_other")),
        (DocumentType.MOVE, L.QUARANTINE, L.RECEIVING, CbvEvent("inspecting", "in_progress")),
        (DocumentType.DISPENSE, L.STORAGE, L.PATIENT, CbvEvent("dispensing", "dispensed")),
        (
            DocumentType.DISPENSE_REVERSAL,
            L.PATIENT,
            L.RETURNS,
            CbvEvent("receiving", "non_sellable_other"),
        ),
        (
            DocumentType.DESTRUCTION,
            L.QUARANTINE,
            L.WASTE,
            CbvEvent("destroying", "destroyed", "DELETE"),
        ),
        (
            DocumentType.DESTRUCTION,
            L.QUARANTINE,
            L.REVERSE_DISTRIBUTOR,
            CbvEvent("shipping", "returned"),
        ),
        (DocumentType.TRANSFER_SHIP, L.STORAGE, L.IN_TRANSIT, CbvEvent("shipping", "in_transit")),
        (DocumentType.ADJUSTMENT, L.STORAGE, L.ADJUSTMENT, CbvEvent("cycle_counting", None)),
        (DocumentType.REVERSAL, L.WASTE, L.QUARANTINE, CbvEvent("other", "non_sellable_other")),
    ],
)
def test_each_movement_is_said_in_cbv_words(
    doc_type: DocumentType, source: LocationType, target: LocationType, expected: CbvEvent
) -> None:
    assert describe_movement(doc_type, source, target) == expected
