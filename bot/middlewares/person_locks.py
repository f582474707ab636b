"""One update of a person at a time, with locks that live only while someone holds or waits on them.

aiogram's ``SimpleEventIsolation`` keeps a ``defaultdict`` of locks, one per (chat, user) key ever seen, and
never drops one: a long-running bot grows by a lock per person who ever wrote to it (bench/locks.py). Here a
key's lock is created on the first update and dropped when its last holder or waiter leaves.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiogram.fsm.storage.base import BaseEventIsolation, StorageKey


@dataclass
class _Entry:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0  # holders and waiters


class PersonLocks(BaseEventIsolation):
    def __init__(self) -> None:
        self._entries: dict[Hashable, _Entry] = {}

    def __len__(self) -> int:
        """How many keys have a lock right now (held or awaited)."""
        return len(self._entries)

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncGenerator[None, None]:
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Entry()
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            # No await between the count and the removal: nobody can pick the entry up in between.
            entry.users -= 1
            if entry.users == 0 and self._entries.get(key) is entry:  # close() may have dropped it already
                del self._entries[key]

    async def close(self) -> None:
        self._entries.clear()
