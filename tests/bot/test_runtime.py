"""``bot.runtime.Runtime.close`` at shutdown: albums still waiting are told while the clients are still open."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from bot.runtime import Runtime
from bot.services.albums import Album, part_of
from bot.services.saving import IncomingFile
from bot.settings import BotSettings
from tests.bot.conftest import REDIS_URL
from tests.e2e.processes import forget_keys


@pytest.fixture
async def runtime(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Runtime]:
    prefix = f"test-runtime-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("BOT_TOKEN", "1:abc")
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    monkeypatch.setenv("REDIS_PREFIX", prefix)
    yield Runtime(BotSettings())
    await forget_keys(REDIS_URL, prefix)


async def test_runtime_close_tells_the_waiting_albums_before_the_clients_close_when_the_bot_stops(
    runtime: Runtime,
) -> None:
    albums, told = runtime.services.albums, []
    albums.window_seconds = 30.0  # still waiting when the bot stops

    async def taken(album: Album) -> None:
        raise AssertionError("a waiting album was taken at shutdown")

    async def interrupted() -> None:
        told.append(await runtime.redis.ping())  # Redis (and the Telegram session) not closed yet

    page = IncomingFile("id1", "u1", "p1.pdf", "application/pdf", 10)
    assert await albums.keep(1, "g", 1, part_of(page, None))
    albums.collect_then(1, "g", 100, taken, interrupted)

    await runtime.close()

    assert told == [True] and len(albums) == 0
