"""All row locking of the ledger lives here: balance rows are locked in primary-key order.

A posting transaction locks every balance row it will read or change in one statement, sorted by
(location, item, lot), so two transactions never wait on each other in opposite orders. On SQLite
the whole write transaction already holds the database's single write lock (``BEGIN IMMEDIATE``),
and ``FOR UPDATE`` is not rendered.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import ColumnElement, Connection, and_, or_, select

from rxledger.adapters.tables import balances
from rxledger.domain.ledger import BalanceKey

_CHUNK = 400


def lock_balances(
    connection: Connection,
    keys: Collection[BalanceKey],
    scopes: Collection[tuple[int, int]] = (),
) -> dict[BalanceKey, int]:
    """Lock and read the on-hand of the given keys and of every lot of the (location, item) scopes.

    Keys with no balance row yet are absent from the result (their on-hand is zero). Conditions
    are equalities on the primary key's columns, which both engines answer from the index; a
    row-value ``IN`` makes SQLite scan the table.
    """
    b = balances.c
    conditions: list[ColumnElement[bool]] = [
        and_(b.location_id == loc, b.item_id == item, b.lot_id == lot)
        for loc, item, lot in sorted(keys)
    ]
    conditions += [and_(b.location_id == loc, b.item_id == item) for loc, item in sorted(scopes)]
    found: dict[BalanceKey, int] = {}
    for start in range(0, len(conditions), _CHUNK):
        statement = (
            select(b.location_id, b.item_id, b.lot_id, b.on_hand)
            .where(or_(*conditions[start : start + _CHUNK]))
            .order_by(b.location_id, b.item_id, b.lot_id)
            .with_for_update()
        )
        for row in connection.execute(statement):
            found[(row.location_id, row.item_id, row.lot_id)] = row.on_hand
    return found
