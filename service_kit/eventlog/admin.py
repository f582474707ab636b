"""Stream creation: the events and dead-letter streams with their one argument set."""

from __future__ import annotations

from contracts.streams import DEAD_LETTER_STREAM_ARGUMENTS, EVENTS_STREAM_ARGUMENTS
from service_kit.eventlog.connections import new_producer
from service_kit.metrics import timed
from service_kit.settings import RabbitSettings


@timed("stream", "create_streams")
async def ensure_streams(settings: RabbitSettings) -> None:
    """Create the event and dead-letter streams with their one argument set (idempotent)."""
    producer = new_producer(settings, "docvault-stream-admin")
    try:
        await producer.start()
        await producer.create_stream(settings.events_stream, arguments=dict(EVENTS_STREAM_ARGUMENTS), exists_ok=True)
        await producer.create_stream(
            settings.dead_letter_stream, arguments=dict(DEAD_LETTER_STREAM_ARGUMENTS), exists_ok=True
        )
    finally:
        await producer.close()
