"""'Forget me': the typed confirmation, then ``user.forgotten`` appended and the bot's own memory of the person
erased. The read models, files and data key are erased downstream (the processors and the API's erasure worker,
docs/adr/0014-forget-me-and-trash-retention.md)."""

from __future__ import annotations

import logging
import unicodedata

from bot.clients.person_store import UserStore
from bot.services.event_recorder import EventRecorder
from contracts.events import UserForgotten

log = logging.getLogger(__name__)


def confirms(typed: str, word: str) -> bool:
    """The person typed the confirmation word: case, surrounding spaces, a final full stop and Unicode forms aside."""

    def normal(text: str) -> str:
        return unicodedata.normalize("NFKC", text).strip().rstrip(".!").strip().casefold()

    return normal(typed) == normal(word)


class Forgetting:
    def __init__(self, store: UserStore, recorder: EventRecorder) -> None:
        self._store = store
        self._recorder = recorder

    async def forget(self, owner_id: int) -> None:
        """Append ``user.forgotten`` (raises ``EventLogUnavailable`` / ``EventBudgetSpent``: nothing is erased then),
        then delete the person's Redis keys."""
        await self._recorder.record(owner_id, UserForgotten())
        removed = await self._store.forget(owner_id)
        log.info("forgotten", extra={"redis_keys": removed})
