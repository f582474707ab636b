"""Stream creation: the events and dead-letter streams with their one argument set."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from contracts.streams import DEAD_LETTER_STREAM_ARGUMENTS, EVENTS_STREAM_ARGUMENTS
from service_kit.eventlog.connections import new_producer
from service_kit.metrics import timed
from service_kit.settings import RabbitSettings


async def _create(settings: RabbitSettings, streams: Mapping[str, Mapping[str, Any]]) -> None:
    producer = new_producer(settings, "docvault-stream-admin")
    try:
        await producer.start()
        for stream, arguments in streams.items():
            await producer.create_stream(stream, arguments=dict(arguments), exists_ok=True)
    finally:
        await producer.close()


@timed("stream", "create_streams")
async def ensure_streams(settings: RabbitSettings) -> None:
    """Create the event and dead-letter streams with their one argument set (idempotent)."""
    await _create(
        settings,
        {settings.events_stream: EVENTS_STREAM_ARGUMENTS, settings.dead_letter_stream: DEAD_LETTER_STREAM_ARGUMENTS},
    )


async def ensure_events_stream(settings: RabbitSettings, stream: str) -> None:
    """Create another stream with the event stream's arguments (``seal-history``'s target; idempotent)."""
    await _create(settings, {stream: EVENTS_STREAM_ARGUMENTS})
