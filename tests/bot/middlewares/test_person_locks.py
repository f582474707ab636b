"""Per-person locks: one update of a person at a time, others in parallel, and no lock kept for nobody."""

from __future__ import annotations

import asyncio

from aiogram.fsm.storage.base import StorageKey

from bot.middlewares.person_locks import PersonLocks


def _key(user_id: int) -> StorageKey:
    return StorageKey(bot_id=42, chat_id=user_id, user_id=user_id)


async def test_person_locks_serialize_one_person_and_let_others_through_when_updates_overlap() -> None:
    locks, order = PersonLocks(), []
    first_inside, release = asyncio.Event(), asyncio.Event()

    async def slow() -> None:
        async with locks.lock(_key(1)):
            first_inside.set()
            await release.wait()
            order.append("first of 1")

    async def same_person() -> None:
        async with locks.lock(_key(1)):
            order.append("second of 1")

    async def other_person() -> None:
        async with locks.lock(_key(2)):
            order.append("of 2")

    tasks = [asyncio.create_task(slow())]
    await first_inside.wait()
    tasks += [asyncio.create_task(same_person()), asyncio.create_task(other_person())]
    await tasks[2]
    assert order == ["of 2"] and len(locks) == 1  # person 1's lock is held and awaited; person 2's is gone
    release.set()
    await asyncio.gather(*tasks)
    assert order == ["of 2", "first of 1", "second of 1"] and len(locks) == 0


async def test_person_locks_keep_nothing_when_many_people_have_come_and_gone() -> None:
    locks = PersonLocks()
    for user_id in range(1000):
        async with locks.lock(_key(user_id)):
            pass
    assert len(locks) == 0


async def test_person_locks_free_the_lock_when_a_waiter_is_cancelled() -> None:
    locks, inside = PersonLocks(), asyncio.Event()
    release = asyncio.Event()

    async def holder() -> None:
        async with locks.lock(_key(1)):
            inside.set()
            await release.wait()

    async def waiter() -> None:
        async with locks.lock(_key(1)):
            raise AssertionError("a cancelled waiter never gets in")

    held = asyncio.create_task(holder())
    await inside.wait()
    waiting = asyncio.create_task(waiter())
    await asyncio.sleep(0)
    waiting.cancel()
    release.set()
    await held
    assert waiting.cancelled() and len(locks) == 0
