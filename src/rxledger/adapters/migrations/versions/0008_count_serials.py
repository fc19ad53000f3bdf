"""Count lines remember the serial numbers scanned into their working count, so a serialized
package scanned twice is counted once.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("count_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tally_serials", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("count_lines", schema=None) as batch_op:
        batch_op.drop_column("tally_serials")
