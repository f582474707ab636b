"""Whole-system load benchmark: many people add, list and fetch documents through the real processes.

    python -m bench.load [--users 200] [--seconds 60] [--baseline-seconds 15]

``python -m stream_processors run``, ``python -m api`` and ``python -m bot`` (webhook mode) run as their own
processes against the local RabbitMQ stream, SecantusDB, moto S3 and Redis; the fake Telegram server runs in
this process and posts updates to the bot's webhook. Each simulated person repeats, until the time is up:
/start (later /menu) -> "Add document" -> types "Passport" -> types a name -> sends a file of 4-100 KB of
random bytes -> "✅ Saved" -> /documents -> "Passport" -> the new name is on the page -> opens it -> "Get file"
-> receives the document. A flow under way when the time is up is finished.

Measured: completed flows and flows/s, time from sending the file to the "saved" reply, time from "saved" to
the page that lists the document (the bot's reads wait for the person's last event: read-your-writes), every
unexpected reply, refused Bot API call, failed webhook delivery and timeout, and each process's peak RSS and
CPU (a share of one core; the shared servers' figures include other work using them). One person alone on
the same processes first gives the baseline row.

Differences from production, on purpose: the flood limit is raised (one person alone runs ~10 updates/s, far
over the 30 per 10 s a human would need) and services log at WARNING (as in ``bench.bot``). The fake server
delivers up to the bot's ``max_connections`` updates at once, one at a time per chat, like Telegram (the
tests' server posts one update at a time). Loopback only; the streams, databases, bucket and Redis keys are
removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sys
import tempfile
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import psutil

from bench.common import ProcessWatch, percentile, shared_server_pids, table
from bot.ui.i18n import Texts
from tests.e2e.processes import BOT_TOKEN, Chat, Service, redis_url, text_of
from tests.e2e.system import RunningSystem, running_system
from tests.fake_telegram.server import BotCall, FakeTelegram, Webhook

STEP_SECONDS = 60.0  # how long one dialog step may wait for the bot's answer before it counts as a timeout
RETRY_DELIVERY_SECONDS = 0.2
TYPE_TITLE = "Passport"
WARM_UP_USER = 880_000
BASELINE_USER = 880_001
FIRST_LOAD_USER = 881_000
REDIS_URL = redis_url(database=12)
TR = Texts("en")
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
    ``refused``."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.inboxes: dict[int, asyncio.Queue[BotCall]] = {}
        self.refused: list[BotCall] = []
        self.failed_deliveries = 0
        self._query_owners: dict[str, int] = {}
        self._chat_locks: dict[int, asyncio.Lock] = {}
        self._in_flight: set[asyncio.Task[None]] = set()

    def chat(self, user_id: int) -> RoutedChat:
        chat = RoutedChat(self, user_id)
        self.inboxes[user_id] = chat.inbox
        return chat

    def bytes_of(self, file_id: str) -> bytes:
        return self._files[file_id].data

    async def _record(self, call: BotCall) -> None:
        if call.error is not None:
            self.refused.append(call)
        inbox = self.inboxes.get(self._chat_of_call(call))
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
    """The bot answered something else than the flow expects (an error reply, a wrong step, a lost file)."""


@dataclass
class FlowTimes:
    file_to_saved: float
    saved_to_listed: float
    whole: float


@dataclass
class Tally:
    """What the people of one phase measured and met."""

    flows: list[FlowTimes] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def expect(call: BotCall, step: str, *accepted: str) -> None:
    if text_of(call) not in accepted:
        raise Unexpected(f"{step}: {call.method} {text_of(call)!r}")


def document_name(round_number: int) -> str:
    """Names sort newest first (pages are in name order), so the new document is always on the first page."""
    return f"Doc {999_999 - round_number:06d}"


def file_content(rng: random.Random) -> bytes:
    return b"%PDF-1.7\n" + rng.randbytes(rng.randint(4_000, 100_000))


async def add_document(chat: RoutedChat, round_number: int, content: bytes) -> tuple[float, float]:
    """Menu -> "Add document" -> type -> name -> file; returns (file sent, "saved" received) times."""
    name = document_name(round_number)
    if round_number == 0:
        expect(await chat.says("/start", STEP_SECONDS), "/start", TR("menu.greeting", name=f"User{chat.user_id}"))
    else:
        expect(await chat.says("/menu", STEP_SECONDS), "/menu", TR("menu.title"))
    expect(await chat.presses("Add document", STEP_SECONDS), "add", TR("add.ask_type_first"), TR("add.ask_type"))
    expect(await chat.says(TYPE_TITLE, STEP_SECONDS), "type", TR("add.ask_name", type=TYPE_TITLE))
    expect(await chat.says(name, STEP_SECONDS), "name", TR("add.ask_file", name=name))
    sent = time.perf_counter()
    saved = await chat.sends_document(content, "scan.pdf", STEP_SECONDS)
    expect(saved, "file", TR("add.saved", name=name, type=TYPE_TITLE))
    return sent, time.perf_counter()


async def find_in_list(chat: RoutedChat, name: str) -> None:
    """/documents -> the type: the new document must be on the first page (the bot's reads wait for it)."""
    expect(await chat.says("/documents", STEP_SECONDS), "/documents", TR("browse.types_title"))
    page = await chat.presses(f"{TYPE_TITLE} (", STEP_SECONDS)
    # One page says only the type; more say "page 1 of N" (N from the type's count, whatever the page size).
    first_of_many = (TR("browse.type_page", title=TYPE_TITLE, page=1, pages=pages) for pages in range(2, 1000))
    expect(page, "type page", TR("browse.type_single", title=TYPE_TITLE), *first_of_many)
    if name not in (text for text, _ in chat.buttons()):
        raise Unexpected(f"type page: {name} not listed after it was saved")


async def open_card(chat: RoutedChat, name: str) -> None:
    card = await chat.presses(name, STEP_SECONDS)
    if not text_of(card).startswith(f"📄 <b>{name}</b>"):
        raise Unexpected(f"card: {card.method} {text_of(card)!r}")


async def get_file(chat: RoutedChat, telegram: RoutedTelegram, content: bytes) -> None:
    """ "Get file": the bot sends the document back by its Telegram file_id (or uploads it); same bytes."""
    sent = await chat.presses("Get file", STEP_SECONDS)
    if sent.method != "sendDocument":
        raise Unexpected(f"get file: {sent.method} {text_of(sent)!r}")
    received = sent.uploaded if sent.uploaded is not None else telegram.bytes_of(str(sent.params["document"]))
    if received != content:
        raise Unexpected("get file: the bytes received differ from the file sent")


async def flow(chat: RoutedChat, telegram: RoutedTelegram, round_number: int, content: bytes) -> FlowTimes:
    began = time.perf_counter()
    sent, saved = await add_document(chat, round_number, content)
    await find_in_list(chat, document_name(round_number))
    listed = time.perf_counter()
    await open_card(chat, document_name(round_number))
    await get_file(chat, telegram, content)
    return FlowTimes(saved - sent, listed - saved, time.perf_counter() - began)


async def person(telegram: RoutedTelegram, user_id: int, deadline: float, tally: Tally) -> None:
    """Flow after flow until ``deadline``; a failed flow is noted and the person starts over from the menu."""
    chat, rng = telegram.chat(user_id), random.Random(user_id)
    round_number = 0
    while time.perf_counter() < deadline:
        try:
            tally.flows.append(await flow(chat, telegram, round_number, file_content(rng)))
        except (Unexpected, TimeoutError, AssertionError) as error:
            tally.errors.append(f"user {user_id} flow {round_number}: {type(error).__name__} {error}")
            await asyncio.sleep(1.0)
            chat.forget_pending()
        round_number += 1


# ---------------------------------------------------------------- phases and processes


@dataclass
class Phase:
    users: int
    seconds: float
    tally: Tally
    watches: dict[str, ProcessWatch]
    machine_busy: float  # percent of all cores, every process on the machine (other work shares it)

    @property
    def rate(self) -> float:
        return len(self.tally.flows) / self.seconds


async def run_phase(
    telegram: RoutedTelegram, user_ids: Sequence[int], seconds: float, services: Sequence[Service]
) -> Phase:
    watches = {service.name: ProcessWatch(service.process.pid) for service in services}
    watches["bench (people + fake Telegram)"] = ProcessWatch(os.getpid())
    # Shared with other work on this machine: their CPU includes whatever else used them meanwhile.
    watches.update({f"{name} (shared server)": ProcessWatch(pid) for name, pid in shared_server_pids().items()})
    for watch in watches.values():
        watch.start()
    tally = Tally()
    psutil.cpu_percent()  # starts the machine-wide CPU interval that the call after the phase reads
    started = time.perf_counter()
    await asyncio.gather(*(person(telegram, user_id, started + seconds, tally) for user_id in user_ids))
    elapsed = time.perf_counter() - started
    for watch in watches.values():
        await watch.stop()
    return Phase(len(user_ids), elapsed, tally, watches, psutil.cpu_percent())


async def measure(args: argparse.Namespace, telegram: RoutedTelegram, services: Sequence[Service]) -> list[Phase]:
    warm_up = Tally()  # one flow, not counted: the services' first calls open connections and fill caches
    await person(telegram, WARM_UP_USER, time.perf_counter() + 0.001, warm_up)
    if warm_up.errors:
        raise RuntimeError(f"the warm-up flow failed: {warm_up.errors}")
    baseline = await run_phase(telegram, [BASELINE_USER], args.baseline_seconds, services)
    load_users = range(FIRST_LOAD_USER, FIRST_LOAD_USER + args.users)
    return [baseline, await run_phase(telegram, load_users, args.seconds, services)]


async def run(args: argparse.Namespace, log_dir: Path) -> tuple[list[Phase], RoutedTelegram, RunningSystem]:
    """Processor, API and bot (webhook mode) as processes on fresh streams, databases, bucket and Redis keys,
    all removed afterwards."""
    telegram = RoutedTelegram(BOT_TOKEN)
    quiet = {"LOG_LEVEL": "WARNING"}
    bot = {**quiet, "REDIS_URL": REDIS_URL, "FLOOD_LIMIT": "100000"}
    async with running_system(
        "webhook", log_dir, overrides=quiet, bot_overrides=bot, telegram=telegram, require_clean_exit=False
    ) as system:
        phases = await measure(args, telegram, list(system.services.values()))
    print_failed_services(system)
    return phases, telegram, system


# ---------------------------------------------------------------- report


def print_failed_services(system: RunningSystem) -> None:
    for name, service in system.services.items():
        if system.exit_codes[name] not in GRACEFUL_EXITS:
            print(f"{name} exited with {system.exit_codes[name]}:\n{service.output()}", file=sys.stderr)


def ms(samples: Sequence[float], q: float) -> str:
    return f"{percentile(samples, q) * 1000:,.0f}"


def flow_row(label: str, phase: Phase) -> list[object]:
    saved = [f.file_to_saved for f in phase.tally.flows]
    listed = [f.saved_to_listed for f in phase.tally.flows]
    whole = [f.whole for f in phase.tally.flows]
    return [
        label,
        len(phase.tally.flows),
        f"{phase.rate:.2f}",
        " / ".join(ms(saved, q) for q in (50, 95, 99)),
        " / ".join(ms(listed, q) for q in (50, 95, 99)),
        ms(whole, 50),
        len(phase.tally.errors),
    ]


def ratio_row(baseline: Phase, load: Phase) -> list[object]:
    def slower(pick: str, q: float) -> str:
        def of(phase: Phase) -> float:
            return percentile([getattr(f, pick) for f in phase.tally.flows], q)

        return f"{of(load) / of(baseline):.1f}x" if baseline.tally.flows and load.tally.flows else "-"

    return [
        f"{load.users} people / 1 person",
        "",
        f"{load.rate / baseline.rate:.1f}x" if baseline.rate else "-",
        " / ".join(slower("file_to_saved", q) for q in (50, 95, 99)),
        " / ".join(slower("saved_to_listed", q) for q in (50, 95, 99)),
        slower("whole", 50),
        "",
    ]


def process_rows(baseline: Phase, load: Phase) -> list[list[object]]:
    return [
        [
            name,
            f"{baseline.watches[name].peak_mb:.0f}",
            f"{load.watches[name].peak_mb:.0f}",
            f"{baseline.watches[name].cpu_share:.0%}",
            f"{load.watches[name].cpu_share:.0%}",
        ]
        for name in load.watches
    ]


def problems(phases: Sequence[Phase], telegram: RoutedTelegram, exits: dict[str, int]) -> list[str]:
    found = [error for phase in phases for error in phase.tally.errors]
    found += [f"Bot API call refused: {call.method} {call.error}" for call in telegram.refused]
    if telegram.failed_deliveries:
        found.append(f"{telegram.failed_deliveries} webhook deliveries not answered with 200 (retried)")
    found += [f"{name} exited with {code}" for name, code in exits.items() if code not in GRACEFUL_EXITS]
    return found


def report(args: argparse.Namespace, phases: list[Phase], telegram: RoutedTelegram, exits: dict[str, int]) -> int:
    baseline, load = phases
    print(
        f"\nflow: /start|/menu, Add document, type, name, file (4-100 KB), saved, /documents, type, open, "
        f"Get file; {os.cpu_count()} CPUs, Python {sys.version.split()[0]}\n"
    )
    print(
        table(
            [
                "people",
                "completed flows",
                "flows/s",
                "file sent -> saved p50/p95/p99 ms",
                "saved -> listed p50/p95/p99 ms",
                "whole flow p50 ms",
                "errors",
            ],
            [flow_row("1 (baseline)", baseline), flow_row(str(args.users), load), ratio_row(baseline, load)],
        )
    )
    print()
    print(
        table(
            [
                "process",
                "peak RSS MB, 1 person",
                f"peak RSS MB, {args.users} people",
                "CPU, 1 person",
                f"CPU, {args.users} people",
            ],
            process_rows(baseline, load),
        )
    )
    found = problems(phases, telegram, exits)
    print(
        f"\nmachine CPU busy (every process, {os.cpu_count()} cores): {baseline.machine_busy:.0f}% with 1 person, "
        f"{load.machine_busy:.0f}% with {args.users} people"
    )
    print(f"\nerrors: {len(found)}")
    for line in found[:50]:
        print(f"  {line}")
    if len(found) > 50:
        print(f"  ... and {len(found) - 50} more")
    return 0 if not found else 1


async def main(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="bench-load-") as folder:
        phases, telegram, system = await run(args, Path(folder))
    return report(args, phases, telegram, system.exit_codes)


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=200, help="people at once in the load phase")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the load phase")
    parser.add_argument("--baseline-seconds", type=float, default=15.0, help="length of the one-person phase")
    return parser.parse_args(argv)


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(parse())))
