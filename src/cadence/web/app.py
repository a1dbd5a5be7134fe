"""``create_app(settings)``: the FastAPI application, built by a factory so tests can inject settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

import cadence
from cadence.config import Settings
from cadence.ingest.http import ingest_router
from cadence.runtime import Runtime, open_runtime
from cadence.web.errors import install_error_handlers
from cadence.web.routes import health, machines


def create_app(settings: Settings, runtime: Runtime | None = None) -> FastAPI:
    """Build the app. With ``runtime`` given, the caller owns it; otherwise the app opens and closes one."""
    owned = runtime is None
    rt = runtime if runtime is not None else open_runtime(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if owned:
                rt.close()

    app = FastAPI(
        title="Cadence",
        version=cadence.__version__,
        description="Press plant data: health, machines, signals, strokes, states and ingest.",
        lifespan=lifespan,
    )
    app.state.runtime = rt
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(machines.router)
    app.include_router(ingest_router(rt.pipeline))
    return app
