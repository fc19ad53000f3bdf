"""``rxledger check``: recompute every balance from the ledger and verify the ledger's invariants.

Checks, in one consistent read: stored balances equal the sum of movements per (location, item,
lot); no physical location is negative; for every (item, lot) the sum over all locations, virtual
ones included, is zero; every serial's recorded location is where its last movement took it.
``check_chains`` seals and verifies every organization's audit hash chain (``services.audit``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, union_all

from rxledger.adapters import tables as t
from rxledger.domain.ledger import BalanceKey
from rxledger.services import audit
from rxledger.services.audit import ChainReport
from rxledger.services.runtime import Runtime


@dataclass(frozen=True, slots=True)
class Finding:
    check: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class IntegrityReport:
    movements: int
    balances: int
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return not self.findings

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "movements": self.movements,
            "balances": self.balances,
            "findings": [
                {"check": f.check, "message": f.message, "details": f.details}
                for f in self.findings
            ],
        }


def check(rt: Runtime) -> IntegrityReport:
    """Verify the whole database; an empty list of findings means the ledger is sound."""
    m, b = t.movements, t.balances
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        if rt.dialect == "postgresql":
            conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        flows = union_all(
            select(
                m.c.to_location_id.label("loc"), m.c.item_id, m.c.lot_id, m.c.quantity.label("q")
            ),
            select(
                m.c.from_location_id.label("loc"),
                m.c.item_id,
                m.c.lot_id,
                (-m.c.quantity).label("q"),
            ),
        ).subquery()
        recomputed: dict[BalanceKey, int] = {
            (r.loc, r.item_id, r.lot_id): int(r.total)
            for r in conn.execute(
                select(
                    flows.c.loc, flows.c.item_id, flows.c.lot_id, func.sum(flows.c.q).label("total")
                ).group_by(flows.c.loc, flows.c.item_id, flows.c.lot_id)
            )
        }
        stored: dict[BalanceKey, tuple[int, bool]] = {
            (r.location_id, r.item_id, r.lot_id): (int(r.on_hand), bool(r.is_virtual))
            for r in conn.execute(
                select(b.c.location_id, b.c.item_id, b.c.lot_id, b.c.on_hand, b.c.is_virtual)
            )
        }
        virtual = {
            r.id
            for r in conn.execute(
                select(t.locations.c.id).where(t.locations.c.is_virtual.is_(True))
            )
        }
        movement_count = int(conn.execute(select(func.count()).select_from(m)).scalar_one())
        last_serial_moves = conn.execute(
            select(m.c.serial_id, m.c.to_location_id)
            .where(m.c.serial_id.is_not(None))
            .order_by(m.c.serial_id, m.c.occurred_at, m.c.id)
        ).all()
        serial_rows = conn.execute(
            select(t.serials.c.id, t.serials.c.serial, t.serials.c.location_id)
        ).all()
    findings = _drift(recomputed, stored)
    findings += _negative(recomputed, virtual)
    findings += _conservation(recomputed)
    findings += _serials(last_serial_moves, serial_rows, virtual)
    return IntegrityReport(movement_count, len(stored), tuple(findings))


def check_chains(rt: Runtime) -> list[ChainReport]:
    """Seal what is not yet in each organization's hash chain, then verify every link; a report
    that is not ``ok`` names the first broken link (a row changed or deleted behind rxledger's
    back, even with the immutability triggers disabled)."""
    return audit.check_all(rt)


def _drift(
    recomputed: dict[BalanceKey, int], stored: dict[BalanceKey, tuple[int, bool]]
) -> list[Finding]:
    found = []
    for key in sorted(set(recomputed) | set(stored)):
        ledger = recomputed.get(key, 0)
        projection = stored.get(key, (0, False))[0]
        if ledger != projection:
            found.append(
                Finding(
                    "balance",
                    f"location {key[0]} item {key[1]} lot {key[2]}: "
                    f"stored {projection}, ledger says {ledger}",
                    {
                        "location_id": key[0],
                        "item_id": key[1],
                        "lot_id": key[2],
                        "stored": projection,
                        "ledger": ledger,
                    },
                )
            )
    return found


def _negative(recomputed: dict[BalanceKey, int], virtual: set[int]) -> list[Finding]:
    return [
        Finding(
            "negative",
            f"physical location {key[0]} item {key[1]} lot {key[2]} is at {qty}",
            {"location_id": key[0], "item_id": key[1], "lot_id": key[2], "on_hand": qty},
        )
        for key, qty in sorted(recomputed.items())
        if qty < 0 and key[0] not in virtual
    ]


def _conservation(recomputed: dict[BalanceKey, int]) -> list[Finding]:
    totals: dict[tuple[int, int], int] = defaultdict(int)
    for (_, item, lot), qty in recomputed.items():
        totals[(item, lot)] += qty
    return [
        Finding(
            "conservation",
            f"item {item} lot {lot} sums to {total}, not zero",
            {"item_id": item, "lot_id": lot, "sum": total},
        )
        for (item, lot), total in sorted(totals.items())
        if total != 0
    ]


def _serials(
    last_moves: Sequence[Any], serial_rows: Sequence[Any], virtual: set[int]
) -> list[Finding]:
    expected: dict[int, int | None] = {}
    for row in last_moves:
        expected[row.serial_id] = None if row.to_location_id in virtual else row.to_location_id
    return [
        Finding(
            "serial",
            f"serial {r.serial} is recorded at {r.location_id}, "
            f"its movements put it at {expected.get(r.id)}",
            {"serial_id": r.id, "recorded": r.location_id, "ledger": expected.get(r.id)},
        )
        for r in serial_rows
        if r.location_id != expected.get(r.id)
    ]
