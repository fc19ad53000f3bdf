"""A pharmacy network with one user per role, served by the real application over HTTP.

``web_world`` is built once per module (argon2 hashing makes users costly); tests that move the
clock or fail sign-ins on purpose take ``fresh_world``, their own database.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from playwright.sync_api import Browser as PlaywrightBrowser

from rxledger.adapters.database import create_db_engine
from rxledger.domain.clock import ManualClock
from rxledger.domain.identifiers import Ndc
from rxledger.domain.model import Item
from rxledger.domain.permissions import Actor, Grant, Role
from rxledger.entrypoints.api.app import create_app
from rxledger.services import catalog, identity, queries
from rxledger.services.catalog import PackageSpec
from rxledger.services.runtime import LedgerPolicy, Runtime
from tests.builders import Network, SiteFixture, build_network
from tests.conftest import NOW

PASSWORD = "correct horse battery"
NDC = "0777-3105-02"
UNIT_GTIN = Ndc.parse(NDC).to_gtin()  # 00307773105025: the GTIN GS1 US assigns to the NDC
SITE_ROLES = tuple(Role)  # technician, pharmacist, buyer, manager, auditor, admin
OUTSIDER = "outsider"  # a manager, but at the other site


def gtin(body: str) -> str:
    """``body`` (13 digits) with its GS1 check digit."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


BOTTLE_GTIN = gtin("1" + UNIT_GTIN[1:13])
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page carries no CSRF token"
    return found.group(1)


class WebClient:
    """A signed-in HTTP client (cookies kept) with the session's CSRF token at hand."""

    def __init__(self, client: TestClient, csrf: str) -> None:
        self.http = client
        self.csrf = csrf

    def get(self, url: str, headers: Mapping[str, str] | None = None) -> Response:
        response: Response = self.http.get(url, headers=headers, follow_redirects=False)
        return response

    def post(self, url: str, data: Mapping[str, object], *, csrf: bool = True) -> Response:
        body = {k: str(v) for k, v in data.items()}
        if csrf:
            body.setdefault("csrf_token", self.csrf)
        response: Response = self.http.post(url, data=body, follow_redirects=False)
        return response

    def confirm_and_post(self, slug: str, data: Mapping[str, object]) -> tuple[Response, Response]:
        """The two steps of a stock form: the confirm page, then the post with its key."""
        confirm = self.post(f"/stock/{slug}/confirm", data)
        if confirm.status_code != 200:
            return confirm, confirm
        key = KEY.search(confirm.text)
        assert key, confirm.text
        return confirm, self.post(f"/stock/{slug}", {**data, "idempotency_key": key.group(1)})


@dataclass
class WebWorld:
    rt: Runtime
    clock: ManualClock
    net: Network
    app: FastAPI
    item: Item
    usernames: dict[str, str] = field(default_factory=dict)
    signed_in: dict[str, WebClient] = field(default_factory=dict)

    @property
    def central(self) -> SiteFixture:
        return self.net.central

    @property
    def retail(self) -> SiteFixture:
        return self.net.retail

    @property
    def admin(self) -> Actor:
        return self.net.actor

    def client(self) -> TestClient:
        # https: the session cookie is Secure, so the client only sends it over https.
        return TestClient(self.app, base_url="https://testserver")

    def sign_in(self, who: str) -> WebClient:
        client = self.client()
        page = client.get("/signin")
        response = client.post(
            "/signin",
            data={
                "username": self.usernames.get(who, who),
                "password": PASSWORD,
                "csrf_token": csrf_of(page.text),
                "next": "/tokens",
            },
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        landing = client.get("/tokens")
        assert landing.status_code == 200, landing.text
        return WebClient(client, csrf_of(landing.text))

    def client_for(self, who: str) -> WebClient:
        """A browser with a session opened through the service (no password hashing), kept for
        the module: for tests that never sign out; the sign-in form has tests of its own."""
        if who not in self.signed_in:
            actor = identity.user_actor(
                self.rt, self.admin.organization_id, self.usernames.get(who, who)
            )
            sites = catalog.list_sites(self.rt, actor)
            token, info = identity.start_session(self.rt, actor, sites[0].id if sites else None)
            client = self.client()
            client.cookies.set("rxledger_session", token)
            self.signed_in[who] = WebClient(client, info.csrf_token)
        return self.signed_in[who]

    def last_document_id(self) -> int:
        rows = queries.list_documents(self.rt, self.admin, limit=1)
        return int(rows[0]["id"]) if rows else 0

    def add_user(self, name: str, *grants: Grant) -> str:
        identity.create_user(
            self.rt,
            self.admin,
            username=name,
            full_name=name.title(),
            password=PASSWORD,
            grants=grants,
        )
        return name


def build_world(db_path: Path, roles: tuple[Role, ...], outsider: bool) -> WebWorld:
    clock = ManualClock(NOW)
    rt = Runtime(
        engine=create_db_engine(f"sqlite:///{db_path}"), clock=clock, policy=LedgerPolicy()
    )
    net = build_network(rt)
    item = net.item(
        "Amoxicillin 500 mg capsule",
        ndc10=NDC,
        packages=(
            PackageSpec("unit", 1, gtin=UNIT_GTIN),
            PackageSpec("bottle", 100, gtin=BOTTLE_GTIN),
        ),
    )
    net.receive(item, 10_000, "L1", date(2027, 12, 31))
    net.receive(item, 5_000, "L0", date(2026, 12, 31))
    net.receive(item, 10_000, "R1", date(2027, 12, 31), site=net.retail)
    world = WebWorld(rt, clock, net, create_app(rt), item)
    for role in roles:
        world.usernames[role.value] = world.add_user(f"{role.value}1", Grant(role, net.central.id))
    if outsider:
        world.usernames[OUTSIDER] = world.add_user("outsider1", Grant(Role.MANAGER, net.retail.id))
    return world


@pytest.fixture(scope="module")
def web_world(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WebWorld]:
    path = tmp_path_factory.mktemp("web") / "rxledger.db"
    shutil.copyfile(sqlite_template, path)
    world = build_world(path, SITE_ROLES, outsider=True)
    yield world
    world.rt.engine.dispose()


@pytest.fixture
def fresh_world(sqlite_template: Path, tmp_path: Path) -> Iterator[WebWorld]:
    path = tmp_path / "rxledger.db"
    shutil.copyfile(sqlite_template, path)
    world = build_world(path, (Role.TECHNICIAN,), outsider=False)
    yield world
    world.rt.engine.dispose()


# --- a live server and a real browser -----------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class LiveServer:
    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve(app: FastAPI) -> LiveServer:
    """Run the app under uvicorn in a background thread on a free port of 127.0.0.1."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    return LiveServer(f"http://localhost:{port}", server, thread)


@pytest.fixture(scope="session")
def chromium() -> Iterator[PlaywrightBrowser]:
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    if not CHROMIUM.exists():
        reason = f"browser tests need Debian's chromium at {CHROMIUM} (make system-deps)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()
