"""Pure ASGI middlewares (no ``BaseHTTPMiddleware``: it buffers and slows streamed responses).

``CorrelationMiddleware`` (outermost) binds the request's correlation id for every log line, returns
it in ``X-Request-ID`` and turns an unhandled exception into a logged 500 ``ErrorBody``.
``RequestMetricsMiddleware`` counts and times requests by route template (never the raw path, which
would give every document its own time series) and writes one access log line.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import MutableMapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contracts.api_schemas import ErrorBody
from service_kit.correlation import CORRELATION_HEADER, accept_correlation_id, correlation_id_var
from service_kit.metrics import REQUEST_SECONDS, REQUESTS_TOTAL

log = logging.getLogger("api.access")
SERVICE = "api"
UNMATCHED_ROUTE = "unmatched"
_HEADER = CORRELATION_HEADER.lower().encode("latin-1")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def route_template(scope: MutableMapping[str, Any]) -> str:
    """The path template of the route that handled the request (``/v1/owners/{owner_id}/types``)."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) else UNMATCHED_ROUTE


async def _send_server_error(send: Send, correlation_id: str) -> None:
    error = ErrorBody(code="internal_error", message="unexpected server error")
    body = json.dumps(error.model_dump(exclude_none=True)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (_HEADER, correlation_id.encode("latin-1")),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class _HttpMiddleware:
    """Passes lifespan (and any non-HTTP) traffic straight through; ``handle`` sees HTTP requests only."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.handle(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


class CorrelationMiddleware(_HttpMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        correlation_id = accept_correlation_id(_header(scope, _HEADER))
        token = correlation_id_var.set(correlation_id)
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), (_HEADER, correlation_id.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error", extra={"path": scope.get("path")})
            if started:
                raise  # the body is half sent: only dropping the connection tells the client
            await _send_server_error(send, correlation_id)
        finally:
            correlation_id_var.reset(token)


class RequestMetricsMiddleware(_HttpMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        began = time.perf_counter()
        status = 500  # what the outer middleware answers when the app raises before responding

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            self._record(scope, status, time.perf_counter() - began)

    @staticmethod
    def _record(scope: Scope, status: int, seconds: float) -> None:
        endpoint = route_template(scope)
        REQUESTS_TOTAL.labels(SERVICE, endpoint, str(status)).inc()
        REQUEST_SECONDS.labels(SERVICE, endpoint).observe(seconds)
        log.info(
            "request",
            extra={
                "method": scope.get("method"),
                "route": endpoint,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
            },
        )
