"""Controlled substances: which postings need a second person's witness, and who may be it.

A posting needs a witness when any of its lines moves an item of DEA schedule II (CII, CIIN) and
the document is a waste (destruction), an adjustment (a count result posts as one) or either leg
of a transfer. Dispensing, receiving and moves within a site need none.

The witness is another user than the poster (compared ignoring case) who may adjust stock at the
document's site: a pharmacist, a manager or an administrator. Whoever may write stock off may
witness it; a technician, a buyer or an auditor may not.
"""

from __future__ import annotations

from collections.abc import Iterable

from rxledger.domain.errors import WitnessNotAllowed, WitnessRequired
from rxledger.domain.model import DeaSchedule, DocumentType, Item
from rxledger.domain.permissions import Actor, Permission

WITNESSED_SCHEDULES = frozenset({DeaSchedule.CII, DeaSchedule.CIIN})
WITNESSED_DOCUMENTS = frozenset(
    {
        DocumentType.ADJUSTMENT,
        DocumentType.DESTRUCTION,
        DocumentType.TRANSFER_SHIP,
        DocumentType.TRANSFER_RECEIVE,
    }
)
# The permission a witness holds at the site: pharmacist, manager and administrator carry it.
WITNESS_PERMISSION = Permission.ADJUST


def is_controlled(item: Item) -> bool:
    """A controlled item has a DEA schedule (II to V, or I) or a cannabis category."""
    return item.is_controlled


def needs_witness(doc_type: DocumentType, schedules: Iterable[DeaSchedule | None]) -> bool:
    """True when the document type is witnessed and any line's item is schedule II."""
    return doc_type in WITNESSED_DOCUMENTS and any(s in WITNESSED_SCHEDULES for s in schedules)


def require_witness(
    doc_type: DocumentType,
    schedules: Iterable[DeaSchedule | None],
    witness: str | None,
) -> None:
    """Refuse with ``WITNESS_REQUIRED`` a witnessed posting of schedule II stock without one."""
    if witness is None and needs_witness(doc_type, schedules):
        raise WitnessRequired(
            f"a {doc_type.value.replace('_', ' ')} of schedule II stock needs a witness",
            doc_type=doc_type.value,
        )


def refuse_self_witness(poster: str, witness: str) -> None:
    """The poster cannot witness their own posting."""
    if poster.strip().lower() == witness.strip().lower():
        raise WitnessNotAllowed(
            f"{witness} posts this document and cannot also witness it", witness=witness
        )


def check_witness(poster: str, witness: Actor, site_id: int) -> None:
    """Refuse with ``WITNESS_NOT_ALLOWED`` a witness who is the poster, or who holds no role at
    the site that may witness (pharmacist, manager, administrator)."""
    refuse_self_witness(poster, witness.username)
    if not witness.can(WITNESS_PERMISSION, site_id):
        raise WitnessNotAllowed(
            f"{witness.username} holds no role at site {site_id} that may witness "
            "(pharmacist, manager or administrator)",
            witness=witness.username,
            site_id=site_id,
        )
