"""The item master and the network: organizations, sites, locations, items, lots, reasons."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Row, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from rxledger.adapters import repository as repo
from rxledger.adapters import tables as t
from rxledger.domain import errors
from rxledger.domain.certificates import needs_certificate
from rxledger.domain.identifiers import (
    Ndc,
    is_ascii_digits,
    ndc10_candidates,
    ndc_from_gtin,
    normalize_gtin,
)
from rxledger.domain.model import (
    DeaSchedule,
    FormularyStatus,
    Item,
    Location,
    LocationType,
    Lot,
    LotStatus,
    Organization,
    Package,
    Site,
    StorageClass,
)
from rxledger.domain.permissions import Permission
from rxledger.services import audit, certificates
from rxledger.services.runtime import Actor, Runtime

# Every site gets one of each virtual location: the outside world its stock comes from and goes to.
VIRTUAL_LOCATIONS: tuple[tuple[str, str, LocationType], ...] = (
    ("SUPPLIER", "Suppliers", LocationType.SUPPLIER),
    ("PATIENT", "Patients and customers", LocationType.PATIENT),
    ("ADJUST", "Inventory adjustments", LocationType.ADJUSTMENT),
    ("WASTE", "Waste and destruction", LocationType.WASTE),
    ("TRANSIT", "In transit", LocationType.IN_TRANSIT),
    ("REVDIST", "Reverse distributor", LocationType.REVERSE_DISTRIBUTOR),
)

DEFAULT_REASON_CODES: tuple[tuple[str, str, str], ...] = (
    ("COUNT", "Cycle or physical count correction", "adjustment"),
    ("DAMAGED", "Damaged or broken", "adjustment"),
    ("EXPIRED", "Expired and written off", "adjustment"),
    ("FOUND", "Found stock", "adjustment"),
    ("LOST", "Lost or missing", "adjustment"),
    ("THEFT", "Theft or diversion (report as required)", "adjustment"),
    ("DATA_ENTRY", "Data entry error correction", "adjustment"),
    ("SAMPLE", "Manufacturer sample", "adjustment"),
    ("OPENING", "Opening balance", "adjustment"),
    ("REJECTED", "Rejected at receiving and destroyed", "destruction"),
    ("RETURNED", "Returned to the supplier through a reverse distributor", "destruction"),
    ("ILLEGITIMATE", "Illegitimate product (DSCSA): destroyed, FDA notified", "destruction"),
)


@dataclass(frozen=True, slots=True)
class PackageSpec:
    level: str
    base_units: int
    gtin: str | None = None
    ndc10: str | None = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class NewItem:
    sku: str
    name: str
    base_unit: str
    generic_name: str = ""
    strength: str = ""
    dosage_form: str = ""
    route: str = ""
    ndc10: str | None = None
    dea_schedule: DeaSchedule | None = None
    cannabis_category: str | None = None
    storage_class: StorageClass = StorageClass.ROOM
    formulary_status: FormularyStatus = FormularyStatus.FORMULARY
    atc_code: str | None = None
    lot_tracked: bool = True
    serial_tracked: bool = False
    expiry_tracked: bool = True
    standard_cost: Decimal = Decimal(0)
    packages: Sequence[PackageSpec] = field(default=())


def create_organization(rt: Runtime, code: str, name: str) -> Organization:
    """Create a tenant with the default reason codes."""
    with rt.uow() as uow:
        try:
            org_id = uow.connection.execute(
                insert(t.organizations)
                .values(code=code, name=name, created_at=rt.clock.now())
                .returning(t.organizations.c.id)
            ).scalar_one()
        except IntegrityError as exc:
            raise errors.DuplicateCode(f"organization {code} exists", code=code) from exc
        uow.connection.execute(
            insert(t.reason_codes),
            [
                {
                    "organization_id": org_id,
                    "code": c,
                    "description": d,
                    "applies_to": a,
                    "active": True,
                }
                for c, d, a in DEFAULT_REASON_CODES
            ],
        )
        uow.commit()
    return Organization(org_id, code, name)


def has_organizations(rt: Runtime) -> bool:
    """False on a database that holds no organization yet (fresh, or only migrated)."""
    with rt.uow(read_only=True) as uow:
        return uow.connection.execute(select(t.organizations.c.id).limit(1)).first() is not None


def organization_by_code(rt: Runtime, code: str | None = None) -> Organization:
    """The organization with this code, or the only one when no code is given."""
    with rt.uow(read_only=True) as uow:
        statement = select(t.organizations).order_by(t.organizations.c.id)
        if code is not None:
            statement = statement.where(t.organizations.c.code == code)
        rows = uow.connection.execute(statement.limit(2)).all()
    if not rows or (code is None and len(rows) > 1):
        raise errors.OrganizationNotFound(
            "no organization" if not rows else "several organizations: name one", code=code
        )
    return Organization(rows[0].id, rows[0].code, rows[0].name)


def create_site(
    rt: Runtime,
    actor: Actor,
    *,
    code: str,
    name: str,
    kind: str = "pharmacy",
    dea_number: str | None = None,
    state_license: str | None = None,
    gln: str | None = None,
) -> Site:
    """Create a site with its virtual locations (supplier, patient, adjustment, waste, ...)."""
    actor.require_anywhere(Permission.MANAGE_SITES)
    with rt.uow() as uow:
        conn = uow.connection
        try:
            site_id = conn.execute(
                insert(t.sites)
                .values(
                    organization_id=actor.organization_id,
                    code=code,
                    name=name,
                    kind=kind,
                    dea_number=dea_number,
                    state_license=state_license,
                    gln=gln,
                )
                .returning(t.sites.c.id)
            ).scalar_one()
        except IntegrityError as exc:
            raise errors.DuplicateCode(f"site {code} exists", code=code) from exc
        for loc_code, loc_name, type_ in VIRTUAL_LOCATIONS:
            _insert_location(conn, actor.organization_id, site_id, loc_code, loc_name, type_, None)
        after = {"code": code, "name": name, "kind": kind, "dea_number": dea_number}
        _audit(rt, conn, actor, "create site", ("site", site_id), site_id, None, after)
        uow.commit()
    return Site(site_id, actor.organization_id, code, name, kind, dea_number, state_license, gln)


def create_location(
    rt: Runtime,
    actor: Actor,
    *,
    site_id: int,
    code: str,
    name: str,
    type_: LocationType,
    parent_id: int | None = None,
) -> Location:
    """Add a physical location (area, shelf, bin) to a site's location tree."""
    actor.require(Permission.MANAGE_SITES, site_id)
    if type_.is_virtual:
        raise errors.ValidationFailed("virtual locations come with the site", type=type_.value)
    with rt.uow() as uow:
        conn = uow.connection
        if repo.site_by_id(conn, actor.organization_id, site_id) is None:
            raise errors.SiteNotFound(f"no site {site_id}", site_id=site_id)
        if parent_id is not None:
            parent = repo.locations_by_id(conn, actor.organization_id, [parent_id]).get(parent_id)
            if parent is None or parent.site_id != site_id or parent.is_virtual:
                raise errors.LocationNotFound(
                    f"no physical location {parent_id} at this site", location_id=parent_id
                )
        try:
            location_id = _insert_location(
                conn, actor.organization_id, site_id, code, name, type_, parent_id
            )
        except IntegrityError as exc:
            raise errors.DuplicateCode(f"location {code} exists at this site", code=code) from exc
        after = {"code": code, "name": name, "type": type_.value, "parent_id": parent_id}
        _audit(rt, conn, actor, "create location", ("location", location_id), site_id, None, after)
        uow.commit()
    return Location(location_id, actor.organization_id, site_id, code, name, type_, parent_id)


def _audit(
    rt: Runtime,
    conn: Connection,
    actor: Actor,
    action: str,
    subject: tuple[str, int],
    site_id: int | None,
    before: dict[str, Any] | None,
    after: dict[str, Any],
) -> None:
    audit.record(
        conn,
        actor,
        action=action,
        subject_type=subject[0],
        subject_id=subject[1],
        site_id=site_id,
        before=before,
        after=after,
        at=rt.clock.now(),
    )


def _insert_location(
    conn: Connection,
    org_id: int,
    site_id: int,
    code: str,
    name: str,
    type_: LocationType,
    parent_id: int | None,
) -> int:
    return int(
        conn.execute(
            insert(t.locations)
            .values(
                organization_id=org_id,
                site_id=site_id,
                parent_id=parent_id,
                code=code,
                name=name,
                type=type_.value,
                is_virtual=type_.is_virtual,
            )
            .returning(t.locations.c.id)
        ).scalar_one()
    )


def create_item(rt: Runtime, actor: Actor, spec: NewItem) -> Item:
    """Add an item with its pack hierarchy; NDCs and GTINs are validated and stored apart."""
    actor.require_anywhere(Permission.MANAGE_ITEMS)
    with rt.uow() as uow:
        item_id = insert_item(uow.connection, actor, spec)
        after = {"sku": spec.sku, "name": spec.name, "ndc10": spec.ndc10}
        _audit(rt, uow.connection, actor, "create item", ("item", item_id), None, None, after)
        uow.commit()
    return get_item(rt, actor, item_id)


def insert_item(conn: Connection, actor: Actor, spec: NewItem) -> int:
    """Insert an item and its packages in the caller's transaction (an approved item proposal
    creates its item with the approval); a unit level of one base unit is always there."""
    ndc = Ndc.parse(spec.ndc10) if spec.ndc10 else None
    packages = [package_values(actor, p) for p in spec.packages]
    if not any(p["base_units"] == 1 for p in packages):
        packages.insert(
            0,
            {
                "organization_id": actor.organization_id,
                "level": "unit",
                "description": spec.base_unit,
                "base_units": 1,
                "gtin": None,
                "ndc10": None,
            },
        )
    try:
        item_id = conn.execute(
            insert(t.items).values(**_item_values(actor, spec, ndc)).returning(t.items.c.id)
        ).scalar_one()
        conn.execute(insert(t.item_packages), [{**p, "item_id": item_id} for p in packages])
    except IntegrityError as exc:
        raise errors.DuplicateCode(
            f"item {spec.sku} or one of its GTINs already exists", sku=spec.sku
        ) from exc
    return int(item_id)


def _item_values(actor: Actor, spec: NewItem, ndc: Ndc | None) -> dict[str, object]:
    if spec.standard_cost < 0:
        raise errors.ValidationFailed("standard cost cannot be negative")
    return {
        "organization_id": actor.organization_id,
        "sku": spec.sku,
        "name": spec.name,
        "generic_name": spec.generic_name,
        "strength": spec.strength,
        "dosage_form": spec.dosage_form,
        "route": spec.route,
        "base_unit": spec.base_unit,
        "ndc10": ndc.ndc10 if ndc else None,
        "ndc11": ndc.ndc11 if ndc else None,
        "dea_schedule": spec.dea_schedule.value if spec.dea_schedule else None,
        "cannabis_category": spec.cannabis_category,
        "storage_class": spec.storage_class.value,
        "formulary_status": spec.formulary_status.value,
        "atc_code": spec.atc_code,
        "lot_tracked": spec.lot_tracked,
        "serial_tracked": spec.serial_tracked,
        "expiry_tracked": spec.expiry_tracked,
        "standard_cost": spec.standard_cost,
    }


def package_values(actor: Actor, package: PackageSpec) -> dict[str, object]:
    """A package level's row: a positive size, its GTIN and NDC validated and normalized."""
    if isinstance(package.base_units, bool) or package.base_units <= 0:
        raise errors.InvalidQuantity("a package holds a positive whole number of base units")
    return {
        "organization_id": actor.organization_id,
        "level": package.level,
        "description": package.description,
        "base_units": package.base_units,
        "gtin": normalize_gtin(package.gtin) if package.gtin else None,
        "ndc10": Ndc.parse(package.ndc10).ndc10 if package.ndc10 else None,
    }


def get_item(rt: Runtime, actor: Actor, item_id: int) -> Item:
    """The item master is shared by the organization: anyone with a role may read it."""
    actor.require_anywhere(Permission.VIEW)
    with rt.uow(read_only=True) as uow:
        row = uow.connection.execute(
            select(t.items).where(
                t.items.c.organization_id == actor.organization_id, t.items.c.id == item_id
            )
        ).first()
        if row is None:
            raise errors.ItemNotFound(f"no item {item_id}", item_id=item_id)
        packages = uow.connection.execute(
            select(t.item_packages)
            .where(t.item_packages.c.item_id == item_id)
            .order_by(t.item_packages.c.base_units)
        ).all()
    return repo.to_item(row, [_package(p) for p in packages])


def _package(row: Row[Any]) -> Package:
    return Package(row.level, row.base_units, row.gtin, row.ndc10, row.description)


def find_item(rt: Runtime, actor: Actor, text: str) -> Item:
    """Find one item by SKU, GTIN (any package level) or NDC (10- or 11-digit, with or without
    hyphens)."""
    actor.require_anywhere(Permission.VIEW)
    value = text.strip()
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        ids = _item_ids_for(conn, actor.organization_id, value)
    if len(ids) != 1:
        if not ids:
            raise errors.ItemNotFound(f"no item matches {value!r}", query=value)
        raise errors.ValidationFailed(
            f"{value!r} matches {len(ids)} items", query=value, item_ids=sorted(ids)
        )
    return get_item(rt, actor, ids.pop())


def _item_ids_for(conn: Connection, org_id: int, value: str) -> set[int]:
    items = t.items
    by_sku = conn.execute(
        select(items.c.id).where(items.c.organization_id == org_id, items.c.sku == value)
    ).all()
    if by_sku:
        return {r.id for r in by_sku}
    digits = value.replace("-", "")
    if not is_ascii_digits(digits):
        return set()
    conditions = []
    if len(digits) in (8, 12, 13, 14):
        try:
            gtin = normalize_gtin(digits)
        except errors.InvalidIdentifier:
            gtin = None
        if gtin:
            ids = {
                r.item_id
                for r in conn.execute(
                    select(t.item_packages.c.item_id).where(
                        t.item_packages.c.organization_id == org_id, t.item_packages.c.gtin == gtin
                    )
                )
            }
            if ids:
                return ids
            inner = ndc_from_gtin(gtin)
            if inner:
                digits = inner
    if "-" in value and len(digits) == 10:
        try:
            conditions.append(items.c.ndc11 == Ndc.parse(value).ndc11)
        except errors.InvalidIdentifier:
            return set()
    elif len(digits) == 11:
        conditions.append(items.c.ndc11 == digits)
    elif len(digits) == 10:
        conditions.append(items.c.ndc11.in_([n.ndc11 for n in ndc10_candidates(digits)]))
    if not conditions:
        return set()
    rows = conn.execute(
        select(items.c.id).where(items.c.organization_id == org_id, or_(*conditions))
    )
    return {r.id for r in rows}


def set_lot_status(rt: Runtime, actor: Actor, lot_id: int, status: LotStatus) -> Lot:
    """Put a lot on hold, quarantine, recall or release it; stock stays where it is. A cannabis
    lot is released only with a passed certificate of analysis (``CERTIFICATE_REQUIRED``)."""
    actor.require_anywhere(Permission.MANAGE_ITEMS)
    with rt.uow() as uow:
        lot = repo.lots_by_id(uow.connection, actor.organization_id, [lot_id]).get(lot_id)
        if lot is None:
            raise errors.LotNotFound(f"no lot {lot_id}", lot_id=lot_id)
        certificates.require_release(uow.connection, actor, lot, status)
        uow.connection.execute(
            update(t.lots).where(t.lots.c.id == lot_id).values(status=status.value)
        )
        before, after = {"status": lot.status.value}, {"status": status.value}
        _audit(rt, uow.connection, actor, "set lot status", ("lot", lot_id), None, before, after)
        uow.commit()
    return Lot(
        lot.id,
        lot.organization_id,
        lot.item_id,
        lot.lot_number,
        lot.expiry,
        status,
        lot.manufacturer,
    )


def find_lot(rt: Runtime, actor: Actor, item_id: int, lot_number: str) -> Lot:
    with rt.uow(read_only=True) as uow:
        lot = repo.lot_by_number(uow.connection, item_id, lot_number)
    if lot is None or lot.organization_id != actor.organization_id:
        raise errors.LotNotFound(f"no lot {lot_number!r} of item {item_id}", lot_number=lot_number)
    return lot


def create_lot(
    rt: Runtime,
    actor: Actor,
    *,
    item_id: int,
    lot_number: str,
    expiry: date | None,
    manufacturer: str | None = None,
) -> Lot:
    """Record a lot before its first receipt (receipts also create lots on first sight). A lot
    of a cannabis item starts on hold: it waits for its certificate of analysis."""
    actor.require_anywhere(Permission.MANAGE_ITEMS)
    with rt.uow() as uow:
        items = repo.items_by_id(uow.connection, actor.organization_id, [item_id])
        if item_id not in items:
            raise errors.ItemNotFound(f"no item {item_id}", item_id=item_id)
        try:
            lot = repo.insert_lot(
                uow.connection,
                org_id=actor.organization_id,
                item_id=item_id,
                lot_number=lot_number,
                expiry=expiry,
                manufacturer=manufacturer,
                created_at=rt.clock.now(),
            )
        except IntegrityError as exc:
            raise errors.DuplicateCode(f"lot {lot_number} exists", lot_number=lot_number) from exc
        if needs_certificate(items[item_id]):
            certificates.hold_uncertified(uow.connection, [lot.id], items)
            lot = repo.lots_by_id(uow.connection, actor.organization_id, [lot.id])[lot.id]
        uow.commit()
    return lot


def site_by_code(rt: Runtime, actor: Actor, code: str) -> Site:
    with rt.uow(read_only=True) as uow:
        row = uow.connection.execute(
            select(t.sites).where(
                t.sites.c.organization_id == actor.organization_id, t.sites.c.code == code
            )
        ).first()
    if row is None:
        raise errors.SiteNotFound(f"no site {code!r}", code=code)
    actor.require(Permission.VIEW, row.id)
    return repo.to_site(row)


def list_sites(rt: Runtime, actor: Actor) -> list[Site]:
    with rt.uow(read_only=True) as uow:
        rows = uow.connection.execute(
            select(t.sites)
            .where(t.sites.c.organization_id == actor.organization_id)
            .order_by(t.sites.c.code)
        ).all()
    visible = actor.visible_sites(r.id for r in rows)
    return [repo.to_site(r) for r in rows if r.id in visible]


def location_by_code(rt: Runtime, actor: Actor, site_id: int, code: str) -> Location:
    actor.require(Permission.VIEW, site_id)
    with rt.uow(read_only=True) as uow:
        row = uow.connection.execute(
            select(t.locations).where(
                t.locations.c.organization_id == actor.organization_id,
                t.locations.c.site_id == site_id,
                t.locations.c.code == code,
            )
        ).first()
    if row is None:
        raise errors.LocationNotFound(f"no location {code!r} at site {site_id}", code=code)
    return repo.to_location(row)


def list_locations(rt: Runtime, actor: Actor, site_id: int | None = None) -> list[Location]:
    with rt.uow(read_only=True) as uow:
        statement = select(t.locations).where(
            t.locations.c.organization_id == actor.organization_id
        )
        if site_id is not None:
            statement = statement.where(t.locations.c.site_id == site_id)
        rows = uow.connection.execute(
            statement.order_by(t.locations.c.site_id, t.locations.c.code)
        ).all()
    visible = actor.visible_sites(r.site_id for r in rows)
    return [repo.to_location(r) for r in rows if r.site_id in visible]


def list_reason_codes(rt: Runtime, actor: Actor) -> list[tuple[str, str]]:
    with rt.uow(read_only=True) as uow:
        rows = uow.connection.execute(
            select(t.reason_codes.c.code, t.reason_codes.c.description)
            .where(
                t.reason_codes.c.organization_id == actor.organization_id,
                t.reason_codes.c.active.is_(True),
            )
            .order_by(t.reason_codes.c.code)
        ).all()
    return [(r.code, r.description) for r in rows]


def add_reason_code(rt: Runtime, actor: Actor, code: str, description: str) -> None:
    """Add an adjustment reason to the organization's managed list."""
    actor.require_anywhere(Permission.MANAGE_SITES)
    with rt.uow() as uow:
        try:
            uow.connection.execute(
                insert(t.reason_codes).values(
                    organization_id=actor.organization_id,
                    code=code,
                    description=description,
                    applies_to="adjustment",
                    active=True,
                )
            )
        except IntegrityError as exc:
            raise errors.DuplicateCode(f"reason code {code} exists", code=code) from exc
        uow.commit()


def retire_reason_code(rt: Runtime, actor: Actor, code: str) -> None:
    """Retire a reason code: past documents keep it, new adjustments can no longer use it."""
    actor.require_anywhere(Permission.MANAGE_SITES)
    with rt.uow() as uow:
        result = uow.connection.execute(
            update(t.reason_codes)
            .where(
                t.reason_codes.c.organization_id == actor.organization_id,
                t.reason_codes.c.code == code,
            )
            .values(active=False)
        )
        if result.rowcount == 0:
            raise errors.UnknownReasonCode(f"no reason code {code!r}", reason_code=code)
        uow.commit()


def search_items(
    rt: Runtime, actor: Actor, query: str = "", *, limit: int = 50, offset: int = 0
) -> list[Item]:
    """Items whose SKU, NDC or GTIN matches exactly, else whose name or generic name contains
    the words of the query, alphabetically."""
    actor.require_anywhere(Permission.VIEW)
    if not 1 <= limit <= 500 or offset < 0:
        raise errors.ValidationFailed("limit is 1 to 500 and offset not negative")
    value = query.strip()
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        statement = select(t.items).where(t.items.c.organization_id == actor.organization_id)
        ids = _item_ids_for(conn, actor.organization_id, value) if value else set()
        if ids:
            statement = statement.where(t.items.c.id.in_(sorted(ids)))
        else:
            for word in value.lower().split()[:6]:
                pattern = f"%{word.replace('%', '').replace('_', '')}%"
                statement = statement.where(
                    func.lower(t.items.c.name).like(pattern)
                    | func.lower(t.items.c.generic_name).like(pattern)
                )
        rows = conn.execute(
            statement.order_by(t.items.c.name, t.items.c.id).limit(limit).offset(offset)
        ).all()
    return [repo.to_item(r) for r in rows]


def list_lots(rt: Runtime, actor: Actor, item_id: int) -> list[Lot]:
    """An item's lots, earliest expiry first."""
    actor.require_anywhere(Permission.VIEW)
    with rt.uow(read_only=True) as uow:
        rows = uow.connection.execute(
            select(t.lots)
            .where(t.lots.c.organization_id == actor.organization_id, t.lots.c.item_id == item_id)
            .order_by(t.lots.c.expiry, t.lots.c.id)
        ).all()
    return [repo.to_lot(r) for r in rows]


def get_lot(rt: Runtime, actor: Actor, lot_id: int) -> Lot:
    actor.require_anywhere(Permission.VIEW)
    with rt.uow(read_only=True) as uow:
        lot = repo.lots_by_id(uow.connection, actor.organization_id, [lot_id]).get(lot_id)
    if lot is None:
        raise errors.LotNotFound(f"no lot {lot_id}", lot_id=lot_id)
    return lot


def get_site(rt: Runtime, actor: Actor, site_id: int) -> Site:
    actor.require(Permission.VIEW, site_id)
    with rt.uow(read_only=True) as uow:
        site = repo.site_by_id(uow.connection, actor.organization_id, site_id)
    if site is None:
        raise errors.SiteNotFound(f"no site {site_id}", site_id=site_id)
    return site
