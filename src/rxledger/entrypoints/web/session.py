"""Who is signed in, at which site, and whether a POST really came from one of our forms.

Sessions live on the server (``identity.start_session``); the browser holds only the random token
in the ``rxledger_session`` cookie (HttpOnly, Secure, SameSite=Lax, Path=/). Every POST carries
the session's CSRF token, as the ``csrf_token`` form field or, from htmx, the ``X-CSRF-Token``
header. The sign-in form, which has no session yet, uses a signed double-submit cookie: the
``rxledger_signin`` cookie holds a random nonce and the form an HMAC of it under the secret key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from rxledger.domain import errors
from rxledger.domain.model import Site
from rxledger.domain.permissions import Actor, Permission
from rxledger.services import audit, catalog, identity
from rxledger.services.identity import SessionInfo
from rxledger.services.runtime import Runtime

SESSION_COOKIE = "rxledger_session"
SIGNIN_COOKIE = "rxledger_signin"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class CsrfRejected(errors.Forbidden):
    """A POST without the token of the session (or of the sign-in form) that it claims."""

    code = "CSRF_REJECTED"


class SignInRequired(errors.Unauthenticated):
    """No session, or an expired one: the browser is sent to the sign-in page."""


@dataclass(frozen=True, slots=True)
class WebContext:
    """The signed-in user, their session, the sites they see and the one they work at."""

    rt: Runtime
    token: str
    info: SessionInfo
    sites: tuple[Site, ...]
    site: Site | None

    @property
    def actor(self) -> Actor:
        return self.info.actor

    @property
    def csrf_token(self) -> str:
        return self.info.csrf_token

    @property
    def site_id(self) -> int:
        """The current site; a user without any site granted can do nothing that needs one."""
        if self.site is None:
            raise errors.Forbidden(f"{self.actor.username} has no role at any site")
        return self.site.id

    def can(self, permission: str, site_id: int | None = None) -> bool:
        """For showing or hiding what the services would refuse anyway."""
        where = site_id if site_id is not None else (self.site.id if self.site else None)
        return where is not None and self.actor.can(Permission(permission), where)

    def can_anywhere(self, permission: str) -> bool:
        try:
            self.actor.require_anywhere(Permission(permission))
        except errors.Forbidden:
            return False
        return True


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_form(request: Request) -> FormData:
    return await request.form()


FormDep = Annotated[FormData, Depends(get_form)]


async def web_origin(request: Request) -> str:
    """Audit rows of this request say it came from the web UI at the client's address (set in
    the request's own context, not in a worker thread's copy of it)."""
    where = f"web {request.client.host if request.client else 'unknown'}"
    audit.set_origin(where)
    return where


def signed_in(
    request: Request, rt: RuntimeDep, _origin: Annotated[str, Depends(web_origin)]
) -> WebContext:
    """The session behind the cookie, or ``SignInRequired`` (the browser goes to sign-in)."""
    token = request.cookies.get(SESSION_COOKIE, "")
    if not token:
        raise SignInRequired("sign in to continue")
    try:
        info = identity.session(rt, token)
    except errors.Unauthenticated as exc:
        raise SignInRequired(exc.message) from exc
    sites = tuple(catalog.list_sites(rt, info.actor))
    current = next((s for s in sites if s.id == info.site_id), sites[0] if sites else None)
    ctx = WebContext(rt, token, info, sites, current)
    request.state.web = ctx  # for the layout, also when a refusal is rendered
    return ctx


Ctx = Annotated[WebContext, Depends(signed_in)]


def checked_post(request: Request, ctx: Ctx, form: FormDep) -> WebContext:
    """A signed-in POST whose CSRF token matches the session's; otherwise nothing happens."""
    sent = str(form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or "")
    if not sent or not hmac.compare_digest(sent, ctx.csrf_token):
        raise CsrfRejected(
            "this form is missing its security token or it has expired: reload the page and "
            "try again (nothing was posted)"
        )
    return ctx


PostCtx = Annotated[WebContext, Depends(checked_post)]


# --- cookies ------------------------------------------------------------------------------------


def set_session_cookie(response: Response, token: str, max_age: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max_age,
        path="/",
        secure=True,
        httponly=True,
        samesite="lax",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="lax")


def signin_nonce(request: Request) -> tuple[str, bool]:
    """The sign-in form's nonce from its cookie, or a new one (``True``: set the cookie)."""
    existing = request.cookies.get(SIGNIN_COOKIE, "")
    if len(existing) >= 32:
        return existing, False
    return secrets.token_urlsafe(32), True


def set_signin_cookie(response: Response, nonce: str) -> None:
    response.set_cookie(
        SIGNIN_COOKIE, nonce, path="/signin", secure=True, httponly=True, samesite="lax"
    )


def clear_signin_cookie(response: Response) -> None:
    response.delete_cookie(SIGNIN_COOKIE, path="/signin", secure=True, httponly=True)


def signin_token(rt: Runtime, nonce: str) -> str:
    """The sign-in form's CSRF token: an HMAC of the cookie's nonce, so neither forges the other."""
    key = rt.security.secret_key.encode()
    return hmac.new(key, f"signin:{nonce}".encode(), hashlib.sha256).hexdigest()


def check_signin_token(rt: Runtime, request: Request, form: FormData) -> None:
    nonce = request.cookies.get(SIGNIN_COOKIE, "")
    sent = str(form.get(CSRF_FIELD) or "")
    if not nonce or not sent or not hmac.compare_digest(sent, signin_token(rt, nonce)):
        raise CsrfRejected(
            "the sign-in form has expired or did not come from this site: reload it and try again"
        )


# --- where to go next ---------------------------------------------------------------------------


def local_path(candidate: str | None, default: str = "/") -> str:
    """Only a path on this site (never ``//host`` or a scheme): no open redirects."""
    if not candidate or not candidate.startswith("/") or candidate.startswith(("//", "/\\")):
        return default
    if any(c in candidate for c in "\r\n\\"):
        return default
    return candidate


def signin_url(request: Request) -> str:
    """Sign-in, then back here; a POST or htmx request returns to the page it came from."""
    here = request.url.path
    if request.url.query:
        here += "?" + request.url.query
    if request.method != "GET" or request.headers.get("HX-Request"):
        came_from = request.headers.get("HX-Current-URL") or request.headers.get("referer") or ""
        here = urlsplit(came_from).path or "/"
    return "/signin?next=" + quote(local_path(here), safe="/")
