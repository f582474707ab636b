"""Dialog state and data in Redis (aiogram's RedisStorage), read in the same round trip as the person's flood
counter, language and last write.

Every update starts with aiogram's FSM middleware reading the dialog state (under the per-person lock) and
then ``UserGate`` needing the flood counter and language: two Redis round trips, a sixth of the bot's work
in bench/bot.py. ``UpdateContext`` opens a ``GateCell`` for the update; the first state read of that update
fetches everything in one pipeline, the dialog data included, and leaves the rest in the cell for ``UserGate``.
The cell also notes the state the update leaves behind, so ``bot.middlewares.dialog_scope`` knows whether a
dialog is still open without reading it back, and holds the dialog data as last read or written: the later
reads of the same update (``DialogScope`` before and after the handler, ``update_data`` in a step) are served
from it instead of a round trip each. That is safe because one person's updates are handled one at a time
(``PersonLocks`` or the Redis isolation), so nothing else writes their dialog while the update runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, cast

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
    data_key: str | None = None  # the Redis key of the dialog data held in ``data_json``
    data_json: str | None = None  # that data as stored (None: no data), as read first and after each write


current_gate: ContextVar[GateCell | None] = ContextVar("current_gate", default=None)


class GatedRedisStorage(RedisStorage):
    def __init__(self, redis: Redis, users: UserStore, **kwargs: Any) -> None:
        super().__init__(redis, **kwargs)
        self._users = users

    async def get_state(self, key: StorageKey) -> str | None:
        cell = current_gate.get()
        if cell is None or cell.context is not None or cell.user_id != key.user_id:
            return await super().get_state(key)
        data_key = self.key_builder.build(key, "data")
        cell.context, (state, cell.data_json) = await self._users.enter(
            key.user_id, cell.update_id, also_get=(self.key_builder.build(key, "state"), data_key)
        )
        cell.data_key = data_key
        return state

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        await super().set_state(key, state)
        cell = current_gate.get()
        if cell is not None and cell.user_id == key.user_id:
            cell.state_written = True
            cell.state_now = state.state if isinstance(state, State) else state

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        cell = self._holding(key)
        if cell is None:
            return await super().get_data(key)
        # A fresh dict each time, as from Redis: a caller changing it changes nothing stored.
        return cast(dict[str, Any], self.json_loads(cell.data_json)) if cell.data_json is not None else {}

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await super().set_data(key, data)
        cell = self._holding(key)
        if cell is not None:
            cell.data_json = self.json_dumps(dict(data)) if data else None

    def _holding(self, key: StorageKey) -> GateCell | None:
        """The update's cell when it holds this key's dialog data."""
        cell = current_gate.get()
        if cell is None or cell.data_key is None or cell.data_key != self.key_builder.build(key, "data"):
            return None
        return cell
