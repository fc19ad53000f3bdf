"""Shipment data imports: EPCIS, X12 856 ship notices and METRC manifests, sent as the raw file."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from rxledger.domain.errors import FileTooLarge
from rxledger.entrypoints.api.deps import MAX_ID, NO_NUL, ActorDep, RuntimeDep
from rxledger.entrypoints.api.errors import ERROR_RESPONSES
from rxledger.services import imports
from rxledger.services.imports import MAX_FILE_BYTES

router = APIRouter(responses=ERROR_RESPONSES)


class ImportOut(BaseModel):
    format: str
    documents: int
    events: int
    products: int
    serials: int
    lines: int
    warnings: list[str]
    shipment_id: str | None
    sha256: str
    file_id: int | None
    shipment_ids: list[int]
    duplicate: bool
    check: bool
    unmatched_products: list[str]


_BODY = {
    "content": {
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        "application/xml": {"schema": {"type": "string"}},
        "application/json": {"schema": {"type": "object"}},
        "application/edi-x12": {"schema": {"type": "string"}},
    },
    "required": True,
    "description": "The file exactly as the trading partner sent it.",
}


@router.post(
    "/imports",
    response_model=ImportOut,
    status_code=201,
    tags=["receiving"],
    openapi_extra={"requestBody": _BODY},
    responses={
        200: {"description": "Checked only, or the same file was imported before."},
        413: {"description": "The file is larger than the limit."},
    },
)
async def import_file(
    request: Request,
    response: Response,
    rt: RuntimeDep,
    actor: ActorDep,
    format: Annotated[  # noqa: A002 (the query parameter's public name)
        Literal["epcis", "asn", "manifest"], Query(description="epcis, asn (X12 856), manifest")
    ],
    site_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Receiving site.")] = None,
    check: Annotated[bool, Query(description="Validate and report only.")] = False,
    filename: Annotated[str, Query(max_length=255, pattern=NO_NUL)] = "upload",
) -> dict[str, Any]:
    """Import a shipment data file for a site: stored raw (SHA-256, retained six years) and
    normalized into expected receipt lines. The same bytes again create nothing (200,
    `duplicate: true`); `check=true` validates and reports without storing anything."""
    content = await _read_limited(request, MAX_FILE_BYTES)
    result = await run_in_threadpool(
        imports.import_shipment,
        rt,
        actor,
        format,
        content,
        filename=filename,
        site_id=site_id,
        check=check,
    )
    if result.duplicate or result.check:
        response.status_code = 200
    return result.as_dict()


async def _read_limited(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it grows past ``limit``, before it is all in memory."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise FileTooLarge(
                f"the file is larger than {limit:,} bytes, the most accepted", limit=limit
            )
        chunks.append(chunk)
    return b"".join(chunks)
