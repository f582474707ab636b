"""The person as the bot knows them: whether they started before, and their language."""

from __future__ import annotations

import logging

from bot.clients.person_store import UserStore
from bot.services.event_recorder import EventRecorder
from bot.services.limits import EventBudgetSpent
from contracts.events import Language, UserLanguageChanged, UserStarted
from service_kit.eventlog import EventLogUnavailable

log = logging.getLogger(__name__)


class People:
    def __init__(self, store: UserStore, recorder: EventRecorder) -> None:
        self._store = store
        self._recorder = recorder

    async def started(self, owner_id: int, language: Language) -> None:
        """``user.started`` once for a person, not for every /start: a repeat would change nothing but the log.

        "Known" is a Redis flag set once the broker confirmed the event (``bot.clients.person_store.
        KNOWN_TTL_SECONDS``); a Redis that lost it costs one more ``user.started``, which the users projection
        applies as "seen". The greeting does not depend on the log: a failed append is only logged.
        """
        if await self._store.is_known(owner_id):
            return
        try:
            await self._recorder.record(owner_id, UserStarted(language=language))
        except (EventLogUnavailable, EventBudgetSpent) as error:
            # The user view is created by the next write anyway.
            log.warning("user.started not appended", extra={"error": type(error).__name__})
            return
        await self._store.remember_known(owner_id)

    async def choose_language(self, owner_id: int, language: Language) -> None:
        """Remember ``language``; the language already chosen changes nothing, so it appends no event."""
        if await self._store.language(owner_id) != language:
            await self._recorder.record(owner_id, UserLanguageChanged(language=language))
            await self._store.set_language(owner_id, language)

    async def stored_language(self, owner_id: int) -> str | None:
        """The language the person chose, or None (also when Redis is what failed: Telegram's is good enough)."""
        try:
            return await self._store.language(owner_id)
        except Exception:  # Redis may be what failed the update being explained
            return None
