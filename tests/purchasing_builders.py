"""Builders for purchasing: people by role at CENTRAL, a supplier with an offer, and orders placed
through the services (requisition, submit, approve) like any real caller."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from decimal import Decimal

from rxledger.domain.model import Item
from rxledger.domain.permissions import Actor, Grant, Role
from rxledger.domain.purchasing import Supplier
from rxledger.services import purchasing
from rxledger.services.purchasing import (
    NewRequisition,
    NewSupplier,
    NewSupplierItem,
    PurchaseOrderView,
    RequisitionLineSpec,
    RequisitionView,
    SupplierItemView,
)
from tests.builders import Network, SiteFixture

_codes = itertools.count(1)


def person(net: Network, name: str, role: Role, site: SiteFixture | None = None) -> Actor:
    """An actor with one role at a site (CENTRAL by default); no account needed by the services."""
    where = (site or net.central).id
    return Actor(net.actor.organization_id, name, None, (Grant(role, where),))


@dataclass
class Buying:
    """A supplier selling one item, a buyer who orders it and a pharmacist who approves."""

    net: Network
    item: Item
    supplier: Supplier
    offer: SupplierItemView
    buyer: Actor
    pharmacist: Actor

    def buyer_at(self, site: SiteFixture | None) -> Actor:
        return self.buyer if site is None else person(self.net, "buyer-x", Role.BUYER, site)

    def requisition(
        self, packs: int, *, offer: SupplierItemView | None = None, site: SiteFixture | None = None
    ) -> RequisitionView:
        chosen = offer or self.offer
        return purchasing.create_requisition(
            self.net.rt,
            self.buyer_at(site),
            NewRequisition(
                (site or self.net.central).id,
                chosen.supplier_item.supplier_id,
                [RequisitionLineSpec(chosen.id, packs)],
                note="weekly order",
            ),
        )

    def order(
        self, packs: int, *, offer: SupplierItemView | None = None, site: SiteFixture | None = None
    ) -> PurchaseOrderView:
        """A placed purchase order: drafted, submitted and, when needed, approved."""
        draft = self.requisition(packs, offer=offer, site=site)
        submitted = purchasing.submit_requisition(self.net.rt, self.buyer_at(site), draft.id)
        if submitted.status == "submitted":
            approver = (
                self.pharmacist
                if site is None
                else person(self.net, "pharm-x", Role.PHARMACIST, site)
            )
            submitted = purchasing.approve_requisition(self.net.rt, approver, draft.id)
        assert submitted.purchase_order_id is not None
        return purchasing.get_purchase_order(
            self.net.rt, self.net.actor, submitted.purchase_order_id
        )

    def offer_of(
        self, item: Item, pack_units: int = 100, pack_price: str = "12.50", multiple: int = 1
    ) -> SupplierItemView:
        return purchasing.add_supplier_item(
            self.net.rt,
            self.net.actor,
            self.supplier.id,
            NewSupplierItem(item.id, pack_units, Decimal(pack_price), multiple),
        )


def new_supplier(
    net: Network, *, minimum: str = "0", lead_time_days: int = 2, gln: str | None = None
) -> Supplier:
    n = next(_codes)
    return purchasing.create_supplier(
        net.rt,
        net.actor,
        NewSupplier(f"SUP{n}", f"Supplier {n}", lead_time_days, Decimal(minimum), gln),
    )


def build_buying(
    net: Network, *, pack_units: int = 100, pack_price: str = "12.50", minimum: str = "0"
) -> Buying:
    item = net.item("Amoxicillin 500 mg capsule")
    supplier = new_supplier(net, minimum=minimum)
    buying = Buying(
        net,
        item,
        supplier,
        None,  # type: ignore[arg-type]
        person(net, "buyer1", Role.BUYER),
        person(net, "pharm1", Role.PHARMACIST),
    )
    buying.offer = buying.offer_of(item, pack_units, pack_price)
    return buying
