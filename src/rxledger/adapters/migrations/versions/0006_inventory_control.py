"""Inventory control: the audit log and its hash chain, cycle counts, witnesses of controlled
substance postings, approval policies, and snapshots from external systems for reconciliation.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import rxledger.adapters.tables
from rxledger.adapters.migrations.immutability import (
    create_immutability_triggers,
    drop_immutability_triggers,
)

# Never updated or deleted: what happened, who saw it, and the chain that proves both.
IMMUTABLE = ("audit_log", "chain_links", "count_entries", "document_witnesses")

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chain_heads",
        sa.Column(
            "organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("movement_id", sa.BigInteger(), nullable=False),
        sa.Column("audit_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_chain_heads_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("organization_id", name=op.f("pk_chain_heads")),
    )
    op.create_table(
        "chain_links",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("row_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("sealed_at", rxledger.adapters.tables.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('movement', 'audit')", name=op.f("ck_chain_links_known_kind")),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_chain_links_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chain_links")),
        sa.UniqueConstraint("kind", "row_id", name=op.f("uq_chain_links_kind_row_id")),
        sa.UniqueConstraint(
            "organization_id", "seq", name=op.f("uq_chain_links_organization_id_seq")
        ),
    )
    op.create_table(
        "approval_policies",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("min_value", sa.Numeric(precision=14, scale=4), nullable=True),
        sa.Column("min_quantity", sa.BigInteger(), nullable=True),
        sa.Column("approver_roles", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column(
            "created_at", rxledger.adapters.tables.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_approval_policies_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_approval_policies_site_id_sites")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_policies")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "occurred_at", rxledger.adapters.tables.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("origin", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=80), nullable=False),
        sa.Column("subject_type", sa.String(length=40), nullable=False),
        sa.Column("subject_id", sa.String(length=80), nullable=False),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_audit_log_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_audit_log_site_id_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_log_org_time", ["organization_id", "occurred_at"], unique=False
        )
        batch_op.create_index(
            "ix_audit_log_subject", ["organization_id", "subject_type", "subject_id"], unique=False
        )

    op.create_table(
        "external_snapshots",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("file_name", sa.String(length=300), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("imported_by", sa.String(length=120), nullable=False),
        sa.Column(
            "imported_at", rxledger.adapters.tables.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("as_of", rxledger.adapters.tables.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_external_snapshots_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_external_snapshots_site_id_sites")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_external_snapshots")),
        sa.UniqueConstraint(
            "organization_id",
            "site_id",
            "sha256",
            name=op.f("uq_external_snapshots_organization_id_site_id_sha256"),
        ),
    )
    op.create_table(
        "count_sessions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("program", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("blind", sa.Boolean(), nullable=False),
        sa.Column("freeze", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column(
            "created_at", rxledger.adapters.tables.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("assigned_to", sa.String(length=120), nullable=True),
        sa.Column("closed_at", rxledger.adapters.tables.UtcDateTime(timezone=True), nullable=True),
        sa.Column(
            "document_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_count_sessions_document_id_documents")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_count_sessions_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_count_sessions_site_id_sites")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_count_sessions")),
    )
    with op.batch_alter_table("count_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_count_sessions_site_status", ["site_id", "status"], unique=False)

    op.create_table(
        "document_witnesses",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "document_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("witness", sa.String(length=120), nullable=False),
        sa.Column(
            "witnessed_at", rxledger.adapters.tables.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_document_witnesses_document_id_documents"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_document_witnesses_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_witnesses")),
        sa.UniqueConstraint(
            "document_id", "witness", name=op.f("uq_document_witnesses_document_id_witness")
        ),
    )
    op.create_table(
        "external_lines",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "snapshot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=120), nullable=False),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("lot_number", sa.String(length=40), nullable=True),
        sa.Column("quantity", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("unit", sa.String(length=30), nullable=True),
        sa.Column("day", sa.String(length=10), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_external_lines_item_id_items")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_external_lines_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["external_snapshots.id"],
            name=op.f("fk_external_lines_snapshot_id_external_snapshots"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_external_lines")),
        sa.UniqueConstraint(
            "snapshot_id", "line_no", name=op.f("uq_external_lines_snapshot_id_line_no")
        ),
    )
    op.create_table(
        "count_lines",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "session_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column(
            "location_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("lot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("tally", sa.BigInteger(), nullable=True),
        sa.Column("tally_by", sa.String(length=120), nullable=True),
        sa.Column("tally_at", rxledger.adapters.tables.UtcDateTime(timezone=True), nullable=True),
        sa.Column("reason_code", sa.String(length=40), nullable=True),
        sa.Column("findings", sa.Text(), nullable=True),
        sa.Column("investigated_by", sa.String(length=120), nullable=True),
        sa.Column("approved_by", sa.String(length=120), nullable=True),
        sa.Column(
            "document_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_count_lines_document_id_documents")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_count_lines_item_id_items")
        ),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_count_lines_location_id_locations")
        ),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.id"], name=op.f("fk_count_lines_lot_id_lots")),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_count_lines_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["count_sessions.id"],
            name=op.f("fk_count_lines_session_id_count_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_count_lines")),
        sa.UniqueConstraint(
            "session_id", "line_no", name=op.f("uq_count_lines_session_id_line_no")
        ),
    )
    with op.batch_alter_table("count_lines", schema=None) as batch_op:
        batch_op.create_index("ix_count_lines_session", ["session_id"], unique=False)

    op.create_table(
        "count_entries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("line_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("counted", sa.BigInteger(), nullable=False),
        sa.Column("counted_by", sa.String(length=120), nullable=False),
        sa.Column(
            "counted_at", rxledger.adapters.tables.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("system_at_count", sa.BigInteger(), nullable=False),
        sa.Column("movement_watermark", sa.BigInteger(), nullable=False),
        sa.Column("serials", sa.Text(), nullable=True),
        sa.CheckConstraint("counted >= 0", name=op.f("ck_count_entries_not_negative")),
        sa.ForeignKeyConstraint(
            ["line_id"], ["count_lines.id"], name=op.f("fk_count_entries_line_id_count_lines")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_count_entries_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_count_entries")),
        sa.UniqueConstraint("line_id", "round", name=op.f("uq_count_entries_line_id_round")),
    )

    create_immutability_triggers(IMMUTABLE)


def downgrade() -> None:
    drop_immutability_triggers(IMMUTABLE, keep_function=True)
    op.drop_table("count_entries")
    with op.batch_alter_table("count_lines", schema=None) as batch_op:
        batch_op.drop_index("ix_count_lines_session")

    op.drop_table("count_lines")
    op.drop_table("external_lines")
    op.drop_table("document_witnesses")
    with op.batch_alter_table("count_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_count_sessions_site_status")

    op.drop_table("count_sessions")
    op.drop_table("external_snapshots")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_subject")
        batch_op.drop_index("ix_audit_log_org_time")

    op.drop_table("audit_log")
    op.drop_table("approval_policies")
    op.drop_table("chain_links")
    op.drop_table("chain_heads")
