"""The webhook endpoint (``bot.telegram.webhook.webhook_app``) over real HTTP in-process, with the real
dispatcher behind it: hostile requests are refused with the right 4xx, leave nothing in Redis, append no event,
call no Bot API method, and the next genuine update is handled as usual.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram.methods import SendMessage
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.settings import WEBHOOK_PATH
from bot.telegram.webhook import WEBHOOK_MAX_BODY_BYTES, webhook_app
from contracts.events import UserStarted
from tests.bot.conftest import OWNER, BotUnderTest
from tests.fake_telegram.server import SECRET_HEADER, FakeTelegram

SECRET = "webhook-secret-0123456789"
JSON = {"Content-Type": "application/json"}
_update_ids = itertools.count(1)
Client = TestClient[web.Request, web.Application]


def start_update() -> dict[str, Any]:
    """``/start`` from the test's person, shaped as Telegram posts it."""
    message = {
        "message_id": 1,
        "date": int(time.time()),
        "chat": {"id": OWNER, "type": "private"},
        "from": FakeTelegram.user(OWNER),
        "text": "/start",
        "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
    }
    return {"update_id": next(_update_ids), "message": message}


async def _chunks(size: int) -> AsyncIterator[bytes]:
    """A body sent chunked, without a Content-Length: only counting it while reading can stop it."""
    yield b'{"update_id": 1, "padding": "'
    for _ in range(size // 65536):
        yield b"x" * 65536
    yield b'"}'


@pytest.fixture
async def webhook(app: BotUnderTest) -> AsyncIterator[Client]:
    async def ready() -> dict[str, bool]:
        return {"test": True}

    async with TestClient(TestServer(webhook_app(app.dispatcher, app.bot, SECRET, ready))) as client:
        yield client


async def _redis_keys(app: BotUnderTest) -> list[bytes]:
    return [key async for key in app.redis.scan_iter(match=f"{app.prefix}:*")]


async def _assert_handled_start(app: BotUnderTest, webhook: Client, headers: dict[str, str]) -> None:
    response = await webhook.post(WEBHOOK_PATH, data=json.dumps(start_update()), headers=headers)

    assert response.status == 200, await response.text()
    assert [call.chat_id for call in app.session.calls(SendMessage)] == [OWNER]
    assert [type(payload) for payload in app.publisher.payloads()] == [UserStarted]


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=nope", "text/plain"])
async def test_webhook_handles_the_update_when_the_secret_is_right_whatever_the_declared_type(
    app: BotUnderTest, webhook: Client, content_type: str
) -> None:
    await _assert_handled_start(app, webhook, {SECRET_HEADER: SECRET, "Content-Type": content_type})


def _big_update() -> bytes:
    return json.dumps(start_update() | {"padding": "x" * (3 * WEBHOOK_MAX_BODY_BYTES)}).encode()


def _deep_update() -> bytes:
    return b'{"update_id": 1, "message": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


HOSTILE: dict[str, tuple[str, dict[str, str], Any, int]] = {
    # case: (method, headers, body, expected status)
    "missing secret": ("POST", JSON, json.dumps(start_update()), 401),
    "wrong secret": ("POST", JSON | {SECRET_HEADER: SECRET[:-1] + "X"}, json.dumps(start_update()), 401),
    "secret prefix": ("POST", JSON | {SECRET_HEADER: SECRET[:-1]}, json.dumps(start_update()), 401),
    "empty secret": ("POST", JSON | {SECRET_HEADER: ""}, json.dumps(start_update()), 401),
    "non-ascii secret": ("POST", JSON | {SECRET_HEADER: SECRET + "ё"}, json.dumps(start_update()), 401),
    "wrong secret, oversized body": ("POST", JSON | {SECRET_HEADER: "forged"}, _big_update(), 401),
    "right secret, GET": ("GET", {SECRET_HEADER: SECRET}, None, 405),
    "malformed JSON": ("POST", JSON | {SECRET_HEADER: SECRET}, b'{"update_id": 1,', 400),
    "empty body": ("POST", JSON | {SECRET_HEADER: SECRET}, b"", 400),
    "JSON list": ("POST", JSON | {SECRET_HEADER: SECRET}, b"[]", 400),
    "JSON null": ("POST", JSON | {SECRET_HEADER: SECRET}, b"null", 400),
    "empty object": ("POST", JSON | {SECRET_HEADER: SECRET}, b"{}", 400),
    "update_id not a number": ("POST", JSON | {SECRET_HEADER: SECRET}, b'{"update_id": "x"}', 400),
    "message not an object": ("POST", JSON | {SECRET_HEADER: SECRET}, b'{"update_id": 1, "message": 5}', 400),
    "5000-digit update_id": ("POST", JSON | {SECRET_HEADER: SECRET}, b'{"update_id": ' + b"9" * 5000 + b"}", 400),
    "not UTF-8": ("POST", JSON | {SECRET_HEADER: SECRET}, b'{"update_id": 1, "x": "\xff\xfe"}', 400),
    "nested 100,000 deep": ("POST", JSON | {SECRET_HEADER: SECRET}, _deep_update(), 400),
    "oversized body": ("POST", JSON | {SECRET_HEADER: SECRET}, _big_update(), 413),
    "oversized chunked body": ("POST", JSON | {SECRET_HEADER: SECRET}, "chunked", 413),
}


@pytest.mark.parametrize("case", HOSTILE)
async def test_webhook_refuses_with_4xx_touches_nothing_and_keeps_serving_when_the_request_is_hostile(
    app: BotUnderTest, webhook: Client, case: str
) -> None:
    method, headers, body, status = HOSTILE[case]
    data = _chunks(3 * WEBHOOK_MAX_BODY_BYTES) if body == "chunked" else body

    response = await webhook.request(method, WEBHOOK_PATH, data=data, headers=headers)

    assert response.status == status, f"{case}: {response.status} {(await response.text())[:200]}"
    assert app.session.requests == [] and app.publisher.events == [] and app.api.after_events == [], case
    assert await _redis_keys(app) == [], case
    await _assert_handled_start(app, webhook, JSON | {SECRET_HEADER: SECRET})
