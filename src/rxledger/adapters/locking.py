"""All row locking of the ledger lives here: balance rows are locked in primary-key order.

A posting transaction locks every balance row it will read or change in one statement, sorted by
(location, item, lot), so two transactions never wait on each other in opposite orders. On SQLite
the whole write transaction already holds the database's single write lock (``BEGIN IMMEDIATE``),
and ``FOR UPDATE`` is not rendered.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, Select, and_, bindparam, or_, select

from rxledger.adapters.repository import to_item, to_lot
from rxledger.adapters.tables import balances, items, lots
from rxledger.domain.ledger import BalanceKey
from rxledger.domain.model import Item, Lot

_CHUNK = 400
# The lot's own item_id is the balance row's; selecting it twice would make the name ambiguous.
_LOT_COLUMNS = (
    lots.c.id,
    lots.c.organization_id,
    lots.c.lot_number,
    lots.c.expiry,
    lots.c.manufacturer,
    lots.c.status,
)
# The item of each row comes along, so a posting needs no separate round trip for its items.
_ITEM_PREFIX = "item__"
_ITEM_COLUMNS = tuple(c.label(f"{_ITEM_PREFIX}{c.name}") for c in items.c)


@dataclass(frozen=True, slots=True)
class Follower:
    """The rows at ``target`` of every lot of ``item`` that has a balance row at ``source``.

    A first-expiry-first-out move does not know its lots before it locks the source; locking the
    target rows of exactly those lots in the same statement keeps the whole lock set in key order
    (locking the whole target scope instead would, at a patient location, mean every lot ever
    dispensed).
    """

    source: int
    target: int
    item: int


@dataclass(frozen=True, slots=True)
class Locked:
    on_hand: dict[BalanceKey, int]
    lots: dict[int, Lot]
    items: dict[int, Item]


def lock_balances(
    connection: Connection,
    org_id: int,
    keys: Collection[BalanceKey] = (),
    scopes: Collection[tuple[int, int]] = (),
    followers: Collection[Follower] = (),
) -> Locked:
    """Lock and read the balance rows of the keys, of every lot of the (location, item) scopes and
    of the followers, with their lots, in one key-ordered statement per chunk.

    Keys with no balance row yet are absent from the result (their on-hand is zero). Conditions
    are equalities on the primary key's columns, which both engines answer from the index; a
    row-value ``IN`` makes SQLite scan the table.
    """
    ordered_keys = sorted(keys)
    ordered_scopes = sorted(scopes)
    ordered_followers = sorted(followers, key=lambda f: (f.source, f.target, f.item))
    result = Locked({}, {}, {})
    # Chunks keep very large documents under the engines' parameter limits; a typical posting is
    # one statement, compiled once per shape and then served from SQLAlchemy's cache.
    for start in range(
        0, max(len(ordered_keys), len(ordered_scopes), len(ordered_followers)), _CHUNK
    ):
        k = ordered_keys[start : start + _CHUNK]
        s = ordered_scopes[start : start + _CHUNK]
        f = ordered_followers[start : start + _CHUNK]
        params: dict[str, int] = {}
        for n, (loc, item, lot) in enumerate(k):
            params |= {f"k{n}_loc": loc, f"k{n}_item": item, f"k{n}_lot": lot}
        for n, (loc, item) in enumerate(s):
            params |= {f"s{n}_loc": loc, f"s{n}_item": item}
        for n, fol in enumerate(f):
            params |= {f"f{n}_src": fol.source, f"f{n}_tgt": fol.target, f"f{n}_item": fol.item}
        params["org"] = org_id
        rows: list[Row[Any]] = list(
            connection.execute(_lock_statement(len(k), len(s), len(f)), params)
        )
        for row in rows:
            result.on_hand[(row.location_id, row.item_id, row.lot_id)] = row.on_hand
            if row.lot_id not in result.lots:
                result.lots[row.lot_id] = to_lot(row)
            if row.item_id not in result.items:
                result.items[row.item_id] = to_item(_ItemColumns(row))
    return result


@functools.lru_cache(maxsize=256)
def _lock_statement(keys: int, scopes: int, followers: int) -> Select[Any]:
    """The locking SELECT for a number of keys, scopes and followers, with named parameters."""
    b = balances.c
    at_source = balances.alias("at_source")
    conditions: list[ColumnElement[bool]] = [
        and_(
            b.location_id == bindparam(f"k{n}_loc"),
            b.item_id == bindparam(f"k{n}_item"),
            b.lot_id == bindparam(f"k{n}_lot"),
        )
        for n in range(keys)
    ]
    conditions += [
        and_(b.location_id == bindparam(f"s{n}_loc"), b.item_id == bindparam(f"s{n}_item"))
        for n in range(scopes)
    ]
    conditions += [
        and_(
            b.location_id == bindparam(f"f{n}_tgt"),
            b.item_id == bindparam(f"f{n}_item"),
            b.lot_id.in_(
                select(at_source.c.lot_id).where(
                    at_source.c.location_id == bindparam(f"f{n}_src"),
                    at_source.c.item_id == bindparam(f"f{n}_item"),
                )
            ),
        )
        for n in range(followers)
    ]
    return (
        select(b.location_id, b.item_id, b.lot_id, b.on_hand, *_LOT_COLUMNS, *_ITEM_COLUMNS)
        .join(lots, and_(lots.c.id == b.lot_id, lots.c.organization_id == bindparam("org")))
        .join(items, and_(items.c.id == b.item_id, items.c.organization_id == bindparam("org")))
        .where(or_(*conditions))
        .order_by(b.location_id, b.item_id, b.lot_id)
        .with_for_update(of=balances)
    )


class _ItemColumns:
    """A row's item columns under their own names, as ``to_item`` reads them."""

    __slots__ = ("_row",)

    def __init__(self, row: Row[Any]) -> None:
        self._row = row

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, _ITEM_PREFIX + name)


def lock_receiving_session(connection: Connection, session_id: int) -> str | None:
    """Lock a receiving session's row (scans and the close of one session queue on it); its
    status, or None when there is no such session."""
    from rxledger.adapters.tables_receiving import receiving_sessions

    c = receiving_sessions.c
    status = connection.execute(
        select(c.status).where(c.id == session_id).with_for_update()
    ).scalar_one_or_none()
    return None if status is None else str(status)


def lock_requisition(connection: Connection, requisition_id: int) -> str | None:
    """Lock a requisition's row (two approvers deciding at once queue on it); its status, or None
    when there is no such requisition."""
    from rxledger.adapters.tables_receiving import requisitions

    c = requisitions.c
    status = connection.execute(
        select(c.status).where(c.id == requisition_id).with_for_update()
    ).scalar_one_or_none()
    return None if status is None else str(status)


def lock_purchase_order(connection: Connection, order_id: int) -> str | None:
    """Lock a purchase order's row (receipts, closing and cancelling of one PO queue on it); its
    status, or None when there is no such PO. A receipt takes it after its balance locks, and
    nothing that holds it waits for a balance, so the two never wait on each other in a cycle."""
    from rxledger.adapters.tables_receiving import purchase_orders

    c = purchase_orders.c
    status = connection.execute(
        select(c.status).where(c.id == order_id).with_for_update()
    ).scalar_one_or_none()
    return None if status is None else str(status)


def lock_site_numbering(connection: Connection, site_id: int) -> None:
    """Serialize the numbering of a site's purchase orders on its site row. ``FOR NO KEY UPDATE``
    on PostgreSQL: it does not block postings, whose foreign keys take ``FOR KEY SHARE``."""
    from rxledger.adapters.tables import sites

    connection.execute(
        select(sites.c.id).where(sites.c.id == site_id).with_for_update(key_share=True)
    ).first()


def lock_lots(connection: Connection, lot_ids: Collection[int]) -> list[Row[Any]]:
    """Lock lot rows in id order (a lab result and a receipt of the same lot queue on it) and
    return them. ``FOR NO KEY UPDATE`` on PostgreSQL: movements' foreign keys, which take
    ``FOR KEY SHARE``, are not blocked, so postings of the lot go on."""
    return list(
        connection.execute(
            select(lots)
            .where(lots.c.id.in_(sorted(lot_ids)))
            .order_by(lots.c.id)
            .with_for_update(key_share=True)
        )
    )
