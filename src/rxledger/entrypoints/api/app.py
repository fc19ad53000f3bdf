"""The application factory: the API under /api/v1 and the web UI at /, on one runtime."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI

from rxledger import __version__
from rxledger.entrypoints.api import (
    approvals_routes,
    audit_routes,
    catalog_routes,
    certificate_routes,
    controlled_routes,
    counts_routes,
    errors,
    imports_routes,
    investigation_routes,
    ledger_routes,
    people_routes,
    purchasing_routes,
    receiving_routes,
    reconciliation_routes,
    replenishment_routes,
    scan_routes,
    stewardship_routes,
)
from rxledger.services.runtime import Runtime

DESCRIPTION = """
The rxledger API: a lot- and serial-level stock ledger for pharmacies and dispensaries.

Authenticate with an API token (`POST /api/v1/tokens` from a signed-in session, or
`rxledger token create`) sent as `Authorization: Bearer <token>`. Every write accepts an
`Idempotency-Key` header: a retry with the same key returns the original document and posts
nothing. Every error is `{code, message, details}` with a stable `code`. Quantities are whole
numbers of the item's base unit.
"""


# Worker threads per server process (the sync endpoints and dependencies run there), and so the
# database connections it keeps: one per thread, so that no request opens a connection of its own
# (beyond the pool, each connection is opened for one checkout and closed after it; on PostgreSQL
# that is a new backend process per request).
SERVER_THREADS = 40


def create_app(rt: Runtime, *, with_web: bool = True, threads: int | None = None) -> FastAPI:
    """The app on this runtime; ``threads`` sets the size of the worker thread pool (else the
    default of the running event loop)."""
    app = FastAPI(
        lifespan=_thread_pool(threads) if threads else None,
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
    app.include_router(scan_routes.router, prefix="/api/v1")
    app.include_router(imports_routes.router, prefix="/api/v1")
    app.include_router(approvals_routes.router, prefix="/api/v1")
    app.include_router(purchasing_routes.router, prefix="/api/v1")
    app.include_router(investigation_routes.router, prefix="/api/v1")
    app.include_router(receiving_routes.router, prefix="/api/v1")
    app.include_router(stewardship_routes.router, prefix="/api/v1")
    app.include_router(certificate_routes.router, prefix="/api/v1")
    app.include_router(replenishment_routes.router, prefix="/api/v1")
    app.include_router(controlled_routes.router, prefix="/api/v1")
    app.include_router(counts_routes.router, prefix="/api/v1")
    app.include_router(audit_routes.router, prefix="/api/v1")
    app.include_router(reconciliation_routes.router, prefix="/api/v1")
    if with_web:
        from rxledger.entrypoints.web import routes as web

        web.install(app)
    return app


def app_from_env() -> FastAPI:
    """The factory uvicorn workers call: settings from the environment, schema already migrated."""
    from rxledger import bootstrap

    return create_app(bootstrap.build(pool_size=SERVER_THREADS), threads=SERVER_THREADS)


def _thread_pool(threads: int) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        yield

    return lifespan
