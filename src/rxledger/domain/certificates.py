"""Certificates of analysis: a cannabis package is sold only after its lab result has passed.

A lot of a cannabis item (its packages carry METRC UID tags as serials) is put on hold when it is
received without a passed certificate, and it becomes available again only when one is on file.
The lot's *lab result* is that of its certificate decided last: a retest that passes after a
failure counts, a failure after a pass withdraws it. A passed result releases a lot that is on
hold; a failed one quarantines the lot. Deciding a result is a checker's act: not by the user who
attached the certificate.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePosixPath, PureWindowsPath

from rxledger.domain import errors
from rxledger.domain.model import Item, Lot, LotStatus

MAX_CERTIFICATE_BYTES = 10 * 1024 * 1024


class LabResult(StrEnum):
    PENDING = "pending"
    PASSED = "passed"
    FAILED = "failed"

    @classmethod
    def decision(cls, text: str) -> LabResult:
        """A decided result, from ``passed`` or ``failed``."""
        value = text.strip().lower()
        if value not in (cls.PASSED.value, cls.FAILED.value):
            raise errors.ValidationFailed(
                "a lab result is passed or failed", result=text, known=["passed", "failed"]
            )
        return cls(value)


def needs_certificate(item: Item) -> bool:
    """Cannabis is sold only with a passed certificate of analysis."""
    return item.cannabis_category is not None


def is_certified(current: LabResult | None) -> bool:
    return current is LabResult.PASSED


def status_on_receipt(item: Item, lot: Lot, current: LabResult | None) -> LotStatus:
    """An available cannabis lot without a passed result goes on hold when stock of it arrives;
    other statuses (quarantined, recalled, expired) are left as they are."""
    if needs_certificate(item) and lot.status is LotStatus.AVAILABLE and not is_certified(current):
        return LotStatus.ON_HOLD
    return lot.status


def status_after_result(status: LotStatus, result: LabResult) -> LotStatus:
    """A passed result releases a lot on hold; a failed one quarantines an available or held lot.
    A recalled or expired lot stays so, and a quarantined one is released only by a person."""
    if result is LabResult.PASSED and status is LotStatus.ON_HOLD:
        return LotStatus.AVAILABLE
    if result is LabResult.FAILED and status in (LotStatus.AVAILABLE, LotStatus.ON_HOLD):
        return LotStatus.QUARANTINED
    return status


def require_release(item: Item, lot: Lot, target: LotStatus, current: LabResult | None) -> None:
    """A cannabis lot is made available only with a passed lab result on file."""
    if target is LotStatus.AVAILABLE and needs_certificate(item) and not is_certified(current):
        raise errors.CertificateRequired(
            f"lot {lot.lot_number} of {item.name} is released for sale only with a certificate "
            "of analysis whose lab result has passed",
            lot_id=lot.id,
            lab_result=current.value if current else None,
        )


@dataclass(frozen=True, slots=True)
class CertificateFile:
    filename: str
    content: bytes
    sha256: str


def certificate_file(filename: str, content: bytes) -> CertificateFile:
    """The file as uploaded: not empty, at most 10 MiB, named without any directory part."""
    if not content:
        raise errors.ValidationFailed("the certificate file is empty")
    if len(content) > MAX_CERTIFICATE_BYTES:
        raise errors.FileTooLarge(
            f"a certificate is at most {MAX_CERTIFICATE_BYTES:,} bytes",
            limit=MAX_CERTIFICATE_BYTES,
        )
    name = PureWindowsPath(PurePosixPath(filename.strip()).name).name
    clean = "".join(c for c in name if c.isprintable())[:255] or "certificate"
    return CertificateFile(clean, content, hashlib.sha256(content).hexdigest())
