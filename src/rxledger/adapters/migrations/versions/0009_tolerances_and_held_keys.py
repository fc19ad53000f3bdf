"""Count tolerances kept per organization; held adjustments remember their idempotency key.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import rxledger.adapters.tables

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("held_adjustments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=200), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_held_adjustments_organization_id_idempotency_key"),
            ["organization_id", "idempotency_key"],
        )
    op.create_table(
        "count_tolerances",
        sa.Column("id", _ID, nullable=False),
        sa.Column("organization_id", _ID, nullable=False),
        sa.Column("program", sa.String(length=40), nullable=False),
        sa.Column("item_class", sa.String(length=20), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("set_by", sa.String(length=120), nullable=False),
        sa.Column("set_at", rxledger.adapters.tables.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "units >= 0 AND value >= 0", name=op.f("ck_count_tolerances_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_count_tolerances_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_count_tolerances")),
        sa.UniqueConstraint(
            "organization_id",
            "program",
            "item_class",
            name=op.f("uq_count_tolerances_organization_id_program_item_class"),
        ),
    )


def downgrade() -> None:
    op.drop_table("count_tolerances")
    with op.batch_alter_table("held_adjustments", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_held_adjustments_organization_id_idempotency_key"), type_="unique"
        )
        batch_op.drop_column("idempotency_key")
