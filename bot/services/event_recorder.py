"""Appending a person's action to the event log: the bot's only way to change anything."""

from __future__ import annotations

import uuid
from typing import Protocol

from bot.clients.person_store import UserStore
from bot.services.limits import EventBudget
from contracts.events import EventEnvelope, EventPayload, new_event
from service_kit.correlation import current_correlation_id


class EventAppender(Protocol):
    """``service_kit.eventlog.EventPublisher`` in production; returns once the broker confirmed."""

    async def append(self, *events: EventEnvelope) -> None: ...


class EventRecorder:
    """Builds a person's event, appends it within their hourly budget and remembers it for read-your-writes."""

    def __init__(self, appender: EventAppender, store: UserStore, budget: EventBudget) -> None:
        self._appender = appender
        self._store = store
        self._budget = budget

    async def record(self, owner_id: int, payload: EventPayload, event_id: uuid.UUID | None = None) -> EventEnvelope:
        """Append one event for ``owner_id`` and remember it so the next reads wait for it (read-your-writes).

        Every attempt counts against the person's hourly budget: past it, ``EventBudgetSpent`` is raised and
        nothing is appended. Raises ``EventLogUnavailable`` when the broker did not confirm; the event may still
        have been stored, so a retry of the same action passes the same ``event_id`` and takes effect once.
        """
        await self._budget.spend_one(owner_id)
        event = new_event(payload, owner_id=owner_id, correlation_id=current_correlation_id(), event_id=event_id)
        await self._appender.append(event)
        await self._store.remember_write(owner_id, str(event.event_id))
        return event
