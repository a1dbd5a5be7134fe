"""``create_app(settings)``: the FastAPI application, built by a factory so tests can inject settings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

import cadence
from cadence.auth import PUBLIC, Permission, install_auth, require, require_ingest
from cadence.config import Settings
from cadence.ingest.http import ingest_router
from cadence.runtime import Runtime, open_runtime
from cadence.web.assets import STATIC_DIR, check_vendored
from cadence.web.errors import install_error_handlers
from cadence.web.routes import health, kpis, live, machines, operator, operator_pages, pages, spc_pages, trace
from cadence.web.routes import health_pages as press_health
from cadence.web.routes import kpi_detail as kpi_drilldown
from cadence.web.routes import reports as report_pages
from cadence.web.routes import roi as roi_pages
from cadence.web.routes import trace_pages as trace_search
from cadence.web.routes import workorders as work_orders


def create_app(settings: Settings, runtime: Runtime | None = None) -> FastAPI:
    """Build the app. With ``runtime`` given, the caller owns it; otherwise the app opens and closes one."""
    # Before the runtime opens, so a checkout without its browser files fails fast and leaks nothing.
    check_vendored()
    owned = runtime is None
    rt = runtime if runtime is not None else open_runtime(settings)
    live_stop = asyncio.Event()  # ends the live streams; uvicorn cancels any still open after its grace

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            live_stop.set()
            if owned:
                rt.close()

    app = FastAPI(
        title="Cadence",
        version=cadence.__version__,
        description="Press plant data: health, machines, signals, strokes, states and ingest.",
        lifespan=lifespan,
        # The interactive docs load their scripts from a CDN (refused by the CSP, absent offline) and the
        # schema describes every route: it is served below to signed-in users only (ASVS 13.4.5).
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.runtime = rt
    setattr(app.state, live.LIVE_STOP, live_stop)
    install_error_handlers(app)
    install_auth(app, rt.auth, cookie_secure=settings.auth_cookie_secure)
    # Every route declares who may use it (tests/integration/test_access_matrix.py checks them all).
    app.include_router(health.router, dependencies=[PUBLIC])
    app.include_router(machines.router, dependencies=[require(Permission.VIEW_PLANT)])
    app.include_router(trace.router, dependencies=[require(Permission.VIEW_PLANT)])
    app.include_router(kpis.router, dependencies=[require(Permission.VIEW_PLANT)])
    app.include_router(operator.router, dependencies=[require(Permission.VIEW_PLANT)])
    app.include_router(live.router)
    app.include_router(ingest_router(rt.pipeline), dependencies=[require_ingest()])
    app.include_router(pages.router)
    app.include_router(roi_pages.router)
    app.include_router(operator_pages.router)
    app.include_router(report_pages.router)
    app.include_router(kpi_drilldown.router)  # declares its permissions route by route
    app.include_router(trace_search.router)  # the traceability page; the trace API's permission
    app.include_router(spc_pages.router)  # the SPC page and API; permissions route by route
    app.include_router(work_orders.router)  # work order pages and API; permissions route by route
    app.include_router(press_health.router)  # the press health page and API; permissions route by route

    @app.get("/api/v1/openapi.json", include_in_schema=False, dependencies=[require(Permission.VIEW_PLANT)])
    def openapi_schema() -> dict[str, Any]:
        """The OpenAPI description of the JSON API."""
        return app.openapi()

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
