"""Streams of a test's own on the shared RabbitMQ, removed afterwards."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from rstream import Producer

from service_kit.eventlog import ensure_streams
from service_kit.settings import RabbitSettings


async def delete_streams(settings: RabbitSettings, *streams: str) -> None:
    admin = Producer(
        host=settings.host,
        port=settings.stream_port,
        username=settings.username,
        password=settings.password.get_secret_value(),
        load_balancer_mode=True,
    )
    await admin.start()
    try:
        for stream in streams:
            await admin.delete_stream(stream, missing_ok=True)
    finally:
        await admin.close()


@contextlib.asynccontextmanager
async def fresh_streams(name: str) -> AsyncIterator[RabbitSettings]:
    """An event stream and dead-letter stream of their own, deleted afterwards."""
    settings = RabbitSettings(events_stream=f"test.{name}.events", dead_letter_stream=f"test.{name}.dlq")
    await ensure_streams(settings)
    try:
        yield settings
    finally:
        await delete_streams(settings, settings.events_stream, settings.dead_letter_stream)
