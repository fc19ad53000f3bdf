"""Receiving scans remember the Idempotency-Key they were sent with, so a retried scan (a lost
answer on a flaky network) returns its lines instead of counting the package twice.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("receiving_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=200), nullable=True))
        batch_op.create_index(
            "ix_receiving_lines_key", ["session_id", "idempotency_key"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("receiving_lines", schema=None) as batch_op:
        batch_op.drop_index("ix_receiving_lines_key")
        batch_op.drop_column("idempotency_key")
