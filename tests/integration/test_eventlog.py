"""service_kit.eventlog against the real RabbitMQ stream plugin."""

from __future__ import annotations

import asyncio
import time

import pytest
from prometheus_client import REGISTRY

from contracts.codec import decode_event
from service_kit.eventlog import (
    EventLogUnavailable,
    EventPublisher,
    RawPublisher,
    StartAt,
    StreamRecord,
    stream_end_offset,
)
from service_kit.metrics import PublishOutcome
from service_kit.settings import RabbitSettings
from tests import factories as f
from tests.integration.pipeline import close_stream_connections, publish, read_stream
from tests.ports import closed_port

pytestmark = pytest.mark.integration


async def read(rabbit: RabbitSettings, start: StartAt, expected: int) -> list[StreamRecord]:
    return await read_stream(rabbit, rabbit.events_stream, start, expected)


async def test_event_publisher_appends_decodable_events_in_order_when_the_broker_confirms(
    rabbit_settings: RabbitSettings,
) -> None:
    events = [f.added(1, f"Doc {i}", step=i) for i in range(5)]

    await publish(rabbit_settings, events, batch=2)

    records = await read(rabbit_settings, StartAt.first(), 5)
    assert [decode_event(r.data) for r in records] == [f.as_read(event) for event in events]
    assert [r.offset for r in records] == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    ("start", "offsets"),
    [
        (StartAt.offset(3), [3, 4]),
        (StartAt.next(), []),
        (StartAt.offset(99), []),
    ],
)
async def test_stream_subscriber_starts_where_asked_when_given_a_position(
    rabbit_settings: RabbitSettings, start: StartAt, offsets: list[int]
) -> None:
    await publish(rabbit_settings, [f.started(i + 1, step=i) for i in range(5)])

    records = await read(rabbit_settings, start, len(offsets))

    assert [r.offset for r in records] == offsets


async def test_stream_subscriber_starts_at_the_first_later_chunk_when_given_a_timestamp(
    rabbit_settings: RabbitSettings,
) -> None:
    await publish(rabbit_settings, [f.started(1)])
    await asyncio.sleep(1.1)  # chunk timestamps have millisecond resolution; leave a clear gap
    boundary_ms = int(time.time() * 1000)
    await asyncio.sleep(0.1)
    await publish(rabbit_settings, [f.started(2), f.started(3)])

    records = await read(rabbit_settings, StartAt.timestamp_ms(boundary_ms), 2)

    assert [decode_event(r.data).owner_id for r in records] == [2, 3]


async def test_stream_end_offset_reports_last_offset_or_minus_one_when_empty(rabbit_settings: RabbitSettings) -> None:
    assert await stream_end_offset(rabbit_settings, rabbit_settings.events_stream) == -1

    await publish(rabbit_settings, [f.started(i + 1) for i in range(7)])

    assert await stream_end_offset(rabbit_settings, rabbit_settings.events_stream) == 6


async def test_stream_end_offset_answers_when_events_keep_arriving(rabbit_settings: RabbitSettings) -> None:
    publisher = EventPublisher(rabbit_settings)
    appended = 0

    async def keep_appending() -> None:
        nonlocal appended
        while True:
            await publisher.append(*(f.started(appended + i + 1) for i in range(5)))
            appended += 5
            await asyncio.sleep(0.05)

    writer = asyncio.create_task(keep_appending())
    try:
        await asyncio.sleep(0.5)
        before = appended
        end = await asyncio.wait_for(stream_end_offset(rabbit_settings, rabbit_settings.events_stream), 10)
        assert before - 1 <= end < appended
    finally:
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)
        await publisher.close()


async def test_event_publisher_raises_event_log_unavailable_when_the_broker_is_unreachable() -> None:
    publisher = EventPublisher(RabbitSettings(stream_port=closed_port(), confirm_timeout_seconds=2))

    with pytest.raises(EventLogUnavailable):
        await publisher.append(f.started(1))
    await publisher.close()


async def test_raw_publisher_raises_event_log_unavailable_when_the_stream_does_not_exist(
    rabbit_settings: RabbitSettings,
) -> None:
    publisher = RawPublisher(rabbit_settings, rabbit_settings.events_stream + ".missing", "test-missing")

    with pytest.raises(EventLogUnavailable):
        await publisher.append([b"x"])
    await publisher.close()


async def test_event_publisher_appends_without_error_when_its_connection_was_closed_by_the_broker(
    rabbit_settings: RabbitSettings, unique_name: str
) -> None:
    publisher = EventPublisher(rabbit_settings, name=f"publisher-{unique_name}")
    await publisher.append(f.started(1))
    closed = 0
    for _ in range(50):  # the management API lists a new connection after a short delay
        closed = await close_stream_connections(unique_name)
        if closed:
            break
        await asyncio.sleep(0.2)
    assert closed == 1

    for owner in (2, 3):  # the first append meets the dead connection and is sent again on a new one
        await publisher.append(f.started(owner))
    await publisher.close()

    stored = [decode_event(r.data).owner_id for r in await read(rabbit_settings, StartAt.first(), 3)]
    assert stored == [1, 2, 3]


def _published(event_type: str, outcome: PublishOutcome) -> float:
    labels = {"event_type": event_type, "outcome": outcome}
    return REGISTRY.get_sample_value("docvault_events_published_total", labels) or 0.0


async def test_event_publisher_counts_each_event_by_type_when_a_batch_is_confirmed(
    rabbit_settings: RabbitSettings,
) -> None:
    publisher = EventPublisher(rabbit_settings)
    before = {kind: _published(kind, PublishOutcome.confirmed) for kind in ("user.started", "document.added")}

    await publisher.append(f.started(1), f.added(1, "A", step=1), f.started(2, step=2), f.added(2, "B", step=3))
    await publisher.append(f.started(3, step=4))
    await publisher.close()

    assert _published("user.started", PublishOutcome.confirmed) - before["user.started"] == 3
    assert _published("document.added", PublishOutcome.confirmed) - before["document.added"] == 2


async def test_event_publisher_counts_each_event_as_failed_when_the_broker_is_unreachable() -> None:
    publisher = EventPublisher(RabbitSettings(stream_port=closed_port(), confirm_timeout_seconds=1))
    before = _published("user.started", PublishOutcome.failed)

    with pytest.raises(EventLogUnavailable):
        await publisher.append(f.started(1), f.started(2, step=1))
    await publisher.close()

    assert _published("user.started", PublishOutcome.failed) - before == 2
