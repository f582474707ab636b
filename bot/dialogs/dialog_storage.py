"""Dialog state in Redis (aiogram's RedisStorage), read in the same round trip as the person's flood counter,
language and last write.

Every update starts with aiogram's FSM middleware reading the dialog state (under the per-person lock) and
then ``UserGate`` needing the flood counter and language: two Redis round trips, a sixth of the bot's work
in bench/bot.py. ``UpdateContext`` opens a ``GateCell`` for the update; the first state read of that update
fetches everything in one pipeline and leaves the rest in the cell for ``UserGate``. The cell also notes the
state the update leaves behind, so ``bot.middlewares.dialog_scope`` knows whether a dialog is still open
without reading it back.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import StateType, StorageKey
from aiogram.fsm.storage.redis import RedisStorage
from redis.asyncio import Redis

from bot.clients.person_store import UserContext, UserStore


@dataclass
class GateCell:
    """What the first state read of an update learned about the person (None until then)."""

    user_id: int
    update_id: int
    context: UserContext | None = None
    state_written: bool = False
    state_now: str | None = None  # the last state this update wrote (when ``state_written``)


current_gate: ContextVar[GateCell | None] = ContextVar("current_gate", default=None)


class GatedRedisStorage(RedisStorage):
    def __init__(self, redis: Redis, users: UserStore, **kwargs: Any) -> None:
        super().__init__(redis, **kwargs)
        self._users = users

    async def get_state(self, key: StorageKey) -> str | None:
        cell = current_gate.get()
        if cell is None or cell.context is not None or cell.user_id != key.user_id:
            return await super().get_state(key)
        cell.context, state = await self._users.enter(
            key.user_id, cell.update_id, also_get=self.key_builder.build(key, "state")
        )
        return state

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        await super().set_state(key, state)
        cell = current_gate.get()
        if cell is not None and cell.user_id == key.user_id:
            cell.state_written = True
            cell.state_now = state.state if isinstance(state, State) else state
