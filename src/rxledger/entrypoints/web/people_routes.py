"""Signing in and out, the site switcher, users and roles, and one's own API tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from rxledger.domain import errors
from rxledger.domain.permissions import Grant, Role
from rxledger.entrypoints.web.fields import Fields
from rxledger.entrypoints.web.render import WebRoute, handling_form, render, see_other
from rxledger.entrypoints.web.session import (
    Ctx,
    FormDep,
    PostCtx,
    RuntimeDep,
    WebContext,
    check_signin_token,
    clear_session_cookie,
    clear_signin_cookie,
    local_path,
    set_session_cookie,
    set_signin_cookie,
    signin_nonce,
    signin_token,
)
from rxledger.services import catalog, identity

router = APIRouter(route_class=WebRoute, include_in_schema=False)
Next = Annotated[str, Query(max_length=500)]


# --- signing in and out -------------------------------------------------------------------------


@router.get("/signin", response_class=HTMLResponse)
def signin_page(request: Request, rt: RuntimeDep, next: Next = "/dashboard") -> Response:  # noqa: A002
    nonce, fresh = signin_nonce(request)
    context = {"values": {"next": local_path(next, "/dashboard")}, "csrf": signin_token(rt, nonce)}
    page = render(request, "signin.html", context)
    if fresh:
        set_signin_cookie(page, nonce)
    return page


@router.post("/signin", response_class=HTMLResponse)
def signin(request: Request, rt: RuntimeDep, data: FormDep) -> Response:
    """Check the password (throttled), open a server-side session, set its cookie."""
    check_signin_token(rt, request, data)
    fields = Fields(data)
    nonce, _ = signin_nonce(request)
    values = {k: fields.text(k) or "" for k in ("username", "org", "next")}
    handling_form(
        request, "signin.html", lambda: {"values": values, "csrf": signin_token(rt, nonce)}
    )
    organization = catalog.organization_by_code(rt, fields.text("org", max_length=40))
    actor = identity.authenticate(
        rt,
        organization.id,
        fields.required_text("username", "your user name", max_length=80),
        fields.required_text("password", "your password", max_length=500),
        request.client.host if request.client else "unknown",
    )
    sites = catalog.list_sites(rt, actor)
    token, info = identity.start_session(rt, actor, sites[0].id if sites else None)
    response = see_other(local_path(fields.text("next", max_length=500), "/dashboard"))
    lifetime = int((info.expires_at - rt.clock.now()).total_seconds())
    set_session_cookie(response, token, max(lifetime, 1))
    clear_signin_cookie(response)
    return response


@router.post("/signout", response_class=HTMLResponse)
def signout(ctx: PostCtx) -> Response:
    identity.end_session(ctx.rt, ctx.token)
    response = see_other("/signin")
    clear_session_cookie(response)
    return response


@router.post("/site", response_class=HTMLResponse)
def switch_site(ctx: PostCtx, data: FormDep) -> Response:
    """Work at another of one's sites; the session remembers it."""
    fields = Fields(data)
    identity.switch_site(ctx.rt, ctx.token, fields.integer("site_id", "site"))
    return see_other(local_path(fields.text("next", max_length=500), "/dashboard"))


# --- users and roles ----------------------------------------------------------------------------


@router.get("/users", response_class=HTMLResponse)
def users(request: Request, ctx: Ctx, done: Annotated[str, Query(max_length=200)] = "") -> Response:
    """Everyone in the organization with their roles, for those who manage users."""
    return render(request, "users.html", users_context(ctx, {}, done))


@router.post("/users", response_class=HTMLResponse)
def create_user(request: Request, ctx: PostCtx, data: FormDep) -> Response:
    fields = Fields(data)
    handling_form(request, "users.html", lambda: users_context(ctx, fields.values()))
    user = identity.create_user(
        ctx.rt,
        ctx.actor,
        username=fields.required_text("username", "a user name", max_length=80),
        full_name=fields.text("full_name") or "",
        password=fields.required_text("password", "a password", max_length=500),
        grants=[_grant(fields)],
    )
    return see_other(f"/users?done={quote(f'Created {user.username}')}")


@router.post("/users/{user_id}/roles", response_class=HTMLResponse)
def change_role(request: Request, ctx: PostCtx, data: FormDep, user_id: int) -> Response:
    """Grant a role at a site (or everywhere), or revoke it (``action=revoke``)."""
    fields = Fields(data)
    handling_form(request, "users.html", lambda: users_context(ctx, fields.values()))
    grant = _grant(fields)
    change = identity.revoke_role if fields.text("action") == "revoke" else identity.grant_role
    user = change(ctx.rt, ctx.actor, user_id, grant)
    return see_other(f"/users?done={quote(f'Updated the roles of {user.username}')}")


@router.post("/users/{user_id}/active", response_class=HTMLResponse)
def set_active(request: Request, ctx: PostCtx, data: FormDep, user_id: int) -> Response:
    fields = Fields(data)
    handling_form(request, "users.html", lambda: users_context(ctx, fields.values()))
    user = identity.set_active(ctx.rt, ctx.actor, user_id, fields.flag("active"))
    state = "Reactivated" if user.active else "Deactivated"
    return see_other(f"/users?done={quote(f'{state} {user.username}')}")


def _grant(fields: Fields) -> Grant:
    raw = fields.required_text("role", "a role", max_length=20)
    try:
        role = Role(raw)
    except ValueError as exc:
        raise errors.ValidationFailed(f"no role {raw!r}", field="role") from exc
    return Grant(role, fields.optional_integer("site_id", "site"))


def users_context(ctx: WebContext, values: dict[str, str], done: str = "") -> dict[str, Any]:
    return {
        "users": identity.list_users(ctx.rt, ctx.actor),
        "roles": [r.value for r in Role],
        "site_codes": {s.id: s.code for s in ctx.sites},
        "values": values,
        "done": done,
    }


# --- API tokens ---------------------------------------------------------------------------------


@router.get("/tokens", response_class=HTMLResponse)
def tokens(request: Request, ctx: Ctx) -> Response:
    """One's own API tokens; a new token's secret is shown once, when it is created."""
    return render(request, "tokens.html", tokens_context(ctx, {}))


@router.post("/tokens", response_class=HTMLResponse)
def create_token(request: Request, ctx: PostCtx, data: FormDep) -> Response:
    fields = Fields(data)
    handling_form(request, "tokens.html", lambda: tokens_context(ctx, fields.values()))
    days = fields.optional_integer("expires_days", "days")
    if days is not None and not 1 <= days <= 3650:
        raise errors.ValidationFailed("a token expires in 1 to 3,650 days", field="expires_days")
    secret, token = identity.create_token(
        ctx.rt,
        ctx.actor,
        fields.required_text("name", "a name for the token", max_length=120),
        timedelta(days=days) if days else None,
    )
    context = {**tokens_context(ctx, {}), "secret": secret, "created": token}
    return render(request, "tokens.html", context, status=201)


@router.post("/tokens/{token_id}/revoke", response_class=HTMLResponse)
def revoke_token(request: Request, ctx: PostCtx, token_id: int) -> Response:
    handling_form(request, "tokens.html", lambda: tokens_context(ctx, {}))
    identity.revoke_token(ctx.rt, ctx.actor, token_id)
    return see_other("/tokens")


def tokens_context(ctx: WebContext, values: dict[str, str]) -> dict[str, Any]:
    return {"tokens": identity.list_tokens(ctx.rt, ctx.actor), "values": values}
