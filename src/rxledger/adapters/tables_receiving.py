"""The schema of goods coming in: purchasing, shipment data, receiving sessions, discrepancies,
DSCSA investigations, approvals, and certificates of analysis.

Stock itself still moves only through documents and movements (``tables.py``); these tables hold
what was ordered, what the sender says it sent, what was scanned, and what is held for whom.
Raw shipment files and certificates are stored byte for byte and are immutable.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
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

# --- approvals (one mechanism: issue 5's policies build on it) ---------------------------------

approvals = Table(
    "approvals",
    metadata,
    Column("id", Id, primary_key=True),
    _org(),
    _site(),
    # What is to be approved: ("requisition", id), ("item_proposal", id), …
    Column("subject_type", String(40), nullable=False),
    Column("subject_id", Id, nullable=False),
    Column("action", String(60), nullable=False),
    Column("value", Money),
    Column("quantity", BigInteger),
    Column("requested_by", String(120), nullable=False),
    Column("requested_at", UtcDateTime(), nullable=False),
    Column("status", String(20), nullable=False),  # pending | approved | rejected | withdrawn
    Column("decided_by", String(120)),
    Column("decided_at", UtcDateTime()),
    Column("note", Text),
    CheckConstraint(
        "status IN ('pending', 'approved', 'rejected', 'withdrawn')", name="known_status"
    ),
    CheckConstraint("decided_by IS NULL OR decided_by <> requested_by", name="maker_not_checker"),
    Index("ix_approvals_subject", "subject_type", "subject_id"),
    Index("ix_approvals_site_status", "site_id", "status"),
)

# --- purchasing ---------------------------------------------------------------------------------

suppliers = Table(
    "suppliers",
    metadata,
    Column("id", Id, primary_key=True),
    _org(),
    Column("code", String(40), nullable=False),
    Column("name", String(200), nullable=False),
    Column("gln", String(13)),
    Column("lead_time_days", Integer, nullable=False),
    Column("minimum_order_value", Money, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("organization_id", "code"),
    CheckConstraint("lead_time_days >= 0", name="lead_time_not_negative"),
    CheckConstraint("minimum_order_value >= 0", name="minimum_not_negative"),
)

supplier_items = Table(
    "supplier_items",
    metadata,
    Column("id", Id, primary_key=True),
    _org(),
    Column("supplier_id", Id, ForeignKey("suppliers.id"), nullable=False),
    Column("item_id", Id, ForeignKey("items.id"), nullable=False),
    Column("supplier_sku", String(60)),
    # One orderable pack: how many base units, at what price, in what multiples.
    Column("pack_units", BigInteger, nullable=False),
    Column("pack_price", Money, nullable=False),
    Column("order_multiple", Integer, nullable=False),
    Column("gtin", String(14)),
    Column("active", Boolean, nullable=False),
    UniqueConstraint("supplier_id", "item_id", "pack_units"),
    CheckConstraint("pack_units > 0", name="positive_pack"),
    CheckConstraint("pack_price >= 0", name="price_not_negative"),
    CheckConstraint("order_multiple > 0", name="positive_multiple"),
    Index("ix_supplier_items_item", "item_id"),
)

requisitions = Table(
    "requisitions",
    metadata,
    Column("id", Id, primary_key=True),
    _org(),
    _site(),
    Column("supplier_id", Id, ForeignKey("suppliers.id"), nullable=False),
    # draft | submitted | approved | rejected | ordered | cancelled
    Column("status", String(20), nullable=False),
    Column("requested_by", String(120), nullable=False),
    Column("requested_at", UtcDateTime(), nullable=False),
    Column("note", Text),
    Column("total_value", Money, nullable=False),
    Column("purchase_order_id", Id, ForeignKey("purchase_orders.id")),
    Index("ix_requisitions_site_status", "site_id", "status"),
)

requisition_lines = Table(
    "requisition_lines",
    metadata,
    Column("id", Id, primary_key=True),
    _org(),
    Column("requisition_id", Id, ForeignKey("requisitions.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("item_id", Id, ForeignKey("items.id"), nullable=False),
    Column("supplier_item_id", Id, ForeignKey("supplier_items.id"), nullable=False),
    Column("packs", BigInteger, nullable=False),
    Column("pack_units", BigInteger, nullable=False),
    Column("pack_price", Money, nullable=False),
    UniqueConstraint("requisition_id", "line_no"),
    CheckConstraint("packs > 0", name="positive_packs"),
)

purchase_orders = Table(
    "purchase_orders",
    metadata,
    Column("id", Id, primary_key=True),
    _org(),
    _site(),
    Column("supplier_id", Id, ForeignKey("suppliers.id"), nullable=False),
    Column("number", String(40), nullable=False),
    # open | closed | cancelled (receipt progress is computed from purchase_receipts)
    Column("status", String(20), nullable=False),
    Column("created_by", String(120), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expected_on", Date),
    Column("closed_at", UtcDateTime()),
    Column("note", Text),
    UniqueConstraint("organization_id", "number"),
    Index("ix_purchase_orders_site_status", "site_id", "status"),
)

purchase_order_lines = Table(
    "purchase_order_lines",
    metadata,
    Column("id", Id, primary_key=True),
    _org(),
    Column("purchase_order_id", Id, ForeignKey("purchase_orders.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("item_id", Id, ForeignKey("items.id"), nullable=False),
    Column("supplier_item_id", Id, ForeignKey("supplier_items.id")),
    Column("ordered_units", BigInteger, nullable=False),
    Column("pack_units", BigInteger, nullable=False),
    Column("pack_price", Money, nullable=False),
    UniqueConstraint("purchase_order_id", "line_no"),
    CheckConstraint("ordered_units > 0", name="positive_units"),
    Index("ix_purchase_order_lines_item", "item_id"),
)

# Append-only: what each receipt document brought against a PO line (the item may be a
# substitute NDC of the ordered one).
purchase_receipts = Table(
    "purchase_receipts",
    metadata,
    Column("id", Id, primary_key=True),
    _org(),
    Column("purchase_order_line_id", Id, ForeignKey("purchase_order_lines.id"), nullable=False),
    Column("document_id", Id, ForeignKey("documents.id"), nullable=False),
    Column("item_id", Id, ForeignKey("items.id"), nullable=False),
    Column("units", BigInteger, nullable=False),
    Column("substitute", Boolean, nullable=False),
    CheckConstraint("units > 0", name="positive_units"),
    Index("ix_purchase_receipts_line", "purchase_order_line_id"),
    Index("ix_purchase_receipts_document", "document_id"),
)

# --- shipment data ------------------------------------------------------------------------------

# The file as it arrived, byte for byte, kept at least six years (DSCSA); never updated or deleted.
shipment_files = Table(
    "shipment_files",
    metadata,
    Column("id", Id, primary_key=True),
    _org(),
    Column("site_id", Id, ForeignKey("sites.id")),
    Column("format", String(20), nullable=False),
    Column("filename", String(255), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("received_by", String(120), nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("retain_until", Date, nullable=False),
    UniqueConstraint("organization_id", "sha256"),
)

shipments = Table(
    "shipments",
    metadata,
    Column("id", Id, primary_key=True),
    _org(),
    Column("site_id", Id, ForeignKey("sites.id")),
    Column("file_id", Id, ForeignKey("shipment_files.id"), nullable=False),
    Column("format", String(20), nullable=False),
    Column("reference", String(120)),
    Column("shipped_at", UtcDateTime()),
    Column("sender", String(120)),
    Column("receiver", String(120)),
    Column("purchase_order_number", String(60)),
    # expected | receiving | received
    Column("status", String(20), nullable=False),
    Column("summary", Text, nullable=False),  # the import summary, JSON
    Index("ix_shipments_file", "file_id"),
    Index("ix_shipments_site_status", "site_id", "status"),
)

shipment_lines = Table(
    "shipment_lines",
    metadata,
    Column("id", Id, primary_key=True),
    _org(),
    Column("shipment_id", Id, ForeignKey("shipments.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("gtin", String(14)),
    Column("ndc", String(13)),
    Column("item_id", Id, ForeignKey("items.id")),
    Column("lot_number", String(40)),
    Column("expiry", Date),
    Column("quantity", BigInteger, nullable=False),
    Column("unit", String(10), nullable=False),
    Column("description", String(300)),
    Column("purchase_order_number", String(60)),
    Column("reference", String(120)),
    UniqueConstraint("shipment_id", "line_no"),
)

# Every serialized unit and container the sender declared; parent_key expands the aggregation.
shipment_packages = Table(
    "shipment_packages",
    metadata,
    Column("id", Id, primary_key=True),
    _org(),
    Column("shipment_id", Id, ForeignKey("shipments.id"), nullable=False),
    Column("package_key", String(80), nullable=False),  # SSCC, or gtin:serial
    Column("gtin", String(14)),
    Column("serial", String(40)),
    Column("sscc", String(18)),
    Column("lot_number", String(40)),
    Column("expiry", Date),
    Column("parent_key", String(80)),
    Column("item_id", Id, ForeignKey("items.id")),
    UniqueConstraint("shipment_id", "package_key"),
    Index("ix_shipment_packages_identifier", "organization_id", "gtin", "serial"),
    Index("ix_shipment_packages_sscc", "organization_id", "sscc"),
    Index("ix_shipment_packages_parent", "shipment_id", "parent_key"),
)

# --- receiving ----------------------------------------------------------------------------------

receiving_sessions = Table(
    "receiving_sessions",
    metadata,
    Column("id", Id, primary_key=True),
    _org(),
    _site(),
    Column("location_id", Id, ForeignKey("locations.id"), nullable=False),
    Column("quarantine_location_id", Id, ForeignKey("locations.id"), nullable=False),
    Column("purchase_order_id", Id, ForeignKey("purchase_orders.id")),
    Column("shipment_id", Id, ForeignKey("shipments.id")),
    Column("status", String(20), nullable=False),  # open | posted | cancelled
    Column("opened_by", String(120), nullable=False),
    Column("opened_at", UtcDateTime(), nullable=False),
    Column("closed_by", String(120)),
    Column("closed_at", UtcDateTime()),
    Column("receipt_document_id", Id, ForeignKey("documents.id")),
    Column("quarantine_document_id", Id, ForeignKey("documents.id")),
    Index("ix_receiving_sessions_site_status", "site_id", "status"),
)

receiving_lines = Table(
    "receiving_lines",
    metadata,
    Column("id", Id, primary_key=True),
    _org(),
    Column("session_id", Id, ForeignKey("receiving_sessions.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("scan", Text),
    # The Idempotency-Key the scan was sent with: a retried scan returns its lines again.
    Column("idempotency_key", String(200)),
    Column("gtin", String(14)),
    Column("sscc", String(18)),
    Column("item_id", Id, ForeignKey("items.id")),
    Column("package_units", BigInteger),
    Column("lot_number", String(40)),
    Column("expiry", Date),
    Column("serial", String(40)),
    Column("quantity", BigInteger, nullable=False),  # base units
    Column("disposition", String(20), nullable=False),  # accept | quarantine
    Column("reason", String(40)),
    Column("note", Text),
    Column("scanned_by", String(120), nullable=False),
    Column("scanned_at", UtcDateTime(), nullable=False),
    Column("available_at", UtcDateTime()),  # put away to stock: receiving-to-available time
    UniqueConstraint("session_id", "line_no"),
    CheckConstraint("quantity > 0", name="positive_quantity"),
    Index("ix_receiving_lines_serial", "gtin", "serial"),
    Index("ix_receiving_lines_key", "session_id", "idempotency_key"),
)

discrepancies = Table(
    "discrepancies",
    metadata,
    Column("id", Id, primary_key=True),
    _org(),
    _site(),
    Column("session_id", Id, ForeignKey("receiving_sessions.id")),
    Column("line_id", Id, ForeignKey("receiving_lines.id")),
    Column("reason", String(40), nullable=False),
    Column("details", Text, nullable=False),
    Column("status", String(20), nullable=False),  # open | resolved
    Column("opened_by", String(120), nullable=False),
    Column("opened_at", UtcDateTime(), nullable=False),
    Column("resolved_by", String(120)),
    Column("resolved_at", UtcDateTime()),
    Column("resolution", Text),
    Index("ix_discrepancies_site_status", "site_id", "status"),
)

# A suspect product under DSCSA: quarantined, investigated, then cleared or found illegitimate.
investigations = Table(
    "investigations",
    metadata,
    Column("id", Id, primary_key=True),
    _org(),
    _site(),
    Column("kind", String(30), nullable=False),
    Column("gtin", String(14)),
    Column("serial", String(40)),
    Column("lot_number", String(40)),
    Column("item_id", Id, ForeignKey("items.id")),
    Column("discrepancy_id", Id, ForeignKey("discrepancies.id")),
    Column("status", String(20), nullable=False),  # open | cleared | illegitimate
    Column("opened_by", String(120), nullable=False),
    Column("opened_at", UtcDateTime(), nullable=False),
    Column("closed_by", String(120)),
    Column("closed_at", UtcDateTime()),
    Column("outcome", Text),
    # For an illegitimate product: the notification to FDA and trading partners (Form 3911 etc.).
    Column("notification_reference", String(120)),
    Column("notified_at", UtcDateTime()),
    Index("ix_investigations_site_status", "site_id", "status"),
)

investigation_notes = Table(
    "investigation_notes",
    metadata,
    Column("id", Id, primary_key=True),
    _org(),
    Column("investigation_id", Id, ForeignKey("investigations.id"), nullable=False),
    Column("written_by", String(120), nullable=False),
    Column("written_at", UtcDateTime(), nullable=False),
    Column("note", Text, nullable=False),
    Index("ix_investigation_notes_investigation", "investigation_id"),
)

# --- cannabis: certificates of analysis ---------------------------------------------------------

certificates = Table(
    "certificates",
    metadata,
    Column("id", Id, primary_key=True),
    _org(),
    Column("item_id", Id, ForeignKey("items.id"), nullable=False),
    Column("lot_id", Id, ForeignKey("lots.id"), nullable=False),
    Column("filename", String(255), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("laboratory", String(200)),
    Column("lab_result", String(20), nullable=False),  # pending | passed | failed
    Column("attached_by", String(120), nullable=False),
    Column("attached_at", UtcDateTime(), nullable=False),
    Column("decided_by", String(120)),
    Column("decided_at", UtcDateTime()),
    Index("ix_certificates_lot", "lot_id"),
)

# --- item-master stewardship: new items proposed at the receiving dock --------------------------

# What a technician proposes for a GTIN the item master does not know. Its status is the status of
# its row in ``approvals`` (subject ``item_proposal``); ``item_id`` is the item its approval made.
item_proposals = Table(
    "item_proposals",
    metadata,
    Column("id", Id, primary_key=True),
    _org(),
    _site(),
    Column("gtin", String(14), nullable=False),
    Column("package_units", BigInteger, nullable=False),
    Column("package_level", String(20)),
    Column("sku", String(60), nullable=False),
    Column("name", String(300), nullable=False),
    Column("generic_name", String(300), nullable=False),
    Column("strength", String(120), nullable=False),
    Column("dosage_form", String(120), nullable=False),
    Column("route", String(120), nullable=False),
    Column("base_unit", String(30), nullable=False),
    Column("ndc10", String(12)),
    Column("cannabis_category", String(60)),
    Column("note", Text),
    Column("session_id", Id, ForeignKey("receiving_sessions.id")),
    Column("proposed_by", String(120), nullable=False),
    Column("proposed_at", UtcDateTime(), nullable=False),
    Column("item_id", Id, ForeignKey("items.id")),
    CheckConstraint("package_units > 0", name="positive_units"),
    Index("ix_item_proposals_gtin", "organization_id", "gtin"),
)
