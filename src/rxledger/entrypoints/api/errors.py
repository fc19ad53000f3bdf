"""One error format for the API, ``{code, message, details}``, mapped from domain errors here."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from rxledger.domain.errors import RxLedgerError
from rxledger.entrypoints.errors import http_status


class ErrorBody(BaseModel):
    code: str = Field(examples=["INSUFFICIENT_STOCK"])
    message: str = Field(
        examples=["line 1: 30 tablet of Oxycodone requested at MAIN, 12 available"]
    )
    details: dict[str, Any] = Field(default_factory=dict)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in (
        (400, "Malformed request"),
        (401, "Not signed in or the token is invalid"),
        (403, "The user's roles do not allow this at this site"),
        (404, "Not found"),
        (409, "Conflicts with the stock or an earlier write"),
        (422, "Invalid input"),
        (429, "Too many failed sign-ins"),
    )
}

_STATUS_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


def error_response(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"code": code, "message": message, "details": details or {}}
    return JSONResponse(body, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(RxLedgerError)
    async def domain_error(request: Request, exc: RxLedgerError) -> JSONResponse:
        headers = {}
        if exc.kind == "unauthenticated":
            headers["WWW-Authenticate"] = "Bearer"
        if "retry_after_seconds" in exc.details:
            headers["Retry-After"] = str(exc.details["retry_after_seconds"])
        return error_response(http_status(exc), exc.code, exc.message, dict(exc.details), headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {
                "loc": [str(p) for p in e.get("loc", ())],
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
            for e in exc.errors()
        ]
        if any(p["type"] == "json_invalid" for p in problems):
            return error_response(
                400, "MALFORMED_JSON", "the request body is not valid JSON", {"errors": problems}
            )
        first = problems[0] if problems else {"loc": [], "msg": "invalid"}
        where = ".".join(p for p in first["loc"] if p != "body") or "request"
        return error_response(
            422, "VALIDATION_ERROR", f"{where}: {first['msg']}", {"errors": problems}
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "HTTP_ERROR")
        return error_response(
            exc.status_code, code, str(exc.detail), headers=getattr(exc, "headers", None)
        )
