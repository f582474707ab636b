"""``bot.dialogs.dialog_storage``: the first state read of an update brings the dialog data along, and the
update's later data reads are answered from it (real Redis)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from aiogram.fsm.storage.base import StorageKey
from redis.asyncio import Redis

from bot.app import fsm_storage
from bot.clients.person_store import UserStore
from bot.dialogs.dialog_storage import GateCell, GatedRedisStorage, current_gate
from tests.bot.conftest import REDIS_URL
from tests.e2e.processes import forget_keys

PERSON = 7001
KEY = StorageKey(bot_id=1, chat_id=PERSON, user_id=PERSON)


@pytest.fixture
async def storage(redis: Redis) -> AsyncIterator[GatedRedisStorage]:
    prefix = f"test-dialogs-{uuid.uuid4().hex[:10]}"
    store = UserStore(redis, prefix, flood_window_seconds=60)
    storage = fsm_storage(redis, store, prefix, 600)
    assert isinstance(storage, GatedRedisStorage)
    yield storage
    await forget_keys(REDIS_URL, prefix)


async def start_update(storage: GatedRedisStorage, update_id: int) -> GateCell:
    """What ``UpdateContext`` and the FSM middleware do first: a cell, then the state read."""
    cell = GateCell(PERSON, update_id)
    current_gate.set(cell)
    await storage.get_state(KEY)
    return cell


async def test_storage_answers_data_reads_from_the_first_read_when_an_update_reads_twice(
    storage: GatedRedisStorage, redis: Redis
) -> None:
    await storage.set_data(KEY, {"step": 1})
    await start_update(storage, update_id=1)
    await redis.set(storage.key_builder.build(KEY, "data"), '{"step": "changed behind its back"}')
    assert await storage.get_data(KEY) == {"step": 1}  # no second round trip: the pipeline's value
    assert await storage.get_data(KEY) == {"step": 1}


async def test_storage_answers_what_was_written_when_data_is_read_after_a_write(storage: GatedRedisStorage) -> None:
    await start_update(storage, update_id=2)
    assert await storage.get_data(KEY) == {}
    await storage.set_data(KEY, {"name": "Passport"})
    read = await storage.get_data(KEY)
    read["name"] = "changed by the caller"
    assert await storage.get_data(KEY) == {"name": "Passport"}
    await storage.set_data(KEY, {})
    assert await storage.get_data(KEY) == {}
    current_gate.set(None)
    assert await storage.get_data(KEY) == {}  # Redis agrees once the update is over


async def test_storage_reads_redis_when_another_persons_data_is_asked_for(storage: GatedRedisStorage) -> None:
    other = StorageKey(bot_id=1, chat_id=PERSON + 1, user_id=PERSON + 1)
    await storage.set_data(other, {"theirs": True})
    await start_update(storage, update_id=3)
    assert await storage.get_data(other) == {"theirs": True}
