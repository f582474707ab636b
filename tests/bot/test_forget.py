"""/forget: explained, confirmed by typing a word, then ``user.forgotten`` appended once and the person's Redis keys
erased; anything but the word erases nothing."""

from __future__ import annotations

import uuid

import pytest

from bot.dialogs.states import ForgetMe
from bot.ui.callbacks import MenuAction, MenuCb
from bot.ui.i18n import Texts
from contracts.events import UserForgotten, UserStarted
from tests.bot.conftest import OWNER, BotUnderTest
from tests.bot.fakes import StoredDoc
from tests.bot.harness import Person

TR, RU = Texts("en"), Texts("ru")
PDF = "application/pdf"


async def keys_of(app: BotUnderTest, owner_id: int = OWNER) -> list[str]:
    """Every Redis key of this test naming the person (update claims name no one)."""
    found = [key.decode() async for key in app.redis.scan_iter(match=f"{app.prefix}*")]
    return sorted(key for key in found if f":{owner_id}" in key)


def forgets(app: BotUnderTest) -> list[object]:
    return [payload for payload in app.publisher.payloads() if isinstance(payload, UserForgotten)]


async def test_forget_explains_and_waits_for_the_word_when_asked(app: BotUnderTest, ann: Person) -> None:
    await ann.says("/forget")

    assert ann.last_text() == TR("forget.explain", word="FORGET")
    assert await ann.state() == ForgetMe.typing_confirmation.state
    assert forgets(app) == []


async def test_forget_appends_user_forgotten_and_erases_redis_keys_when_word_typed(
    app: BotUnderTest, ann: Person
) -> None:
    app.api.add(StoredDoc(OWNER, str(uuid.uuid4()), "passport", "Passport", "Mine", "a" * 64, 3, PDF, "p.pdf", "tg"))
    await ann.says("/start")
    await ann.presses(MenuCb(action=MenuAction.browse))  # navigation tokens in Redis
    await ann.says("/forget")
    assert await keys_of(app)

    await ann.says("forget")

    assert app.publisher.payloads()[0] == UserStarted(language="en") and forgets(app) == [UserForgotten()]
    assert ann.last_text() == TR("forget.done")
    assert await keys_of(app) == [] and await ann.state() is None
    assert app.api.docs == {}


async def test_forget_erases_album_parts_and_reminder_claims_when_the_person_had_them(
    app: BotUnderTest, ann: Person
) -> None:
    await app.store.add_album_part(OWNER, "album-1", 7, '{"file": null, "caption": "Typed caption"}')
    await app.store.claim_reminder(OWNER, str(uuid.uuid4()), 3600)
    await ann.says("/forget")

    await ann.says("FORGET")

    assert await keys_of(app) == []


async def test_forget_erases_nothing_when_another_word_typed(app: BotUnderTest, ann: Person) -> None:
    await ann.says("/forget")

    await ann.says("forgot")

    assert forgets(app) == [] and await ann.state() is None
    assert ann.last_text() == TR("forget.not_confirmed")


@pytest.mark.parametrize("typed", ["x" * 4096, "FORGET FORGET", "<b>FORGET</b>", "\u0000", "/start"])
async def test_forget_erases_nothing_when_hostile_or_oversized_text_typed(
    app: BotUnderTest, ann: Person, typed: str
) -> None:
    await ann.says("/forget")

    await ann.says(typed)

    assert forgets(app) == [] and await ann.state() is None


async def test_forget_appends_once_when_forget_asked_repeatedly(app: BotUnderTest, ann: Person) -> None:
    for _ in range(3):
        await ann.says("/forget")

    await ann.says(" Forget. ")

    assert forgets(app) == [UserForgotten()]


async def test_forget_appends_once_when_word_typed_twice(app: BotUnderTest, ann: Person) -> None:
    await ann.says("/forget")

    await ann.says("FORGET")
    await ann.says("FORGET")  # a double send: the dialog ended with the first

    assert forgets(app) == [UserForgotten()]
    assert ann.saw().count(TR("forget.done")) == 1


async def test_forget_appends_once_when_telegram_delivers_the_word_again(app: BotUnderTest, ann: Person) -> None:
    await ann.says("/forget")
    await ann.says("FORGET")
    assert ann.last_update is not None

    await ann.delivers(ann.last_update)

    assert forgets(app) == [UserForgotten()]


async def test_forget_works_when_person_has_no_documents_and_never_started(app: BotUnderTest) -> None:
    ivan = app.person(user_id=OWNER + 1, language="ru")
    await ivan.says("/forget")

    await ivan.says("забыть")

    assert forgets(app) == [UserForgotten()] and app.publisher.events[-1].owner_id == OWNER + 1
    assert ivan.last_text() == RU("forget.done")


async def test_forget_keeps_dialog_open_and_erases_nothing_when_stream_down(app: BotUnderTest, ann: Person) -> None:
    await ann.says("/start")
    await ann.says("/forget")
    app.publisher.down = True

    await ann.says("FORGET")

    assert forgets(app) == [] and await keys_of(app) != []
    assert await ann.state() == ForgetMe.typing_confirmation.state
    app.publisher.down = False
    await ann.says("FORGET")
    assert forgets(app) == [UserForgotten()]


async def test_forget_keeps_other_people_keys_when_one_person_forgotten(app: BotUnderTest, ann: Person) -> None:
    other = app.person(user_id=OWNER + 5)
    await other.says("/start")
    await ann.says("/forget")

    await ann.says("FORGET")

    assert await keys_of(app, OWNER + 5) != []


async def test_forget_leaves_dialog_when_cancel_pressed(app: BotUnderTest, ann: Person) -> None:
    await ann.says("/forget")

    await ann.presses(MenuCb(action=MenuAction.cancel))
    await ann.says("FORGET")

    assert forgets(app) == [] and await ann.state() is None
