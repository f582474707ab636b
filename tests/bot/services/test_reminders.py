"""The reminder sender: claim in Redis, record, then send; once across replicas and restarts, and at most once
around a failure (docs/adr/0015). Redis is real; the API and the event log are fakes outside the unit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pytest

from bot.clients.person_store import UserStore
from bot.services.reminders import Delivery, ReminderSender, claim_seconds, reminder_day
from contracts.api_schemas import DueReminder, DueReminders
from contracts.events import DocumentReminderSent
from contracts.expiry import reminder_event_id
from tests.bot.fakes import FakeApi, FakePublisher

OWNER = 7001
NOW = datetime(2031, 3, 1, 9, 30, tzinfo=UTC)
DUE = DueReminder(
    owner_id=OWNER,
    document_id=str(uuid.uuid4()),
    name="Passport",
    type_title="Passports",
    valid_until=date(2031, 3, 8),
    days_before=7,
    language="en",
)


@dataclass
class Source:
    items: list[DueReminder]
    asked: list[tuple[date, tuple[int, ...]]] = field(default_factory=list)

    async def due_reminders(self, on: date, days: tuple[int, ...], limit: int) -> DueReminders:
        self.asked.append((on, days))
        return DueReminders(items=self.items)


@dataclass
class Telegram:
    sent: list[DueReminder] = field(default_factory=list)
    fails: bool = False

    async def send(self, reminder: DueReminder) -> None:
        if self.fails:
            raise RuntimeError("telegram refused")
        self.sent.append(reminder)


def _sender(store: UserStore, publisher: FakePublisher, telegram: Telegram, items: list[DueReminder]) -> ReminderSender:
    return ReminderSender(Source(items), publisher, store, telegram.send, (30, 7))


async def test_deliver_records_then_sends_when_the_reminder_is_due(store: UserStore) -> None:
    publisher, telegram = FakePublisher(FakeApi()), Telegram()

    outcomes = await _sender(store, publisher, telegram, [DUE]).run_once(date(2031, 3, 1), NOW)

    assert outcomes == [Delivery.sent] and telegram.sent == [DUE]
    [event] = publisher.events
    assert event.event_id == reminder_event_id(uuid.UUID(DUE.document_id), DUE.valid_until, 7)
    assert event.payload == DocumentReminderSent(
        document_id=uuid.UUID(DUE.document_id), valid_until=DUE.valid_until, days_before=7
    )


async def test_deliver_sends_once_when_two_replicas_or_a_restart_see_the_same_reminder(store: UserStore) -> None:
    publisher, telegram = FakePublisher(FakeApi()), Telegram()
    first, second = (_sender(store, publisher, telegram, [DUE]) for _ in range(2))

    outcomes = [*await first.run_once(date(2031, 3, 1), NOW), *await second.run_once(date(2031, 3, 1), NOW)]

    assert outcomes == [Delivery.sent, Delivery.claimed_elsewhere]
    assert len(telegram.sent) == 1 and len(publisher.events) == 1


async def test_deliver_releases_the_claim_and_sends_nothing_when_the_event_log_is_down(store: UserStore) -> None:
    publisher, telegram = FakePublisher(FakeApi(), down=True), Telegram()
    sender = _sender(store, publisher, telegram, [DUE])

    assert await sender.run_once(date(2031, 3, 1), NOW) == [Delivery.not_recorded]
    publisher.down = False
    assert await sender.run_once(date(2031, 3, 1), NOW) == [Delivery.sent]

    assert telegram.sent == [DUE]


async def test_deliver_does_not_send_again_when_telegram_failed_after_recording(store: UserStore) -> None:
    publisher, telegram = FakePublisher(FakeApi()), Telegram(fails=True)
    sender = _sender(store, publisher, telegram, [DUE])

    assert await sender.run_once(date(2031, 3, 1), NOW) == [Delivery.send_failed]
    telegram.fails = False
    assert await sender.run_once(date(2031, 3, 1), NOW) == [Delivery.claimed_elsewhere]

    assert telegram.sent == [] and len(publisher.events) == 1


@pytest.mark.parametrize(
    ("now", "hour", "expected"),
    [
        (datetime(2031, 3, 1, 5, 59, tzinfo=UTC), 9, None),  # 08:59 in Moscow
        (datetime(2031, 3, 1, 6, 0, tzinfo=UTC), 9, date(2031, 3, 1)),  # 09:00 in Moscow
        (datetime(2031, 3, 1, 22, 0, tzinfo=UTC), 0, date(2031, 3, 2)),  # already the next day there
    ],
)
def test_reminder_day_is_today_in_the_zone_when_the_hour_has_come(
    now: datetime, hour: int, expected: date | None
) -> None:
    assert reminder_day(now, "Europe/Moscow", hour) == expected


def test_claim_seconds_lasts_until_two_days_after_the_date_when_computed() -> None:
    assert claim_seconds(DUE, NOW) == (7 + 2) * 24 * 3600 - int(9.5 * 3600)
