"""The demo's organization: Riverside Health, a hospital with a satellite, and a retail pharmacy.

Everything is created through :mod:`rxledger.services.catalog`, like any other caller would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from rxledger.demo.codes import dea_number, gln
from rxledger.domain.model import Location, LocationType, Organization, Site
from rxledger.services import catalog
from rxledger.services.runtime import Actor, Runtime

ORGANIZATION_CODE = "RIVERSIDE"
ORGANIZATION_NAME = "Riverside Health"
CENTRAL, SATELLITE, RETAIL = "CENTRAL", "SATELLITE", "RETAIL"


@dataclass(frozen=True, slots=True)
class LocationPlan:
    code: str
    name: str
    type: LocationType
    parent: str | None = None


@dataclass(frozen=True, slots=True)
class SitePlan:
    code: str
    name: str
    kind: str
    dea_registrant_type: str  # B: hospital/clinic, A: retail pharmacy
    dea_serial: int
    state_license: str
    gln_reference: int
    username: str  # who posts the site's documents
    locations: tuple[LocationPlan, ...]


SITE_PLANS: tuple[SitePlan, ...] = (
    SitePlan(
        CENTRAL,
        "Riverside Medical Center - Central Pharmacy",
        "hospital",
        "B",
        482_913,
        "OH-TDDD-02-1048213",
        101,
        "central.tech",
        (
            LocationPlan("RECV", "Receiving dock", LocationType.RECEIVING),
            LocationPlan("MAIN", "Main stockroom", LocationType.STORAGE),
            LocationPlan("MAIN-A", "Main stockroom, shelves A-L", LocationType.STORAGE, "MAIN"),
            LocationPlan("MAIN-B", "Main stockroom, shelves M-Z", LocationType.STORAGE, "MAIN"),
            LocationPlan("IV", "Injectables room", LocationType.STORAGE),
            LocationPlan("IV-A", "Injectables room, shelf A", LocationType.STORAGE, "IV"),
            LocationPlan("VAULT", "CII vault", LocationType.VAULT),
            LocationPlan("FRIDGE", "Pharmacy refrigerator", LocationType.REFRIGERATOR),
            LocationPlan("QUAR", "Quarantine", LocationType.QUARANTINE),
            LocationPlan("RETURNS", "Returns", LocationType.RETURNS),
        ),
    ),
    SitePlan(
        SATELLITE,
        "Riverside Medical Center - North Tower Satellite",
        "hospital",
        "B",
        517_206,
        "OH-TDDD-02-1048377",
        102,
        "satellite.tech",
        (
            LocationPlan("STOCK", "Satellite stock room", LocationType.STORAGE),
            LocationPlan("CAB-ICU", "ICU dispensing cabinet", LocationType.DISPENSING_CABINET),
            LocationPlan("FRIDGE", "Satellite refrigerator", LocationType.REFRIGERATOR),
            LocationPlan("QUAR", "Quarantine", LocationType.QUARANTINE),
        ),
    ),
    SitePlan(
        RETAIL,
        "Riverside Community Pharmacy",
        "retail",
        "A",
        630_581,
        "OH-TDDD-02-2210954",
        201,
        "retail.tech",
        (
            LocationPlan("RECV", "Receiving", LocationType.RECEIVING),
            LocationPlan("RX", "Dispensary shelves", LocationType.STORAGE),
            LocationPlan("SALES", "Sales floor", LocationType.SALES_FLOOR),
            LocationPlan("VAULT", "Controlled substances safe", LocationType.VAULT),
            LocationPlan("FRIDGE", "Refrigerator", LocationType.REFRIGERATOR),
            LocationPlan("QUAR", "Quarantine", LocationType.QUARANTINE),
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class SiteLayout:
    """A created site, its physical locations by code, and the user who posts its documents."""

    site: Site
    actor: Actor
    locations: dict[str, Location] = field(default_factory=dict)

    @property
    def id(self) -> int:
        return self.site.id

    @property
    def code(self) -> str:
        return self.site.code

    def location_id(self, code: str) -> int:
        return self.locations[code].id

    def of_type(self, type_: LocationType) -> Location:
        """The site's first location of a type (its quarantine, its receiving dock, ...)."""
        return next(loc for loc in self.locations.values() if loc.type is type_)


@dataclass(frozen=True, slots=True)
class DemoNetwork:
    organization: Organization
    actor: Actor
    sites: dict[str, SiteLayout]

    @property
    def physical_location_ids(self) -> set[int]:
        return {loc.id for s in self.sites.values() for loc in s.locations.values()}

    @property
    def location_count(self) -> int:
        return sum(len(s.locations) for s in self.sites.values())


def build_network(rt: Runtime, progress: Callable[[int, int], None]) -> DemoNetwork:
    """Create Riverside Health with its three sites and their location trees."""
    organization = catalog.create_organization(rt, ORGANIZATION_CODE, ORGANIZATION_NAME)
    actor = Actor.system(organization.id, "demo.admin")
    sites: dict[str, SiteLayout] = {}
    for done, plan in enumerate(SITE_PLANS, start=1):
        sites[plan.code] = _build_site(rt, actor, plan)
        progress(done, len(SITE_PLANS))
    return DemoNetwork(organization, actor, sites)


def _build_site(rt: Runtime, admin: Actor, plan: SitePlan) -> SiteLayout:
    site = catalog.create_site(
        rt,
        admin,
        code=plan.code,
        name=plan.name,
        kind=plan.kind,
        dea_number=dea_number(plan.dea_registrant_type, ORGANIZATION_NAME[0], plan.dea_serial),
        state_license=plan.state_license,
        gln=gln(plan.gln_reference),
    )
    layout = SiteLayout(site, Actor.system(admin.organization_id, plan.username))
    for location in plan.locations:
        parent = layout.locations[location.parent].id if location.parent else None
        layout.locations[location.code] = catalog.create_location(
            rt,
            admin,
            site_id=site.id,
            code=location.code,
            name=location.name,
            type_=location.type,
            parent_id=parent,
        )
    return layout
