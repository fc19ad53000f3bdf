"""Ledger core: organizations, sites, locations, item master, lots, serials, documents,
movements and balances, with triggers that make posted documents and movements immutable.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from rxledger.adapters.migrations.immutability import (
    create_immutability_triggers,
    drop_immutability_triggers,
)
from rxledger.adapters.tables import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "organizations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
        sa.UniqueConstraint("code", name=op.f("uq_organizations_code")),
    )
    op.create_table(
        "items",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("sku", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("generic_name", sa.String(length=300), nullable=False),
        sa.Column("strength", sa.String(length=120), nullable=False),
        sa.Column("dosage_form", sa.String(length=120), nullable=False),
        sa.Column("route", sa.String(length=120), nullable=False),
        sa.Column("base_unit", sa.String(length=30), nullable=False),
        sa.Column("ndc10", sa.String(length=12), nullable=True),
        sa.Column("ndc11", sa.String(length=11), nullable=True),
        sa.Column("dea_schedule", sa.String(length=6), nullable=True),
        sa.Column("cannabis_category", sa.String(length=60), nullable=True),
        sa.Column("storage_class", sa.String(length=20), nullable=False),
        sa.Column("formulary_status", sa.String(length=20), nullable=False),
        sa.Column("atc_code", sa.String(length=10), nullable=True),
        sa.Column("lot_tracked", sa.Boolean(), nullable=False),
        sa.Column("serial_tracked", sa.Boolean(), nullable=False),
        sa.Column("expiry_tracked", sa.Boolean(), nullable=False),
        sa.Column("standard_cost", sa.Numeric(precision=14, scale=6), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_items_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_items")),
        sa.UniqueConstraint("organization_id", "sku", name=op.f("uq_items_organization_id_sku")),
    )
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.create_index("ix_items_org_name", ["organization_id", "name"], unique=False)
        batch_op.create_index("ix_items_org_ndc11", ["organization_id", "ndc11"], unique=False)

    op.create_table(
        "reason_codes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("applies_to", sa.String(length=40), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_reason_codes_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reason_codes")),
        sa.UniqueConstraint(
            "organization_id", "code", name=op.f("uq_reason_codes_organization_id_code")
        ),
    )
    op.create_table(
        "sites",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("dea_number", sa.String(length=20), nullable=True),
        sa.Column("state_license", sa.String(length=60), nullable=True),
        sa.Column("gln", sa.String(length=13), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_sites_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sites")),
        sa.UniqueConstraint("organization_id", "code", name=op.f("uq_sites_organization_id_code")),
    )
    op.create_table(
        "documents",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("doc_type", sa.String(length=30), nullable=False),
        sa.Column("reference", sa.String(length=120), nullable=True),
        sa.Column("reason_code", sa.String(length=40), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("posted_by", sa.String(length=120), nullable=False),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("payload_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "reverses_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "related_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "counterpart_site_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["counterpart_site_id"],
            ["sites.id"],
            name=op.f("fk_documents_counterpart_site_id_sites"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_documents_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["related_id"], ["documents.id"], name=op.f("fk_documents_related_id_documents")
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"], ["documents.id"], name=op.f("fk_documents_reverses_id_documents")
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_documents_site_id_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
        sa.UniqueConstraint(
            "organization_id",
            "idempotency_key",
            name=op.f("uq_documents_organization_id_idempotency_key"),
        ),
        sa.UniqueConstraint("reverses_id", name=op.f("uq_documents_reverses_id")),
    )
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.create_index("ix_documents_related", ["related_id"], unique=False)
        batch_op.create_index(
            "ix_documents_site_occurred", ["site_id", "occurred_at"], unique=False
        )

    op.create_table(
        "item_packages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("base_units", sa.BigInteger(), nullable=False),
        sa.Column("gtin", sa.String(length=14), nullable=True),
        sa.Column("ndc10", sa.String(length=12), nullable=True),
        sa.CheckConstraint("base_units > 0", name=op.f("ck_item_packages_positive_units")),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_item_packages_item_id_items")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_item_packages_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_packages")),
        sa.UniqueConstraint("item_id", "level", name=op.f("uq_item_packages_item_id_level")),
        sa.UniqueConstraint(
            "organization_id", "gtin", name=op.f("uq_item_packages_organization_id_gtin")
        ),
    )
    op.create_table(
        "locations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("parent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=30), nullable=False),
        sa.Column("is_virtual", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_locations_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["locations.id"], name=op.f("fk_locations_parent_id_locations")
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_locations_site_id_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_locations")),
        sa.UniqueConstraint("site_id", "code", name=op.f("uq_locations_site_id_code")),
    )
    op.create_table(
        "lots",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("lot_number", sa.String(length=40), nullable=False),
        sa.Column("expiry", sa.Date(), nullable=True),
        sa.Column("manufacturer", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_lots_item_id_items")),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_lots_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lots")),
        sa.UniqueConstraint("item_id", "lot_number", name=op.f("uq_lots_item_id_lot_number")),
    )
    op.create_table(
        "balances",
        sa.Column(
            "location_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("lot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("is_virtual", sa.Boolean(), nullable=False),
        sa.Column("on_hand", sa.BigInteger(), nullable=False),
        sa.Column("reserved", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "is_virtual OR on_hand >= 0", name=op.f("ck_balances_physical_not_negative")
        ),
        sa.CheckConstraint("reserved >= 0", name=op.f("ck_balances_reserved_not_negative")),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_balances_item_id_items")),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_balances_location_id_locations")
        ),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.id"], name=op.f("fk_balances_lot_id_lots")),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_balances_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_balances_site_id_sites")),
        sa.PrimaryKeyConstraint("location_id", "item_id", "lot_id", name=op.f("pk_balances")),
    )
    with op.batch_alter_table("balances", schema=None) as batch_op:
        batch_op.create_index("ix_balances_item", ["item_id"], unique=False)
        batch_op.create_index("ix_balances_site_item", ["site_id", "item_id"], unique=False)

    op.create_table(
        "serials",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("lot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("gtin", sa.String(length=14), nullable=False),
        sa.Column("serial", sa.String(length=40), nullable=False),
        sa.Column("base_units", sa.BigInteger(), nullable=False),
        sa.Column(
            "location_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_serials_item_id_items")),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_serials_location_id_locations")
        ),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.id"], name=op.f("fk_serials_lot_id_lots")),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_serials_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_serials")),
        sa.UniqueConstraint(
            "organization_id", "gtin", "serial", name=op.f("uq_serials_organization_id_gtin_serial")
        ),
    )
    op.create_table(
        "movements",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "document_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("lot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("serial_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "from_location_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "to_location_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("reason_code", sa.String(length=40), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint(
            "from_location_id <> to_location_id", name=op.f("ck_movements_distinct_locations")
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_movements_positive_quantity")),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_movements_document_id_documents")
        ),
        sa.ForeignKeyConstraint(
            ["from_location_id"],
            ["locations.id"],
            name=op.f("fk_movements_from_location_id_locations"),
        ),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_movements_item_id_items")),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.id"], name=op.f("fk_movements_lot_id_lots")),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_movements_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["serial_id"], ["serials.id"], name=op.f("fk_movements_serial_id_serials")
        ),
        sa.ForeignKeyConstraint(
            ["to_location_id"], ["locations.id"], name=op.f("fk_movements_to_location_id_locations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_movements")),
    )
    with op.batch_alter_table("movements", schema=None) as batch_op:
        batch_op.create_index("ix_movements_document", ["document_id"], unique=False)
        batch_op.create_index(
            "ix_movements_from_key",
            ["from_location_id", "item_id", "lot_id", "occurred_at", "quantity"],
            unique=False,
        )
        batch_op.create_index(
            "ix_movements_item_occurred", ["item_id", "occurred_at", "id"], unique=False
        )
        batch_op.create_index("ix_movements_serial", ["serial_id"], unique=False)
        batch_op.create_index(
            "ix_movements_to_key",
            ["to_location_id", "item_id", "lot_id", "occurred_at", "quantity"],
            unique=False,
        )

    create_immutability_triggers(("documents", "movements"))


def downgrade() -> None:
    drop_immutability_triggers(("documents", "movements"))
    with op.batch_alter_table("movements", schema=None) as batch_op:
        batch_op.drop_index("ix_movements_to_key")
        batch_op.drop_index("ix_movements_serial")
        batch_op.drop_index("ix_movements_item_occurred")
        batch_op.drop_index("ix_movements_from_key")
        batch_op.drop_index("ix_movements_document")

    op.drop_table("movements")
    op.drop_table("serials")
    with op.batch_alter_table("balances", schema=None) as batch_op:
        batch_op.drop_index("ix_balances_site_item")
        batch_op.drop_index("ix_balances_item")

    op.drop_table("balances")
    op.drop_table("lots")
    op.drop_table("locations")
    op.drop_table("item_packages")
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_index("ix_documents_site_occurred")
        batch_op.drop_index("ix_documents_related")

    op.drop_table("documents")
    op.drop_table("sites")
    op.drop_table("reason_codes")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index("ix_items_org_ndc11")
        batch_op.drop_index("ix_items_org_name")

    op.drop_table("items")
    op.drop_table("organizations")
