"""Builders for a small pharmacy network, made through the services like any real caller."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from rxledger.domain.model import DeaSchedule, Item, Location, LocationType, Site
from rxledger.services import catalog, stock
from rxledger.services.catalog import NewItem, PackageSpec
from rxledger.services.posting import Header, PostedDocument
from rxledger.services.runtime import Actor, Runtime

_skus = itertools.count(1)


@dataclass
class SiteFixture:
    site: Site
    receiving: Location
    storage: Location
    shelf: Location
    vault: Location
    fridge: Location
    quarantine: Location
    cabinet: Location

    @property
    def id(self) -> int:
        return self.site.id


@dataclass
class Network:
    rt: Runtime
    actor: Actor
    central: SiteFixture
    retail: SiteFixture

    def item(self, name: str = "Amoxicillin 500 mg capsule", **changes: object) -> Item:
        n = next(_skus)
        spec = NewItem(
            sku=f"SKU{n:05d}",
            name=name,
            base_unit="capsule",
            generic_name=name.split(maxsplit=1)[0].lower(),
            strength="500 mg",
            dosage_form="capsule",
            route="oral",
            standard_cost=Decimal("0.125"),
            packages=(PackageSpec("bottle", 100), PackageSpec("case", 1200)),
        )
        spec = replace(spec, **changes) if changes else spec  # type: ignore[arg-type]
        return catalog.create_item(self.rt, self.actor, spec)

    def controlled(self, name: str = "Oxycodone 5 mg tablet") -> Item:
        return self.item(name, dea_schedule=DeaSchedule.CII, base_unit="tablet")

    def receive(
        self,
        item: Item,
        quantity: int,
        lot: str = "L1",
        expiry: date = date(2027, 12, 31),
        *,
        site: SiteFixture | None = None,
        location: Location | None = None,
        key: str | None = None,
    ) -> PostedDocument:
        site = site or self.central
        return stock.receive(
            self.rt,
            self.actor,
            stock.Receive(
                site.id,
                (location or site.storage).id,
                [stock.ReceiptLine(item.id, quantity, lot, expiry)],
                Header(reference="PO-1", idempotency_key=key),
            ),
        )

    def dispense(
        self,
        item: Item,
        quantity: int,
        *,
        lot_id: int | None = None,
        site: SiteFixture | None = None,
        location: Location | None = None,
        key: str | None = None,
    ) -> PostedDocument:
        site = site or self.central
        return stock.dispense(
            self.rt,
            self.actor,
            stock.Dispense(
                site.id,
                (location or site.storage).id,
                [stock.StockLine(item.id, quantity, lot_id)],
                Header(reference="RX-1", idempotency_key=key),
            ),
        )


def build_site(rt: Runtime, actor: Actor, code: str) -> SiteFixture:
    site = catalog.create_site(rt, actor, code=code, name=f"{code} pharmacy", kind="hospital")

    def loc(c: str, t: LocationType, parent: Location | None = None) -> Location:
        return catalog.create_location(
            rt,
            actor,
            site_id=site.id,
            code=c,
            name=c.title(),
            type_=t,
            parent_id=parent.id if parent else None,
        )

    storage = loc("MAIN", LocationType.STORAGE)
    return SiteFixture(
        site=site,
        receiving=loc("RECV", LocationType.RECEIVING),
        storage=storage,
        shelf=loc("MAIN-A1", LocationType.STORAGE, storage),
        vault=loc("VAULT", LocationType.VAULT),
        fridge=loc("FRIDGE", LocationType.REFRIGERATOR),
        quarantine=loc("QUAR", LocationType.QUARANTINE),
        cabinet=loc("CAB-ICU", LocationType.DISPENSING_CABINET),
    )


def build_network(rt: Runtime) -> Network:
    org = catalog.create_organization(rt, "TEST", "Test Health")
    actor = Actor(org.id, "tech1")
    return Network(rt, actor, build_site(rt, actor, "CENTRAL"), build_site(rt, actor, "RETAIL"))
