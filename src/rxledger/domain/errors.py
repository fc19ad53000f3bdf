"""One hierarchy of domain errors, each with a stable string code.

Entry points map these codes to HTTP statuses and CLI exit codes in one place; the codes are part of
the public contract and never change meaning.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class RxLedgerError(Exception):
    """Base of every error the domain and services raise on purpose."""

    code: ClassVar[str] = "RXLEDGER_ERROR"
    kind: ClassVar[str] = "invalid"  # invalid | not_found | conflict | forbidden | unavailable

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: Mapping[str, Any] = details

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": dict(self.details)}


class ValidationFailed(RxLedgerError):
    code = "VALIDATION_ERROR"


class InvalidQuantity(RxLedgerError):
    code = "INVALID_QUANTITY"


class InvalidIdentifier(RxLedgerError):
    code = "INVALID_IDENTIFIER"


class NotFound(RxLedgerError):
    code = "NOT_FOUND"
    kind = "not_found"


class OrganizationNotFound(NotFound):
    code = "ORGANIZATION_NOT_FOUND"


class SiteNotFound(NotFound):
    code = "SITE_NOT_FOUND"


class LocationNotFound(NotFound):
    code = "LOCATION_NOT_FOUND"


class ItemNotFound(NotFound):
    code = "ITEM_NOT_FOUND"


class LotNotFound(NotFound):
    code = "LOT_NOT_FOUND"


class SerialNotFound(NotFound):
    code = "SERIAL_NOT_FOUND"


class DocumentNotFound(NotFound):
    code = "DOCUMENT_NOT_FOUND"


class UnknownReasonCode(RxLedgerError):
    code = "REASON_CODE_UNKNOWN"


class DuplicateCode(RxLedgerError):
    code = "DUPLICATE"
    kind = "conflict"


class InsufficientStock(RxLedgerError):
    code = "INSUFFICIENT_STOCK"
    kind = "conflict"


class LotExpired(RxLedgerError):
    code = "LOT_EXPIRED"
    kind = "conflict"


class LotUnavailable(RxLedgerError):
    """The lot is on hold, quarantined or recalled."""

    code = "LOT_UNAVAILABLE"
    kind = "conflict"


class LotItemMismatch(RxLedgerError):
    code = "LOT_ITEM_MISMATCH"


class LotExpiryMismatch(RxLedgerError):
    code = "LOT_EXPIRY_MISMATCH"
    kind = "conflict"


class LotRequired(RxLedgerError):
    code = "LOT_REQUIRED"


class SerialMismatch(RxLedgerError):
    code = "SERIAL_MISMATCH"
    kind = "conflict"


class LocationNotAllowed(RxLedgerError):
    """The location's type or site does not fit the operation (dispense from quarantine, ...)."""

    code = "LOCATION_NOT_ALLOWED"


class SameLocation(RxLedgerError):
    code = "SAME_LOCATION"


class BackdatedTooFar(RxLedgerError):
    code = "BACKDATED_TOO_FAR"


class FutureDated(RxLedgerError):
    code = "FUTURE_DATED"


class IdempotencyConflict(RxLedgerError):
    code = "IDEMPOTENCY_CONFLICT"
    kind = "conflict"


class DocumentNotReversible(RxLedgerError):
    code = "DOCUMENT_NOT_REVERSIBLE"
    kind = "conflict"


class AlreadyReversed(RxLedgerError):
    code = "ALREADY_REVERSED"
    kind = "conflict"


class NothingToReceive(RxLedgerError):
    code = "NOTHING_IN_TRANSIT"
    kind = "conflict"


class ImmutableRecord(RxLedgerError):
    """A posted row was asked to change; the database refused it."""

    code = "IMMUTABLE_RECORD"
    kind = "conflict"


class ConcurrencyExhausted(RxLedgerError):
    code = "CONCURRENCY_RETRY_EXHAUSTED"
    kind = "unavailable"


class LedgerIntegrityError(RxLedgerError):
    code = "LEDGER_INTEGRITY"
    kind = "unavailable"


class Forbidden(RxLedgerError):
    """The actor's roles at this site do not carry the permission."""

    code = "FORBIDDEN"
    kind = "forbidden"


class Unauthenticated(RxLedgerError):
    code = "UNAUTHENTICATED"
    kind = "unauthenticated"


class TooManyAttempts(RxLedgerError):
    code = "TOO_MANY_ATTEMPTS"
    kind = "throttled"


class InvalidScan(RxLedgerError):
    """Scanned or typed barcode data that is not a valid GS1 message, GTIN or NDC."""

    code = "INVALID_SCAN"


class AmbiguousNdc(InvalidIdentifier):
    """Digits that fit more than one NDC layout, and the item master does not say which."""

    code = "AMBIGUOUS_NDC"


class ShipmentDataRejected(RxLedgerError):
    """A shipment data file (EPCIS, X12 856, METRC manifest) that cannot be accepted as it is."""

    code = "SHIPMENT_DATA_REJECTED"


class FileTooLarge(RxLedgerError):
    code = "FILE_TOO_LARGE"
