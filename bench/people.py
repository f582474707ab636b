"""Simulated people for the whole-system benchmarks: the fake Telegram server routed per chat, and one flow.

A flow is what ``bench.load`` and ``bench.open_loop`` time: /start (later /menu) -> "Add document" -> types
"Passport" -> types a name -> sends a file of 4-100 KB of random bytes -> "✅ Saved" -> /documents ->
"Passport" -> the new name is on the page -> opens it -> "Get file" -> receives the document.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bot.ui.i18n import Texts
from tests.e2e.processes import Chat, redis_url, text_of
from tests.e2e.system import RunningSystem, running_system
from tests.fake_telegram.server import BotCall, FakeTelegram, Webhook

STEP_SECONDS = 60.0  # how long one dialog step may wait for the bot's answer before it counts as a timeout
RETRY_DELIVERY_SECONDS = 0.2
TYPE_TITLE = "Passport"
TR = Texts("en")
REDIS_URL = redis_url(database=12)
# uvicorn (the API) shuts down gracefully on SIGTERM and then re-raises the signal, so it ends "killed by SIGTERM".
GRACEFUL_EXITS = {0, -signal.SIGTERM}
Json = dict[str, Any]


# ---------------------------------------------------------------- the fake Telegram server, routed per chat


@dataclass
class RoutedChat(Chat):
    """A ``Chat`` that reads the bot's calls from its own inbox instead of scanning every call of every chat."""

    inbox: asyncio.Queue[BotCall] = field(default_factory=asyncio.Queue)

    async def _reply(self, mark: int, timeout: float) -> BotCall:
        call = await asyncio.wait_for(self._next_visible(), timeout)
        if isinstance(call.result, dict) and call.result.get("reply_markup"):
            self.keyboard_message = call.result
        return call

    async def _next_visible(self) -> BotCall:
        while not self._for_me(call := await self.inbox.get()):
            pass
        return call

    def forget_pending(self) -> None:
        """Drop late answers to a step that already failed, so the next flow starts clean."""
        while not self.inbox.empty():
            self.inbox.get_nowait()


class RoutedTelegram(FakeTelegram):
    """The fake server, delivering like Telegram and sorting the bot's calls into per-chat inboxes.

    Bot API calls are not kept in ``calls`` (tens of thousands of them in a run); refused ones are kept in
    ``refused``. Every call addressed to a chat is timed from the moment that person last posted an update
    (what the person waits for, delivery included) into ``reply_seconds``."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.inboxes: dict[int, asyncio.Queue[BotCall]] = {}
        self.refused: list[BotCall] = []
        self.failed_deliveries = 0
        self._query_owners: dict[str, int] = {}
        self._chat_locks: dict[int, asyncio.Lock] = {}
        self._in_flight: set[asyncio.Task[None]] = set()
        self._posted: dict[int, float] = {}
        self.reply_seconds: list[float] = []
        self.updates_posted = 0

    def chat(self, user_id: int) -> RoutedChat:
        chat = RoutedChat(self, user_id)
        self.inboxes[user_id] = chat.inbox
        return chat

    def bytes_of(self, file_id: str) -> bytes:
        return self._files[file_id].data

    def take_reply_seconds(self) -> list[float]:
        """The reply times measured since the last call (one phase's)."""
        taken, self.reply_seconds = self.reply_seconds, []
        return taken

    async def _queue(self, update: Json) -> None:
        self._posted[_chat_of_update(update)] = time.perf_counter()
        self.updates_posted += 1
        await super()._queue(update)

    async def _record(self, call: BotCall) -> None:
        chat = self._chat_of_call(call)
        if call.error is not None:
            self.refused.append(call)
        elif chat in self._posted:
            self.reply_seconds.append(time.perf_counter() - self._posted[chat])
        inbox = self.inboxes.get(chat)
        if inbox is not None:
            inbox.put_nowait(call)

    def _chat_of_call(self, call: BotCall) -> int:
        if call.method == "answerCallbackQuery":
            return self._query_owners.pop(str(call.params.get("callback_query_id")), 0)
        return int(call.params.get("chat_id") or 0)

    async def _deliver(self) -> None:
        """Up to the webhook's ``max_connections`` requests at once, one at a time and in order per chat."""
        self._http = aiohttp.ClientSession()
        try:
            assert self.webhook is not None
            gate = asyncio.Semaphore(self.webhook.max_connections)
            while self.webhook is not None:
                async with self._changed:
                    await self._changed.wait_for(lambda: bool(self._pending) or self.webhook is None)
                    updates, self._pending, webhook = self._pending, [], self.webhook
                for update in updates if webhook is not None else []:
                    self._spawn(self._deliver_one(webhook, update, gate))
        finally:
            for task in self._in_flight:
                task.cancel()
            await asyncio.gather(*self._in_flight, return_exceptions=True)
            await self._http.close()

    def _spawn(self, delivery: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(delivery)
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _deliver_one(self, webhook: Webhook, update: Json, gate: asyncio.Semaphore) -> None:
        chat = _chat_of_update(update)
        if "callback_query" in update:
            self._query_owners[update["callback_query"]["id"]] = chat
        async with self._chat_locks.setdefault(chat, asyncio.Lock()), gate:
            while not await self._post(webhook, update):  # Telegram retries what was not answered with 200
                self.failed_deliveries += 1
                await asyncio.sleep(RETRY_DELIVERY_SECONDS)


def _chat_of_update(update: Json) -> int:
    body = update.get("message") or update["callback_query"]
    return int(body["from"]["id"])


# ---------------------------------------------------------------- one person's flow


class Unexpected(Exception):
    """The bot answered something else than the flow expects (an error reply, a wrong step, a lost file), or
    nothing in time. ``kind`` groups failures for a report: the step and what went wrong there."""

    def __init__(self, step: str, what: str, detail: str = "") -> None:
        super().__init__(f"{step}: {what}{' ' + detail if detail else ''}")
        self.kind = f"{step}: {what}"


@dataclass
class FlowTimes:
    file_to_saved: float
    saved_to_listed: float
    whole: float


async def reply_at(step: str, reply: Awaitable[BotCall]) -> BotCall:
    try:
        return await reply
    except TimeoutError:
        raise Unexpected(step, f"no reply within {STEP_SECONDS:.0f} s") from None


async def expect(step: str, reply: Awaitable[BotCall], *accepted: str) -> BotCall:
    call = await reply_at(step, reply)
    if text_of(call) not in accepted:
        raise Unexpected(step, "unexpected reply", f"{call.method} {text_of(call)!r}")
    return call


def document_name(round_number: int) -> str:
    """Names sort newest first (pages are in name order), so the new document is always on the first page."""
    return f"Doc {999_999 - round_number:06d}"


def file_content(rng: random.Random) -> bytes:
    return b"%PDF-1.7\n" + rng.randbytes(rng.randint(4_000, 100_000))


async def add_document(chat: RoutedChat, round_number: int, content: bytes) -> tuple[float, float]:
    """Menu -> "Add document" -> type -> name -> file; returns (file sent, "saved" received) times."""
    name = document_name(round_number)
    if round_number == 0:
        await expect("/start", chat.says("/start", STEP_SECONDS), TR("menu.greeting", name=f"User{chat.user_id}"))
    else:
        await expect("/menu", chat.says("/menu", STEP_SECONDS), TR("menu.title"))
    await expect("add", chat.presses("Add document", STEP_SECONDS), TR("add.ask_type_first"), TR("add.ask_type"))
    await expect("type", chat.says(TYPE_TITLE, STEP_SECONDS), TR("add.ask_name", type=TYPE_TITLE))
    await expect("name", chat.says(name, STEP_SECONDS), TR("add.ask_file", name=name))
    sent = time.perf_counter()
    await expect(
        "file", chat.sends_document(content, "scan.pdf", STEP_SECONDS), TR("add.saved", name=name, type=TYPE_TITLE)
    )
    return sent, time.perf_counter()


async def find_in_list(chat: RoutedChat, name: str) -> None:
    """/documents -> the type: the new document must be on the first page (the bot's reads wait for it)."""
    await expect("/documents", chat.says("/documents", STEP_SECONDS), TR("browse.types_title"))
    # One page says only the type; more say "page 1 of N" (N from the type's count, whatever the page size).
    first_of_many = (TR("browse.type_page", title=TYPE_TITLE, page=1, pages=pages) for pages in range(2, 1000))
    await expect(
        "type page",
        chat.presses(f"{TYPE_TITLE} (", STEP_SECONDS),
        TR("browse.type_single", title=TYPE_TITLE),
        *first_of_many,
    )
    if name not in (text for text, _ in chat.buttons()):
        raise Unexpected("type page", "not listed after it was saved", name)


async def open_card(chat: RoutedChat, name: str) -> None:
    card = await reply_at("card", chat.presses(name, STEP_SECONDS))
    if not text_of(card).startswith(f"📄 <b>{name}</b>"):
        raise Unexpected("card", "unexpected reply", f"{card.method} {text_of(card)!r}")


async def get_file(chat: RoutedChat, telegram: RoutedTelegram, content: bytes) -> None:
    """ "Get file": the bot sends the document back by its Telegram file_id (or uploads it); same bytes."""
    sent = await reply_at("get file", chat.presses("Get file", STEP_SECONDS))
    if sent.method != "sendDocument":
        raise Unexpected("get file", "unexpected reply", f"{sent.method} {text_of(sent)!r}")
    received = sent.uploaded if sent.uploaded is not None else telegram.bytes_of(str(sent.params["document"]))
    if received != content:
        raise Unexpected("get file", "the bytes received differ from the file sent")


async def flow(chat: RoutedChat, telegram: RoutedTelegram, round_number: int, content: bytes) -> FlowTimes:
    began = time.perf_counter()
    sent, saved = await add_document(chat, round_number, content)
    await find_in_list(chat, document_name(round_number))
    listed = time.perf_counter()
    await open_card(chat, document_name(round_number))
    await get_file(chat, telegram, content)
    return FlowTimes(saved - sent, listed - saved, time.perf_counter() - began)


# ---------------------------------------------------------------- the system under load


@contextlib.asynccontextmanager
async def load_system(log_dir: Path, telegram: RoutedTelegram) -> AsyncIterator[RunningSystem]:
    """Processor, API and bot (webhook mode) as processes on fresh streams, databases, bucket and Redis keys,
    all removed afterwards; a service that did not exit gracefully has its output printed.

    Differences from production, on purpose: the flood limit is raised (one person alone runs ~10 updates/s,
    far over the 30 per 10 s a human would need) and services log at WARNING (as in ``bench.bot``)."""
    quiet = {"LOG_LEVEL": "WARNING"}
    bot = {**quiet, "REDIS_URL": REDIS_URL, "FLOOD_LIMIT": "100000"}
    async with running_system(
        "webhook", log_dir, overrides=quiet, bot_overrides=bot, telegram=telegram, require_clean_exit=False
    ) as system:
        yield system
    for name, service in system.services.items():
        if system.exit_codes[name] not in GRACEFUL_EXITS:
            print(f"{name} exited with {system.exit_codes[name]}:\n{service.output()}", file=sys.stderr)


def problems_seen(telegram: RoutedTelegram, exits: dict[str, int]) -> list[str]:
    """What went wrong outside the people's own flows: refused Bot API calls, failed deliveries, bad exits."""
    found = [f"Bot API call refused: {call.method} {call.error}" for call in telegram.refused]
    if telegram.failed_deliveries:
        found.append(f"{telegram.failed_deliveries} webhook deliveries not answered with 200 (retried)")
    return found + [f"{name} exited with {code}" for name, code in exits.items() if code not in GRACEFUL_EXITS]
