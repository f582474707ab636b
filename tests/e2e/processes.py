"""Start the services as real processes (``python -m ...``) and drive the bot as a Telegram user would."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from redis.asyncio import Redis

from contracts.codec import decode_event
from contracts.events import EventEnvelope
from service_kit.eventlog import StartAt, StreamRecord, StreamSubscriber
from service_kit.settings import RabbitSettings
from tests.fake_telegram.server import BotCall, FakeTelegram

ROOT = Path(__file__).resolve().parents[2]
BOT_TOKEN = "4242:E2E-token"
WEBHOOK_SECRET = "e2e-webhook-secret"
VISIBLE = {"sendMessage", "editMessageText", "sendDocument", "sendPhoto"}


def bot_env(
    mode: str, telegram_url: str, api_url: str, api_token: str, port: int, redis_prefix: str, **extra: str
) -> dict[str, str]:
    """Environment of ``python -m bot`` serving ``port`` (its webhook and ops routes) on loopback."""
    return {
        "BOT_TOKEN": BOT_TOKEN,
        "BOT_MODE": mode,
        "TELEGRAM_API_URL": telegram_url,
        "WEBHOOK_BASE_URL": f"http://127.0.0.1:{port}",
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "API_BASE_URL": api_url,
        "API_SERVICE_TOKEN": api_token,
        "REDIS_URL": redis_url(database=11),
        "REDIS_PREFIX": redis_prefix,
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": str(port),
        **extra,
    }


def redis_url(database: int) -> str:
    """The test Redis server (``REDIS_URL``) with a database of the bot's own suites."""
    return os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0").rsplit("/", 1)[0] + f"/{database}"


async def forget_keys(url: str, prefix: str) -> None:
    """Remove what a bot process stored under ``prefix`` (dialog states, counters, navigation tokens)."""
    redis = Redis.from_url(url)
    try:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}:*", count=1000)]
        for start in range(0, len(keys), 1000):
            await redis.delete(*keys[start : start + 1000])
    finally:
        await redis.aclose()


def rabbit_env(rabbit: RabbitSettings) -> dict[str, str]:
    return {
        "RABBITMQ_HOST": rabbit.host,
        "RABBITMQ_STREAM_PORT": str(rabbit.stream_port),
        "RABBITMQ_EVENTS_STREAM": rabbit.events_stream,
        "RABBITMQ_DEAD_LETTER_STREAM": rabbit.dead_letter_stream,
    }


@dataclass
class Service:
    """A child process with its output kept in a file (shown when a test fails)."""

    name: str
    process: asyncio.subprocess.Process
    log_path: Path

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    async def stop(self, timeout: float = 25.0) -> int:
        """SIGTERM, then wait for a graceful exit; returns the exit code (kills after ``timeout``)."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), timeout)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        assert self.process.returncode is not None
        return self.process.returncode


async def start_service(name: str, module: str, env: Mapping[str, str], log_dir: Path, *args: str) -> Service:
    log_path = log_dir / f"{name}.log"
    with log_path.open("ab") as log:  # a restarted service appends to the same log
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            module,
            *args,
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
    return Service(name, process, log_path)


async def wait_http_ok(
    url: str, service: Service, timeout: float = 30.0, headers: Mapping[str, str] | None = None
) -> None:
    """Poll ``url`` (with ``headers``) until it answers 200; fail with the service's output if it exits or
    never does."""
    deadline = asyncio.get_running_loop().time() + timeout
    async with aiohttp.ClientSession(headers=headers) as http:
        while asyncio.get_running_loop().time() < deadline:
            if service.process.returncode is not None:
                raise AssertionError(f"{service.name} exited early:\n{service.output()}")
            try:
                async with http.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout} s:\n{service.output()}")


async def read_events(rabbit: RabbitSettings, count: int, owner_id: int, timeout: float = 10.0) -> list[EventEnvelope]:
    """The first ``count`` events of ``owner_id`` in the test's stream."""
    events: list[EventEnvelope] = []
    enough = asyncio.Event()

    async def collect(record: StreamRecord) -> None:
        event = decode_event(record.data)
        if event.owner_id == owner_id:
            events.append(event)
        if len(events) >= count:
            enough.set()

    subscriber = StreamSubscriber(rabbit, rabbit.events_stream, collect, "e2e-reader")
    try:
        await subscriber.start(StartAt.first())
        await asyncio.wait_for(enough.wait(), timeout)
    finally:
        await subscriber.close()
    return events[:count]


@dataclass
class Chat:
    """One person talking to the bot through the fake Telegram server."""

    telegram: FakeTelegram
    user_id: int
    keyboard_message: dict[str, Any] | None = None
    seen: list[BotCall] = field(default_factory=list)

    def _for_me(self, call: BotCall) -> bool:
        """A call that showed this person something (refused calls showed nothing)."""
        if call.error is not None:
            return False
        chat = call.params.get("chat_id")
        if call.method in VISIBLE and chat == str(self.user_id):
            return True
        return call.method == "answerCallbackQuery" and bool(call.params.get("text"))

    async def _reply(self, mark: int, timeout: float) -> BotCall:
        call = await self.telegram.wait_for_call(self._for_me, timeout=timeout, after=mark)
        self.seen.append(call)
        if isinstance(call.result, dict) and call.result.get("reply_markup"):
            self.keyboard_message = call.result
        return call

    async def says(self, text: str, timeout: float = 20.0) -> BotCall:
        mark = len(self.telegram.calls)
        await self.telegram.user_says(self.user_id, text)
        return await self._reply(mark, timeout)

    async def sends_document(self, data: bytes, file_name: str, timeout: float = 30.0) -> BotCall:
        mark = len(self.telegram.calls)
        await self.telegram.user_sends_document(self.user_id, data, file_name)
        return await self._reply(mark, timeout)

    async def sends_album(self, files: list[tuple[bytes, str]], timeout: float = 30.0) -> BotCall:
        """Several files at once (one ``media_group_id``); the bot's answer once it took the album."""
        mark = len(self.telegram.calls)
        await self.telegram.user_sends_album(self.user_id, files)
        return await self._reply(mark, timeout)

    def buttons(self) -> list[tuple[str, str]]:
        assert self.keyboard_message is not None, "the bot has shown no keyboard yet"
        rows = self.keyboard_message["reply_markup"]["inline_keyboard"]
        return [(button["text"], button.get("callback_data", "")) for row in rows for button in row]

    async def presses(self, text_part: str, timeout: float = 20.0, on: dict[str, Any] | None = None) -> BotCall:
        """Press a button of the last keyboard shown, or of ``on`` (a message further up, a group's, someone
        else's forwarded one)."""
        message = on or self.keyboard_message
        assert message is not None, "the bot has shown no keyboard yet"
        rows = message["reply_markup"]["inline_keyboard"]
        data = next((b.get("callback_data") for row in rows for b in row if text_part in b["text"]), None)
        assert data is not None, f"no button with {text_part!r}: {rows}"
        mark = len(self.telegram.calls)
        await self.telegram.user_presses(self.user_id, message, data)
        return await self._reply(mark, timeout)


def text_of(call: BotCall) -> str:
    return str(call.params.get("text") or call.params.get("caption") or "")


def markup_of(call: BotCall) -> Any:
    raw = call.params.get("reply_markup")
    return json.loads(raw) if raw else None
