"""Shared fixtures. Integration fixtures talk to the real services started by scripts/test-services.sh."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from rstream import Producer

from service_kit.eventlog import ensure_streams
from service_kit.settings import MongoSettings, RabbitSettings
from tests.mongo_cleanup import drop_databases


@pytest.fixture
def unique_name() -> str:
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def rabbit_settings(unique_name: str) -> AsyncIterator[RabbitSettings]:
    """Settings pointing at a pair of fresh streams of this test only; deleted afterwards."""
    settings = RabbitSettings(
        events_stream=f"test.{unique_name}.events",
        dead_letter_stream=f"test.{unique_name}.dlq",
        confirm_timeout_seconds=5,
    )
    await ensure_streams(settings)
    yield settings
    admin = Producer(
        host=settings.host,
        port=settings.stream_port,
        username=settings.username,
        password=settings.password.get_secret_value(),
        load_balancer_mode=True,
    )
    await admin.start()
    for stream in (settings.events_stream, settings.dead_letter_stream):
        await admin.delete_stream(stream, missing_ok=True)
    await admin.close()


@pytest.fixture
async def mongo_settings(unique_name: str) -> AsyncIterator[MongoSettings]:
    """Settings with a database prefix of this test only; its databases are dropped afterwards."""
    settings = MongoSettings(database=unique_name)
    yield settings
    await drop_databases(settings)
