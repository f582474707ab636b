"""``People`` without Telegram: the person store on real Redis, the fake event log."""

from __future__ import annotations

from bot.clients.person_store import UserStore
from bot.services.event_recorder import EventRecorder
from bot.services.limits import EventBudget
from bot.services.people import People
from contracts.events import UserLanguageChanged, UserStarted
from tests.bot.fakes import FakeApi, FakePublisher

OWNER = 7001


def _people(store: UserStore, publisher: FakePublisher) -> People:
    return People(store, EventRecorder(publisher, store, EventBudget(store, per_hour=100)))


async def test_started_appends_user_started_once_when_the_person_starts_again(store: UserStore) -> None:
    publisher = FakePublisher(FakeApi())
    people = _people(store, publisher)

    await people.started(OWNER, "ru")
    await people.started(OWNER, "ru")

    assert publisher.payloads() == [UserStarted(language="ru")] and await store.is_known(OWNER)


async def test_started_greets_anyway_and_tries_again_later_when_the_event_log_is_down(store: UserStore) -> None:
    publisher = FakePublisher(FakeApi(), down=True)
    people = _people(store, publisher)

    await people.started(OWNER, "en")  # no exception: the greeting does not depend on the log

    assert not await store.is_known(OWNER)
    publisher.down = False
    await people.started(OWNER, "en")
    assert publisher.payloads() == [UserStarted(language="en")]


async def test_choose_language_appends_only_a_change_when_the_same_language_is_chosen_again(store: UserStore) -> None:
    publisher = FakePublisher(FakeApi())
    people = _people(store, publisher)

    for language in ("ru", "ru", "en"):
        await people.choose_language(OWNER, language)

    assert publisher.payloads() == [UserLanguageChanged(language="ru"), UserLanguageChanged(language="en")]
    assert await people.stored_language(OWNER) == "en"
