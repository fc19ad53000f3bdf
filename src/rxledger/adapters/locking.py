"""All row locking of the ledger lives here: balance rows are locked in primary-key order.

A posting transaction locks every balance row it will read or change in one statement, sorted by
(location, item, lot), so two transactions never wait on each other in opposite orders. On SQLite
the whole write transaction already holds the database's single write lock (``BEGIN IMMEDIATE``),
and ``FOR UPDATE`` is not rendered.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Connection, and_, or_, select, tuple_

from rxledger.adapters.tables import balances
from rxledger.domain.ledger import BalanceKey

_CHUNK = 500


def lock_balances(
    connection: Connection,
    keys: Collection[BalanceKey],
    scopes: Collection[tuple[int, int]] = (),
) -> dict[BalanceKey, int]:
    """Lock and read the on-hand of the given keys and of every lot of the (location, item) scopes.

    Keys with no balance row yet are absent from the result (their on-hand is zero).
    """
    if not keys and not scopes:
        return {}
    key_list = sorted(keys)
    scope_list = sorted(scopes)
    conditions = []
    for start in range(0, len(key_list), _CHUNK):
        chunk = key_list[start : start + _CHUNK]
        conditions.append(
            tuple_(balances.c.location_id, balances.c.item_id, balances.c.lot_id).in_(chunk)
        )
    for start in range(0, len(scope_list), _CHUNK):
        pairs = scope_list[start : start + _CHUNK]
        conditions.append(tuple_(balances.c.location_id, balances.c.item_id).in_(pairs))
    statement = (
        select(balances.c.location_id, balances.c.item_id, balances.c.lot_id, balances.c.on_hand)
        .where(or_(*conditions) if len(conditions) > 1 else and_(*conditions))
        .order_by(balances.c.location_id, balances.c.item_id, balances.c.lot_id)
        .with_for_update()
    )
    return {(r.location_id, r.item_id, r.lot_id): r.on_hand for r in connection.execute(statement)}
