"""Appending a person's action to the event log: the bot's only way to change anything."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Protocol

from contracts.events import EventEnvelope, EventPayload, new_event
from service_kit.correlation import current_correlation_id

from bot.clients.person_store import EVENT_BUDGET_WINDOW_SECONDS, UserStore, budget_verdict


class EventAppender(Protocol):
    """``service_kit.eventlog.EventPublisher`` in production; returns once the broker confirmed."""

    async def append(self, *events: EventEnvelope) -> None: ...


@dataclass(frozen=True)
class EventLog:
    """The event log as handlers see it: where events go, and how many one person may append per hour."""

    appender: EventAppender
    budget_per_hour: int


class EventBudgetSpent(Exception):
    """The person appended their hourly budget of events; nothing was appended."""

    def __init__(self, minutes_left: int) -> None:
        super().__init__(f"event budget spent for {minutes_left} more minutes")
        self.minutes_left = minutes_left


async def record(events: EventLog, store: UserStore, owner_id: int, payload: EventPayload,
                 event_id: uuid.UUID | None = None) -> EventEnvelope:
    """Append one event for ``owner_id`` and remember it so the next reads wait for it (read-your-writes).

    Every attempt counts against the person's hourly budget (a fixed window in Redis, like the flood
    counter): past it, ``EventBudgetSpent`` is raised and nothing is appended. Raises ``EventLogUnavailable``
    when the broker did not confirm; the event may still have been stored, so a retry of the same action
    passes the same ``event_id`` and takes effect once.
    """
    now = time.time()
    spent = budget_verdict(await store.count_event(owner_id, now), events.budget_per_hour, now,
                           EVENT_BUDGET_WINDOW_SECONDS)
    if spent is not None:
        raise EventBudgetSpent(spent.minutes_left)
    event = new_event(payload, owner_id=owner_id, correlation_id=current_correlation_id(), event_id=event_id)
    await events.appender.append(event)
    await store.remember_write(owner_id, str(event.event_id))
    return event
