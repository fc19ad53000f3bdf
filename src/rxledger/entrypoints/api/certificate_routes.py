"""Certificates of analysis of cannabis lots: attach the laboratory's file (the raw request body,
like shipment imports), list a lot's certificates, fetch one byte for byte, and decide its lab
result. A cannabis lot is available for sale only while its last decided result is `passed`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from rxledger.domain.certificates import MAX_CERTIFICATE_BYTES, LabResult
from rxledger.domain.errors import FileTooLarge
from rxledger.entrypoints.api import schemas as s
from rxledger.entrypoints.api import stewardship_schemas as w
from rxledger.entrypoints.api.deps import NO_NUL, ActorDep, IdPath, PagingDep, RuntimeDep
from rxledger.entrypoints.api.errors import ERROR_RESPONSES
from rxledger.services import certificates

router = APIRouter(responses=ERROR_RESPONSES, tags=["certificates"])

_BODY = {
    "content": {
        "application/pdf": {"schema": {"type": "string", "format": "binary"}},
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
    },
    "required": True,
    "description": f"The certificate file as the laboratory issued it (at most "
    f"{MAX_CERTIFICATE_BYTES:,} bytes).",
}


@router.post(
    "/lots/{lot_id}/certificates",
    response_model=w.CertificateOut,
    status_code=201,
    openapi_extra={"requestBody": _BODY},
    responses={413: {"description": "The file is larger than the limit."}},
)
async def attach_certificate(
    lot_id: IdPath,
    request: Request,
    rt: RuntimeDep,
    actor: ActorDep,
    filename: Annotated[str, Query(min_length=1, max_length=255, pattern=NO_NUL)] = "coa.pdf",
    laboratory: Annotated[str | None, Query(max_length=200, pattern=NO_NUL)] = None,
) -> dict[str, Any]:
    """Attach a certificate of analysis to a lot of a cannabis item (needs RECEIVE somewhere);
    its lab result is pending. The same bytes again return the certificate on file."""
    content = await _read_limited(request, MAX_CERTIFICATE_BYTES)
    view = await run_in_threadpool(
        certificates.attach_certificate,
        rt,
        actor,
        lot_id,
        filename,
        content,
        laboratory=laboratory,
    )
    return view.as_dict()


@router.get("/lots/{lot_id}/certificates", response_model=s.Page[w.CertificateOut])
def list_certificates(
    lot_id: IdPath, rt: RuntimeDep, actor: ActorDep, paging: PagingDep
) -> dict[str, Any]:
    """A lot's certificates, oldest first (without their files)."""
    found = certificates.list_certificates(rt, actor, lot_id)
    chunk = found[paging.offset : paging.offset + paging.limit]
    more = len(found) > paging.offset + paging.limit
    return s.page([x.as_dict() for x in chunk], paging.limit, paging.offset, more)


@router.get(
    "/certificates/{certificate_id}",
    response_class=Response,
    responses={
        200: {
            "description": "The file byte for byte as attached.",
            "content": {"application/octet-stream": {"schema": {"type": "string"}}},
        }
    },
)
def get_certificate(certificate_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> Response:
    """The certificate's file, as a download; its SHA-256 is in the `X-Content-SHA256` header
    and its lab result in `X-Lab-Result`."""
    view, content = certificates.certificate_content(rt, actor, certificate_id)
    safe = "".join(c for c in view.filename if c.isalnum() or c in "._-") or "certificate"
    pdf = content.startswith(b"%PDF-")
    return Response(
        content,
        media_type="application/pdf" if pdf else "application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="{safe}"',
            "X-Content-SHA256": view.sha256,
            "X-Lab-Result": view.lab_result.value,
        },
    )


@router.post("/certificates/{certificate_id}/result", response_model=w.CertificateOut)
def decide_result(
    certificate_id: IdPath, body: w.LabResultIn, rt: RuntimeDep, actor: ActorDep
) -> dict[str, Any]:
    """Mark a pending certificate's lab result `passed` or `failed` (needs APPROVE_ITEMS; not
    the user who attached it). Passed releases the lot from hold; failed quarantines it."""
    view = certificates.decide_certificate(rt, actor, certificate_id, LabResult(body.result))
    return view.as_dict()


async def _read_limited(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it grows past ``limit``, before it is all in memory."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise FileTooLarge(f"a certificate is at most {limit:,} bytes", limit=limit)
        chunks.append(chunk)
    return b"".join(chunks)
