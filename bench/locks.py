"""Per-person locks: memory after many distinct people, aiogram's SimpleEventIsolation against PersonLocks.

    python -m bench.locks [--people 100000] [--dispatcher-people 20000] [--at-a-time 100]

Each row runs in a fresh Python process (so one row's garbage does not weigh on the next) and prints its
resident memory after start-up and after feeding ``--people`` distinct people through the isolation alone
(``--at-a-time`` of them holding their lock at once, as concurrent updates do), after a full collection.
The dispatcher rows feed ``--dispatcher-people`` distinct people, one /menu each, through the bot's real
dispatcher (``bot.app.build_dispatcher``: Redis FSM, flood control, routers; a fake API and a Bot API
session that keeps nothing), with one isolation or the other; their Redis keys are removed afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncGenerator, Sequence
from datetime import UTC, datetime
from typing import Any

import psutil
from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.fsm.storage.base import BaseEventIsolation, StorageKey
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import Chat, Message, Update, User
from redis.asyncio import Redis

from bench.common import table
from bot.app import Dependencies, build_dispatcher, fsm_storage
from bot.clients.person_store import UserStore
from bot.middlewares.person_locks import PersonLocks
from bot.settings import BotConfig
from tests.bot.fakes import FakeApi, FakePublisher
from tests.bot.harness import BOT_TOKEN, BOT_USER
from tests.e2e.processes import forget_keys, redis_url

KINDS = {"SimpleEventIsolation (aiogram)": SimpleEventIsolation, "PersonLocks": PersonLocks}
REDIS_URL = redis_url(database=11)
HEADERS = ("through", "isolation", "people", "RSS before MB", "RSS after MB", "growth MB", "locks kept", "s")


def rss_mb() -> float:
    gc.collect()
    return float(psutil.Process().memory_info().rss) / 2**20


def locks_kept(isolation: BaseEventIsolation) -> int:
    if isinstance(isolation, SimpleEventIsolation):
        return len(isolation._locks)
    assert isinstance(isolation, PersonLocks)
    return len(isolation)


def _key(user_id: int) -> StorageKey:
    return StorageKey(bot_id=42, chat_id=user_id, user_id=user_id)


async def feed_isolation(isolation: BaseEventIsolation, people: int, at_a_time: int) -> None:
    async def one(user_id: int) -> None:
        async with isolation.lock(_key(user_id)):
            await asyncio.sleep(0)  # the update's work: other people's updates run meanwhile

    for start in range(1, people + 1, at_a_time):
        await asyncio.gather(*(one(user_id) for user_id in range(start, min(start + at_a_time, people + 1))))


class QuietSession(BaseSession):
    """Answers the Bot API like Telegram enough for /menu, keeping nothing (the harness's session records all)."""

    async def close(self) -> None:
        pass

    async def make_request(self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None) -> Any:
        if isinstance(method, SendMessage):
            chat = Chat(id=int(method.chat_id), type="private")
            return Message(message_id=1, date=datetime.now(UTC), chat=chat, from_user=BOT_USER, text=method.text)
        return True

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        raise NotImplementedError("no file moves in this benchmark")
        yield b""  # pragma: no cover - makes this an async generator, as the base class declares


def _menu_update(update_id: int, user_id: int) -> Update:
    user = User(id=user_id, is_bot=False, first_name="P", language_code="en")
    message = Message(
        message_id=update_id,
        date=datetime.now(UTC),
        chat=Chat(id=user_id, type="private"),
        from_user=user,
        text="/menu",
    )
    return Update(update_id=update_id, message=message)


async def feed_dispatcher(isolation: BaseEventIsolation, people: int, at_a_time: int) -> None:
    redis, prefix = Redis.from_url(REDIS_URL), f"bench-locks-{uuid.uuid4().hex[:8]}"
    store = UserStore(redis, prefix, flood_window_seconds=60)
    deps = Dependencies(FakeApi(), FakePublisher(FakeApi()), store, BotConfig(), flood_limit=1000)
    dispatcher = build_dispatcher(fsm_storage(redis, store, prefix, 600), deps)
    dispatcher.fsm.events_isolation = isolation  # the one under test instead of the bot's own
    bot = Bot(BOT_TOKEN, session=QuietSession())
    base = int(time.time())  # update ids of this run only (they are claimed in Redis)
    try:
        for start in range(1, people + 1, at_a_time):
            batch = range(start, min(start + at_a_time, people + 1))
            await asyncio.gather(*(dispatcher.feed_update(bot, _menu_update(base + n, 10**9 + n)) for n in batch))
    finally:
        await redis.aclose()
        await forget_keys(REDIS_URL, prefix)


async def child(through: str, kind: str, people: int, at_a_time: int) -> dict[str, Any]:
    isolation = KINDS[kind]()
    if through == "dispatcher":  # build and warm the dispatcher before the first sample
        await feed_dispatcher(isolation, 10, at_a_time)
    before, started = rss_mb(), time.perf_counter()
    feed = feed_dispatcher if through == "dispatcher" else feed_isolation
    await feed(isolation, people, at_a_time)
    seconds = time.perf_counter() - started
    return {
        "through": through,
        "isolation": kind,
        "people": people,
        "before": before,
        "after": rss_mb(),
        "locks": locks_kept(isolation),
        "seconds": seconds,
    }


def run_row(through: str, kind: str, people: int, at_a_time: int) -> list[object]:
    command = [sys.executable, "-m", "bench.locks", "--child", through, kind, str(people), str(at_a_time)]
    output = subprocess.run(command, check=True, capture_output=True, text=True, env=os.environ).stdout
    row = json.loads(output.strip().splitlines()[-1])
    return [
        row["through"],
        row["isolation"],
        row["people"],
        round(row["before"], 1),
        round(row["after"], 1),
        round(row["after"] - row["before"], 1),
        row["locks"],
        round(row["seconds"], 1),
    ]


def main(args: argparse.Namespace) -> int:
    plan = [("isolation", args.people)] + ([("dispatcher", args.dispatcher_people)] if args.dispatcher_people else [])
    rows = [run_row(through, kind, people, args.at_a_time) for through, people in plan for kind in KINDS]
    print(f"distinct people, {args.at_a_time} at a time, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print(table(HEADERS, rows))
    return 0


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.locks", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--dispatcher-people", type=int, default=20_000, help="0 to skip the dispatcher rows")
    parser.add_argument("--at-a-time", type=int, default=100)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse()
    if arguments.child:
        through, kind, people, at_a_time = arguments.child
        print(json.dumps(asyncio.run(child(through, kind, int(people), int(at_a_time)))))
    else:
        raise SystemExit(main(arguments))
