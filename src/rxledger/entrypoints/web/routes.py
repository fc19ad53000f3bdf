"""Mount the web application on the FastAPI app: its pages and its static files."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from rxledger.entrypoints.web import (
    approvals_routes,
    audit_routes,
    certificate_routes,
    counts_routes,
    pages,
    people_routes,
    purchasing_routes,
    quarantine_routes,
    receiving_routes,
    reconciliation_routes,
    replenishment_routes,
    stewardship_routes,
    stock_routes,
)
from rxledger.entrypoints.web.render import HERE


def install(app: FastAPI) -> None:
    """The pages at /, the stylesheet, scripts and vendored libraries at /static."""
    for router in (people_routes.router, pages.router, stock_routes.router):
        app.include_router(router)
    app.include_router(approvals_routes.router)
    app.include_router(purchasing_routes.router)
    app.include_router(replenishment_routes.router)
    app.include_router(counts_routes.router)
    app.include_router(reconciliation_routes.router)
    app.include_router(quarantine_routes.router)
    app.include_router(receiving_routes.router)
    app.include_router(stewardship_routes.router)
    app.include_router(certificate_routes.router)
    app.include_router(audit_routes.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
