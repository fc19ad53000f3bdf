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
    kind = "too_large"


# --- purchasing ---------------------------------------------------------------------------------


class SupplierNotFound(NotFound):
    code = "SUPPLIER_NOT_FOUND"


class SupplierItemNotFound(NotFound):
    code = "SUPPLIER_ITEM_NOT_FOUND"


class RequisitionNotFound(NotFound):
    code = "REQUISITION_NOT_FOUND"


class PurchaseOrderNotFound(NotFound):
    code = "PURCHASE_ORDER_NOT_FOUND"


class PurchaseOrderLineNotFound(NotFound):
    code = "PURCHASE_ORDER_LINE_NOT_FOUND"


class StatusConflict(RxLedgerError):
    """The record is not in a status that allows this step (submit a submitted requisition, ...)."""

    code = "STATUS_CONFLICT"
    kind = "conflict"


class SelfApproval(Forbidden):
    """Maker-checker: the user who requested something may not approve or reject it."""

    code = "SELF_APPROVAL_FORBIDDEN"


class PharmacistApprovalRequired(Forbidden):
    """A non-formulary order needs the approval of a pharmacist at the site."""

    code = "PHARMACIST_APPROVAL_REQUIRED"


class MinimumOrderNotMet(RxLedgerError):
    code = "MINIMUM_ORDER_NOT_MET"


class OrderMultipleNotMet(RxLedgerError):
    code = "ORDER_MULTIPLE_NOT_MET"


class OverReceiptLimit(RxLedgerError):
    """More received against a PO line than the policy's over-receipt tolerance allows."""

    code = "OVER_RECEIPT_LIMIT"
    kind = "conflict"


class SubstituteNotEquivalent(RxLedgerError):
    """A substitute that is not the same generic, strength and form, received without a reason."""

    code = "SUBSTITUTE_NOT_EQUIVALENT"


# --- quarantine, DSCSA investigations and traceability ------------------------------------------


class DiscrepancyNotFound(NotFound):
    code = "DISCREPANCY_NOT_FOUND"


class InvestigationNotFound(NotFound):
    code = "INVESTIGATION_NOT_FOUND"


class ShipmentNotFound(NotFound):
    code = "SHIPMENT_NOT_FOUND"


class DiscrepancyAlreadyResolved(RxLedgerError):
    """A discrepancy is resolved once; its resolution is part of the record."""

    code = "DISCREPANCY_ALREADY_RESOLVED"
    kind = "conflict"


class InvestigationAlreadyClosed(RxLedgerError):
    """A DSCSA investigation is closed once, as cleared or illegitimate."""

    code = "INVESTIGATION_ALREADY_CLOSED"
    kind = "conflict"


class UnderInvestigation(RxLedgerError):
    """The discrepancy's package is a suspect product: close its investigation instead."""

    code = "UNDER_INVESTIGATION"
    kind = "conflict"


class QuarantineMismatch(RxLedgerError):
    """The resolution does not fit what the discrepancy holds in quarantine (releasing nothing,
    or closing while stock is still held)."""

    code = "QUARANTINE_MISMATCH"
    kind = "conflict"


class NotificationRequired(RxLedgerError):
    """An illegitimate product is closed only with its notification (FDA Form 3911, partners)."""

    code = "NOTIFICATION_REQUIRED"


class SignedInUserRequired(Forbidden):
    """Investigations are signed by a user account, not by an anonymous console operator."""

    code = "SIGNED_IN_USER_REQUIRED"


# --- item-master stewardship and certificates of analysis ---------------------------------------


class GtinAlreadyAssigned(RxLedgerError):
    """A GTIN names one package level of one item; it cannot be linked or proposed again."""

    code = "GTIN_ALREADY_ASSIGNED"
    kind = "conflict"


class ItemProposalNotFound(NotFound):
    code = "ITEM_PROPOSAL_NOT_FOUND"


class CertificateNotFound(NotFound):
    code = "CERTIFICATE_NOT_FOUND"


class CertificateRequired(RxLedgerError):
    """A cannabis lot becomes available for sale only with a passed certificate of analysis."""

    code = "CERTIFICATE_REQUIRED"
    kind = "conflict"


# --- files handed in for analysis -----------------------------------------------------------------


class InvalidInputFile(RxLedgerError):
    """A data file is read whole or refused whole: every unreadable row is named by its line."""

    code = "INVALID_INPUT_FILE"


# --- controlled substances ----------------------------------------------------------------------


class WitnessRequired(RxLedgerError):
    """A waste, adjustment, count result or transfer of a schedule II item needs a witness."""

    code = "WITNESS_REQUIRED"


class WitnessNotAllowed(Forbidden):
    """The witness is the poster, or holds no role at the site that may witness."""

    code = "WITNESS_NOT_ALLOWED"


class WitnessCredentialsInvalid(RxLedgerError):
    """The witness's user name or re-entered password is wrong, or the user is inactive (the
    witness named in the details). Not an ``Unauthenticated``: the poster's own session or token
    is fine, so clients must not read it as "sign in again"; the attempt is recorded like a
    failed sign-in all the same."""

    code = "WITNESS_CREDENTIALS_INVALID"
    kind = "forbidden"


class LocationFrozen(RxLedgerError):
    """A count that freezes its locations is open on a location the posting touches."""

    code = "LOCATION_FROZEN"
    kind = "conflict"
