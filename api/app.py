"""The FastAPI application: routers, error handlers and middlewares around a lifespan-built state."""

from __future__ import annotations

from fastapi import FastAPI

from api.errors import install_error_handlers
from api.middleware import CorrelationMiddleware, RequestMetricsMiddleware
from api.routers import documents, files, health
from api.settings import ApiSettings
from api.state import api_lifespan


def create_app(settings: ApiSettings) -> FastAPI:
    app = FastAPI(
        title="DocVault query API",
        version="1",
        summary="Owner-scoped reads of the read models and the file endpoint.",
        lifespan=api_lifespan,
    )
    app.state.settings = settings
    for router in (documents.router, files.router, files.signed_router, health.router):
        app.include_router(router)
    install_error_handlers(app)
    # Added last = outermost: the correlation id is bound before metrics and logs are written.
    app.add_middleware(RequestMetricsMiddleware)
    app.add_middleware(CorrelationMiddleware)
    return app
