"""Who am I, users and their roles, and API tokens."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Response

from rxledger.domain.permissions import Grant
from rxledger.entrypoints.api import convert
from rxledger.entrypoints.api import schemas as s
from rxledger.entrypoints.api.deps import ActorDep, IdPath, PagingDep, RuntimeDep
from rxledger.entrypoints.api.errors import ERROR_RESPONSES
from rxledger.services import catalog, identity

router = APIRouter(responses=ERROR_RESPONSES)


@router.get("/me", response_model=s.MeOut, tags=["people"])
def me(rt: RuntimeDep, actor: ActorDep) -> s.MeOut:
    """The token's user, their roles and the sites they may see."""
    return s.MeOut(
        id=actor.user_id,
        username=actor.username,
        grants=[s.GrantIO(role=g.role, site_id=g.site_id) for g in actor.grants],
        sites=[convert.site(x) for x in catalog.list_sites(rt, actor)],
    )


@router.get("/users", response_model=s.Page[s.UserOut], tags=["people"])
def list_users(rt: RuntimeDep, actor: ActorDep, paging: PagingDep) -> dict[str, object]:
    """Everyone in the organization (administrators)."""
    users = identity.list_users(rt, actor)
    chunk = users[paging.offset : paging.offset + paging.limit]
    return s.page(
        [convert.user(u) for u in chunk],
        paging.limit,
        paging.offset,
        len(users) > paging.offset + paging.limit,
    )


@router.post("/users", response_model=s.UserOut, status_code=201, tags=["people"])
def create_user(body: s.UserIn, rt: RuntimeDep, actor: ActorDep) -> s.UserOut:
    grants = [Grant(g.role, g.site_id) for g in body.grants]
    return convert.user(
        identity.create_user(
            rt,
            actor,
            username=body.username,
            full_name=body.full_name,
            password=body.password,
            grants=grants,
        )
    )


@router.get("/users/{user_id}", response_model=s.UserOut, tags=["people"])
def get_user(user_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> s.UserOut:
    return convert.user(identity.get_user(rt, actor, user_id))


@router.patch("/users/{user_id}", response_model=s.UserOut, tags=["people"])
def update_user(user_id: IdPath, body: s.UserPatch, rt: RuntimeDep, actor: ActorDep) -> s.UserOut:
    """Deactivate or reactivate a user, or set a new password."""
    if body.password is not None:
        identity.set_password(rt, actor, user_id, body.password)
    if body.active is not None:
        return convert.user(identity.set_active(rt, actor, user_id, body.active))
    return convert.user(identity.get_user(rt, actor, user_id))


@router.post("/users/{user_id}/grants", response_model=s.UserOut, tags=["people"])
def grant(user_id: IdPath, body: s.GrantIO, rt: RuntimeDep, actor: ActorDep) -> s.UserOut:
    return convert.user(identity.grant_role(rt, actor, user_id, Grant(body.role, body.site_id)))


@router.post("/users/{user_id}/grants/revoke", response_model=s.UserOut, tags=["people"])
def revoke(user_id: IdPath, body: s.GrantIO, rt: RuntimeDep, actor: ActorDep) -> s.UserOut:
    return convert.user(identity.revoke_role(rt, actor, user_id, Grant(body.role, body.site_id)))


@router.get("/tokens", response_model=s.Page[s.TokenOut], tags=["people"])
def list_tokens(rt: RuntimeDep, actor: ActorDep, paging: PagingDep) -> dict[str, object]:
    """This user's API tokens, revoked ones included."""
    tokens = identity.list_tokens(rt, actor)
    chunk = tokens[paging.offset : paging.offset + paging.limit]
    return s.page(
        [convert.token(x) for x in chunk],
        paging.limit,
        paging.offset,
        len(tokens) > paging.offset + paging.limit,
    )


@router.post("/tokens", response_model=s.TokenCreated, status_code=201, tags=["people"])
def create_token(body: s.TokenIn, rt: RuntimeDep, actor: ActorDep) -> s.TokenCreated:
    """A new token acting as this user; the secret is shown once."""
    expires = timedelta(days=body.expires_in_days) if body.expires_in_days else None
    secret, view = identity.create_token(rt, actor, body.name, expires)
    return s.TokenCreated(**convert.token(view).model_dump(), token=secret)


@router.delete("/tokens/{token_id}", status_code=204, tags=["people"])
def revoke_token(token_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> Response:
    identity.revoke_token(rt, actor, token_id)
    return Response(status_code=204)
