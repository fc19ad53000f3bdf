"""Templates, and the one place where a refused action becomes a page.

Every web route is a ``WebRoute``: a domain error raised while handling it is caught here and
shown as the form the user sent, again, with the error's code and message (when the route said
which form it was handling), or as an error page; a missing or expired session becomes a
redirect to sign-in. The status is the one ``rxledger.entrypoints.errors`` maps the error to.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from rxledger.domain import errors
from rxledger.entrypoints.errors import http_status
from rxledger.entrypoints.web.session import SignInRequired, WebContext, signin_url
from rxledger.entrypoints.web.stock_forms import FORMS

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

DOC_LABELS = {
    "receipt": "Receipt",
    "put_away": "Put-away",
    "move": "Move",
    "transfer_ship": "Transfer out",
    "transfer_receive": "Transfer in",
    "dispense": "Dispense",
    "dispense_reversal": "Return",
    "adjustment": "Adjustment",
    "reversal": "Reversal",
    "destruction": "Destruction",
}


def _qty(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def _signed(value: int) -> str:
    return f"{value:+,}"


def _money(value: Decimal | None) -> str:
    return "" if value is None else f"${value:,.2f}"


def _when(value: datetime | date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


templates.env.filters.update(qty=_qty, signed=_signed, money=_money, when=_when)
templates.env.globals.update(doc_labels=DOC_LABELS, stock_forms=FORMS)


def render(
    request: Request,
    name: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
) -> HTMLResponse:
    """A page; the layout finds the signed-in user (if any) on ``request.state.web``."""
    web: WebContext | None = getattr(request.state, "web", None)
    full = {"web": web, "path": request.url.path, **(context or {})}
    response = templates.TemplateResponse(request, name, full, status_code=status)
    assert isinstance(response, HTMLResponse)
    return response


def see_other(url: str) -> RedirectResponse:
    """Post/redirect/get: a reload never posts twice."""
    return RedirectResponse(url, status_code=303)


# --- refusals -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FormState:
    template: str
    context: Callable[[], Mapping[str, Any]]


def handling_form(
    request: Request, template: str, context: Callable[[], Mapping[str, Any]]
) -> None:
    """Declare the form this request handles: a refusal shows it again with the error.

    ``context`` is called only then, so a route that succeeds pays nothing for it.
    """
    request.state.form = FormState(template, context)


def refusal(request: Request, exc: errors.RxLedgerError) -> Response:
    """The form again with the error when the route declared one, else an error page."""
    status = http_status(exc)
    headers = {}
    if "retry_after_seconds" in exc.details:
        headers["Retry-After"] = str(exc.details["retry_after_seconds"])
    form: FormState | None = getattr(request.state, "form", None)
    if form is not None:
        try:
            page = render(request, form.template, {**form.context(), "error": exc}, status=status)
        except errors.RxLedgerError as inner:
            return render(request, "error.html", {"error": inner}, status=http_status(inner))
        page.headers.update(headers)
        return page
    page = render(request, "error.html", {"error": exc}, status=status)
    page.headers.update(headers)
    return page


def _to_signin(request: Request) -> Response:
    url = signin_url(request)
    if request.headers.get("HX-Request"):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def _bad_request(request: Request, exc: RequestValidationError) -> Response:
    problems = exc.errors()
    where = ".".join(str(p) for p in problems[0].get("loc", ())) if problems else "request"
    error = errors.ValidationFailed(f"{where}: not a valid value")
    return render(request, "error.html", {"error": error}, status=404)


class WebRoute(APIRoute):
    """An HTML route: domain errors become pages, and every page carries the security headers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            started = time.perf_counter()
            try:
                response = await handle(request)
            except SignInRequired:
                response = _to_signin(request)
            except errors.RxLedgerError as exc:
                response = await run_in_threadpool(refusal, request, exc)
            except RequestValidationError as exc:
                response = _bad_request(request, exc)
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            elapsed = (time.perf_counter() - started) * 1000
            response.headers["Server-Timing"] = f"app;dur={elapsed:.1f}"
            return response

        return guarded
