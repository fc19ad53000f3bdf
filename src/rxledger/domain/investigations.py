"""Quarantine rules: how a receiving discrepancy is resolved, and how a DSCSA investigation ends.

Every package that receiving refused sits in the site's quarantine location with a discrepancy.
A pharmacist resolves it by releasing the stock (to the dock or a shelf), returning it (to the
reverse distributor) or destroying it (to waste) — each a ledger document — or, when nothing of
it is held (a short count, an unknown product), by closing it. A suspect product (a serial the
sender never declared) is investigated first: cleared, its package is released; illegitimate, it
is destroyed and the notification to the FDA (Form 3911) and trading partners, due within 24
hours of the determination, is recorded with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from rxledger.domain import errors
from rxledger.domain.model import LocationType
from rxledger.domain.receiving import Reason

NOTIFICATION_DEADLINE = timedelta(hours=24)


class Resolution(StrEnum):
    RELEASE = "release"  # a move back to the dock or a storage location
    RETURN = "return"  # a destruction document to the reverse distributor
    DESTROY = "destroy"  # a destruction document to waste
    CLOSE = "close"  # nothing is held in quarantine: no stock moves

    @property
    def moves_stock(self) -> bool:
        return self is not Resolution.CLOSE

    @property
    def destination(self) -> LocationType | None:
        """The virtual location a return or destruction sends the stock to."""
        return _DESTINATIONS.get(self)


_DESTINATIONS = {
    Resolution.RETURN: LocationType.REVERSE_DISTRIBUTOR,
    Resolution.DESTROY: LocationType.WASTE,
}


class Finding(StrEnum):
    """How a DSCSA investigation of a suspect product ends."""

    CLEARED = "cleared"  # legitimate after all: release the package
    ILLEGITIMATE = "illegitimate"  # counterfeit, diverted, stolen, …: destroy and notify


# Reason codes the outcomes post with when the user names none (organization defaults).
RETURNED = "RETURNED"
REJECTED = "REJECTED"
ILLEGITIMATE = "ILLEGITIMATE"
_DESTROYED_BECAUSE = {Reason.EXPIRED.value: "EXPIRED", Reason.DAMAGED.value: "DAMAGED"}


def parse_resolution(value: str) -> Resolution:
    try:
        return Resolution(value)
    except ValueError as exc:
        known = ", ".join(r.value for r in Resolution)
        raise errors.ValidationFailed(
            f"{value!r} is not a resolution; use one of {known}", field="outcome"
        ) from exc


def parse_finding(value: str) -> Finding:
    try:
        return Finding(value)
    except ValueError as exc:
        raise errors.ValidationFailed(
            f"{value!r} is not an outcome; use cleared or illegitimate", field="outcome"
        ) from exc


def check_resolution(resolution: Resolution, held: int) -> None:
    """Stock held in quarantine must be released, returned or destroyed; a discrepancy that
    holds nothing (a short count, an unknown product never stocked) can only be closed."""
    if resolution.moves_stock and held == 0:
        raise errors.QuarantineMismatch(
            f"nothing of this discrepancy is held in quarantine: close it instead of "
            f"{resolution.value}",
            resolution=resolution.value,
        )
    if not resolution.moves_stock and held > 0:
        raise errors.QuarantineMismatch(
            f"{held} base units of this discrepancy are held in quarantine: release, return "
            "or destroy them",
            held=held,
        )


def destruction_reason(resolution: Resolution, discrepancy_reason: str, given: str | None) -> str:
    """The reason code a return or destruction posts with: the user's, else one that follows
    from why the package was quarantined."""
    if given:
        return given
    if resolution is Resolution.RETURN:
        return RETURNED
    return _DESTROYED_BECAUSE.get(discrepancy_reason, REJECTED)


@dataclass(frozen=True, slots=True)
class Notification:
    """The notice of an illegitimate product: FDA Form 3911 and the trading partners."""

    reference: str
    notified_at: datetime


def require_notification(
    finding: Finding,
    reference: str | None,
    notified_at: datetime | None,
    *,
    opened_at: datetime,
    now: datetime,
    tolerance: timedelta = timedelta(0),
) -> Notification | None:
    """An illegitimate product is closed only with its notification's reference and time; the
    notice cannot predate the investigation nor lie in the future."""
    reference = (reference or "").strip() or None
    if reference is None and notified_at is None:
        if finding is Finding.ILLEGITIMATE:
            raise errors.NotificationRequired(
                "an illegitimate product is closed with its notification: the FDA Form 3911 or "
                "trading-partner notice reference and when it was sent (due within 24 hours)",
                fields=["notification_reference", "notified_at"],
            )
        return None
    if reference is None or notified_at is None:
        missing = "notification_reference" if reference is None else "notified_at"
        raise errors.NotificationRequired(
            f"a notification needs both its reference and its time; {missing} is missing",
            field=missing,
        )
    if notified_at.tzinfo is None:
        raise errors.ValidationFailed("notified_at must carry a timezone", field="notified_at")
    if notified_at > now + tolerance:
        raise errors.ValidationFailed("notified_at lies in the future", field="notified_at")
    if notified_at < opened_at:
        raise errors.ValidationFailed(
            "notified_at is before the investigation was opened", field="notified_at"
        )
    return Notification(reference, notified_at)
