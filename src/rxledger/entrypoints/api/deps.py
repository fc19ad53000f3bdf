"""Typed FastAPI dependencies: the runtime, the authenticated actor, pagination, idempotency key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator

from rxledger.domain.errors import Unauthenticated, ValidationFailed
from rxledger.domain.ledger import check_client_key
from rxledger.domain.permissions import Actor
from rxledger.services import audit, identity
from rxledger.services.runtime import Runtime

_bearer = HTTPBearer(auto_error=False, description="An API token from POST /api/v1/tokens")


# Dependencies that do no I/O are ``async def``: FastAPI runs a plain ``def`` dependency in the
# thread pool, and a hop to a worker thread and back costs more than the dependency itself.


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def api_origin(request: Request) -> str:
    """Audit rows of this request say it came through the API from the client's address. Set
    here, in the request's own context: a plain ``def`` runs in a copy of it, on a worker thread,
    and what it sets is lost when it returns."""
    where = f"api {request.client.host if request.client else 'unknown'}"
    audit.set_origin(where)
    return where


def get_actor(  # a plain def: the token is looked up in the database, off the event loop
    rt: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    _origin: Annotated[str, Depends(api_origin)],
) -> Actor:
    """The user behind the bearer token; the API takes tokens only (the web UI has sessions)."""
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthenticated("send an API token as 'Authorization: Bearer <token>'")
    return identity.token_actor(rt, credentials.credentials)


ActorDep = Annotated[Actor, Depends(get_actor)]


@dataclass(frozen=True, slots=True)
class Paging:
    limit: int
    offset: int


async def get_paging(
    limit: Annotated[int, Query(ge=1, le=500, description="Items per page.")] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="Items to skip.")] = 0,
) -> Paging:
    return Paging(limit, offset)


PagingDep = Annotated[Paging, Depends(get_paging)]


def _client_key(key: str | None) -> str | None:
    """rxledger's own key prefixes are refused (422), as any other invalid header."""
    try:
        return check_client_key(key)
    except ValidationFailed as exc:
        raise ValueError(exc.message) from None


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="A retry with the same key returns the first result and posts nothing. "
        "Keys starting held-adjustment:, count-line:, receiving-session:, reconcile: or "
        "preview: are rxledger's own.",
    ),
    AfterValidator(_client_key),
]


MAX_ID = 2**63 - 1
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
NO_NUL = r"^[^\x00]*$"
