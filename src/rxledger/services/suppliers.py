"""Suppliers and what they sell: lead time, minimum order, GLN, and packs with prices.

Suppliers are shared by the organization, like the item master: buyers and managers (anyone
with ``manage_suppliers`` at some site) maintain them, everyone with a role reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from rxledger.adapters import purchasing_repository as pr
from rxledger.adapters import repository as repo
from rxledger.domain import errors
from rxledger.domain.identifiers import normalize_gtin
from rxledger.domain.permissions import Permission
from rxledger.domain.purchasing import (
    Supplier,
    SupplierItem,
    check_pack,
    check_supplier_terms,
    parse_gln,
)
from rxledger.services.runtime import Actor, Runtime


@dataclass(frozen=True, slots=True)
class NewSupplier:
    code: str
    name: str
    lead_time_days: int = 1
    minimum_order_value: Decimal = Decimal(0)
    gln: str | None = None


@dataclass(frozen=True, slots=True)
class NewSupplierItem:
    item_id: int
    pack_units: int
    pack_price: Decimal
    order_multiple: int = 1
    supplier_sku: str | None = None
    gtin: str | None = None


@dataclass(frozen=True, slots=True)
class SupplierItemView:
    """A supplier item with the item master's names, for lists and order forms."""

    supplier_item: SupplierItem
    sku: str
    item_name: str
    strength: str
    base_unit: str
    formulary_status: str

    @property
    def id(self) -> int:
        return self.supplier_item.id


@dataclass(frozen=True, slots=True)
class SupplierView:
    supplier: Supplier
    items: tuple[SupplierItemView, ...]


def create_supplier(rt: Runtime, actor: Actor, spec: NewSupplier) -> Supplier:
    """Add a supplier: a unique code, a name, a lead time in days, a minimum order value and an
    optional GLN (13 digits, valid check digit)."""
    actor.require_anywhere(Permission.MANAGE_SUPPLIERS)
    code, name = spec.code.strip(), spec.name.strip()
    if not code or not name or len(code) > 40 or len(name) > 200:
        raise errors.ValidationFailed("a supplier needs a code (≤ 40) and a name (≤ 200)")
    check_supplier_terms(spec.lead_time_days, spec.minimum_order_value)
    gln = parse_gln(spec.gln)
    with rt.uow() as uow:
        values = {
            "organization_id": actor.organization_id,
            "code": code,
            "name": name,
            "gln": gln,
            "lead_time_days": spec.lead_time_days,
            "minimum_order_value": spec.minimum_order_value,
            "active": True,
            "created_at": rt.clock.now(),
        }
        try:
            supplier_id = pr.insert_supplier(uow.connection, values)
        except IntegrityError as exc:
            raise errors.DuplicateCode(f"supplier {code} exists", code=code) from exc
        uow.commit()
    return Supplier(
        supplier_id,
        actor.organization_id,
        code,
        name,
        gln,
        spec.lead_time_days,
        spec.minimum_order_value,
    )


def add_supplier_item(
    rt: Runtime, actor: Actor, supplier_id: int, spec: NewSupplierItem
) -> SupplierItemView:
    """Offer an item at a supplier in a pack of ``pack_units`` base units, at a pack price, ordered
    in multiples of ``order_multiple`` packs; one offer per (supplier, item, pack size)."""
    actor.require_anywhere(Permission.MANAGE_SUPPLIERS)
    check_pack(spec.pack_units, spec.pack_price, spec.order_multiple)
    gtin = normalize_gtin(spec.gtin) if spec.gtin else None
    sku = (spec.supplier_sku or "").strip() or None
    with rt.uow() as uow:
        conn = uow.connection
        _supplier(conn, actor, supplier_id)
        item = repo.items_by_id(conn, actor.organization_id, [spec.item_id]).get(spec.item_id)
        if item is None:
            raise errors.ItemNotFound(f"no item {spec.item_id}", item_id=spec.item_id)
        values = {
            "organization_id": actor.organization_id,
            "supplier_id": supplier_id,
            "item_id": item.id,
            "supplier_sku": sku,
            "pack_units": spec.pack_units,
            "pack_price": spec.pack_price,
            "order_multiple": spec.order_multiple,
            "gtin": gtin,
            "active": True,
        }
        try:
            offer_id = pr.insert_supplier_item(conn, values)
        except IntegrityError as exc:
            raise errors.DuplicateCode(
                f"the supplier already sells {item.name} in packs of {spec.pack_units}",
                item_id=item.id,
                pack_units=spec.pack_units,
            ) from exc
        uow.commit()
    offer = SupplierItem(
        offer_id,
        supplier_id,
        item.id,
        spec.pack_units,
        spec.pack_price,
        spec.order_multiple,
        sku,
        gtin,
    )
    return SupplierItemView(
        offer, item.sku, item.name, item.strength, item.base_unit, item.formulary_status.value
    )


def list_suppliers(rt: Runtime, actor: Actor) -> list[Supplier]:
    """The organization's suppliers by code (anyone with a role)."""
    actor.require_anywhere(Permission.VIEW)
    with rt.uow(read_only=True) as uow:
        return pr.suppliers_of(uow.connection, actor.organization_id)


def get_supplier(rt: Runtime, actor: Actor, supplier_id: int) -> SupplierView:
    """A supplier with every item it sells."""
    actor.require_anywhere(Permission.VIEW)
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        supplier = _supplier(conn, actor, supplier_id)
        offers = pr.supplier_items_of(conn, [supplier_id])
        items = repo.items_by_id(conn, actor.organization_id, {o.item_id for o in offers})
    views = [
        SupplierItemView(
            o,
            items[o.item_id].sku,
            items[o.item_id].name,
            items[o.item_id].strength,
            items[o.item_id].base_unit,
            items[o.item_id].formulary_status.value,
        )
        for o in offers
    ]
    views.sort(key=lambda v: (v.item_name, v.supplier_item.pack_units))
    return SupplierView(supplier, tuple(views))


def supplier_by_code(rt: Runtime, actor: Actor, code: str) -> Supplier:
    actor.require_anywhere(Permission.VIEW)
    with rt.uow(read_only=True) as uow:
        found = pr.supplier_by_code(uow.connection, actor.organization_id, code)
    if found is None:
        raise errors.SupplierNotFound(f"no supplier {code!r}", code=code)
    return found


def _supplier(conn: Connection, actor: Actor, supplier_id: int) -> Supplier:
    found = pr.supplier_by_id(conn, actor.organization_id, supplier_id)
    if found is None:
        raise errors.SupplierNotFound(f"no supplier {supplier_id}", supplier_id=supplier_id)
    return found
