"""The FastAPI application: routers, error handlers and middlewares around a lifespan-built state."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import health
from api.core.clients import ApiState, api_lifespan
from api.core.errors import install_error_handlers
from api.core.middleware import CorrelationMiddleware, PathHeadersMiddleware, RequestMetricsMiddleware
from api.documents import reminders, sealing
from api.documents import routes as document_routes
from api.files import erasure
from api.files import routes as file_routes
from api.files.links import LINK_RESPONSE_HEADERS, SIGNED_PATH
from api.settings import ApiSettings


def create_app(settings: ApiSettings) -> FastAPI:
    app = FastAPI(
        title="DocVault query API",
        version="1",
        summary="Owner-scoped reads of the read models and the file endpoint.",
        lifespan=_lifespan,
    )
    app.state.settings = settings
    for router in (
        document_routes.router,
        sealing.router,
        reminders.router,
        file_routes.router,
        file_routes.signed_router,
        health.router,
    ):
        app.include_router(router)
    install_error_handlers(app)
    app.add_middleware(PathHeadersMiddleware, prefix=SIGNED_PATH, headers=LINK_RESPONSE_HEADERS)
    # Added last = outermost: the correlation id is bound before metrics and logs are written.
    app.add_middleware(RequestMetricsMiddleware)
    app.add_middleware(CorrelationMiddleware)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The clients (``api_lifespan``), and the erasure worker while they are open."""
    async with api_lifespan(app):
        state: ApiState = app.state.api
        every = state.settings.erasure_poll_seconds
        worker = asyncio.create_task(erasure.follow(state, every)) if every > 0 else None
        try:
            yield
        finally:
            if worker is not None:
                worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
