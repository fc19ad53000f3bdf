"""The schema of inventory control (issue 5): the audit log and its hash chain, cycle counts and
their variance workflow, witnesses of controlled-substance postings, approval policies, and
on-hand snapshots imported from external systems for reconciliation.

Audit rows and chain links are immutable, like documents and movements.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from rxledger.adapters.tables import (
    Id,
    Money,
    UtcDateTime,
    metadata,
    org_column,
    site_column,
)

_org, _site = org_column, site_column

# --- the audit log and the hash chain -------------------------------------------------------------

# One row per command: who, when, from where, what, and the subject before and after (JSON text).
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True),
    _org(),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("actor", String(120), nullable=False),
    Column("origin", String(200), nullable=False),  # "api 10.0.0.7", "web 10.0.0.7", "cli host"
    Column("action", String(80), nullable=False),
    Column("subject_type", String(40), nullable=False),
    Column("subject_id", String(80), nullable=False),
    Column("site_id", Id, ForeignKey("sites.id")),
    Column("before", Text),
    Column("after", Text),
    Index("ix_audit_log_org_time", "organization_id", "occurred_at"),
    Index("ix_audit_log_subject", "organization_id", "subject_type", "subject_id"),
)

# The chain: every movement and audit row, in the order they were sealed, each link hashing the
# previous link's hash with the row's canonical content (SHA-256, hex).
chain_links = Table(
    "chain_links",
    metadata,
    Column("id", Id, primary_key=True),
    _org(),
    Column("seq", BigInteger, nullable=False),
    Column("kind", String(20), nullable=False),  # movement | audit
    Column("row_id", Id, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("sealed_at", UtcDateTime(), nullable=False),
    UniqueConstraint("organization_id", "seq"),
    UniqueConstraint("kind", "row_id"),
    CheckConstraint("kind IN ('movement', 'audit')", name="known_kind"),
)

# The head of each organization's chain: the row sealers lock to append in turn.
chain_heads = Table(
    "chain_heads",
    metadata,
    Column("organization_id", Id, ForeignKey("organizations.id"), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("movement_id", BigInteger, nullable=False),  # the highest movement id sealed
    Column("audit_id", BigInteger, nullable=False),  # the highest audit row id sealed
)

# --- cycle counts ---------------------------------------------------------------------------------

count_sessions = Table(
    "count_sessions",
    metadata,
    Column("id", Id, primary_key=True),
    _org(),
    _site(),
    Column("program", String(40), nullable=False),  # abc | category | risk | manual | biennial
    Column("title", String(200), nullable=False),
    Column("blind", Boolean, nullable=False),
    Column("freeze", Boolean, nullable=False),  # postings into/out of its locations refused
    # open | submitted | recount | investigating | approval | posted | cancelled
    Column("status", String(20), nullable=False),
    Column("created_by", String(120), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("assigned_to", String(120)),
    Column("closed_at", UtcDateTime()),
    Column("document_id", Id, ForeignKey("documents.id")),  # the adjustment posted
    Column("note", Text),
    Index("ix_count_sessions_site_status", "site_id", "status"),
)

# What is to be counted: an item (and lot, when known) at a location, in walking order.
count_lines = Table(
    "count_lines",
    metadata,
    Column("id", Id, primary_key=True),
    _org(),
    Column("session_id", Id, ForeignKey("count_sessions.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("location_id", Id, ForeignKey("locations.id"), nullable=False),
    Column("item_id", Id, ForeignKey("items.id"), nullable=False),
    Column("lot_id", Id, ForeignKey("lots.id")),
    # open | counted | accepted | recount | investigating | approval | adjusted
    Column("status", String(20), nullable=False),
    # the working count of the round in progress: scans add to it, a typed figure replaces it
    Column("tally", BigInteger),
    Column("tally_by", String(120)),
    Column("tally_at", UtcDateTime()),
    Column("tally_serials", Text),  # serial numbers scanned into the working count, one per line
    # the item's ABC class at the site when planned (None: no consumption history, judged as C)
    Column("item_class", String(12)),
    Column("reason_code", String(40)),
    Column("findings", Text),
    Column("investigated_by", String(120)),
    Column("approved_by", String(120)),
    Column("document_id", Id, ForeignKey("documents.id")),  # the adjustment that settled it
    UniqueConstraint("session_id", "line_no"),
    Index("ix_count_lines_session", "session_id"),
)

# Each count of a line (round 1, the recount 2, ...): the quantity seen, who counted, when, and
# the ledger's balance at that instant with the last movement id it included, so that movements
# posted after it are added when the variance is judged.
count_entries = Table(
    "count_entries",
    metadata,
    Column("id", Id, primary_key=True),
    _org(),
    Column("line_id", Id, ForeignKey("count_lines.id"), nullable=False),
    Column("round", Integer, nullable=False),
    Column("counted", BigInteger, nullable=False),
    Column("counted_by", String(120), nullable=False),
    Column("counted_at", UtcDateTime(), nullable=False),
    Column("system_at_count", BigInteger, nullable=False),
    Column("movement_watermark", BigInteger, nullable=False),
    Column("serials", Text),  # scanned serial numbers, one per line, for serialized items
    CheckConstraint("counted >= 0", name="not_negative"),
    UniqueConstraint("line_id", "round"),
)

# --- witnesses and approval policies --------------------------------------------------------------

# A second signed-in user who saw a controlled-substance posting happen (password re-entered).
document_witnesses = Table(
    "document_witnesses",
    metadata,
    Column("id", Id, primary_key=True),
    _org(),
    Column("document_id", Id, ForeignKey("documents.id"), nullable=False),
    Column("witness", String(120), nullable=False),
    Column("witnessed_at", UtcDateTime(), nullable=False),
    UniqueConstraint("document_id", "witness"),
)

# Which action needs approval, above what value or quantity, by whom; one mechanism for all.
approval_policies = Table(
    "approval_policies",
    metadata,
    Column("id", Id, primary_key=True),
    _org(),
    Column("site_id", Id, ForeignKey("sites.id")),  # NULL: every site
    Column("action", String(60), nullable=False),
    Column("min_value", Money),
    Column("min_quantity", BigInteger),
    Column("approver_roles", String(200), nullable=False),  # comma-separated role names
    Column("active", Boolean, nullable=False),
    Column("created_by", String(120), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

# Count tolerances an organization keeps instead of the defaults: by item class (A, B, C or
# controlled) and count program ('*': any program). A difference up to both limits is accepted.
count_tolerances = Table(
    "count_tolerances",
    metadata,
    Column("id", Id, primary_key=True),
    _org(),
    Column("program", String(40), nullable=False),
    Column("item_class", String(20), nullable=False),
    Column("units", BigInteger, nullable=False),
    Column("value", Money, nullable=False),
    Column("set_by", String(120), nullable=False),
    Column("set_at", UtcDateTime(), nullable=False),
    CheckConstraint("units >= 0 AND value >= 0", name="not_negative"),
    UniqueConstraint("organization_id", "program", "item_class"),
)

# --- reconciliation with external systems ---------------------------------------------------------

external_snapshots = Table(
    "external_snapshots",
    metadata,
    Column("id", Id, primary_key=True),
    _org(),
    _site(),
    Column("source", String(20), nullable=False),  # pos | metrc | csv
    Column("kind", String(20), nullable=False),  # on_hand | sales
    Column("file_name", String(300), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("imported_by", String(120), nullable=False),
    Column("imported_at", UtcDateTime(), nullable=False),
    Column("as_of", UtcDateTime()),
    UniqueConstraint("organization_id", "site_id", "sha256"),
)

external_lines = Table(
    "external_lines",
    metadata,
    Column("id", Id, primary_key=True),
    _org(),
    Column("snapshot_id", Id, ForeignKey("external_snapshots.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("external_id", String(120), nullable=False),  # package label, SKU, barcode
    Column("item_id", Id, ForeignKey("items.id")),
    Column("lot_number", String(40)),
    Column("quantity", Numeric(18, 4), nullable=False),
    Column("unit", String(30)),
    Column("day", String(10)),  # sales exports: the business day (YYYY-MM-DD)
    UniqueConstraint("snapshot_id", "line_no"),
)

IMMUTABLE_CONTROL_TABLES = ("audit_log", "chain_links", "count_entries", "document_witnesses")

# --- adjustments held for approval ----------------------------------------------------------------

# An adjustment above its approval policy: the command as canonical JSON, waiting in ``approvals``
# (subject "adjustment") until another user posts it (``document_id``) or rejects it.
held_adjustments = Table(
    "held_adjustments",
    metadata,
    Column("id", Id, primary_key=True),
    _org(),
    _site(),
    Column("payload", Text, nullable=False),
    Column("value", Money, nullable=False),
    Column("requested_by", String(120), nullable=False),
    Column("requested_at", UtcDateTime(), nullable=False),
    Column("status", String(20), nullable=False),  # pending | posted | rejected
    Column("approval_id", Id, ForeignKey("approvals.id")),
    Column("document_id", Id, ForeignKey("documents.id")),
    # the requester's idempotency key: a retried request finds its hold instead of a second one
    Column("idempotency_key", String(200)),
    CheckConstraint("status IN ('pending', 'posted', 'rejected')", name="known_status"),
    Index("ix_held_adjustments_site_status", "site_id", "status"),
    UniqueConstraint("organization_id", "idempotency_key"),
)
