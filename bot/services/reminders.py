"""The valid-until reminder sender: a loop in the bot process that asks the API which reminders are due today
(``GET /v1/reminders/due``, never MongoDB) and sends each through Telegram, at most once (docs/adr/0015).

For each due reminder, in this order: claim it in Redis (one replica, one restart wins it), record
``document.reminder_sent`` (its event id derived from the reminder, so a second append is dropped by the
processor's ledger), then send it. A crash after recording and before sending loses that reminder: Telegram has
no idempotency key, so the other order would send it twice after a restart. A reminder whose event could not be
recorded is released and tried in the next round; one Telegram refuses (the person blocked the bot) is not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.clients.api_client import ApiError
from bot.clients.person_store import UserStore
from bot.services.event_recorder import EventAppender
from bot.services.expiry import local_day
from contracts.api_schemas import DueReminder, DueReminders
from contracts.events import DocumentReminderSent, new_event
from contracts.expiry import reminder_event_id
from service_kit.eventlog import EventLogUnavailable

log = logging.getLogger(__name__)
# Reminders asked for in one round; more wait for the next one (a minute later by default).
ROUND_SIZE = 100


class ReminderSource(Protocol):
    async def due_reminders(self, on: date, days: tuple[int, ...], limit: int) -> DueReminders: ...


Send = Callable[[DueReminder], Awaitable[None]]


class Delivery(StrEnum):
    sent = "sent"
    claimed_elsewhere = "claimed_elsewhere"  # another replica, or this one before a restart, has it
    not_recorded = "not_recorded"  # the event log did not confirm: released, tried again next round
    send_failed = "send_failed"  # recorded, Telegram refused or failed: not sent again (at most once)


def reminder_day(now: datetime, zone_name: str, hour: int) -> date | None:
    """The day in the bot's zone whose reminders are due at ``now``: today once its ``hour`` has come, else
    None (reminders are not sent at night)."""
    day = local_day(zone_name, now)
    local_hour = now.astimezone(ZoneInfo(zone_name)).hour
    return day if local_hour >= hour else None


def claim_seconds(reminder: DueReminder, now: datetime) -> int:
    """A claim lasts until two days after the reminder's date: nothing is due for it after the date."""
    until = datetime.combine(reminder.valid_until + timedelta(days=2), time(), tzinfo=UTC)
    return int((until - now).total_seconds())


@dataclass(frozen=True)
class ReminderSender:
    source: ReminderSource
    appender: EventAppender
    store: UserStore
    send: Send
    days: tuple[int, ...]

    async def deliver(self, reminder: DueReminder, now: datetime) -> Delivery:
        document_id = uuid.UUID(reminder.document_id)
        event_id = reminder_event_id(document_id, reminder.valid_until, reminder.days_before)
        if not await self.store.claim_reminder(reminder.owner_id, str(event_id), claim_seconds(reminder, now)):
            return Delivery.claimed_elsewhere
        payload = DocumentReminderSent(
            document_id=document_id, valid_until=reminder.valid_until, days_before=reminder.days_before
        )
        event = new_event(
            payload, owner_id=reminder.owner_id, correlation_id=f"reminders-{now:%Y%m%d}", event_id=event_id
        )
        try:
            await self.appender.append(event)
        except EventLogUnavailable:
            await self.store.release_reminder(reminder.owner_id, str(event_id))
            return Delivery.not_recorded
        try:
            await self.send(reminder)
        except Exception:  # recorded: never sent twice, so a failure here loses the reminder (ADR 0015)
            log.warning("reminder not delivered", extra={"owner_id": reminder.owner_id, "event_id": str(event_id)})
            return Delivery.send_failed
        return Delivery.sent

    async def run_once(self, day: date, now: datetime) -> list[Delivery]:
        due = await self.source.due_reminders(day, self.days, ROUND_SIZE)
        return [await self.deliver(reminder, now) for reminder in due.items]


async def run_reminders(
    sender: ReminderSender, zone_name: str, hour: int, every_seconds: float, stopping: asyncio.Event
) -> None:
    """The loop: a round every ``every_seconds`` once the day's hour has come; an API outage skips a round. It ends
    when ``stopping`` is set as well as on a cancel: redis-py can swallow a cancel that lands inside a command."""
    while not stopping.is_set():
        now = datetime.now(UTC)
        day = reminder_day(now, zone_name, hour)
        if day is not None:
            try:
                outcomes = await sender.run_once(day, now)
            except ApiError:
                log.warning("reminders not checked: the API did not answer")
            else:
                if outcomes:
                    log.info("reminders handled", extra={"outcomes": [str(o) for o in outcomes]})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), every_seconds)
