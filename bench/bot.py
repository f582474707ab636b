"""Bot benchmark: menu and browse updates through the webhook endpoint, beside a bare aiogram echo bot.

    python -m bench.bot [--users 200] [--rounds 4] [--concurrency 8,32]

Both bots run as their own process in webhook mode (``handle_in_background=False``, so a request's latency is
the handler's); their Bot API calls go to the fake Telegram server and DocVault's reads to a stub of the query
API, both in this process. DocVault runs with everything on: Redis FSM storage, flood control and language
in Redis, navigation tokens, metrics, the correlation id. Each person sends /menu, opens "My documents",
opens the first type's first page and opens a document card, ``--rounds`` times; ``concurrency`` people
are served at a time (Telegram opens up to ``max_connections`` webhook requests at once). Loopback only,
bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp
import psutil
from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery, Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.ui.callbacks import DocAction, DocCb, MenuAction, MenuCb, TypeCb
from bot.ui.presentation import doc_ref
from tests.bot.api_stub import TOKEN as API_TOKEN
from tests.bot.api_stub import StubState, start_stub
from tests.e2e.processes import (
    BOT_TOKEN,
    WEBHOOK_SECRET,
    Service,
    bot_env,
    forget_keys,
    redis_url,
    start_service,
    wait_http_ok,
)
from tests.fake_telegram.server import SECRET_HEADER, FakeTelegram
from tests.ports import free_port

WEBHOOK_PATH = "/telegram/webhook"
FIRST_DOCUMENT = "00000000-0000-4000-8000-000000000000"
USER_BASE = 700_000
REDIS_URL = redis_url(database=12)
REDIS_PREFIX = f"bench-{uuid.uuid4().hex[:8]}"
# One sequence for the whole run: the bot claims update ids in Redis and drops an id it has seen, so ids that
# started over at each level made the second level's updates all "already handled" (measured as 0.6 ms/update).
UPDATE_IDS = itertools.count(1)


@dataclass(frozen=True)
class Result:
    name: str
    concurrency: int
    updates: int
    seconds: float
    latencies: list[float]
    failures: int
    cpu_seconds: float = 0.0

    @property
    def cpu_ms_per_update(self) -> float:
        return self.cpu_seconds / self.updates * 1000

    @property
    def rate(self) -> float:
        return self.updates / self.seconds

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


def person_updates(telegram: FakeTelegram, user_id: int, rounds: int) -> list[dict[str, Any]]:
    """The update bodies one person sends: /menu, My documents, first type page, a document card."""
    user = telegram.user(user_id)
    menu = telegram.bot_message(user_id, "menu")
    steps = [
        MenuCb(action=MenuAction.browse).pack(),
        TypeCb(slug="type0").pack(),
        DocCb(action=DocAction.open, doc=doc_ref(FIRST_DOCUMENT)).pack(),
    ]
    updates: list[dict[str, Any]] = []
    for step in range(rounds):
        updates.append(
            {
                "message": {
                    "message_id": 1,
                    "date": int(time.time()),
                    "from": user,
                    "text": "/menu",
                    "chat": {"id": user_id, "type": "private"},
                }
            }
        )
        updates.extend(
            {
                "callback_query": {
                    "id": f"{user_id}-{step}-{index}",
                    "from": user,
                    "chat_instance": "b",
                    "message": menu,
                    "data": data,
                }
            }
            for index, data in enumerate(steps)
        )
    return updates


async def drive(url: str, people: Sequence[list[dict[str, Any]]], concurrency: int, name: str) -> Result:
    """Each person's updates in order (a person waits for the answer); ``concurrency`` people at a time."""
    latencies: list[float] = []
    failures = 0
    gate = asyncio.Semaphore(concurrency)

    async def person(http: aiohttp.ClientSession, updates: list[dict[str, Any]]) -> None:
        nonlocal failures
        async with gate:
            for body in updates:
                started = time.perf_counter()
                async with http.post(
                    url, json={"update_id": next(UPDATE_IDS), **body}, headers={SECRET_HEADER: WEBHOOK_SECRET}
                ) as response:
                    await response.read()
                    failures += response.status != 200
                latencies.append(time.perf_counter() - started)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:
        started = time.perf_counter()
        await asyncio.gather(*(person(http, updates) for updates in people))
        seconds = time.perf_counter() - started
    return Result(name, concurrency, len(latencies), seconds, latencies, failures)


async def run_echo_bot(telegram_url: str, port: int) -> None:
    """A bare aiogram bot in webhook mode: echoes messages, answers button presses."""
    dispatcher = Dispatcher()

    @dispatcher.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    @dispatcher.callback_query()
    async def pressed(query: CallbackQuery) -> None:
        await query.answer()

    bot = Bot(BOT_TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(telegram_url)))
    app = web.Application()
    SimpleRequestHandler(dispatcher, bot, handle_in_background=False, secret_token=WEBHOOK_SECRET).register(
        app, path=WEBHOOK_PATH
    )
    app.router.add_get("/healthz", lambda _: _ok())
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await asyncio.Event().wait()


async def _ok() -> web.Response:
    return web.json_response({"status": "ok"})


async def start_bot(kind: str, telegram_url: str, api_url: str, log_dir: Path) -> tuple[Service, str]:
    port = free_port()
    if kind == "echo":
        service = await start_service("echo", "bench.bot", {}, log_dir, "--echo-bot", telegram_url, str(port))
    else:
        env = bot_env(
            "webhook", telegram_url, api_url, API_TOKEN, port, REDIS_PREFIX, REDIS_URL=REDIS_URL, LOG_LEVEL="WARNING"
        )
        service = await start_service("docvault", "bot", env, log_dir)
    base = f"http://127.0.0.1:{port}"
    await wait_http_ok(base + "/healthz", service)
    return service, base + WEBHOOK_PATH


async def measure(
    kind: str, args: argparse.Namespace, telegram: FakeTelegram, telegram_url: str, api_url: str, log_dir: Path
) -> list[Result]:
    """One bot process, measured at each concurrency level (fresh people per level, after a warm-up)."""
    service, url = await start_bot(kind, telegram_url, api_url, log_dir)
    process = psutil.Process(service.process.pid)
    results = []
    try:
        await drive(url, [person_updates(telegram, USER_BASE - 1 - i, 1) for i in range(32)], 32, kind)
        for level, concurrency in enumerate(args.concurrency):
            base = USER_BASE + (level + 1) * 100_000
            people = [person_updates(telegram, base + i, args.rounds) for i in range(args.users)]
            cpu_before = sum(process.cpu_times()[:2])
            result = await drive(url, people, concurrency, kind)
            results.append(replace(result, cpu_seconds=sum(process.cpu_times()[:2]) - cpu_before))
    finally:
        await service.stop()
    return results


def table(results: Sequence[Result]) -> str:
    echo = {r.concurrency: r for r in results if r.name == "echo"}
    lines = [
        "| bot | at a time | updates | updates/s | p50 ms | p99 ms | bot CPU ms/update | failed | share of echo rate |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in sorted(results, key=lambda r: (r.concurrency, r.name != "echo")):
        lines.append(
            f"| {result.name} | {result.concurrency} | {result.updates} | {result.rate:,.0f} | "
            f"{result.percentile(0.5):.1f} | {result.percentile(0.99):.1f} | "
            f"{result.cpu_ms_per_update:.2f} | {result.failures} | "
            f"{result.rate / echo[result.concurrency].rate:.0%} |"
        )
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> int:
    telegram = FakeTelegram(BOT_TOKEN)
    telegram_runner, telegram_url = await telegram.start()
    stub = StubState()
    stub_runner, api_url = await start_stub(stub)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-bot-") as folder:
            results = [
                result
                for kind in ("echo", "docvault")
                for result in await measure(kind, args, telegram, telegram_url, api_url, Path(folder))
            ]
    finally:
        await stub_runner.cleanup()
        await telegram_runner.cleanup()
        await forget_keys(REDIS_URL, REDIS_PREFIX)
    print(
        f"{args.users} people x {args.rounds} rounds x 4 updates per level, "
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}"
    )
    print(table(results))
    return 0 if all(r.failures == 0 for r in results) else 1


def _levels(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bot", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--concurrency", type=_levels, default=[8, 32], help="people served at a time, e.g. 8,32")
    parser.add_argument("--echo-bot", nargs=2, metavar=("TELEGRAM_URL", "PORT"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse()
    if arguments.echo_bot:
        asyncio.run(run_echo_bot(arguments.echo_bot[0], int(arguments.echo_bot[1])))
    else:
        raise SystemExit(asyncio.run(main(arguments)))
