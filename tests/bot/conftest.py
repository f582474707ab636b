"""Fixtures for handler tests: the real dispatcher and routers, Redis (a key prefix per test), fakes outside."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
from aiogram import Bot, Dispatcher
from redis.asyncio import Redis

from bot.app import Dependencies, build_dispatcher, fsm_storage
from bot.clients.api_client import ApiClient
from bot.clients.person_store import UserStore
from bot.settings import BotConfig
from tests.bot.api_stub import TOKEN, StubState, start_stub
from tests.bot.fakes import FakeApi, FakePublisher
from tests.bot.harness import Person, RecordingSession, make_bot
from tests.e2e.processes import forget_keys, redis_url

# A database of the bot's tests (other suites share the server); keys carry a prefix per test on top.
REDIS_URL = redis_url(database=11)
OWNER = 7001


@dataclass
class BotUnderTest:
    dispatcher: Dispatcher
    bot: Bot
    session: RecordingSession
    api: FakeApi
    publisher: FakePublisher
    store: UserStore
    redis: Redis
    prefix: str

    def person(self, user_id: int = OWNER, language: str = "en") -> Person:
        return Person(self.dispatcher, self.bot, self.session, user_id, language)


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


@pytest.fixture
def config() -> BotConfig:
    return BotConfig(page_size=3, max_download_bytes=1000, links_enabled=True)


@pytest.fixture
def flood_limit() -> int:
    return 1000


@pytest.fixture
async def app(redis: Redis, config: BotConfig, flood_limit: int) -> AsyncIterator[BotUnderTest]:
    prefix = f"test-bot-{uuid.uuid4().hex[:10]}"
    api = FakeApi()
    publisher = FakePublisher(api)
    store = UserStore(redis, prefix, flood_window_seconds=60)
    deps = Dependencies(api, publisher, store, config, flood_limit)
    dispatcher = build_dispatcher(fsm_storage(redis, store, prefix, 600), deps)
    session = RecordingSession()
    yield BotUnderTest(dispatcher, make_bot(session), session, api, publisher, store, redis, prefix)
    await forget_keys(REDIS_URL, prefix)
    assert_no_dead_ends(session)


@pytest.fixture
def ann(app: BotUnderTest) -> Iterator[Person]:
    yield app.person()


@dataclass
class StubbedBot:
    """The dispatcher reading through the real HTTP client from ``tests/bot/api_stub.py``."""

    stub: StubState
    session: RecordingSession
    publisher: FakePublisher
    person: Person


@pytest.fixture
async def stubbed(redis: Redis, config: BotConfig) -> AsyncIterator[StubbedBot]:
    stub = StubState()
    runner, url = await start_stub(stub)
    api = ApiClient(url, TOKEN, timeout_seconds=5)
    prefix = f"test-bot-{uuid.uuid4().hex[:10]}"
    publisher = FakePublisher(FakeApi())
    store = UserStore(redis, prefix, flood_window_seconds=60)
    dispatcher = build_dispatcher(
        fsm_storage(redis, store, prefix, 600), Dependencies(api, publisher, store, config, 1000)
    )
    session = RecordingSession()
    bot = make_bot(session)
    yield StubbedBot(stub, session, publisher, Person(dispatcher, bot, session, OWNER))
    await api.close()
    await runner.cleanup()
    await forget_keys(REDIS_URL, prefix)
    assert_no_dead_ends(session)


def assert_no_dead_ends(session: RecordingSession) -> None:
    """Every test of the dispatcher walks its replies: each one shown in a private chat must offer a way on."""
    texts = [getattr(method, "text", None) or getattr(method, "caption", None) for method in session.dead_ends]
    assert not session.dead_ends, f"messages without a way on (Menu, Back or the next step): {texts}"
