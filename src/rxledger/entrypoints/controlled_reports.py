"""The controlled-substance reports as files: the perpetual inventory log and the biennial
inventory count sheet, as CSV (one row per line, figures as plain integers) and as PDF (HTML from
the templates in ``web/templates/controlled/``, laid out by WeasyPrint).

Shared by the CLI and the API; the figures come from ``services.controlled``.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from rxledger.services.controlled import BiennialSheet, PerpetualLog

_TEMPLATES = Path(__file__).resolve().parent / "web" / "templates" / "controlled"
_env = Environment(
    loader=FileSystemLoader(str(_TEMPLATES)),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

LOG_COLUMNS = (
    "occurred_at",
    "document_id",
    "doc_type",
    "reference",
    "reason_code",
    "lot",
    "from",
    "to",
    "in",
    "out",
    "balance",
    "posted_by",
    "witness",
)
SHEET_COLUMNS = (
    "sku",
    "item",
    "strength",
    "schedule",
    "lot",
    "expiry",
    "system_on_hand",
    "counted",
    "difference",
    "counted_by",
)


def _stamp(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def log_csv(log: PerpetualLog) -> str:
    """The log's rows under a header row; the opening balance is the first row's balance less
    its change, and the figures are integers in the item's base unit."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(LOG_COLUMNS)
    for r in log.rows:
        writer.writerow(
            [
                _stamp(r.occurred_at),
                r.document_id,
                r.doc_type,
                r.reference or "",
                r.reason_code or "",
                r.lot_number,
                r.from_location,
                r.to_location,
                r.quantity_in,
                r.quantity_out,
                r.balance,
                r.posted_by,
                r.witness or "",
            ]
        )
    return out.getvalue()


def sheet_csv(sheet: BiennialSheet) -> str:
    """One row per controlled item and lot; counted and difference are blank until counted."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(SHEET_COLUMNS)
    for ln in sheet.lines:
        writer.writerow(
            [
                ln.sku,
                ln.name,
                ln.strength,
                ln.dea_schedule or ln.cannabis_category or "",
                ln.lot_number,
                ln.expiry or "",
                ln.system_on_hand,
                "" if ln.counted is None else ln.counted,
                "" if ln.difference is None else ln.difference,
                ln.counted_by or "",
            ]
        )
    return out.getvalue()


def log_html(log: PerpetualLog, printed_at: datetime) -> str:
    return _env.get_template("perpetual_log.html").render(
        log=log, printed_at=printed_at, stamp=_stamp
    )


def sheet_html(sheet: BiennialSheet, printed_at: datetime) -> str:
    return _env.get_template("biennial_sheet.html").render(
        sheet=sheet, printed_at=printed_at, stamp=_stamp
    )


def log_pdf(log: PerpetualLog, printed_at: datetime) -> bytes:
    return _pdf(log_html(log, printed_at))


def sheet_pdf(sheet: BiennialSheet, printed_at: datetime) -> bytes:
    return _pdf(sheet_html(sheet, printed_at))


def _pdf(html: str) -> bytes:
    # Imported when a PDF is asked for: WeasyPrint loads Pango at import.
    from weasyprint import HTML  # type: ignore[import-untyped,unused-ignore]

    document: bytes = HTML(string=html).write_pdf()
    return document
