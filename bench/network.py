"""A pharmacy built through the services, as any caller would: one organization, one site with
a few stocking locations, and many lot-tracked items."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from rxledger.domain.model import Item, Location, LocationType, Site
from rxledger.services import catalog
from rxledger.services.catalog import NewItem, PackageSpec
from rxledger.services.runtime import Actor, Runtime

STOCKING = (
    ("MAIN", LocationType.STORAGE),
    ("SHELF", LocationType.STORAGE),
    ("FRIDGE", LocationType.REFRIGERATOR),
    ("VAULT", LocationType.VAULT),
)


@dataclass(frozen=True)
class Pharmacy:
    rt: Runtime
    actor: Actor
    site: Site
    locations: tuple[Location, ...]
    items: tuple[Item, ...]

    def home(self, item: Item) -> Location:
        """Where an item is kept: each item lives in one stocking location."""
        return self.locations[item.id % len(self.locations)]

    def items_at(self, location: Location) -> list[Item]:
        return [item for item in self.items if self.home(item) == location]


def build_pharmacy(rt: Runtime, items: int) -> Pharmacy:
    org = catalog.create_organization(rt, "BENCH", "Bench Health")
    actor = Actor(org.id, "bench")
    site = catalog.create_site(rt, actor, code="MAIN", name="Main pharmacy", kind="hospital")
    locations = tuple(
        catalog.create_location(rt, actor, site_id=site.id, code=code, name=code.title(), type_=t)
        for code, t in STOCKING
    )
    made = tuple(catalog.create_item(rt, actor, _spec(n)) for n in range(1, items + 1))
    return Pharmacy(rt, actor, site, locations, made)


def _spec(n: int) -> NewItem:
    return NewItem(
        sku=f"BENCH{n:05d}",
        name=f"Bench drug {n:05d} 10 mg tablet",
        base_unit="tablet",
        strength="10 mg",
        dosage_form="tablet",
        route="oral",
        standard_cost=Decimal("0.10"),
        packages=(PackageSpec("bottle", 100),),
    )
