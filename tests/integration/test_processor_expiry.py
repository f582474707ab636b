"""Valid-until dates and reminders through the real stream and processor: a reminder appended twice (two bot
replicas, or a retry) is applied once, a reminder of a date the document no longer has changes nothing, and a
replay from the first offset into a new version rebuilds the same read models."""

from __future__ import annotations

from datetime import date

import pytest

from service_kit.settings import MongoSettings, RabbitSettings
from tests import factories as f
from tests.integration.pipeline import ledger, process_all, processor_settings, publish, snapshot

pytestmark = pytest.mark.integration

OWNER = 6_200_000_001
DAY, NEW_DAY = date(2031, 3, 31), date(2031, 9, 30)


async def test_processor_applies_each_reminder_once_and_replays_equal_when_dates_and_reminders_arrive(
    rabbit_settings: RabbitSettings, mongo_settings: MongoSettings
) -> None:
    passport, visa = f.added(OWNER, "Passport", content="p", step=1), f.added(OWNER, "Visa", content="v", step=2)
    passport_id, visa_id = f.document_id_of(passport), f.document_id_of(visa)
    reminder = f.reminder_sent(OWNER, passport_id, DAY, 30, 5)
    events = [
        passport,
        visa,
        f.valid_until_set(OWNER, passport_id, DAY, 3),
        f.valid_until_set(OWNER, visa_id, DAY, 4),
        reminder,
        f.reminder_sent(OWNER, passport_id, DAY, 30, 6),  # the same reminder again: the same event id
        f.valid_until_set(OWNER, visa_id, NEW_DAY, 7),
        f.reminder_sent(OWNER, visa_id, DAY, 30, 8),  # recorded after the date changed: stale
        f.valid_until_set(OWNER, passport_id, None, 9),
        f.valid_until_set(OWNER, passport_id, DAY, 10),
    ]
    await publish(rabbit_settings, events)
    settings = processor_settings(rabbit_settings, mongo_settings)

    await process_all(settings)
    await process_all(settings, version=2)

    applied = await ledger(mongo_settings)
    assert applied[str(reminder.event_id)]["effect"] == "reminder_recorded"
    assert len(applied) == len(events) - 1  # the repeated reminder is dropped by the ledger
    assert sorted(entry["effect"] for entry in applied.values()) == sorted(
        ["created", "created", "reminder_recorded", "ignored_stale_reminder", "valid_until_cleared"]
        + ["valid_until_set"] * 4
    )
    documents = {d["_id"]: d for d in (await snapshot(mongo_settings))["documents"]}
    passport_doc, visa_doc = documents[str(passport_id)], documents[str(visa_id)]
    # cleared then set again: its reminders start afresh
    assert (passport_doc["valid_until"], passport_doc["reminders_sent"]) == ("2031-03-31", [])
    assert (visa_doc["valid_until"], visa_doc["reminders_sent"], visa_doc["expiry_day"]) == (
        "2031-09-30",
        [],
        "2031-09-30",
    )
    assert await snapshot(mongo_settings, version=2) == await snapshot(mongo_settings)


async def test_processor_records_the_reminder_when_appended_after_the_date(
    rabbit_settings: RabbitSettings, mongo_settings: MongoSettings
) -> None:
    add = f.added(OWNER, "Policy", content="pol", step=1)
    doc_id = f.document_id_of(add)
    await publish(rabbit_settings, [add, f.valid_until_set(OWNER, doc_id, DAY, 2)])
    settings = processor_settings(rabbit_settings, mongo_settings)
    await process_all(settings)

    await publish(rabbit_settings, [f.reminder_sent(OWNER, doc_id, DAY, 7, 3)])
    await process_all(settings)

    [document] = (await snapshot(mongo_settings))["documents"]
    assert document["reminders_sent"] == [7]
