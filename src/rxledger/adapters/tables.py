"""The schema, in SQLAlchemy Core. Alembic migrations create exactly this on SQLite and PostgreSQL.

Every table carries ``organization_id`` so a network can later be distributed by organization.
Movements are append-only and designed for time partitioning on ``occurred_at``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only auto-increments an INTEGER PRIMARY KEY.
Id = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC in Python; TIMESTAMPTZ on PostgreSQL, a sortable naive UTC text on SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def org_column() -> Column[int]:
    """The owning organization of a row (every table but ``organizations`` has one)."""
    return Column("organization_id", Id, ForeignKey("organizations.id"), nullable=False)


def site_column() -> Column[int]:
    """The site a row belongs to, required."""
    return Column("site_id", Id, ForeignKey("sites.id"), nullable=False)


_org = org_column
# Amounts of money: 4 decimal places (unit costs of fractions of a cent), up to 10^10.
Money = Numeric(14, 4)


organizations = Table(
    "organizations",
    metadata,
    Column("id", Id, primary_key=True),
    Column("code", String(40), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

sites = Table(
    "sites",
    metadata,
    Column("id", Id, primary_key=True),
    _org(),
    Column("code", String(40), nullable=False),
    Column("name", String(200), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("dea_number", String(20)),
    Column("state_license", String(60)),
    Column("gln", String(13)),
    UniqueConstraint("organization_id", "code"),
)

locations = Table(
    "locations",
    metadata,
    Column("id", Id, primary_key=True),
    _org(),
    Column("site_id", Id, ForeignKey("sites.id"), nullable=False),
    Column("parent_id", Id, ForeignKey("locations.id")),
    Column("code", String(60), nullable=False),
    Column("name", String(200), nullable=False),
    Column("type", String(30), nullable=False),
    Column("is_virtual", Boolean, nullable=False),
    UniqueConstraint("site_id", "code"),
)

items = Table(
    "items",
    metadata,
    Column("id", Id, primary_key=True),
    _org(),
    Column("sku", String(60), nullable=False),
    Column("name", String(300), nullable=False),
    Column("generic_name", String(300), nullable=False, default=""),
    Column("strength", String(120), nullable=False, default=""),
    Column("dosage_form", String(120), nullable=False, default=""),
    Column("route", String(120), nullable=False, default=""),
    Column("base_unit", String(30), nullable=False),
    Column("ndc10", String(12)),
    Column("ndc11", String(11)),
    Column("dea_schedule", String(6)),
    Column("cannabis_category", String(60)),
    Column("storage_class", String(20), nullable=False),
    Column("formulary_status", String(20), nullable=False),
    Column("atc_code", String(10)),
    Column("lot_tracked", Boolean, nullable=False),
    Column("serial_tracked", Boolean, nullable=False),
    Column("expiry_tracked", Boolean, nullable=False),
    Column("standard_cost", Numeric(14, 6), nullable=False),
    UniqueConstraint("organization_id", "sku"),
    Index("ix_items_org_ndc11", "organization_id", "ndc11"),
    Index("ix_items_org_name", "organization_id", "name"),
)

item_packages = Table(
    "item_packages",
    metadata,
    Column("id", Id, primary_key=True),
    _org(),
    Column("item_id", Id, ForeignKey("items.id"), nullable=False),
    Column("level", String(20), nullable=False),
    Column("description", String(200), nullable=False, default=""),
    Column("base_units", BigInteger, nullable=False),
    Column("gtin", String(14)),
    Column("ndc10", String(12)),
    CheckConstraint("base_units > 0", name="positive_units"),
    UniqueConstraint("organization_id", "gtin"),
    UniqueConstraint("item_id", "level"),
)

lots = Table(
    "lots",
    metadata,
    Column("id", Id, primary_key=True),
    _org(),
    Column("item_id", Id, ForeignKey("items.id"), nullable=False),
    Column("lot_number", String(40), nullable=False),
    Column("expiry", Date),
    Column("manufacturer", String(200)),
    Column("status", String(20), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("item_id", "lot_number"),
)

serials = Table(
    "serials",
    metadata,
    Column("id", Id, primary_key=True),
    _org(),
    Column("item_id", Id, ForeignKey("items.id"), nullable=False),
    Column("lot_id", Id, ForeignKey("lots.id"), nullable=False),
    Column("gtin", String(14), nullable=False),
    Column("serial", String(40), nullable=False),
    Column("base_units", BigInteger, nullable=False),
    # Projection of the ledger, updated in the posting transaction; `rxledger check` verifies it.
    Column("location_id", Id, ForeignKey("locations.id")),
    UniqueConstraint("organization_id", "gtin", "serial"),
)

reason_codes = Table(
    "reason_codes",
    metadata,
    Column("id", Id, primary_key=True),
    _org(),
    Column("code", String(40), nullable=False),
    Column("description", String(200), nullable=False),
    Column("applies_to", String(40), nullable=False),
    Column("active", Boolean, nullable=False),
    UniqueConstraint("organization_id", "code"),
)

documents = Table(
    "documents",
    metadata,
    Column("id", Id, primary_key=True),
    _org(),
    Column("site_id", Id, ForeignKey("sites.id"), nullable=False),
    Column("doc_type", String(30), nullable=False),
    Column("reference", String(120)),
    Column("reason_code", String(40)),
    Column("note", Text),
    Column("posted_by", String(120), nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    Column("idempotency_key", String(200), nullable=False),
    Column("payload_hash", String(64), nullable=False),
    Column("reverses_id", Id, ForeignKey("documents.id"), unique=True),
    Column("related_id", Id, ForeignKey("documents.id")),
    # The other site of a transfer: the destination of a shipment.
    Column("counterpart_site_id", Id, ForeignKey("sites.id")),
    UniqueConstraint("organization_id", "idempotency_key"),
    Index("ix_documents_site_occurred", "site_id", "occurred_at"),
    Index("ix_documents_related", "related_id"),
)

movements = Table(
    "movements",
    metadata,
    Column("id", Id, primary_key=True),
    _org(),
    Column("document_id", Id, ForeignKey("documents.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("item_id", Id, ForeignKey("items.id"), nullable=False),
    Column("lot_id", Id, ForeignKey("lots.id"), nullable=False),
    Column("serial_id", Id, ForeignKey("serials.id")),
    Column("from_location_id", Id, ForeignKey("locations.id"), nullable=False),
    Column("to_location_id", Id, ForeignKey("locations.id"), nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("reason_code", String(40)),
    Column("note", Text),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    CheckConstraint("quantity > 0", name="positive_quantity"),
    CheckConstraint("from_location_id <> to_location_id", name="distinct_locations"),
    Index("ix_movements_document", "document_id"),
    Index("ix_movements_item_occurred", "item_id", "occurred_at", "id"),
    # Covering indexes for balance-as-of: every column the sum needs, quantity last.
    Index("ix_movements_to_key", "to_location_id", "item_id", "lot_id", "occurred_at", "quantity"),
    Index(
        "ix_movements_from_key", "from_location_id", "item_id", "lot_id", "occurred_at", "quantity"
    ),
    Index("ix_movements_serial", "serial_id"),
)

balances = Table(
    "balances",
    metadata,
    Column("location_id", Id, ForeignKey("locations.id"), primary_key=True),
    Column("item_id", Id, ForeignKey("items.id"), primary_key=True),
    Column("lot_id", Id, ForeignKey("lots.id"), primary_key=True),
    _org(),
    Column("site_id", Id, ForeignKey("sites.id"), nullable=False),
    Column("is_virtual", Boolean, nullable=False),
    Column("on_hand", BigInteger, nullable=False),
    Column("reserved", BigInteger, nullable=False, default=0),
    CheckConstraint("is_virtual OR on_hand >= 0", name="physical_not_negative"),
    CheckConstraint("reserved >= 0", name="reserved_not_negative"),
    Index("ix_balances_site_item", "site_id", "item_id"),
    Index("ix_balances_item", "item_id"),
)

# --- people and permissions ---------------------------------------------------------------------

users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True),
    _org(),
    Column("username", String(80), nullable=False),
    Column("full_name", String(200), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("organization_id", "username"),
)

role_grants = Table(
    "role_grants",
    metadata,
    Column("id", Id, primary_key=True),
    _org(),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False),
    Column("role", String(20), nullable=False),
    # NULL: every site of the organization.
    Column("site_id", Id, ForeignKey("sites.id")),
    UniqueConstraint("user_id", "role", "site_id"),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id", Id, primary_key=True),
    _org(),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("csrf_token", String(64), nullable=False),
    Column("site_id", Id, ForeignKey("sites.id")),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("ended_at", UtcDateTime()),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Id, primary_key=True),
    _org(),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False),
    Column("name", String(120), nullable=False),
    Column("prefix", String(12), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime()),
    Column("last_used_at", UtcDateTime()),
    Column("revoked_at", UtcDateTime()),
)

sign_in_attempts = Table(
    "sign_in_attempts",
    metadata,
    Column("id", Id, primary_key=True),
    Column("organization_id", Id, ForeignKey("organizations.id")),
    Column("username", String(80), nullable=False),
    Column("client", String(64), nullable=False),
    Column("succeeded", Boolean, nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Index("ix_sign_in_attempts_username_at", "username", "at"),
)

IMMUTABLE_TABLES = ("documents", "movements")
