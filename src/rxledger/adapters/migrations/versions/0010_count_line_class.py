"""Count lines keep the item's ABC class at the site when the count was planned, so a variance is
judged by its class's tolerance.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("count_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("item_class", sa.String(length=12), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("count_lines", schema=None) as batch_op:
        batch_op.drop_column("item_class")
