"""Reading and writing the ledger's tables; rows in, domain objects out. No business rules here."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Row, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from rxledger.adapters import tables as t
from rxledger.domain.ledger import BalanceKey, PlannedMovement
from rxledger.domain.model import (
    DeaSchedule,
    FormularyStatus,
    Item,
    Location,
    LocationType,
    Lot,
    LotStatus,
    Package,
    Serial,
    Site,
    StorageClass,
)

_CHUNK = 900


def _chunks(values: Collection[int]) -> Iterable[list[int]]:
    ordered = sorted(values)
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start : start + _CHUNK]


# --- mapping rows to domain objects -------------------------------------------------------------


def to_site(row: Row[Any]) -> Site:
    return Site(
        id=row.id,
        organization_id=row.organization_id,
        code=row.code,
        name=row.name,
        kind=row.kind,
        dea_number=row.dea_number,
        state_license=row.state_license,
        gln=row.gln,
    )


def to_location(row: Row[Any]) -> Location:
    return Location(
        id=row.id,
        organization_id=row.organization_id,
        site_id=row.site_id,
        code=row.code,
        name=row.name,
        type=LocationType(row.type),
        parent_id=row.parent_id,
    )


def to_item(row: Row[Any] | Any, packages: Sequence[Package] = ()) -> Item:
    return Item(
        id=row.id,
        organization_id=row.organization_id,
        sku=row.sku,
        name=row.name,
        base_unit=row.base_unit,
        generic_name=row.generic_name,
        strength=row.strength,
        dosage_form=row.dosage_form,
        route=row.route,
        ndc10=row.ndc10,
        dea_schedule=DeaSchedule(row.dea_schedule) if row.dea_schedule else None,
        cannabis_category=row.cannabis_category,
        storage_class=StorageClass(row.storage_class),
        formulary_status=FormularyStatus(row.formulary_status),
        atc_code=row.atc_code,
        lot_tracked=bool(row.lot_tracked),
        serial_tracked=bool(row.serial_tracked),
        expiry_tracked=bool(row.expiry_tracked),
        standard_cost=Decimal(row.standard_cost),
        packages=tuple(packages),
    )


def to_lot(row: Row[Any]) -> Lot:
    return Lot(
        id=row.id,
        organization_id=row.organization_id,
        item_id=row.item_id,
        lot_number=row.lot_number,
        expiry=row.expiry,
        status=LotStatus(row.status),
        manufacturer=row.manufacturer,
    )


def to_serial(row: Row[Any]) -> Serial:
    return Serial(
        id=row.id,
        organization_id=row.organization_id,
        item_id=row.item_id,
        lot_id=row.lot_id,
        gtin=row.gtin,
        serial=row.serial,
        base_units=row.base_units,
        location_id=row.location_id,
    )


# --- loading by id ------------------------------------------------------------------------------


_ITEMS_BY_ID = select(t.items).where(
    t.items.c.organization_id == bindparam("org"),
    t.items.c.id.in_(bindparam("ids", expanding=True)),
)


def items_by_id(conn: Connection, org_id: int, ids: Collection[int]) -> dict[int, Item]:
    found: dict[int, Item] = {}
    for chunk in _chunks(ids):
        rows = conn.execute(_ITEMS_BY_ID, {"org": org_id, "ids": chunk})
        found.update({r.id: to_item(r) for r in rows})
    return found


def locations_by_id(conn: Connection, org_id: int, ids: Collection[int]) -> dict[int, Location]:
    found: dict[int, Location] = {}
    for chunk in _chunks(ids):
        rows = conn.execute(
            select(t.locations).where(
                t.locations.c.organization_id == org_id, t.locations.c.id.in_(chunk)
            )
        )
        found.update({r.id: to_location(r) for r in rows})
    return found


def lots_by_id(conn: Connection, org_id: int, ids: Collection[int]) -> dict[int, Lot]:
    found: dict[int, Lot] = {}
    for chunk in _chunks(ids):
        rows = conn.execute(
            select(t.lots).where(t.lots.c.organization_id == org_id, t.lots.c.id.in_(chunk))
        )
        found.update({r.id: to_lot(r) for r in rows})
    return found


def serials_by_id(conn: Connection, org_id: int, ids: Collection[int]) -> dict[int, Serial]:
    found: dict[int, Serial] = {}
    for chunk in _chunks(ids):
        rows = conn.execute(
            select(t.serials).where(
                t.serials.c.organization_id == org_id, t.serials.c.id.in_(chunk)
            )
        )
        found.update({r.id: to_serial(r) for r in rows})
    return found


def site_by_id(conn: Connection, org_id: int, site_id: int) -> Site | None:
    row = conn.execute(
        select(t.sites).where(t.sites.c.organization_id == org_id, t.sites.c.id == site_id)
    ).first()
    return to_site(row) if row else None


def virtual_location(conn: Connection, site_id: int, type_: LocationType) -> Location | None:
    row = conn.execute(
        select(t.locations)
        .where(t.locations.c.site_id == site_id, t.locations.c.type == type_.value)
        .order_by(t.locations.c.id)
        .limit(1)
    ).first()
    return to_location(row) if row else None


# --- lots and serials ---------------------------------------------------------------------------


def lot_by_number(conn: Connection, item_id: int, lot_number: str) -> Lot | None:
    row = conn.execute(
        select(t.lots).where(t.lots.c.item_id == item_id, t.lots.c.lot_number == lot_number)
    ).first()
    return to_lot(row) if row else None


def lots_by_number(
    conn: Connection, keys: Collection[tuple[int, str]]
) -> dict[tuple[int, str], Lot]:
    """The lots of (item, lot number) pairs that exist, in one indexed read per 400 pairs."""
    found: dict[tuple[int, str], Lot] = {}
    ordered = sorted(keys)
    for start in range(0, len(ordered), 400):
        chunk = ordered[start : start + 400]
        rows = conn.execute(
            select(t.lots).where(
                or_(
                    *[
                        and_(t.lots.c.item_id == item, t.lots.c.lot_number == number)
                        for item, number in chunk
                    ]
                )
            )
        )
        found.update({(r.item_id, r.lot_number): to_lot(r) for r in rows})
    return found


def insert_lots(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert new lots in one statement; a lot a concurrent transaction committed first is kept."""
    if rows:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(t.lots).on_conflict_do_nothing(
            index_elements=["item_id", "lot_number"]
        )
        conn.execute(statement, [{"status": LotStatus.AVAILABLE.value, **r} for r in rows])


def insert_lot(
    conn: Connection,
    *,
    org_id: int,
    item_id: int,
    lot_number: str,
    expiry: date | None,
    manufacturer: str | None,
    created_at: datetime,
) -> Lot:
    """Insert a lot, or return the one a concurrent transaction just committed."""
    values = {
        "organization_id": org_id,
        "item_id": item_id,
        "lot_number": lot_number,
        "expiry": expiry,
        "manufacturer": manufacturer,
        "status": LotStatus.AVAILABLE.value,
        "created_at": created_at,
    }
    _insert_ignoring_conflict(conn, t.lots, values, ["item_id", "lot_number"])
    lot = lot_by_number(conn, item_id, lot_number)
    assert lot is not None
    return lot


def _insert_ignoring_conflict(
    conn: Connection, table: Any, values: Mapping[str, Any], keys: list[str]
) -> None:
    """INSERT ... ON CONFLICT DO NOTHING: a racing insert of the same key waits, then yields."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(table).values(**values).on_conflict_do_nothing(index_elements=keys))


def serial_by_key(conn: Connection, org_id: int, gtin: str, serial: str) -> Serial | None:
    row = conn.execute(
        select(t.serials).where(
            t.serials.c.organization_id == org_id,
            t.serials.c.gtin == gtin,
            t.serials.c.serial == serial,
        )
    ).first()
    return to_serial(row) if row else None


def insert_serial(
    conn: Connection, *, org_id: int, item_id: int, lot_id: int, gtin: str, serial: str, units: int
) -> Serial:
    """Insert a serial instance, or return the one a concurrent transaction just committed."""
    values = {
        "organization_id": org_id,
        "item_id": item_id,
        "lot_id": lot_id,
        "gtin": gtin,
        "serial": serial,
        "base_units": units,
        "location_id": None,
    }
    _insert_ignoring_conflict(conn, t.serials, values, ["organization_id", "gtin", "serial"])
    found = serial_by_key(conn, org_id, gtin, serial)
    assert found is not None
    return found


def set_serial_locations(conn: Connection, moves: Mapping[int, int | None]) -> None:
    for serial_id, location_id in sorted(moves.items()):
        conn.execute(
            update(t.serials).where(t.serials.c.id == serial_id).values(location_id=location_id)
        )


def active_reason_codes(conn: Connection, org_id: int) -> set[str]:
    rows = conn.execute(
        select(t.reason_codes.c.code).where(
            t.reason_codes.c.organization_id == org_id, t.reason_codes.c.active.is_(True)
        )
    )
    return {r.code for r in rows}


# --- documents and movements --------------------------------------------------------------------


def document_by_key(conn: Connection, org_id: int, key: str) -> Row[Any] | None:
    return conn.execute(
        select(t.documents).where(
            t.documents.c.organization_id == org_id, t.documents.c.idempotency_key == key
        )
    ).first()


def document_by_id(conn: Connection, org_id: int, doc_id: int) -> Row[Any] | None:
    return conn.execute(
        select(t.documents).where(
            t.documents.c.organization_id == org_id, t.documents.c.id == doc_id
        )
    ).first()


def reversal_of(conn: Connection, doc_id: int) -> int | None:
    return conn.execute(
        select(t.documents.c.id).where(t.documents.c.reverses_id == doc_id)
    ).scalar_one_or_none()


_INSERT_DOCUMENT = insert(t.documents).returning(t.documents.c.id)
_INSERT_MOVEMENTS = insert(t.movements)


def insert_document(conn: Connection, values: Mapping[str, Any]) -> int:
    return int(conn.execute(_INSERT_DOCUMENT, dict(values)).scalar_one())


def insert_movements(
    conn: Connection,
    *,
    org_id: int,
    document_id: int,
    occurred_at: datetime,
    recorded_at: datetime,
    movements: Sequence[PlannedMovement],
) -> None:
    if not movements:  # a count that confirms the balance moves nothing
        return
    conn.execute(
        _INSERT_MOVEMENTS,
        [
            {
                "organization_id": org_id,
                "document_id": document_id,
                "line_no": m.line_no,
                "item_id": m.item_id,
                "lot_id": m.lot_id,
                "serial_id": m.serial_id,
                "from_location_id": m.from_location_id,
                "to_location_id": m.to_location_id,
                "quantity": m.quantity,
                "reason_code": m.reason_code,
                "note": m.note,
                "occurred_at": occurred_at,
                "recorded_at": recorded_at,
            }
            for m in movements
        ],
    )


def movements_of(conn: Connection, doc_ids: Collection[int]) -> list[PlannedMovement]:
    rows = conn.execute(
        select(t.movements)
        .where(t.movements.c.document_id.in_(sorted(doc_ids)))
        .order_by(t.movements.c.document_id, t.movements.c.id)
    )
    return [
        PlannedMovement(
            r.line_no,
            r.item_id,
            r.lot_id,
            r.from_location_id,
            r.to_location_id,
            r.quantity,
            r.serial_id,
            r.reason_code,
            r.note,
        )
        for r in rows
    ]


def related_documents(conn: Connection, doc_id: int) -> list[Row[Any]]:
    """Documents that point at this one (transfer receipts, dispense returns), and reversals
    of it and of them."""
    direct = conn.execute(select(t.documents).where(t.documents.c.related_id == doc_id)).all()
    ids = [doc_id, *(d.id for d in direct)]
    reversals = conn.execute(select(t.documents).where(t.documents.c.reverses_id.in_(ids))).all()
    return [*direct, *reversals]


# --- balances -----------------------------------------------------------------------------------


_ADD_TO_BALANCE = (
    update(t.balances)
    .where(
        t.balances.c.location_id == bindparam("k_location"),
        t.balances.c.item_id == bindparam("k_item"),
        t.balances.c.lot_id == bindparam("k_lot"),
    )
    .values(on_hand=t.balances.c.on_hand + bindparam("delta"))
)


def apply_deltas(
    conn: Connection,
    *,
    org_id: int,
    deltas: Mapping[BalanceKey, int],
    existing: Collection[BalanceKey],
    locations: Mapping[int, Location],
) -> None:
    """Add each delta to its balance row, in key order; rows not yet present are inserted."""
    updates = [
        {"k_location": k[0], "k_item": k[1], "k_lot": k[2], "delta": d}
        for k, d in sorted(deltas.items())
        if k in existing
    ]
    if updates:
        conn.execute(_ADD_TO_BALANCE, updates)
    new_rows = [
        {
            "location_id": key[0],
            "item_id": key[1],
            "lot_id": key[2],
            "organization_id": org_id,
            "site_id": locations[key[0]].site_id,
            "is_virtual": locations[key[0]].is_virtual,
            "on_hand": delta,
            "reserved": 0,
        }
        for key, delta in sorted(deltas.items())
        if key not in existing
    ]
    if new_rows:
        conn.execute(_upsert_statement(conn.dialect.name), new_rows)


_UPSERTS: dict[str, Any] = {}


def _upsert_statement(dialect_name: str) -> Any:
    """INSERT a balance row, or add to it when a concurrent posting created it first.

    Built once per dialect so SQLAlchemy compiles it once and sends new rows as one batch.
    """
    if dialect_name not in _UPSERTS:
        dialect = postgresql if dialect_name == "postgresql" else sqlite
        statement = dialect.insert(t.balances)
        _UPSERTS[dialect_name] = statement.on_conflict_do_update(
            index_elements=["location_id", "item_id", "lot_id"],
            set_={"on_hand": t.balances.c.on_hand + statement.excluded.on_hand},
        )
    return _UPSERTS[dialect_name]


def lots_at(
    conn: Connection, scopes: Collection[tuple[int, int]]
) -> dict[tuple[int, int], set[int]]:
    """The lots with a balance row at each (location, item), read without locking."""
    b = t.balances.c
    found: dict[tuple[int, int], set[int]] = {}
    ordered = sorted(scopes)
    for start in range(0, len(ordered), 400):
        chunk = ordered[start : start + 400]
        rows = conn.execute(
            select(b.location_id, b.item_id, b.lot_id).where(
                or_(*[and_(b.location_id == loc, b.item_id == item) for loc, item in chunk])
            )
        )
        for r in rows:
            found.setdefault((r.location_id, r.item_id), set()).add(r.lot_id)
    return found


def lots_of_balances(conn: Connection, org_id: int, keys: Iterable[BalanceKey]) -> dict[int, Lot]:
    return lots_by_id(conn, org_id, {k[2] for k in keys})


def count_rows(conn: Connection, table: Any) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())
