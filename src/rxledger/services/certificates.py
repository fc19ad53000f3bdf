"""Certificates of analysis for cannabis lots: attach, decide the lab result, and hold the lot
until a passed result is on file (rules in ``domain.certificates``).

A receiver attaches the laboratory's certificate (any file, kept byte for byte with its SHA-256);
a user who may approve items — not the one who attached it — marks its result passed or failed.
Stock of a cannabis lot without a passed result is put on hold in the transaction that receives
it (``hold_on_receipt``, called by ``services.stock``), and ``catalog.set_lot_status`` refuses to
release such a lot (``require_release``). Dispensing from a held lot is refused by the ledger.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row

from rxledger.adapters import certificates_repository as cr
from rxledger.adapters import locking
from rxledger.adapters import repository as repo
from rxledger.domain import errors
from rxledger.domain.certificates import (
    LabResult,
    certificate_file,
    needs_certificate,
    status_after_result,
    status_on_receipt,
)
from rxledger.domain.certificates import require_release as require_release_rule
from rxledger.domain.ledger import PlannedMovement
from rxledger.domain.model import Item, Lot, LotStatus
from rxledger.domain.permissions import Permission
from rxledger.domain.stewardship import check_checker
from rxledger.services.posting import AfterPosting
from rxledger.services.runtime import Actor, Runtime


@dataclass(frozen=True, slots=True)
class CertificateView:
    id: int
    item_id: int
    lot_id: int
    filename: str
    sha256: str
    size: int
    laboratory: str | None
    lab_result: LabResult
    attached_by: str
    attached_at: datetime
    decided_by: str | None
    decided_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "item_id": self.item_id,
            "lot_id": self.lot_id,
            "filename": self.filename,
            "sha256": self.sha256,
            "size": self.size,
            "laboratory": self.laboratory,
            "lab_result": self.lab_result.value,
            "attached_by": self.attached_by,
            "attached_at": self.attached_at,
            "decided_by": self.decided_by,
            "decided_at": self.decided_at,
        }


# --- use cases ----------------------------------------------------------------------------------


def attach_certificate(
    rt: Runtime,
    actor: Actor,
    lot_id: int,
    filename: str,
    content: bytes,
    *,
    laboratory: str | None = None,
) -> CertificateView:
    """Attach a certificate of analysis to a lot of a cannabis item, its result pending. Whoever
    receives stock may attach one; the same bytes again return the certificate on file."""
    actor.require_anywhere(Permission.RECEIVE)
    file = certificate_file(filename, content)
    lab = (laboratory or "").strip()[:200] or None
    with rt.uow() as uow:
        conn = uow.connection
        lot, item = _lot_and_item(conn, actor, lot_id)
        if not needs_certificate(item):
            raise errors.ValidationFailed(
                f"{item.name} is not a cannabis item: its lots take no certificate of analysis",
                item_id=item.id,
            )
        existing = cr.certificate_of_lot_by_hash(conn, lot.id, file.sha256)
        certificate_id = existing or cr.insert_certificate(
            conn,
            {
                "organization_id": actor.organization_id,
                "item_id": item.id,
                "lot_id": lot.id,
                "filename": file.filename,
                "sha256": file.sha256,
                "content": file.content,
                "laboratory": lab,
                "lab_result": LabResult.PENDING.value,
                "attached_by": actor.username,
                "attached_at": rt.clock.now(),
            },
        )
        view = _view(_row(conn, actor, certificate_id))
        uow.commit()
    return view


def decide_certificate(
    rt: Runtime, actor: Actor, certificate_id: int, result: LabResult
) -> CertificateView:
    """Mark a pending certificate's lab result passed or failed: by a user who may approve items
    and did not attach it. Passed releases the lot from hold; failed quarantines it."""
    actor.require_anywhere(Permission.APPROVE_ITEMS)
    if result is LabResult.PENDING:
        raise errors.ValidationFailed("a lab result is decided as passed or failed")
    with rt.uow() as uow:
        conn = uow.connection
        row = _row(conn, actor, certificate_id)
        check_checker(actor.username, row.attached_by, "attached this certificate")
        locked = locking.lock_lots(conn, [row.lot_id])
        decided = {
            "lab_result": result.value,
            "decided_by": actor.username,
            "decided_at": rt.clock.now(),
        }
        if not cr.decide(conn, certificate_id, decided):
            raise errors.StatusConflict(
                f"certificate {certificate_id} is already {row.lab_result}", status=row.lab_result
            )
        lot = repo.to_lot(locked[0])
        after = status_after_result(lot.status, result)
        if after is not lot.status:
            cr.set_lot_status(conn, lot.id, after.value)
        view = _view(_row(conn, actor, certificate_id))
        uow.commit()
    return view


def list_certificates(rt: Runtime, actor: Actor, lot_id: int) -> list[CertificateView]:
    """A lot's certificates, oldest first (the item master and its lots are the organization's)."""
    actor.require_anywhere(Permission.VIEW)
    with rt.uow(read_only=True) as uow:
        _lot_and_item(uow.connection, actor, lot_id)
        rows = cr.certificates_of_lots(uow.connection, actor.organization_id, [lot_id])
    return [_view(r) for r in rows]


def certificates_of_lots(
    rt: Runtime, actor: Actor, lot_ids: Collection[int]
) -> dict[int, list[CertificateView]]:
    """The certificates of several lots (the item page), per lot."""
    actor.require_anywhere(Permission.VIEW)
    with rt.uow(read_only=True) as uow:
        rows = cr.certificates_of_lots(uow.connection, actor.organization_id, lot_ids)
    found: dict[int, list[CertificateView]] = {lot: [] for lot in lot_ids}
    for r in rows:
        found[r.lot_id].append(_view(r))
    return found


def certificate_content(
    rt: Runtime, actor: Actor, certificate_id: int
) -> tuple[CertificateView, bytes]:
    """A certificate and its file, byte for byte as attached."""
    actor.require_anywhere(Permission.VIEW)
    with rt.uow(read_only=True) as uow:
        view = _view(_row(uow.connection, actor, certificate_id))
        return view, cr.certificate_content(uow.connection, certificate_id)


# --- what stock and the catalog call ------------------------------------------------------------


def hold_on_receipt(
    lots: Sequence[Lot], items: Mapping[int, Item], then: AfterPosting | None
) -> AfterPosting | None:
    """The receipt's after-posting hook: put its cannabis lots that have no passed result on
    hold, in the posting transaction, then run ``then``. A receipt of other items pays nothing.

    The hold comes after the plan, since the ledger refuses to bring a held lot into stock."""
    watched = sorted({lot.id for lot in lots if needs_certificate(items[lot.item_id])})
    if not watched:
        return then

    def hook(conn: Connection, document_id: int, movements: Sequence[PlannedMovement]) -> None:
        hold_uncertified(conn, watched, items)
        if then is not None:
            then(conn, document_id, movements)

    return hook


def hold_uncertified(conn: Connection, lot_ids: Collection[int], items: Mapping[int, Item]) -> None:
    """Put the available cannabis lots among these on hold unless their lab result passed; the
    lot rows are locked first, so a result decided meanwhile is seen."""
    locked = [repo.to_lot(row) for row in locking.lock_lots(conn, lot_ids)]
    results = _results(conn, [lot.id for lot in locked])
    for lot in locked:
        status = status_on_receipt(items[lot.item_id], lot, results.get(lot.id))
        if status is not lot.status:
            cr.set_lot_status(conn, lot.id, status.value)


def require_release(conn: Connection, actor: Actor, lot: Lot, target: LotStatus) -> None:
    """Refuse to make a cannabis lot available without a passed lab result
    (``CERTIFICATE_REQUIRED``)."""
    if target is not LotStatus.AVAILABLE:
        return
    item = repo.items_by_id(conn, actor.organization_id, [lot.item_id])[lot.item_id]
    if needs_certificate(item):
        locking.lock_lots(conn, [lot.id])
        require_release_rule(item, lot, target, _results(conn, [lot.id]).get(lot.id))


def lab_results(rt: Runtime, actor: Actor, lot_ids: Collection[int]) -> dict[int, LabResult]:
    """The lab result of each lot that has a decided certificate."""
    actor.require_anywhere(Permission.VIEW)
    with rt.uow(read_only=True) as uow:
        return _results(uow.connection, lot_ids)


# --- helpers ------------------------------------------------------------------------------------


def _results(conn: Connection, lot_ids: Collection[int]) -> dict[int, LabResult]:
    return {lot: LabResult(value) for lot, value in cr.current_results(conn, lot_ids).items()}


def _lot_and_item(conn: Connection, actor: Actor, lot_id: int) -> tuple[Lot, Item]:
    lot = repo.lots_by_id(conn, actor.organization_id, [lot_id]).get(lot_id)
    if lot is None:
        raise errors.LotNotFound(f"no lot {lot_id}", lot_id=lot_id)
    return lot, repo.items_by_id(conn, actor.organization_id, [lot.item_id])[lot.item_id]


def _row(conn: Connection, actor: Actor, certificate_id: int) -> Row[Any]:
    row = cr.certificate_by_id(conn, actor.organization_id, certificate_id)
    if row is None:
        raise errors.CertificateNotFound(
            f"no certificate {certificate_id}", certificate_id=certificate_id
        )
    return row


def _view(row: Row[Any]) -> CertificateView:
    return CertificateView(
        row.id,
        row.item_id,
        row.lot_id,
        row.filename,
        row.sha256,
        int(row.size),
        row.laboratory,
        LabResult(row.lab_result),
        row.attached_by,
        row.attached_at,
        row.decided_by,
        row.decided_at,
    )
