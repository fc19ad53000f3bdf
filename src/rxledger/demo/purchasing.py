"""Purchasing in the demo: three suppliers selling packs of some products, and the orders of the
last evening — an open PO at each site, one partially received at central, and one requisition
waiting in the approvals inbox — all through the purchasing services, in a few dozen writes.

The buyer and the pharmacist act under the demo users' names, so a signed-in ``pharmacist`` finds
the waiting requisition in the inbox and the ``buyer`` sees it as their own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from rxledger.demo.codes import gln
from rxledger.demo.network import CENTRAL, RETAIL, DemoNetwork
from rxledger.domain.clock import ManualClock
from rxledger.domain.model import Item, LocationType
from rxledger.domain.permissions import Actor, Grant, Role
from rxledger.services import catalog, purchasing
from rxledger.services.posting import Header
from rxledger.services.purchasing import (
    NewRequisition,
    NewSupplier,
    NewSupplierItem,
    PoReceiptLine,
    PurchaseOrderView,
    ReceivePurchaseOrder,
    RequisitionLineSpec,
    SupplierItemView,
)
from rxledger.services.runtime import Runtime

# code, name, lead time (days), minimum order value, GLN location reference
SUPPLIERS = (
    ("GLDW", "Great Lakes Drug Wholesale", 1, "250.00", 301),
    ("MSPH", "Midwest Specialty Pharma", 3, "500.00", 302),
    ("BKMS", "Buckeye Medical Supply", 2, "100.00", 303),
)
ITEMS_PER_SUPPLIER = 4
CENTS = Decimal("0.01")


@dataclass
class PurchasingTally:
    documents: int = 0
    movements: int = 0
    lots: set[int] = field(default_factory=set)


def seed_purchasing(
    rt: Runtime, clock: ManualClock, network: DemoNetwork, item_ids: Sequence[int]
) -> PurchasingTally:
    """Create the suppliers and the evening's orders, one step a minute on the demo clock."""
    org = network.organization.id
    buyer = Actor(org, "buyer", None, (Grant(Role.BUYER, None),))
    pharmacist = Actor(org, "pharmacist", None, (Grant(Role.PHARMACIST, None),))
    items = _orderable(rt, network.actor, item_ids)
    offers = _suppliers(rt, network.actor, items)
    tally = PurchasingTally()
    central, retail = network.sites[CENTRAL], network.sites[RETAIL]

    def order(site_id: int, line_value: Decimal, supplier: int, wait: bool = False) -> int:
        if not offers[supplier]:
            return 0
        clock.advance(timedelta(minutes=1))
        minimum = Decimal(SUPPLIERS[supplier][3]) / len(offers[supplier])
        value = max(line_value, minimum)
        lines = [RequisitionLineSpec(o.id, _packs(value, o)) for o in offers[supplier]]
        spec = NewRequisition(site_id, offers[supplier][0].supplier_item.supplier_id, lines)
        draft = purchasing.create_requisition(rt, buyer, spec)
        view = purchasing.submit_requisition(rt, buyer, draft.id)
        if view.status == "submitted" and not wait:
            view = purchasing.approve_requisition(rt, pharmacist, view.id, "stock for the week")
        return view.purchase_order_id or 0

    received = order(central.id, Decimal(80), 0)
    order(central.id, Decimal(400), 1)  # above the threshold: approved by the pharmacist
    order(retail.id, Decimal(60), 2)
    order(central.id, Decimal(450), 2, wait=True)  # waits in the approvals inbox
    if received:
        clock.advance(timedelta(minutes=1))
        _receive_part(rt, network, purchasing.get_purchase_order(rt, buyer, received), tally)
    return tally


def _orderable(rt: Runtime, actor: Actor, item_ids: Sequence[int]) -> list[Item]:
    """Products a wholesaler ships without ceremony: not controlled, not serialized."""
    wanted = ITEMS_PER_SUPPLIER * len(SUPPLIERS)
    found: list[Item] = []
    for item_id in item_ids:
        item = catalog.get_item(rt, actor, item_id)
        if not item.is_controlled and not item.serial_tracked and item.lot_tracked:
            found.append(item)
        if len(found) == wanted:
            break
    return found


def _suppliers(rt: Runtime, actor: Actor, items: Sequence[Item]) -> list[list[SupplierItemView]]:
    """Each supplier sells its share of the items by the labelled package, at standard cost."""
    offers: list[list[SupplierItemView]] = []
    for n, (code, name, lead, minimum, reference) in enumerate(SUPPLIERS):
        supplier = purchasing.create_supplier(
            rt, actor, NewSupplier(code, name, lead, Decimal(minimum), gln(reference))
        )
        share = items[n * ITEMS_PER_SUPPLIER : (n + 1) * ITEMS_PER_SUPPLIER]
        offers.append(
            [purchasing.add_supplier_item(rt, actor, supplier.id, _offer(i)) for i in share]
        )
    return offers


def _offer(item: Item) -> NewSupplierItem:
    pack = max((p.base_units for p in item.packages if p.level == "package"), default=1)
    price = max((item.standard_cost * pack).quantize(CENTS, ROUND_HALF_UP), CENTS)
    gtin = next((p.gtin for p in item.packages if p.level == "package"), None)
    return NewSupplierItem(item.id, pack, price, 1, f"{item.sku}-{pack}", gtin)


def _packs(value: Decimal, offer: SupplierItemView) -> int:
    """About ``value`` worth of the offer's packs, at least one."""
    return max(1, math.ceil(value / offer.supplier_item.pack_price))


def _receive_part(
    rt: Runtime, network: DemoNetwork, order: PurchaseOrderView, tally: PurchasingTally
) -> None:
    """The first line in full, the second in half; the rest is still to come."""
    site = network.sites[CENTRAL]
    today = rt.clock.now().date()
    lines = [
        PoReceiptLine(
            line.id,
            line.ordered_units if n == 0 else max(line.ordered_units // 2, 1),
            f"R{order.number[-6:]}-{line.line_no}",
            today + timedelta(days=720),
        )
        for n, line in enumerate(order.lines[:2])
    ]
    cmd = ReceivePurchaseOrder(
        order.id,
        site.of_type(LocationType.RECEIVING).id,
        lines,
        Header(idempotency_key=f"demo:{order.number}:1"),
    )
    document = purchasing.receive_purchase_order(rt, site.actor, cmd).document
    tally.documents += 1
    tally.movements += len(document.movements)
    tally.lots |= {m.lot_id for m in document.movements}
