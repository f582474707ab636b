"""A person store on the bot tests' Redis database, with a key prefix per test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from bot.clients.person_store import UserStore
from tests.bot.conftest import REDIS_URL
from tests.e2e.processes import forget_keys


@pytest.fixture
async def store(redis: Redis) -> AsyncIterator[UserStore]:
    prefix = f"test-bot-{uuid.uuid4().hex[:10]}"
    yield UserStore(redis, prefix, flood_window_seconds=60)
    await forget_keys(REDIS_URL, prefix)
