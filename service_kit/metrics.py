"""Every Prometheus metric of DocVault, defined once, the values of its outcome labels, and the timing decorator
for integration calls.

The outcome values are what the dashboards and alert rules query (infra/grafana, infra/prometheus): a
``StrEnum`` member is exported as its plain value.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import ParamSpec, TypeVar, cast

from prometheus_client import Counter, Gauge, Histogram

P = ParamSpec("P")
R = TypeVar("R")


class CallOutcome(StrEnum):
    """``outcome`` of ``INTEGRATION_CALL_SECONDS``."""

    ok = "ok"
    error = "error"


class PublishOutcome(StrEnum):
    """``outcome`` of ``EVENTS_PUBLISHED_TOTAL``."""

    confirmed = "confirmed"
    failed = "failed"


class ConsumedOutcome(StrEnum):
    """``outcome`` of ``EVENTS_CONSUMED_TOTAL``."""

    applied = "applied"
    duplicate = "duplicate"  # its event id was applied before
    dead_lettered = "dead_lettered"


LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

INTEGRATION_CALL_SECONDS = Histogram(
    "docvault_integration_call_seconds",
    "Duration of calls to an integration (api, telegram, s3, stream, mongo).",
    ["target", "operation", "outcome"],
    buckets=LATENCY_BUCKETS,
)
REQUESTS_TOTAL = Counter(
    "docvault_requests_total",
    "Requests (API) or updates (bot) handled, by service, endpoint or handler and status.",
    ["service", "endpoint", "status"],
)
REQUEST_SECONDS = Histogram(
    "docvault_request_seconds",
    "Time to handle one request or update.",
    ["service", "endpoint"],
    buckets=LATENCY_BUCKETS,
)
EVENTS_PUBLISHED_TOTAL = Counter(
    "docvault_events_published_total",
    "Events appended to the event stream, by type and outcome (confirmed, failed).",
    ["event_type", "outcome"],
)
EVENTS_CONSUMED_TOTAL = Counter(
    "docvault_events_consumed_total",
    "Events a processor consumed, by type and outcome (applied, duplicate, dead_lettered).",
    ["processor", "event_type", "outcome"],
)
DEAD_LETTERED_TOTAL = Counter(
    "docvault_dead_lettered_total",
    "Messages routed to the dead-letter stream, by reason.",
    ["stream", "reason"],
)
BROKEN_CIPHERTEXT_TOTAL = Counter(
    "docvault_broken_ciphertext_total",
    "Stored ciphertext refused because it does not authenticate (tampered, truncated, moved), by store.",
    ["store"],
)
PROCESSOR_LAG = Gauge(
    "docvault_processor_lag_events",
    "Events in the stream not yet applied by a processor version (stream end - checkpoint); label name@vN.",
    ["processor"],
)
PROCESSOR_CHECKPOINT = Gauge(
    "docvault_processor_checkpoint_offset",
    "Last stream offset a processor committed.",
    ["processor"],
)
PROCESSOR_BATCH_EVENTS = Histogram(
    "docvault_processor_batch_events",
    "Events per committed processor batch.",
    ["processor"],
    buckets=(1, 5, 10, 50, 100, 250, 500, 1000, 2000),
)


def timed(target: str, operation: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Record the duration and outcome of every call of the decorated function (sync or async)."""

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        if inspect.iscoroutinefunction(func):
            async_func = cast(Callable[P, Awaitable[object]], func)

            @functools.wraps(func)
            async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> object:
                started = time.perf_counter()
                outcome = CallOutcome.error
                try:
                    result = await async_func(*args, **kwargs)
                    outcome = CallOutcome.ok
                    return result
                finally:
                    observe_call(target, operation, outcome, started)

            return cast(Callable[P, R], async_wrapper)

        @functools.wraps(func)
        def sync_wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            started = time.perf_counter()
            outcome = CallOutcome.error
            try:
                result = func(*args, **kwargs)
                outcome = CallOutcome.ok
                return result
            finally:
                observe_call(target, operation, outcome, started)

        return sync_wrapper

    return decorate


def observe_call(target: str, operation: str, outcome: str, started: float) -> None:
    """Record one integration call that began at ``started`` (``time.perf_counter()``)."""
    INTEGRATION_CALL_SECONDS.labels(target, operation, outcome).observe(time.perf_counter() - started)
