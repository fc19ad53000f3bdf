"""Adjustments held for approval above their approval policy.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import rxledger.adapters.tables

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "held_adjustments",
        sa.Column("id", _ID, nullable=False),
        sa.Column("organization_id", _ID, nullable=False),
        sa.Column("site_id", _ID, nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("value", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("requested_by", sa.String(length=120), nullable=False),
        sa.Column(
            "requested_at", rxledger.adapters.tables.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("approval_id", _ID, nullable=True),
        sa.Column("document_id", _ID, nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'posted', 'rejected')",
            name=op.f("ck_held_adjustments_known_status"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_held_adjustments_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_held_adjustments_site_id_sites")
        ),
        sa.ForeignKeyConstraint(
            ["approval_id"],
            ["approvals.id"],
            name=op.f("fk_held_adjustments_approval_id_approvals"),
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_held_adjustments_document_id_documents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_held_adjustments")),
    )
    with op.batch_alter_table("held_adjustments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_held_adjustments_site_status", ["site_id", "status"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("held_adjustments", schema=None) as batch_op:
        batch_op.drop_index("ix_held_adjustments_site_status")
    op.drop_table("held_adjustments")
