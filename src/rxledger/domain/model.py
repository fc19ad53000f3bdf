"""The nouns of the network and the item master: sites, locations, items, lots, serials."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum


class LocationType(StrEnum):
    # physical
    RECEIVING = "receiving"
    STORAGE = "storage"
    VAULT = "vault"
    REFRIGERATOR = "refrigerator"
    QUARANTINE = "quarantine"
    DISPENSING_CABINET = "dispensing_cabinet"
    FLOOR_STOCK = "floor_stock"
    SALES_FLOOR = "sales_floor"
    RETURNS = "returns"
    # virtual: the outside world, where balances may go negative
    SUPPLIER = "supplier"
    PATIENT = "patient"
    ADJUSTMENT = "adjustment"
    WASTE = "waste"
    IN_TRANSIT = "in_transit"
    REVERSE_DISTRIBUTOR = "reverse_distributor"

    @property
    def is_virtual(self) -> bool:
        return self in VIRTUAL_TYPES

    @property
    def holds_available_stock(self) -> bool:
        """Stock here may be dispensed, picked and counted as available."""
        return self in AVAILABLE_TYPES


VIRTUAL_TYPES = frozenset(
    {
        LocationType.SUPPLIER,
        LocationType.PATIENT,
        LocationType.ADJUSTMENT,
        LocationType.WASTE,
        LocationType.IN_TRANSIT,
        LocationType.REVERSE_DISTRIBUTOR,
    }
)
AVAILABLE_TYPES = frozenset(
    {
        LocationType.STORAGE,
        LocationType.VAULT,
        LocationType.REFRIGERATOR,
        LocationType.DISPENSING_CABINET,
        LocationType.FLOOR_STOCK,
        LocationType.SALES_FLOOR,
    }
)
# Unusable stock (expired, held, recalled) may still be moved to these: pulling it off the shelf.
HOLDING_TYPES = frozenset(
    {
        LocationType.QUARANTINE,
        LocationType.RETURNS,
        LocationType.WASTE,
        LocationType.REVERSE_DISTRIBUTOR,
        LocationType.ADJUSTMENT,
        LocationType.SUPPLIER,
    }
)


class LotStatus(StrEnum):
    AVAILABLE = "available"
    ON_HOLD = "on_hold"
    QUARANTINED = "quarantined"
    RECALLED = "recalled"
    EXPIRED = "expired"


class DocumentType(StrEnum):
    RECEIPT = "receipt"
    PUT_AWAY = "put_away"
    MOVE = "move"
    TRANSFER_SHIP = "transfer_ship"
    TRANSFER_RECEIVE = "transfer_receive"
    DISPENSE = "dispense"
    DISPENSE_REVERSAL = "dispense_reversal"
    ADJUSTMENT = "adjustment"
    REVERSAL = "reversal"
    # Stock leaves for the site's waste (destroyed) or reverse distributor location, with a reason.
    DESTRUCTION = "destruction"


class DeaSchedule(StrEnum):
    CI = "CI"
    CII = "CII"
    CIIN = "CIIN"
    CIII = "CIII"
    CIIIN = "CIIIN"
    CIV = "CIV"
    CV = "CV"


class StorageClass(StrEnum):
    ROOM = "room"
    REFRIGERATED = "refrigerated"
    FROZEN = "frozen"
    HAZARDOUS = "hazardous"
    CONTROLLED = "controlled"


class FormularyStatus(StrEnum):
    FORMULARY = "formulary"
    NON_FORMULARY = "non_formulary"
    RESTRICTED = "restricted"


@dataclass(frozen=True, slots=True)
class Organization:
    id: int
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class Site:
    id: int
    organization_id: int
    code: str
    name: str
    kind: str = "pharmacy"
    dea_number: str | None = None
    state_license: str | None = None
    gln: str | None = None


@dataclass(frozen=True, slots=True)
class Location:
    id: int
    organization_id: int
    site_id: int
    code: str
    name: str
    type: LocationType
    parent_id: int | None = None

    @property
    def is_virtual(self) -> bool:
        return self.type.is_virtual


@dataclass(frozen=True, slots=True)
class Package:
    """One level of an item's pack hierarchy, with its integer size in base units."""

    level: str  # unit | inner | package | case
    base_units: int
    gtin: str | None = None
    ndc10: str | None = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class Item:
    id: int
    organization_id: int
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
    standard_cost: Decimal = Decimal(0)  # per base unit
    packages: tuple[Package, ...] = field(default=())

    @property
    def is_controlled(self) -> bool:
        return self.dea_schedule is not None or self.cannabis_category is not None


NO_LOT = ""  # the lot number of the single implicit lot of an item that is not lot-tracked


@dataclass(frozen=True, slots=True)
class Lot:
    id: int
    organization_id: int
    item_id: int
    lot_number: str
    expiry: date | None
    status: LotStatus = LotStatus.AVAILABLE
    manufacturer: str | None = None

    def is_expired_on(self, day: date) -> bool:
        """A lot is usable through its expiry date and expired the day after."""
        return self.status is LotStatus.EXPIRED or (self.expiry is not None and day > self.expiry)

    def is_usable_on(self, day: date) -> bool:
        return self.status is LotStatus.AVAILABLE and not self.is_expired_on(day)


@dataclass(frozen=True, slots=True)
class Serial:
    id: int
    organization_id: int
    item_id: int
    lot_id: int
    gtin: str
    serial: str
    base_units: int
    location_id: int | None
