"""The application factory: the API under /api/v1 and the web UI at /, on one runtime."""

from __future__ import annotations

from fastapi import FastAPI

from rxledger import __version__
from rxledger.entrypoints.api import catalog_routes, errors, ledger_routes, people_routes
from rxledger.services.runtime import Runtime

DESCRIPTION = """
The rxledger API: a lot- and serial-level stock ledger for pharmacies and dispensaries.

Authenticate with an API token (`POST /api/v1/tokens` from a signed-in session, or
`rxledger token create`) sent as `Authorization: Bearer <token>`. Every write accepts an
`Idempotency-Key` header: a retry with the same key returns the original document and posts
nothing. Every error is `{code, message, details}` with a stable `code`. Quantities are whole
numbers of the item's base unit.
"""


def create_app(rt: Runtime, *, with_web: bool = True) -> FastAPI:
    app = FastAPI(
        title="rxledger",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    app.state.runtime = rt
    errors.install(app)
    for router in (catalog_routes.router, ledger_routes.router, people_routes.router):
        app.include_router(router, prefix="/api/v1")
    if with_web:
        from rxledger.entrypoints.web import routes as web

        web.install(app)
    return app


def app_from_env() -> FastAPI:
    """The factory uvicorn workers call: settings from the environment, schema already migrated."""
    from rxledger import bootstrap

    return create_app(bootstrap.build())
