"""Request and response bodies of the API. Inputs are strict: a quantity is a JSON integer."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from rxledger.domain.model import LocationType, LotStatus
from rxledger.domain.permissions import Role

T = TypeVar("T")
Quantity = Field(gt=0, le=10**12, description="Whole base units (tablets, mL x1000, ...).")
MAX_ID = 2**63 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID, description="A database id.")]
# JSON has no date, decimal or enum types: fields of those types say strict=False, so they are
# parsed from their JSON strings; integers and booleans stay strict.


class Strict(BaseModel):
    """Inputs: integers must be JSON integers, unknown fields are refused, text has no NUL."""

    model_config = ConfigDict(strict=True, extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("text must not contain NUL characters")
        return value


class Page(BaseModel, Generic[T]):
    items: list[T]
    limit: int
    offset: int
    next_offset: int | None = Field(
        description="Pass as offset for the next page; null at the end."
    )


# --- master data --------------------------------------------------------------------------------


class SiteOut(BaseModel):
    id: int
    code: str
    name: str
    kind: str
    dea_number: str | None
    state_license: str | None
    gln: str | None


class LocationOut(BaseModel):
    id: int
    site_id: int
    code: str
    name: str
    type: LocationType
    is_virtual: bool
    parent_id: int | None


class PackageOut(BaseModel):
    level: str
    base_units: int
    gtin: str | None
    ndc10: str | None
    description: str


class ItemOut(BaseModel):
    id: int
    sku: str
    name: str
    generic_name: str
    strength: str
    dosage_form: str
    route: str
    base_unit: str
    ndc10: str | None
    ndc11: str | None
    dea_schedule: str | None
    cannabis_category: str | None
    storage_class: str
    formulary_status: str
    atc_code: str | None
    lot_tracked: bool
    serial_tracked: bool
    expiry_tracked: bool
    standard_cost: str = Field(description="Per base unit, a decimal string.")
    packages: list[PackageOut]


class PackageIn(Strict):
    level: str = Field(min_length=1, max_length=20)
    base_units: int = Quantity
    gtin: str | None = Field(default=None, pattern=r"^\d{8}$|^\d{12,14}$")
    ndc10: str | None = Field(default=None, max_length=13)
    description: str = Field(default="", max_length=200)


class ItemIn(Strict):
    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "sku": "AMOX500",
                    "name": "Amoxicillin 500 mg capsule",
                    "base_unit": "capsule",
                    "ndc10": "0777-3105-02",
                    "standard_cost": "0.0825",
                    "packages": [{"level": "bottle", "base_units": 100, "gtin": "00307773105025"}],
                }
            ]
        },
    )
    sku: str = Field(min_length=1, max_length=60)
    name: str = Field(min_length=1, max_length=300)
    base_unit: str = Field(min_length=1, max_length=30)
    generic_name: str = Field(default="", max_length=300)
    strength: str = Field(default="", max_length=120)
    dosage_form: str = Field(default="", max_length=120)
    route: str = Field(default="", max_length=120)
    ndc10: str | None = Field(default=None, max_length=13)
    dea_schedule: Literal["CI", "CII", "CIIN", "CIII", "CIIIN", "CIV", "CV"] | None = None
    cannabis_category: str | None = Field(default=None, max_length=60)
    storage_class: Literal["room", "refrigerated", "frozen", "hazardous", "controlled"] = "room"
    formulary_status: Literal["formulary", "non_formulary", "restricted"] = "formulary"
    atc_code: str | None = Field(default=None, max_length=10)
    lot_tracked: bool = True
    serial_tracked: bool = False
    expiry_tracked: bool = True
    standard_cost: Decimal = Field(
        default=Decimal(0), ge=0, max_digits=14, decimal_places=6, strict=False
    )
    packages: list[PackageIn] = Field(default_factory=list, max_length=10)


class LotOut(BaseModel):
    id: int
    item_id: int
    lot_number: str
    expiry: date | None
    status: LotStatus
    manufacturer: str | None


class LotStatusIn(Strict):
    status: LotStatus = Field(strict=False)


# --- ledger -------------------------------------------------------------------------------------


class MovementOut(BaseModel):
    line_no: int
    item_id: int
    lot_id: int
    serial_id: int | None
    from_location_id: int
    to_location_id: int
    quantity: int
    reason_code: str | None
    note: str | None


class DocumentOut(BaseModel):
    id: int
    doc_type: str
    site_id: int
    occurred_at: datetime
    recorded_at: datetime
    posted_by: str
    idempotency_key: str
    reference: str | None
    reason_code: str | None
    note: str | None
    reverses_id: int | None
    related_id: int | None
    counterpart_site_id: int | None
    replayed: bool = Field(description="True when this is the answer to a retried idempotency key.")
    movements: list[MovementOut]


class DocumentSummaryOut(BaseModel):
    id: int
    doc_type: str
    site_id: int
    occurred_at: datetime
    recorded_at: datetime
    posted_by: str
    reference: str | None
    reverses_id: int | None
    related_id: int | None
    lines: int


class _Header(Strict):
    reference: str | None = Field(default=None, max_length=120)
    note: str | None = Field(default=None, max_length=2000)
    occurred_at: AwareDatetime | None = Field(
        default=None,
        strict=False,
        description="Business time with a timezone; default now, at most 7 days back.",
    )


class ReceiptLineIn(Strict):
    item_id: Id
    quantity: int = Quantity
    lot_number: str | None = Field(default=None, max_length=40)
    expiry: date | None = Field(default=None, strict=False)
    manufacturer: str | None = Field(default=None, max_length=200)
    serial: str | None = Field(default=None, max_length=40)
    gtin: str | None = Field(default=None, pattern=r"^\d{8}$|^\d{12,14}$")


class ReceiptIn(_Header):
    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "site_id": 1,
                    "location_id": 3,
                    "reference": "PO-2026-0042",
                    "lines": [
                        {
                            "item_id": 12,
                            "quantity": 500,
                            "lot_number": "AB1234",
                            "expiry": "2028-03-31",
                        }
                    ],
                }
            ]
        },
    )
    site_id: Id
    location_id: Id
    lines: list[ReceiptLineIn] = Field(min_length=1, max_length=1000)


class StockLineIn(Strict):
    item_id: Id
    quantity: int = Quantity
    lot_id: Id | None = Field(default=None, description="Omit to pick first-expiry-first-out.")
    serial_id: Id | None = None
    note: str | None = Field(default=None, max_length=2000)


class MoveIn(_Header):
    site_id: Id
    from_location_id: Id
    to_location_id: Id
    put_away: bool = False
    lines: list[StockLineIn] = Field(min_length=1, max_length=1000)


class WitnessIn(Strict):
    """A second signed-in user who saw a schedule II posting happen, re-entering their password."""

    username: str = Field(min_length=1, max_length=80)
    password: str = Field(min_length=1, max_length=200)


_WITNESS = Field(
    default=None,
    description="Required to waste, adjust or transfer schedule II (CII, CIIN) stock: "
    "another user who may adjust stock at the site (pharmacist, manager or administrator).",
)


class DestructionIn(_Header):
    site_id: Id
    from_location_id: Id
    reason_code: str = Field(min_length=1, max_length=40, description="An active reason code.")
    to: Literal["waste", "reverse_distributor"] = Field(
        default="waste", description="Destroyed, or handed to the reverse distributor."
    )
    lines: list[StockLineIn] = Field(min_length=1, max_length=1000)
    witness: WitnessIn | None = _WITNESS


class TransferIn(_Header):
    site_id: Id
    from_location_id: Id
    to_site_id: Id
    lines: list[StockLineIn] = Field(min_length=1, max_length=1000)
    witness: WitnessIn | None = _WITNESS


class TransferReceiptIn(_Header):
    location_id: Id
    lines: list[StockLineIn] = Field(
        default_factory=list, max_length=1000, description="Empty: all that is still in transit."
    )
    witness: WitnessIn | None = _WITNESS


class DispenseIn(_Header):
    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "site_id": 1,
                    "location_id": 4,
                    "reference": "RX-889201",
                    "lines": [{"item_id": 12, "quantity": 30}],
                }
            ]
        },
    )
    site_id: Id
    location_id: Id
    lines: list[StockLineIn] = Field(min_length=1, max_length=1000)


class ReturnIn(_Header):
    location_id: Id
    lines: list[StockLineIn] = Field(
        default_factory=list, max_length=1000, description="Empty: all not yet returned."
    )


class AdjustmentLineIn(Strict):
    item_id: Id
    location_id: Id
    lot_id: Id
    reason_code: str = Field(min_length=1, max_length=40)
    delta: int | None = Field(default=None, ge=-(10**12), le=10**12, description="Signed change.")
    counted: int | None = Field(default=None, ge=0, le=10**12, description="Set to this count.")
    note: str | None = Field(default=None, max_length=2000)


class AdjustmentIn(_Header):
    site_id: Id
    lines: list[AdjustmentLineIn] = Field(min_length=1, max_length=1000)
    witness: WitnessIn | None = _WITNESS


class ReversalIn(Strict):
    reference: str | None = Field(default=None, max_length=120)
    note: str | None = Field(default=None, max_length=2000)


class BalanceOut(BaseModel):
    site_id: int
    location_id: int
    location_code: str
    item_id: int
    sku: str
    item_name: str
    lot_id: int
    lot_number: str
    expiry: date | None
    lot_status: str
    on_hand: int
    is_virtual: bool


class HistoryOut(BaseModel):
    movement_id: int
    document_id: int
    doc_type: str
    occurred_at: datetime
    recorded_at: datetime
    posted_by: str
    reference: str | None
    lot_id: int
    lot_number: str
    from_location_id: int
    to_location_id: int
    quantity: int
    change: int
    balance: int
    reason_code: str | None


class HistoryPage(BaseModel):
    items: list[HistoryOut]
    next_before: int | None = Field(description="Pass as `before` for older movements.")


# --- people -------------------------------------------------------------------------------------


class GrantIO(Strict):
    role: Role = Field(strict=False)
    site_id: Id | None = Field(default=None, description="Null: every site of the organization.")


class UserOut(BaseModel):
    id: int
    username: str
    full_name: str
    active: bool
    grants: list[GrantIO]


class UserIn(Strict):
    username: str = Field(min_length=1, max_length=80)
    full_name: str = Field(default="", max_length=200)
    password: str = Field(min_length=1, max_length=200)
    grants: list[GrantIO] = Field(default_factory=list, max_length=50)


class UserPatch(Strict):
    active: bool | None = None
    password: str | None = Field(default=None, min_length=1, max_length=200)


class MeOut(BaseModel):
    id: int | None
    username: str
    grants: list[GrantIO]
    sites: list[SiteOut]


class TokenIn(Strict):
    name: str = Field(min_length=1, max_length=120)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="Shown once; store it safely.")


def page(items: list[Any], limit: int, offset: int, has_more: bool) -> dict[str, Any]:
    return {
        "items": items,
        "limit": limit,
        "offset": offset,
        "next_offset": offset + limit if has_more else None,
    }
