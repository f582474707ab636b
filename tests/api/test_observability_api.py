"""Metrics by route template, timed MongoDB and S3 calls, the correlation id in responses and log lines."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client import REGISTRY

from service_kit.logging import JsonFormatter
from tests.api.support import upload

pytestmark = pytest.mark.integration

OWNER = 412845671
DOCUMENT_ROUTE = "/v1/owners/{owner_id}/documents/{document_id}"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """What the API logs, formatted as in production (one JSON object per line)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("api"))
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(previous_level)


async def test_requests_are_counted_by_route_template_and_status_when_paths_differ(api: httpx.AsyncClient) -> None:
    before = sample("docvault_requests_total", service="api", endpoint=DOCUMENT_ROUTE, status="404")
    timed_before = sample("docvault_request_seconds_count", service="api", endpoint=DOCUMENT_ROUTE)

    for _ in range(3):
        await api.get(f"/v1/owners/{OWNER}/documents/{uuid.uuid4()}")
    await api.get("/no/such/route")

    assert sample("docvault_requests_total", service="api", endpoint=DOCUMENT_ROUTE, status="404") == before + 3
    assert sample("docvault_request_seconds_count", service="api", endpoint=DOCUMENT_ROUTE) == timed_before + 3
    assert sample("docvault_requests_total", service="api", endpoint="unmatched", status="404") >= 1
    exposed = (await api.get("/metrics")).text
    assert f'endpoint="{DOCUMENT_ROUTE}"' in exposed and "/documents/" + "0" * 3 not in exposed


async def test_mongo_and_s3_calls_are_timed_when_an_upload_is_answered(api: httpx.AsyncClient) -> None:
    def calls() -> tuple[float, float, float]:
        count = "docvault_integration_call_seconds_count"
        return (
            sample(count, target="s3", operation="stat_object", outcome="ok"),
            sample(count, target="s3", operation="put_object", outcome="ok"),
            sample(count, target="mongo", operation="find_live_by_content_id", outcome="ok"),
        )

    before = calls()
    await upload(api, OWNER, uuid.uuid4().bytes)

    assert calls() == tuple(value + 1 for value in before)


async def test_correlation_id_is_returned_and_in_every_log_line_when_the_caller_sends_one(
    api: httpx.AsyncClient, json_log: io.StringIO
) -> None:
    response = await api.get(f"/v1/owners/{OWNER}/documents/{uuid.uuid4()}", headers={"X-Request-ID": "upd-77"})
    created = await api.get("/healthz")

    # the API's own lines (the test's HTTP client logs too, outside any request)
    lines = [entry for entry in map(json.loads, json_log.getvalue().splitlines()) if entry["logger"].startswith("api")]
    access = [line for line in lines if line["logger"] == "api.access"]
    assert response.headers["X-Request-ID"] == "upd-77"
    assert [(a["correlation_id"], a["route"], a["status"]) for a in access] == [
        ("upd-77", DOCUMENT_ROUTE, 404),
        (created.headers["X-Request-ID"], "/healthz", 200),
    ]
    assert all(line["correlation_id"] in ("upd-77", created.headers["X-Request-ID"]) for line in lines)


async def test_error_answers_carry_the_correlation_id_when_the_request_is_refused(api: httpx.AsyncClient) -> None:
    unauthorized = await api.get(f"/v1/owners/{OWNER}/types", headers={"Authorization": "", "X-Request-ID": "r-1"})
    invalid = await api.get("/v1/owners/0/types", headers={"X-Request-ID": "r-2"})

    assert (unauthorized.headers["X-Request-ID"], invalid.headers["X-Request-ID"]) == ("r-1", "r-2")
