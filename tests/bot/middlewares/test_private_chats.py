"""The bot serves private chats only: a group gets one explanation and nothing else, a button answers only the
person it was shown to, in their private chat (the real dispatcher, Redis, fake API and session)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from aiogram.methods import AnswerCallbackQuery, SendDocument, SendMessage
from aiogram.types import (
    CallbackQuery,
    Chat,
    ChatMemberLeft,
    ChatMemberMember,
    ChatMemberUpdated,
    Message,
    Update,
    User,
)

from bot.middlewares.private_chats import Verdict, chat_verdict
from bot.ui.callbacks import DocAction, DocCb, MenuAction, MenuCb, TypeCb
from bot.ui.i18n import Texts
from tests.bot.conftest import OWNER, BotUnderTest
from tests.bot.fakes import StoredDoc
from tests.bot.harness import BOT_USER, Person

GROUP = Chat(id=-100500, type="supergroup", title="Family")
EXPLANATION = Texts("en")("private.group")
BUTTON_REFUSED = Texts("en").plain("private.button")


def _passport(app: BotUnderTest) -> StoredDoc:
    return app.api.add(
        StoredDoc(
            OWNER,
            str(uuid.uuid4()),
            "passport",
            "Passport",
            "Main passport",
            "a" * 64,
            10,
            "application/pdf",
            "p.pdf",
            "tg-passport",
        ),
        b"0123456789",
    )


def _in_group(text: str = "…") -> Message:
    return Message(message_id=77, date=datetime.now(UTC), chat=GROUP, from_user=BOT_USER, text=text)


def _sent_to(app: BotUnderTest, chat_id: int) -> list[str]:
    return [call.text for call in app.session.calls(SendMessage) if int(call.chat_id) == chat_id]


async def test_group_gets_one_explanation_and_no_list_when_a_member_asks_for_documents(
    app: BotUnderTest, ann: Person
) -> None:
    _passport(app)
    await ann.says_in(GROUP, "/documents")
    await ann.says_in(GROUP, "/documents")
    await app.person(user_id=OWNER + 1).says_in(GROUP, "/start")

    assert [type(request) for request in app.session.requests] == [SendMessage]
    assert _sent_to(app, GROUP.id) == [EXPLANATION]
    assert app.api.after_events == [] and not app.publisher.events


async def test_group_explanation_speaks_the_persons_language_when_they_write_in_russian(app: BotUnderTest) -> None:
    ivan = app.person(user_id=OWNER + 1, language="ru")
    await ivan.says_in(GROUP, "/add")
    assert app.session.texts()[0] == Texts("ru")("private.group")


async def test_group_explanation_is_english_when_a_channel_posts_without_a_person(app: BotUnderTest) -> None:
    channel = Chat(id=-100600, type="channel", title="News")
    post = Message(message_id=5, date=datetime.now(UTC), chat=channel, text="/documents")
    await app.dispatcher.feed_update(app.bot, Update(update_id=1, channel_post=post))
    assert _sent_to(app, channel.id) == [EXPLANATION]


async def test_group_button_gets_an_alert_and_nothing_else_when_pressed(app: BotUnderTest, ann: Person) -> None:
    doc = _passport(app)
    bob = app.person(user_id=OWNER + 1)
    for data in (
        TypeCb(slug="passport"),
        DocCb(action=DocAction.get, doc=uuid.UUID(doc.document_id).hex),
        MenuCb(action=MenuAction.browse),
    ):
        await bob.presses(data, on=_in_group())
        await ann.presses(data, on=_in_group())

    answers = app.session.calls(AnswerCallbackQuery)
    assert [(a.text, a.show_alert) for a in answers] == [(BUTTON_REFUSED, True)] * 6
    assert len(app.session.requests) == 6 and app.api.after_events == [] and not app.session.calls(SendDocument)


async def test_forwarded_button_gets_an_alert_when_pressed_by_someone_else_in_their_chat(
    app: BotUnderTest, ann: Person
) -> None:
    doc = _passport(app)
    await ann.presses(DocCb(action=DocAction.open, doc=uuid.UUID(doc.document_id).hex))
    card = app.session.last_keyboard
    assert card is not None and card.chat.id == OWNER
    bob = app.person(user_id=OWNER + 1)

    await bob.presses_button("Get file", on=card)  # Ann's card forwarded to Bob: the message is in Ann's chat

    assert app.session.texts()[-1] == BUTTON_REFUSED and not app.session.calls(SendDocument)


async def test_inline_message_button_gets_an_alert_when_it_has_no_chat(app: BotUnderTest, ann: Person) -> None:
    query = CallbackQuery(
        id="q1",
        from_user=ann.user,
        chat_instance="ci",
        inline_message_id="inline-1",
        data=MenuCb(action=MenuAction.browse).pack(),
    )
    await ann.feed(callback_query=query)
    assert app.session.texts() == [BUTTON_REFUSED] and app.api.after_events == []


async def test_group_membership_changes_are_dropped_when_the_bot_is_added(app: BotUnderTest, ann: Person) -> None:
    added = ChatMemberUpdated(
        chat=GROUP,
        from_user=ann.user,
        date=datetime.now(UTC),
        old_chat_member=ChatMemberLeft(user=BOT_USER),
        new_chat_member=ChatMemberMember(user=BOT_USER),
    )
    await ann.feed(my_chat_member=added)
    await ann.feed(edited_message=ann._message(chat=GROUP, text="edited", edit_date=1))
    assert _sent_to(app, GROUP.id) == [EXPLANATION]  # the edit is the group's first message the bot saw


def _update(**fields: Any) -> Update:
    return Update(update_id=1, **fields)


def test_chat_verdict_serves_only_the_persons_own_private_chat_when_deciding() -> None:
    ann, bob = User(id=1, is_bot=False, first_name="A"), User(id=2, is_bot=False, first_name="B")
    ann_chat = Chat(id=1, type="private")
    at = datetime.now(UTC)

    def message(chat: Chat, sender: User | None = ann) -> Message:
        return Message(message_id=1, date=at, chat=chat, from_user=sender, text="x")

    def button(chat: Chat, presser: User) -> Update:
        query = CallbackQuery(id="q", from_user=presser, chat_instance="c", message=message(chat, BOT_USER), data="m")
        return _update(callback_query=query)

    assert chat_verdict(_update(message=message(ann_chat))) is Verdict.serve
    assert chat_verdict(button(ann_chat, ann)) is Verdict.serve
    assert chat_verdict(button(ann_chat, bob)) is Verdict.refuse_button
    assert chat_verdict(button(GROUP, ann)) is Verdict.refuse_button
    assert chat_verdict(_update(message=message(GROUP))) is Verdict.explain
    assert chat_verdict(_update(message=message(GROUP, sender=None))) is Verdict.explain  # an anonymous admin
    assert chat_verdict(_update(message=message(ann_chat, sender=bob))) is Verdict.ignore
