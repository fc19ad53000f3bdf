"""The migrations create exactly the schema the code declares, and step down and up again."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import insert, inspect, text
from sqlalchemy.exc import DBAPIError

from rxledger.adapters import database, tables_receiving
from rxledger.adapters import tables as t
from rxledger.adapters.database import create_db_engine
from rxledger.adapters.tables import metadata


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(database.__file__).parent / "migrations"))
    return config


def test_migrated_schema_matches_the_declared_tables(database_url: str) -> None:
    # given a database migrated to the newest revision
    engine = create_db_engine(database_url)
    try:
        with engine.connect() as conn:
            # when alembic compares it with the tables the code declares
            diffs = compare_metadata(MigrationContext.configure(conn), metadata)
        # then there is nothing to add, drop or change
        assert diffs == []
        assert "shipment_files" in tables_receiving.metadata.tables
    finally:
        engine.dispose()


def test_downgrade_to_nothing_and_upgrade_again(database_url: str) -> None:
    engine = create_db_engine(database_url)
    config = _config()
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "base")
        with engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == (
                "0010"
            )
    finally:
        engine.dispose()


def test_raw_shipment_files_are_immutable(database_url: str) -> None:
    engine = create_db_engine(database_url)
    try:
        at = datetime(2026, 6, 1, 12, tzinfo=UTC)
        with engine.begin() as conn:
            org = conn.execute(
                insert(t.organizations).values(code="X", name="X", created_at=at)
            ).inserted_primary_key[0]
            conn.execute(
                insert(tables_receiving.shipment_files).values(
                    organization_id=org,
                    format="x12-856",
                    filename="a.edi",
                    sha256="0" * 64,
                    size=3,
                    content=b"ISA",
                    received_by="tech",
                    received_at=at,
                    retain_until=date(2032, 6, 1),
                )
            )
        for statement in (
            "UPDATE shipment_files SET filename = 'b.edi'",
            "DELETE FROM shipment_files",
        ):
            with engine.begin() as conn, pytest.raises(DBAPIError, match="immutable"):
                conn.execute(text(statement))
    finally:
        engine.dispose()
