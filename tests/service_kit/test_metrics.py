"""The timing decorator: one histogram observation per call, labelled with its target, operation and outcome."""

from __future__ import annotations

import asyncio
import inspect
import time
import uuid

import pytest
from prometheus_client import REGISTRY

from service_kit.metrics import EVENTS_CONSUMED_TOTAL, CallOutcome, ConsumedOutcome, PublishOutcome, timed

TARGET = "unit-test"
PAUSE_SECONDS = 0.005


class Refused(RuntimeError):
    pass


def _sample(operation: str, outcome: str, suffix: str) -> float:
    value = REGISTRY.get_sample_value(
        f"docvault_integration_call_seconds_{suffix}", {"target": TARGET, "operation": operation, "outcome": outcome}
    )
    return 0.0 if value is None else value


async def _call(kind: str, operation: str, fail: bool) -> int:
    """Define a function of ``kind`` under ``timed`` and call it once."""
    if kind == "sync":

        @timed(TARGET, operation)
        def double(value: int) -> int:
            time.sleep(PAUSE_SECONDS)
            if fail:
                raise Refused("the integration said no")
            return value * 2

        return double(21)

    @timed(TARGET, operation)
    async def double_later(value: int) -> int:
        await asyncio.sleep(PAUSE_SECONDS)
        if fail:
            raise Refused("the integration said no")
        return value * 2

    return await double_later(21)


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_timed_records_ok_outcome_and_passes_result_when_call_returns(kind: str) -> None:
    operation = f"op-{uuid.uuid4().hex}"

    assert await _call(kind, operation, fail=False) == 42
    assert (_sample(operation, "ok", "count"), _sample(operation, "error", "count")) == (1.0, 0.0)
    assert _sample(operation, "ok", "sum") >= PAUSE_SECONDS


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_timed_records_error_outcome_and_reraises_when_call_fails(kind: str) -> None:
    operation = f"op-{uuid.uuid4().hex}"

    with pytest.raises(Refused, match="said no"):
        await _call(kind, operation, fail=True)

    assert (_sample(operation, "ok", "count"), _sample(operation, "error", "count")) == (0.0, 1.0)
    assert _sample(operation, "error", "sum") >= PAUSE_SECONDS


async def test_timed_counts_every_call_when_called_repeatedly() -> None:
    operation = f"op-{uuid.uuid4().hex}"

    for fail in (False, True, False):
        try:
            await _call("async", operation, fail)
        except Refused:
            pass

    assert (_sample(operation, "ok", "count"), _sample(operation, "error", "count")) == (2.0, 1.0)


def test_timed_keeps_name_doc_and_coroutine_nature_when_decorating() -> None:
    async def fetch_file() -> None:
        """Fetch a file."""

    def upload_file() -> None:
        """Upload a file."""

    wrapped_async, wrapped_sync = timed("s3", "get")(fetch_file), timed("s3", "put")(upload_file)

    assert (wrapped_async.__name__, wrapped_async.__doc__) == ("fetch_file", "Fetch a file.")
    assert (wrapped_sync.__name__, wrapped_sync.__doc__) == ("upload_file", "Upload a file.")
    assert inspect.iscoroutinefunction(wrapped_async) and not inspect.iscoroutinefunction(wrapped_sync)


def test_outcome_labels_are_the_values_dashboards_and_alerts_query_when_listed() -> None:
    assert [outcome.value for outcome in CallOutcome] == ["ok", "error"]
    assert [outcome.value for outcome in PublishOutcome] == ["confirmed", "failed"]
    assert [outcome.value for outcome in ConsumedOutcome] == ["applied", "duplicate", "dead_lettered"]


def test_consumed_outcome_is_exported_as_its_plain_value_when_used_as_a_label() -> None:
    processor = f"unit-{uuid.uuid4().hex}"

    EVENTS_CONSUMED_TOTAL.labels(processor, "document.added", ConsumedOutcome.dead_lettered).inc()

    labels = {"processor": processor, "event_type": "document.added", "outcome": "dead_lettered"}
    assert REGISTRY.get_sample_value("docvault_events_consumed_total", labels) == 1.0
