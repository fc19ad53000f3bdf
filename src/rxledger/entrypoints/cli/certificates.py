"""``rxledger certificate``: attach a cannabis lot's certificate of analysis, list a lot's
certificates, and mark a lab result passed or failed.

Deciding a result is signed by a user (``--user`` or ``RXLEDGER_USER``) who may approve items and
did not attach the certificate.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from rxledger.domain.certificates import MAX_CERTIFICATE_BYTES, LabResult
from rxledger.domain.errors import FileTooLarge, ValidationFailed
from rxledger.entrypoints.cli.context import console, emit_json, handles_errors, state
from rxledger.services import certificates
from rxledger.services.certificates import CertificateView

Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
CertificateId = Annotated[int, typer.Argument(metavar="CERTIFICATE_ID", min=1)]

certificate_app = typer.Typer(help="Certificates of analysis of cannabis lots.")


def register(app: typer.Typer) -> None:
    app.add_typer(certificate_app, name="certificate", no_args_is_help=True)


@certificate_app.command("attach")
@handles_errors
def attach(
    lot_id: Annotated[int, typer.Argument(metavar="LOT_ID", min=1)],
    file: Annotated[Path, typer.Argument(metavar="FILE", help="The certificate (PDF or any).")],
    laboratory: Annotated[str | None, typer.Option(help="The testing laboratory.")] = None,
    json_output: Json = False,
) -> None:
    """Attach a certificate to a lot of a cannabis item; its lab result is pending."""
    state.json_output = json_output
    content = _read(file)
    view = certificates.attach_certificate(
        state.runtime(), state.actor(), lot_id, file.name, content, laboratory=laboratory
    )
    _show([view], json_output)


@certificate_app.command("list")
@handles_errors
def list_certificates(
    lot_id: Annotated[int, typer.Argument(metavar="LOT_ID", min=1)], json_output: Json = False
) -> None:
    """A lot's certificates, oldest first."""
    state.json_output = json_output
    _show(certificates.list_certificates(state.runtime(), state.actor(), lot_id), json_output)


@certificate_app.command("pass")
@handles_errors
def pass_(certificate_id: CertificateId, json_output: Json = False) -> None:
    """Mark the lab result passed: a lot on hold becomes available for sale."""
    _decide(certificate_id, LabResult.PASSED, json_output)


@certificate_app.command("fail")
@handles_errors
def fail(certificate_id: CertificateId, json_output: Json = False) -> None:
    """Mark the lab result failed: the lot is quarantined."""
    _decide(certificate_id, LabResult.FAILED, json_output)


def _decide(certificate_id: int, result: LabResult, json_output: bool) -> None:
    state.json_output = json_output
    view = certificates.decide_certificate(state.runtime(), state.actor(), certificate_id, result)
    _show([view], json_output)


def _read(file: Path) -> bytes:
    if not file.is_file():
        raise ValidationFailed(f"{file} is not a file", file=str(file))
    if file.stat().st_size > MAX_CERTIFICATE_BYTES:
        raise FileTooLarge(
            f"a certificate is at most {MAX_CERTIFICATE_BYTES:,} bytes", limit=MAX_CERTIFICATE_BYTES
        )
    return file.read_bytes()


def _show(views: list[CertificateView], json_output: bool) -> None:
    if json_output:
        for view in views:
            emit_json(view.as_dict())
        return
    table = Table(title="Certificates of analysis")
    for column in ("id", "lot", "file", "laboratory", "result", "attached by", "decided by"):
        table.add_column(column)
    for v in views:
        table.add_row(
            str(v.id),
            str(v.lot_id),
            v.filename,
            v.laboratory or "",
            v.lab_result.value,
            v.attached_by,
            v.decided_by or "",
        )
    console.print(table)
