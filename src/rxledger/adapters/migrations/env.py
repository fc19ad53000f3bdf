"""Alembic environment: migrations run on the connection rxledger hands over."""

from __future__ import annotations

from alembic import context

from rxledger.adapters import tables_control, tables_receiving  # noqa: F401  (register tables)
from rxledger.adapters.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
