"""Database triggers that refuse UPDATE and DELETE of posted rows, on SQLite and PostgreSQL.

The ledger is append-only: a correction is a reversing document. These triggers make that true
even for someone with SQL access to the database, not only for rxledger's own code.
"""

from __future__ import annotations

from collections.abc import Iterable

from alembic import op

MESSAGE = "rxledger: posted rows are immutable"


def create_immutability_triggers(tables: Iterable[str]) -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(
            f"""
            CREATE OR REPLACE FUNCTION rxledger_refuse_change() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '{MESSAGE} (% on %)', TG_OP, TG_TABLE_NAME
                    USING ERRCODE = 'integrity_constraint_violation';
            END;
            $$ LANGUAGE plpgsql
            """
        )
    for table in tables:
        if dialect == "postgresql":
            op.execute(
                f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION rxledger_refuse_change()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION rxledger_refuse_change()"
            )
        else:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE} ({action} on {table})'); END"
                )


def drop_immutability_triggers(tables: Iterable[str], *, keep_function: bool = False) -> None:
    """Drop the tables' triggers; the shared function too, unless other tables still use it."""
    dialect = op.get_bind().dialect.name
    for table in tables:
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    if dialect == "postgresql" and not keep_function:
        op.execute("DROP FUNCTION IF EXISTS rxledger_refuse_change()")
