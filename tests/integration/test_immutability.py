"""Posted rows are protected by the database itself; balances are a projection `check` verifies."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError, NotSupportedError

from rxledger.adapters import tables as t
from rxledger.services import catalog, integrity
from rxledger.services.integrity import Finding
from rxledger.services.runtime import Runtime
from tests.builders import Network, build_network

IMMUTABLE = "rxledger: posted rows are immutable"


@pytest.fixture
def net(rt: Runtime) -> Network:
    # given a receipt and a dispense on the ledger
    net = build_network(rt)
    item = net.item()
    net.receive(item, 50)
    net.dispense(item, 20)
    return net


def rows(rt: Runtime, table: Any) -> list[tuple[Any, ...]]:
    with rt.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(table).order_by(table.c.id))]


def attempt(rt: Runtime, sql: str) -> DBAPIError:
    """Run one raw statement in its own transaction and return how the database refused it."""
    error = NotSupportedError if "TRUNCATE" in sql and "CASCADE" not in sql else IntegrityError
    with pytest.raises((IntegrityError, error)) as refused, rt.engine.begin() as conn:
        conn.execute(text(sql))
    return refused.value


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE movements SET quantity = quantity + 1",
        "UPDATE movements SET quantity = 999 WHERE id = (SELECT MIN(id) FROM movements)",
        "UPDATE movements SET to_location_id = from_location_id + 0, note = 'edited'",
        "DELETE FROM movements",
        "DELETE FROM movements WHERE id = (SELECT MAX(id) FROM movements)",
    ],
)
def test_movements_cannot_be_changed_or_deleted(net: Network, sql: str) -> None:
    # given
    before = rows(net.rt, t.movements)
    assert len(before) == 2
    # when
    refused = attempt(net.rt, sql)
    # then
    assert IMMUTABLE in str(refused.orig)
    assert rows(net.rt, t.movements) == before
    assert integrity.check(net.rt).ok


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE documents SET note = 'changed after posting'",
        "UPDATE documents SET posted_by = 'x' WHERE id = (SELECT MIN(id) FROM documents)",
        "UPDATE documents SET idempotency_key = idempotency_key",
        "DELETE FROM documents",
        "DELETE FROM documents WHERE id = (SELECT MAX(id) FROM documents)",
    ],
)
def test_documents_cannot_be_changed_or_deleted(net: Network, sql: str) -> None:
    # given
    before = rows(net.rt, t.documents)
    assert len(before) == 2
    # when
    refused = attempt(net.rt, sql)
    # then
    assert IMMUTABLE in str(refused.orig)
    assert rows(net.rt, t.documents) == before


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
@pytest.mark.parametrize(
    "sql", ["TRUNCATE movements", "TRUNCATE documents CASCADE", "TRUNCATE movements, documents"]
)
def test_truncate_is_refused_on_postgresql(net: Network, sql: str) -> None:
    # given (SQLite has no TRUNCATE)
    assert net.rt.dialect == "postgresql"
    documents, movements = rows(net.rt, t.documents), rows(net.rt, t.movements)
    # when
    refused = attempt(net.rt, sql)
    # then it is refused, by the trigger, or (without CASCADE) first by the foreign keys of the
    # tables that point at documents (PO receipts, receiving sessions)
    message = str(refused.orig)
    assert (IMMUTABLE in message and "TRUNCATE" in message) or (
        "CASCADE" not in sql and "referenced in a foreign key constraint" in message
    )
    assert rows(net.rt, t.documents) == documents
    assert rows(net.rt, t.movements) == movements


def test_new_rows_may_still_be_appended(net: Network) -> None:
    # given the triggers
    item = net.item("Drug B")
    # when
    net.receive(item, 5)
    # then
    assert len(rows(net.rt, t.movements)) == 3


def _storage_key(net: Network) -> tuple[int, int, int]:
    with net.rt.engine.connect() as conn:
        row = conn.execute(
            select(t.balances.c.location_id, t.balances.c.item_id, t.balances.c.lot_id).where(
                t.balances.c.location_id == net.central.storage.id
            )
        ).one()
    return row.location_id, row.item_id, row.lot_id


def test_check_finds_a_balance_edited_behind_the_ledgers_back(net: Network) -> None:
    # given a sound ledger
    assert integrity.check(net.rt).ok
    location_id, item_id, lot_id = _storage_key(net)
    # when someone with SQL access adds 5 to the projection
    with net.rt.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE balances SET on_hand = on_hand + 5 "
                "WHERE location_id = :l AND item_id = :i AND lot_id = :lot"
            ),
            {"l": location_id, "i": item_id, "lot": lot_id},
        )
    report = integrity.check(net.rt)
    # then exactly that key is reported, with both numbers
    assert not report.ok
    assert report.findings == (
        Finding(
            "balance",
            f"location {location_id} item {item_id} lot {lot_id}: stored 35, ledger says 30",
            {
                "location_id": location_id,
                "item_id": item_id,
                "lot_id": lot_id,
                "stored": 35,
                "ledger": 30,
            },
        ),
    )
    assert report.as_dict()["ok"] is False


def test_check_finds_a_deleted_balance_row(net: Network) -> None:
    # given
    location_id, item_id, lot_id = _storage_key(net)
    # when the projection row disappears
    with net.rt.engine.begin() as conn:
        conn.execute(
            text("DELETE FROM balances WHERE location_id = :l AND item_id = :i AND lot_id = :lot"),
            {"l": location_id, "i": item_id, "lot": lot_id},
        )
    report = integrity.check(net.rt)
    # then
    assert [(f.check, f.details) for f in report.findings] == [
        (
            "balance",
            {
                "location_id": location_id,
                "item_id": item_id,
                "lot_id": lot_id,
                "stored": 0,
                "ledger": 30,
            },
        )
    ]


def test_check_finds_a_stray_balance_row_on_a_virtual_location(net: Network) -> None:
    # given a lot and the waste location, which no movement ever touched
    item_id = _storage_key(net)[1]
    lot = catalog.find_lot(net.rt, net.actor, item_id, "L1")
    waste = catalog.location_by_code(net.rt, net.actor, net.central.id, "WASTE")
    # when a balance row is invented there
    with net.rt.engine.begin() as conn:
        conn.execute(
            t.balances.insert().values(
                location_id=waste.id,
                item_id=item_id,
                lot_id=lot.id,
                organization_id=net.actor.organization_id,
                site_id=net.central.id,
                is_virtual=True,
                on_hand=-7,
                reserved=0,
            )
        )
    report = integrity.check(net.rt)
    # then
    assert [f.details for f in report.findings] == [
        {"location_id": waste.id, "item_id": item_id, "lot_id": lot.id, "stored": -7, "ledger": 0}
    ]


def test_a_physical_balance_cannot_be_set_negative(net: Network) -> None:
    # given
    location_id, item_id, lot_id = _storage_key(net)
    # when / then the check constraint refuses it
    refused = attempt(
        net.rt,
        f"UPDATE balances SET on_hand = -1 "
        f"WHERE location_id = {location_id} AND item_id = {item_id} AND lot_id = {lot_id}",
    )
    assert "physical_not_negative" in str(refused.orig)
    assert integrity.check(net.rt).ok
