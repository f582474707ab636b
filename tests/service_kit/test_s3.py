"""ObjectReader against moto's S3: reading one chunk ahead, and closing with a read still under way."""

from __future__ import annotations

import asyncio
import os
import threading

import pytest

from service_kit.s3 import ObjectStore, s3_client
from service_kit.settings import S3Settings

pytestmark = pytest.mark.integration

KEY = "objects/one"


@pytest.fixture
async def store(s3_settings: S3Settings) -> ObjectStore:
    objects = ObjectStore(s3_client(s3_settings), s3_settings.bucket)
    await objects.ensure_bucket()
    return objects


async def test_read_ahead_passes_every_byte_in_order_to_then_when_read_to_the_end(store: ObjectStore) -> None:
    data = os.urandom(1_000_003)
    await store.put_bytes(KEY, data, "application/octet-stream")
    reader = await store.open(KEY)
    seen: list[bytes] = []

    def then(chunk: bytes) -> int:
        seen.append(chunk)
        return len(chunk)

    try:
        lengths = [length async for length in reader.read_ahead(100_000, then)]
    finally:
        await reader.close()

    assert (b"".join(seen), lengths) == (data, [100_000] * 10 + [3])


async def test_close_waits_for_the_read_ahead_when_the_caller_stopped_holding_a_chunk(store: ObjectStore) -> None:
    await store.put_bytes(KEY, os.urandom(300_000), "application/octet-stream")
    reader = await store.open(KEY)
    release, started = threading.Event(), threading.Event()
    events: list[str] = []

    def then(chunk: bytes) -> int:
        if events:  # the read ahead: hold it until the test lets it go
            started.set()
            release.wait(30)
        events.append("read")
        return len(chunk)

    response = reader._response  # noqa: SLF001 - the test watches when the connection is closed
    closing_response = response.close

    def close() -> None:
        events.append("closed")
        closing_response()

    response.close = close
    chunks = reader.read_ahead(100_000, then)
    await anext(chunks)  # the caller holds the first chunk; the second is read meanwhile
    assert await asyncio.to_thread(started.wait, 30)

    closing = asyncio.create_task(reader.close())
    await asyncio.wait([closing], timeout=1)  # time for a close that did not wait to close under the read
    release.set()
    await closing

    assert events == ["read", "read", "closed"]
