"""Exactly-once effect: replays, duplicates, poison messages and dropped connections (SIGKILL: tests/chaos)."""

from __future__ import annotations

import asyncio
import random
import signal

import pytest
from rstream import amqp_decoder

from service_kit.eventlog import StartAt, ensure_streams
from service_kit.settings import MongoSettings, RabbitSettings
from tests import factories as f
from tests.integration.pipeline import (
    checkpoint_of,
    close_stream_connections,
    process_all,
    processor_settings,
    publish,
    publish_raw,
    read_stream,
    readable_snapshot,
    snapshot,
    start_processor_process,
    wait_for_checkpoint,
)

pytestmark = pytest.mark.integration


async def test_processor_rebuilds_identical_state_when_the_stream_is_replayed_twice(
    rabbit_settings: RabbitSettings, mongo_settings: MongoSettings
) -> None:
    await publish(rabbit_settings, f.story())
    settings = processor_settings(rabbit_settings, mongo_settings, batch_size=37)

    await process_all(settings, version=1)
    await process_all(settings, version=2)
    await process_all(settings, version=1)  # a restart on a caught-up checkpoint changes nothing

    first, second = await snapshot(mongo_settings, 1), await snapshot(mongo_settings, 2)
    assert first == second
    assert len(first["documents"]) > 100


async def test_processor_ignores_duplicates_when_events_are_redelivered_shuffled(
    rabbit_settings: RabbitSettings, mongo_settings: MongoSettings
) -> None:
    events = f.story()
    half = len(events) // 2
    rng = random.Random(3)
    early_redeliveries = rng.sample(events[:half], half // 2)  # a retried append lands after the original
    late_redeliveries = rng.sample(events, len(events))
    clean_rabbit = rabbit_settings.model_copy(update={"events_stream": rabbit_settings.events_stream + ".clean"})
    await ensure_streams(clean_rabbit)
    await publish(clean_rabbit, events)
    await publish(rabbit_settings, events[:half] + early_redeliveries + events[half:] + late_redeliveries)

    await process_all(processor_settings(clean_rabbit, mongo_settings), version=1)
    await process_all(processor_settings(rabbit_settings, mongo_settings), version=2)

    # Offsets differ between the two streams; everything else must be equal.
    assert await snapshot(mongo_settings, 1, without=("last_offset",)) == await snapshot(
        mongo_settings, 2, without=("last_offset",)
    )
    checkpoint = await checkpoint_of(mongo_settings, 2)
    assert checkpoint is not None and checkpoint["events_applied"] == len(events)


async def test_processor_dead_letters_poison_and_goes_on_when_undecodable_messages_arrive(
    rabbit_settings: RabbitSettings, mongo_settings: MongoSettings
) -> None:
    before, after = f.added(1, "Before"), f.added(1, "After", content="other")
    await publish(rabbit_settings, [before])
    await publish_raw(rabbit_settings, [b"\x00not amqp", b'\x00Su\xa0\x0f{"event_type":1}'])
    await publish(rabbit_settings, [after])

    await process_all(processor_settings(rabbit_settings, mongo_settings))

    names = sorted(d["name"] for d in (await readable_snapshot(mongo_settings))["documents"])
    assert names == ["After", "Before"]
    letters = await read_stream(rabbit_settings, rabbit_settings.dead_letter_stream, StartAt.first(), 2)
    properties = [amqp_decoder(r.data).application_properties for r in letters]
    assert [(p[b"x-source-offset"], p[b"x-reason"]) for p in properties] == [(1, b"malformed"), (2, b"malformed")]
    assert amqp_decoder(letters[0].data).body in (b"\x00not amqp", [b"\x00not amqp"])


async def test_processor_catches_up_when_its_broker_connection_is_dropped(
    rabbit_settings: RabbitSettings, mongo_settings: MongoSettings
) -> None:
    first = [f.added(1, f"First {i}", step=i) for i in range(50)]
    second = [f.added(1, f"Second {i}", step=100 + i) for i in range(50)]
    await publish(rabbit_settings, first)
    process = start_processor_process(rabbit_settings, mongo_settings, batch_size=10)
    try:
        await wait_for_checkpoint(mongo_settings, len(first) - 1)
        closed = 0
        for _ in range(50):  # the management API lists a new connection after a short delay
            closed = await close_stream_connections("docvault-read-models@v1")
            if closed:
                break
            await asyncio.sleep(0.2)
        assert closed >= 1
        await publish(rabbit_settings, second)
        await wait_for_checkpoint(mongo_settings, len(first) + len(second) - 1)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    documents = (await snapshot(mongo_settings))["documents"]
    assert len(documents) == len(first) + len(second)
