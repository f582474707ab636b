"""``bot.clients.telegram_files`` against the fake Bot API server: each call to Telegram timed once."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from prometheus_client import REGISTRY

from bot.clients.telegram_files import FileTooBig, TelegramFiles
from bot.telegram.session import telegram_session
from tests.fake_telegram.server import FakeTelegram

TOKEN = "4242:FAKE-token"
CALLS = "docvault_integration_call_seconds_count"
OPERATIONS = ("getFile", "download_file", "resolve_file")


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeTelegram, Bot]]:
    """The fake server and a bot on the production session (which times every Bot API method)."""
    telegram = FakeTelegram(TOKEN)
    runner, url = await telegram.start()
    bot = Bot(TOKEN, session=telegram_session(url))
    yield telegram, bot
    await bot.session.close()
    await runner.cleanup()


def telegram_calls() -> dict[tuple[str, str], float]:
    """Count of timed Telegram calls by (operation, outcome)."""
    return {
        (operation, outcome): REGISTRY.get_sample_value(
            CALLS, {"target": "telegram", "operation": operation, "outcome": outcome}
        )
        or 0.0
        for operation in OPERATIONS
        for outcome in ("ok", "error")
    }


def calls_since(before: dict[tuple[str, str], float]) -> dict[tuple[str, str], float]:
    return {key: count - before[key] for key, count in telegram_calls().items() if count != before[key]}


async def test_files_time_get_file_and_download_once_when_a_file_is_fetched(fake: tuple[FakeTelegram, Bot]) -> None:
    file_id, _ = fake[0].register_file(b"x" * 1000)
    files = TelegramFiles(fake[1], limit=1000, local=False)
    before = telegram_calls()
    data = b"".join([chunk async for chunk in await files.open(file_id)])
    assert data == b"x" * 1000
    assert calls_since(before) == {("getFile", "ok"): 1, ("download_file", "ok"): 1}


async def test_files_time_the_download_as_failed_when_over_the_limit(fake: tuple[FakeTelegram, Bot]) -> None:
    file_id, _ = fake[0].register_file(b"x" * 1001)
    files = TelegramFiles(fake[1], limit=1000, local=False)
    before = telegram_calls()
    with pytest.raises(FileTooBig):
        _ = [chunk async for chunk in await files.open(file_id)]
    assert calls_since(before) == {("getFile", "ok"): 1, ("download_file", "error"): 1}
