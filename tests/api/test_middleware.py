"""The request middlewares on a minimal app: correlation id in and out, 500s as ErrorBody, route templates."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client import REGISTRY
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, StreamingResponse
from starlette.routing import Route

from api.core.middleware import UNMATCHED_ROUTE, CorrelationMiddleware, RequestMetricsMiddleware, route_template
from service_kit.correlation import correlation_id_var


async def echo_id(_: Request) -> PlainTextResponse:
    return PlainTextResponse(correlation_id_var.get() or "")


async def broken(_: Request) -> PlainTextResponse:
    raise RuntimeError("a bug")


async def broken_midway(_: Request) -> StreamingResponse:
    async def body() -> AsyncIterator[bytes]:
        yield b"first part"
        raise RuntimeError("storage failed mid-file")

    return StreamingResponse(body())


def _client() -> httpx.AsyncClient:
    app = Starlette(
        routes=[Route("/items/{item_id}", echo_id), Route("/broken", broken), Route("/midway", broken_midway)]
    )
    app.add_middleware(RequestMetricsMiddleware)
    app.add_middleware(CorrelationMiddleware)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app, raise_app_exceptions=True), base_url="http://t")


async def test_correlation_middleware_binds_and_returns_the_id_when_the_caller_sends_a_safe_one() -> None:
    async with _client() as client:
        response = await client.get("/items/1", headers={"X-Request-ID": "upd-42.a:b"})

    assert response.text == "upd-42.a:b"
    assert response.headers["X-Request-ID"] == "upd-42.a:b"


async def test_correlation_middleware_creates_an_id_when_none_or_an_unsafe_one_is_sent() -> None:
    async with _client() as client:
        for sent in ({}, {"X-Request-ID": "has spaces"}, {"X-Request-ID": "x" * 65}):
            response = await client.get("/items/1", headers=sent)
            assert response.headers["X-Request-ID"] == response.text
            assert len(response.text) == 32 and response.text != sent.get("X-Request-ID")


async def test_correlation_middleware_answers_error_body_500_with_the_id_when_a_route_raises() -> None:
    async with _client() as client:
        response = await client.get("/broken", headers={"X-Request-ID": "req-1"})

    assert response.status_code == 500
    assert response.json() == {"code": "internal_error", "message": "unexpected server error"}
    assert response.headers["X-Request-ID"] == "req-1"


async def test_correlation_middleware_reraises_when_the_body_was_already_started() -> None:
    async with _client() as client:
        with pytest.raises(RuntimeError, match="mid-file"):
            await client.get("/midway")


def requests_counted(endpoint: str, status: str) -> float:
    return (
        REGISTRY.get_sample_value("docvault_requests_total", {"service": "api", "endpoint": endpoint, "status": status})
        or 0.0
    )


async def test_metrics_middleware_counts_by_route_template_when_paths_differ() -> None:
    before = requests_counted("/items/{item_id}", "200")
    async with _client() as client:
        for item in ("a", "b", "c"):
            await client.get(f"/items/{item}")
        await client.get("/broken")

    assert requests_counted("/items/{item_id}", "200") == before + 3
    assert requests_counted("/items/a", "200") == 0
    assert requests_counted("/broken", "500") >= 1


def test_route_template_is_unmatched_when_no_route_handled_the_request() -> None:
    assert route_template({"path": "/nope"}) == UNMATCHED_ROUTE
