"""No dead ends: every message the bot shows a person has a way on (Menu, Back or the next step).

``tests/bot/conftest.py`` checks this after every test that drives the dispatcher (``assert_no_dead_ends``), so
each reply any handler test provokes is walked. Here: that the check itself tells a dead end from a way on, and the
replies the issue named, each provoked once, in both languages.
"""

from __future__ import annotations

import uuid

import pytest
from aiogram.methods import EditMessageText, SendDocument, SendMessage, SendPhoto, TelegramMethod
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.ui.callbacks import DocAction, DocCb, MenuAction, MenuCb
from bot.ui.i18n import Language, Texts
from tests.bot.conftest import OWNER, BotUnderTest
from tests.bot.fakes import StoredDoc
from tests.bot.harness import dead_end

MENU = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="Menu", callback_data="m:m")]])
EMPTY = InlineKeyboardMarkup(inline_keyboard=[[]])


@pytest.mark.parametrize(
    ("method", "is_dead_end"),
    [
        (SendMessage(chat_id=OWNER, text="hi"), True),
        (SendMessage(chat_id=OWNER, text="hi", reply_markup=EMPTY), True),
        (SendMessage(chat_id=OWNER, text="hi", reply_markup=MENU), False),
        (EditMessageText(chat_id=OWNER, message_id=1, text="hi"), True),
        (SendDocument(chat_id=OWNER, document="file-id"), True),
        (SendPhoto(chat_id=OWNER, photo="file-id", reply_markup=MENU), False),
        (SendMessage(chat_id=-100, text="I work only in private chats"), False),  # a group: no buttons there
    ],
)
def test_dead_end_is_a_private_message_without_buttons_when_checked(
    method: TelegramMethod[object], is_dead_end: bool
) -> None:
    assert dead_end(method) is is_dead_end


@pytest.mark.parametrize("flood_limit", [3])
@pytest.mark.parametrize("language", ["en", "ru"])
async def test_replies_the_issue_named_offer_a_way_on_when_provoked(app: BotUnderTest, language: Language) -> None:
    ann = app.person(language=language)
    doc = app.api.add(
        StoredDoc(
            OWNER, str(uuid.uuid4()), "t", "Things", "Lease", "0" * 64, 1, "application/pdf", "lease.pdf", "tg-file"
        )
    )
    await ann.presses(DocCb(action=DocAction.link, doc=uuid.UUID(doc.document_id).hex))  # the download link
    await ann.presses(DocCb(action=DocAction.get, doc=uuid.UUID(doc.document_id).hex))  # the file itself
    for part in (b"1", b"2"):
        await ann.sends_file(part, media_group_id=f"album-{language}")  # an album; its second part is flooded
    await app.dispatcher["services"].albums.idle()
    replies = [m.text for m in app.session.calls(SendMessage)]
    assert len(replies) == 3 and len(app.session.calls(SendDocument)) == 1  # link, flood, album taken; the file
    tr = Texts(language)
    assert replies[1] == tr("flood.warn") and replies[2].startswith(tr("add.file_received"))
    assert not app.session.dead_ends


async def test_too_big_language_and_error_replies_offer_a_way_on_when_provoked(app: BotUnderTest) -> None:
    ann = app.person()
    await ann.sends_file(b"x", size=10**6)  # past max_download_bytes
    await ann.says("/language")
    app.api.down = True
    await ann.presses(MenuCb(action=MenuAction.browse))
    await ann.says("/documents")  # an error reply as a message (the button's was an alert)
    assert [m.text for m in app.session.calls(SendMessage)][-1] == Texts("en")("error.api_down")
    assert len(app.session.requests) >= 4 and not app.session.dead_ends
