"""Appending a person's action to the event log: the bot's only way to change anything."""

from __future__ import annotations

import uuid
from typing import Protocol

from contracts.events import EventEnvelope, EventPayload, new_event
from service_kit.correlation import current_correlation_id

from bot.state_store import UserStore


class EventAppender(Protocol):
    """``service_kit.eventlog.EventPublisher`` in production; returns once the broker confirmed."""

    async def append(self, *events: EventEnvelope) -> None: ...


async def record(events: EventAppender, store: UserStore, owner_id: int, payload: EventPayload,
                 event_id: uuid.UUID | None = None) -> EventEnvelope:
    """Append one event for ``owner_id`` and remember it so the next reads wait for it (read-your-writes).

    Raises ``EventLogUnavailable`` when the broker did not confirm; the event may still have been stored, so
    a retry of the same action passes the same ``event_id`` and takes effect once.
    """
    event = new_event(payload, owner_id=owner_id, correlation_id=current_correlation_id(), event_id=event_id)
    await events.append(event)
    await store.remember_write(owner_id, str(event.event_id))
    return event
