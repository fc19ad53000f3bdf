"""What the HTTP API tests share: one API user per role on the test network, a client that speaks
as any of them over the real ASGI app, exact error assertions, and a fingerprint of every table a
write could touch (so a refused request can be shown to have posted nothing).

These are plain functions and classes, not fixtures: each test module declares its own fixtures
(``tests/e2e/conftest.py`` belongs to another suite).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import Table, func, select
from starlette.routing import compile_path

from rxledger.adapters import security
from rxledger.adapters import tables as t
from rxledger.adapters import tables_control as tc
from rxledger.adapters import tables_receiving as tr
from rxledger.adapters.database import create_db_engine
from rxledger.domain.clock import ManualClock
from rxledger.domain.permissions import Grant, Role
from rxledger.entrypoints.api.app import create_app
from rxledger.services import identity
from rxledger.services.runtime import LedgerPolicy, Runtime
from tests.builders import Network, build_network
from tests.conftest import NOW

API = "/api/v1"
PASSWORD = "correct horse battery staple"

# The people of the matrix: each role granted at CENTRAL, the auditor organization-wide (an
# auditor reads everything), a technician of the other site, and an organization-wide admin.
PERSONAS: tuple[str, ...] = (
    "technician",
    "pharmacist",
    "buyer",
    "manager",
    "auditor",
    "admin",
    "retail_technician",
    "org_admin",
)

# Everything a posting, a user change, a token change or purchasing writes. Sessions and sign-in
# attempts are left out: the API never writes them. ``last_used_at`` is bookkeeping, not a write of
# the caller.
WRITTEN_TABLES: tuple[Table, ...] = (
    t.sites,
    t.locations,
    t.items,
    t.item_packages,
    t.lots,
    t.serials,
    t.reason_codes,
    t.documents,
    t.movements,
    t.balances,
    t.users,
    t.role_grants,
    t.api_tokens,
    tr.shipment_files,
    tr.shipments,
    tr.shipment_lines,
    tr.shipment_packages,
    tr.suppliers,
    tr.supplier_items,
    tr.requisitions,
    tr.requisition_lines,
    tr.approvals,
    tr.purchase_orders,
    tr.purchase_order_lines,
    tr.purchase_receipts,
    tr.receiving_sessions,
    tr.receiving_lines,
    tr.discrepancies,
    tr.investigations,
    tr.investigation_notes,
    tr.item_proposals,
    tr.certificates,
    tc.count_sessions,
    tc.count_lines,
    tc.count_entries,
    tc.held_adjustments,
    tc.approval_policies,
    tc.count_tolerances,
)
_IGNORED_COLUMNS = frozenset({"last_used_at"})

# argon2id with the smallest parameters: the same code path, a millisecond per hash instead of
# hundreds (the tests create a user per role, often per test).
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def use_fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(security, "_hasher", FAST_HASHER)


def persona_grants(net: Network, persona: str) -> tuple[Grant, ...]:
    central, retail = net.central.id, net.retail.id
    grants = {
        "technician": Grant(Role.TECHNICIAN, central),
        "pharmacist": Grant(Role.PHARMACIST, central),
        "buyer": Grant(Role.BUYER, central),
        "manager": Grant(Role.MANAGER, central),
        "auditor": Grant(Role.AUDITOR, None),
        "admin": Grant(Role.ADMIN, central),
        "retail_technician": Grant(Role.TECHNICIAN, retail),
        "org_admin": Grant(Role.ADMIN, None),
    }
    return (grants[persona],)


@dataclass(frozen=True, slots=True)
class ApiUser:
    persona: str
    username: str
    user_id: int
    token: str
    token_id: int

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def enroll(net: Network, persona: str, *grants: Grant, username: str | None = None) -> ApiUser:
    """A user made through the identity service, with an API token made the same way."""
    name = username or persona.replace("_", "-")
    grants = grants or persona_grants(net, persona)
    user = identity.create_user(
        net.rt, net.actor, username=name, full_name=name.title(), password=PASSWORD, grants=grants
    )
    actor = identity.user_actor(net.rt, net.actor.organization_id, name)
    token, view = identity.create_token(net.rt, actor, f"{name} tests")
    return ApiUser(persona, name, user.id, token, view.id)


class ApiClient:
    """The API over HTTP, as one of the enrolled users (``who``), a raw token, or nobody."""

    def __init__(self, app: FastAPI, users: Mapping[str, ApiUser]) -> None:
        self.app = app
        self.users = dict(users)
        self.http = TestClient(app, raise_server_exceptions=False)

    def request(
        self,
        method: str,
        path: str,
        *,
        who: str | None = "org_admin",
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        elif who is not None:
            sent.update(self.users[who].headers)
        return self.http.request(method, f"{API}{path}", headers=sent, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)


@dataclass
class ApiWorld:
    """The test network, one API user per persona, and a client on the real app."""

    net: Network
    users: dict[str, ApiUser]
    api: ApiClient

    @property
    def rt(self) -> Runtime:
        return self.net.rt

    def enroll(self, *personas: str) -> None:
        """Add users for more personas (each costs a few writes; most tests need only one)."""
        for persona in personas:
            self.users[persona] = self.api.users[persona] = enroll(self.net, persona)


def build_api_world(
    rt: Runtime, personas: tuple[str, ...] = PERSONAS, *, app: FastAPI | None = None
) -> ApiWorld:
    """The network, its API users and a client. Pass a shared ``app`` to skip warming up a new one
    for every test: it is pointed at this runtime through ``app.state.runtime``."""
    net = build_network(rt)
    users = {p: enroll(net, p) for p in personas}
    if app is None:
        app = create_app(rt, with_web=False)
    app.state.runtime = rt
    return ApiWorld(net, users, ApiClient(app, users))


def idle_app() -> FastAPI:
    """An API app on an unused in-memory runtime, for fixtures that point it at their own."""
    return create_app(
        Runtime(create_db_engine("sqlite://"), ManualClock(NOW), LedgerPolicy()), with_web=False
    )


@dataclass(frozen=True, slots=True)
class ServedRoute:
    method: str
    path: str
    regex: re.Pattern[str]


def api_routes(app: FastAPI) -> list[ServedRoute]:
    """Every (method, path) the app serves under /api/v1, in routing order (HEAD implied by GET)."""
    served = []
    for context in iter_route_contexts(app.routes):
        path = context.path
        if not path or not path.startswith(API):
            continue
        regex = compile_path(path)[0]
        served += [
            ServedRoute(m, path, regex) for m in sorted(context.methods or ()) if m != "HEAD"
        ]
    return served


def ok(response: httpx.Response, status: int = 200) -> Any:
    """The JSON body of a response that must have this status."""
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    return response.json() if response.content else None


def error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Assert the one error format, ``{code, message, details}``, with this status and code."""
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    body: dict[str, Any] = response.json()
    assert set(body) == {"code", "message", "details"}, body
    assert body["code"] == code, body
    assert isinstance(body["message"], str)
    assert body["message"]
    assert isinstance(body["details"], dict)
    return body


def ledger_state(rt: Runtime) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table a write could change, in a comparable form."""
    state: dict[str, list[tuple[Any, ...]]] = {}
    with rt.uow(read_only=True) as uow:
        for table in WRITTEN_TABLES:
            columns = [c for c in table.columns if c.name not in _IGNORED_COLUMNS]
            rows = uow.connection.execute(
                select(*columns).order_by(*table.primary_key.columns)
            ).all()
            state[table.name] = [tuple(r) for r in rows]
    return state


def count_rows(rt: Runtime, table: Table) -> int:
    with rt.uow(read_only=True) as uow:
        return int(uow.connection.execute(select(func.count()).select_from(table)).scalar_one())
