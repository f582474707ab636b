"""The one place that appends: every event counts against the person's hourly budget; past it, a clear answer
and nothing appended (the recorder alone and through the real dispatcher; real Redis, the fake event log)."""

from __future__ import annotations

import time
import uuid

import pytest

from bot.clients.person_store import UserStore
from bot.services.event_recorder import EventRecorder
from bot.services.limits import EventBudget, EventBudgetSpent
from bot.settings import BotConfig
from bot.ui.callbacks import DocAction, DocCb
from contracts.events import DocumentDeleted
from service_kit.eventlog import EventLogUnavailable
from tests.bot.conftest import OWNER, BotUnderTest
from tests.bot.fakes import FakeApi, FakePublisher, StoredDoc
from tests.bot.harness import Person

BUDGET = 2


def _doc(app: BotUnderTest, name: str, owner: int = OWNER) -> StoredDoc:
    return app.api.add(
        StoredDoc(
            owner,
            str(uuid.uuid4()),
            "receipts",
            "Receipts",
            name,
            uuid.uuid4().hex * 2,
            1,
            "application/pdf",
            None,
            None,
        )
    )


def _delete(doc: StoredDoc) -> DocCb:
    return DocCb(action=DocAction.confirm_delete, doc=uuid.UUID(doc.document_id).hex)


@pytest.mark.parametrize("config", [BotConfig(event_budget_per_hour=BUDGET)])
async def test_record_refuses_and_appends_nothing_when_the_hourly_budget_is_spent(
    app: BotUnderTest, ann: Person
) -> None:
    docs = [_doc(app, f"r{index}") for index in range(BUDGET + 2)]
    for doc in docs:
        await ann.presses(_delete(doc))

    assert [type(p) for p in app.publisher.payloads()] == [DocumentDeleted] * BUDGET
    refusals = [text for text in ann.saw() if text.startswith("You have made more changes in the last hour")]
    assert len(refusals) == 2 and refusals[0].endswith("min.") and app.api.docs[docs[-1].document_id].status == "live"

    bob = app.person(user_id=OWNER + 1)  # the budget is per person
    await bob.presses(_delete(_doc(app, "bob's", owner=bob.user.id)))
    assert len(app.publisher.events) == BUDGET + 1


async def test_record_appends_and_remembers_the_write_when_within_the_budget(store: UserStore) -> None:
    publisher = FakePublisher(FakeApi())
    recorder = EventRecorder(publisher, store, EventBudget(store, per_hour=BUDGET))
    event_id = uuid.uuid4()

    event = await recorder.record(OWNER, DocumentDeleted(document_id=uuid.uuid4()), event_id=event_id)

    assert publisher.events == [event] and event.event_id == event_id and event.owner_id == OWNER
    context, _ = await store.enter(OWNER, update_id=1)
    assert context.last_event_id == str(event_id)  # the next reads wait for it


async def test_record_raises_and_appends_nothing_when_the_budget_is_spent(store: UserStore) -> None:
    publisher = FakePublisher(FakeApi())
    recorder = EventRecorder(publisher, store, EventBudget(store, per_hour=BUDGET))
    for _ in range(BUDGET):
        await recorder.record(OWNER, DocumentDeleted(document_id=uuid.uuid4()))

    with pytest.raises(EventBudgetSpent) as spent:
        await recorder.record(OWNER, DocumentDeleted(document_id=uuid.uuid4()))

    assert len(publisher.events) == BUDGET and 1 <= spent.value.minutes_left <= 60


async def test_record_counts_the_attempt_and_remembers_nothing_when_the_broker_does_not_confirm(
    store: UserStore,
) -> None:
    publisher = FakePublisher(FakeApi(), down=True)
    recorder = EventRecorder(publisher, store, EventBudget(store, per_hour=BUDGET))

    with pytest.raises(EventLogUnavailable):
        await recorder.record(OWNER, DocumentDeleted(document_id=uuid.uuid4()))

    context, _ = await store.enter(OWNER, update_id=1)
    assert context.last_event_id is None
    assert await store.count_event(OWNER, time.time()) == 2  # the failed attempt, and this count itself
