"""``bot.runtime.Runtime.close`` at shutdown: albums still waiting are told while the clients are still open."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest

from bot.runtime import Runtime, stop_within
from bot.services.albums import Album, part_of
from bot.services.reminders import run_reminders
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


async def test_stop_within_returns_after_its_bound_when_the_loop_swallows_the_cancel() -> None:
    started, cancels = asyncio.Event(), []

    async def stubborn() -> None:  # as a loop whose first cancel redis-py swallowed inside a command
        started.set()
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                cancels.append(1)
                if len(cancels) > 1:
                    raise

    task = asyncio.create_task(stubborn())
    await started.wait()

    await asyncio.wait_for(stop_within(task, asyncio.Event(), 0.05), timeout=2)

    assert not task.done() and cancels == [1]  # still running: the shutdown went on without it
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_run_reminders_ends_when_stopping_is_set_between_rounds() -> None:
    stopping, rounds = asyncio.Event(), []

    class Sender:
        async def run_once(self, day: object, now: object) -> list[object]:
            rounds.append(day)
            return []

    task = asyncio.create_task(run_reminders(Sender(), "UTC", 0, 30.0, stopping))  # type: ignore[arg-type]
    await asyncio.sleep(0.05)
    stopping.set()

    await asyncio.wait_for(task, timeout=2)  # without the flag it would sleep out its 30 s round
    assert len(rounds) == 1
