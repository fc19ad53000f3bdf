"""Item-master stewardship: new items proposed at the receiving dock, waiting for a pharmacist's
approval (their status is their row in ``approvals``).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from rxledger.adapters.tables import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "item_proposals",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("gtin", sa.String(length=14), nullable=False),
        sa.Column("package_units", sa.BigInteger(), nullable=False),
        sa.Column("package_level", sa.String(length=20), nullable=True),
        sa.Column("sku", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("generic_name", sa.String(length=300), nullable=False),
        sa.Column("strength", sa.String(length=120), nullable=False),
        sa.Column("dosage_form", sa.String(length=120), nullable=False),
        sa.Column("route", sa.String(length=120), nullable=False),
        sa.Column("base_unit", sa.String(length=30), nullable=False),
        sa.Column("ndc10", sa.String(length=12), nullable=True),
        sa.Column("cannabis_category", sa.String(length=60), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "session_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("proposed_by", sa.String(length=120), nullable=False),
        sa.Column("proposed_at", UtcDateTime(), nullable=False),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.CheckConstraint("package_units > 0", name=op.f("ck_item_proposals_positive_units")),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_item_proposals_item_id_items")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_item_proposals_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["receiving_sessions.id"],
            name=op.f("fk_item_proposals_session_id_receiving_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_item_proposals_site_id_sites")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_proposals")),
    )
    with op.batch_alter_table("item_proposals", schema=None) as batch_op:
        batch_op.create_index("ix_item_proposals_gtin", ["organization_id", "gtin"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("item_proposals", schema=None) as batch_op:
        batch_op.drop_index("ix_item_proposals_gtin")

    op.drop_table("item_proposals")
