"""The add dialog's name step as a unit: parse -> call the saver -> render, with the dialog state in aiogram's
MemoryStorage: no Redis, no dispatcher, no Telegram.

The dispatcher-level stories are in ``test_add_document.py``. Here each result ``DocumentSaver.save`` can give
is rendered by the handler alone, with the saver as an AsyncMock, and the dialog state it leaves is checked
(kept for "Try again", the file dropped when Telegram refused it, cleared once there is nothing left to do);
and the step runs once through the real services with the API, the publisher and the Redis store as AsyncMocks.
"""

from __future__ import annotations

import uuid
from typing import Any, cast
from unittest.mock import AsyncMock, MagicMock

import pytest
from aiogram import Bot
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import File, InlineKeyboardMarkup, Message

from bot.clients.api_client import DocumentsApi
from bot.clients.person_store import UserStore
from bot.clients.telegram_files import TelegramFiles
from bot.dialogs.states import AddDocument
from bot.handlers.add_document import name_typed
from bot.injected import Person, Services
from bot.services.event_recorder import EventAppender
from bot.services.library import Library
from bot.services.saving import (
    DocumentSaver,
    Draft,
    Duplicate,
    IncomingFile,
    OverBudget,
    QuotaReached,
    Rejected,
    Saved,
    SaveResult,
    TextRefused,
    Unavailable,
)
from bot.settings import BotConfig
from bot.ui.callbacks import DocAction, DocCb, MenuAction, MenuCb, RetrySaveCb
from bot.ui.i18n import Texts
from contracts.api_schemas import NameCheck, SealedText, SealedTexts, SealRequest, StorageUsage, UploadedFile
from contracts.events import DocumentAddedV2, EventEnvelope
from contracts.text import MAX_NAME_LENGTH, MAX_TYPE_TITLE_LENGTH
from tests.keyrings import TEST_PEOPLE

OWNER = 7001
DOCUMENT_ID = str(uuid.uuid4())
FILE = IncomingFile("file-1", "unique-1", "scan.pdf", "application/pdf", 1234)
KEPT = "kept"  # the answers, the file and the attempt stay for "Try again"
FILE_DROPPED = "file dropped"  # the answers stay, the file is asked again
CLEARED = "cleared"  # the dialog is over
NAME_ASKED = "name asked again"  # the answers and the file stay, the name is asked again
TYPE_ASKED = "type asked again"
TR = Texts("en")


class Fixture:
    def __init__(self, result: SaveResult, taken: bool = False) -> None:
        self.saver = AsyncMock(spec=DocumentSaver)
        self.saver.save.return_value = result
        self.library = AsyncMock(spec=Library)
        self.library.name_check.return_value = NameCheck(taken=taken)
        self.services = Services(
            config=BotConfig(max_download_bytes=1000),
            store=MagicMock(),
            recorder=MagicMock(),
            saver=self.saver,
            renamer=MagicMock(),
            organiser=MagicMock(),
            library=self.library,
            shelves=MagicMock(),
            people=MagicMock(),
            forgetting=MagicMock(),
            albums=MagicMock(),
            valid_until=MagicMock(),
        )
        self.person = Person(OWNER, Texts("en"), after_event="last-write")
        self.state = FSMContext(MemoryStorage(), StorageKey(bot_id=42, chat_id=OWNER, user_id=OWNER))
        self.message = MagicMock(spec=Message)
        self.message.text = "  Tax   2025 "
        self.message.answer = AsyncMock()

    async def at_name_step(self, with_file: bool = True) -> None:
        await self.state.set_state(AddDocument.entering_name)
        data: dict[str, Any] = {"type_slug": "taxes", "type_title": "Taxes"}
        if with_file:
            data["file"] = FILE.to_state()
        await self.state.set_data(data)

    async def types_name(self) -> None:
        await name_typed(self.message, self.state, self.services, self.person, cast(Bot, MagicMock(spec=Bot)))

    def reply(self) -> tuple[str, list[CallbackData | str]]:
        """The text of the one reply and the callback data of its buttons, unpacked where known."""
        self.message.answer.assert_awaited_once()
        (text,), kwargs = self.message.answer.await_args
        markup: InlineKeyboardMarkup = kwargs["reply_markup"]
        return text, [_unpack(button.callback_data or "") for row in markup.inline_keyboard for button in row]

    async def dialog(self) -> str:
        data = await self.state.get_data()
        if await self.state.get_state() is None and not data:
            return CLEARED
        asked = {AddDocument.entering_name.state: NAME_ASKED, AddDocument.choosing_type.state: TYPE_ASKED}
        current = await self.state.get_state()
        if current in asked and "file" in data:
            return asked[current]
        assert current == AddDocument.waiting_file.state
        return KEPT if "file" in data else FILE_DROPPED


def _unpack(data: str) -> CallbackData | str:
    for factory in (DocCb, MenuCb, RetrySaveCb):
        if data.startswith(factory.__prefix__ + ":") or data == factory.__prefix__:
            return factory.unpack(data)
    return data


OPEN = DocCb(action=DocAction.open, doc=uuid.UUID(DOCUMENT_ID).hex)
MENU = MenuCb(action=MenuAction.menu)
CANCEL = MenuCb(action=MenuAction.cancel)
RETRY = [RetrySaveCb(), CANCEL]


@pytest.mark.parametrize(
    ("result", "text", "buttons", "dialog"),
    [
        (
            Saved(DOCUMENT_ID, "Tax 2025", "Taxes"),
            TR("add.saved", name="Tax 2025", type="Taxes"),
            [OPEN, DocCb(action=DocAction.valid_until, doc=uuid.UUID(DOCUMENT_ID).hex), MENU],
            CLEARED,
        ),
        (
            Duplicate(DOCUMENT_ID, "Old scan", "Receipts"),
            TR("add.duplicate", name="Old scan", type="Receipts"),
            [OPEN, MENU],
            CLEARED,
        ),
        (Rejected(too_big=True), TR("add.too_big", limit="1000 B"), [MenuCb(action=MenuAction.cancel)], FILE_DROPPED),
        (Rejected(too_big=False), TR("add.download_failed"), [MenuCb(action=MenuAction.cancel)], FILE_DROPPED),
        (
            QuotaReached(StorageUsage(documents=100, documents_limit=100, bytes=5 * 1024**2, bytes_limit=1024**3)),
            TR("quota.documents", name="Tax 2025", documents=100, documents_limit=100, used="5 MB", limit="1 GB"),
            [MenuCb(action=MenuAction.browse), MENU],
            CLEARED,
        ),
        (QuotaReached(None), TR("quota.reached", name="Tax 2025"), [MenuCb(action=MenuAction.browse), MENU], CLEARED),
        (OverBudget(minutes_left=7), TR("budget.spent", minutes=7), RETRY, KEPT),
        (Unavailable("ApiUnavailable"), TR("add.save_failed"), RETRY, KEPT),
        (TextRefused("name.too_long"), TR("name.too_long", max=MAX_NAME_LENGTH), [CANCEL], NAME_ASKED),
        (TextRefused("type.empty"), TR("type.empty", max=MAX_TYPE_TITLE_LENGTH), [CANCEL], TYPE_ASKED),
    ],
    ids=[
        "saved",
        "duplicate",
        "too-big",
        "download-failed",
        "quota",
        "quota-unknown",
        "over-budget",
        "unavailable",
        "name-refused",
        "type-refused",
    ],
)
async def test_name_step_renders_what_the_saver_answered_when_the_file_came_first(
    result: SaveResult, text: str, buttons: list[CallbackData], dialog: str
) -> None:
    step = Fixture(result)
    await step.at_name_step()

    await step.types_name()

    shown, pressed = step.reply()
    assert text in shown and pressed == buttons
    assert await step.dialog() == dialog


async def test_name_step_passes_the_cleaned_name_and_the_kept_ids_when_it_saves() -> None:
    step = Fixture(Unavailable("EventLogUnavailable"))
    await step.at_name_step()

    await step.types_name()
    await step.types_name()  # "Try again" typed as the same name: the same attempt

    step.library.name_check.assert_awaited_with(OWNER, "taxes", "Tax 2025", "last-write")
    (first, second) = [call.args for call in step.saver.save.await_args_list]
    owner, draft, files = first
    assert owner == OWNER and isinstance(files, TelegramFiles)
    assert draft == Draft("taxes", "Taxes", "Tax 2025", FILE, draft.attempt)
    assert second[1].attempt == draft.attempt  # the retry resends the same event and document ids


async def test_name_step_asks_for_the_file_and_saves_nothing_when_no_file_came_yet() -> None:
    step = Fixture(Saved(DOCUMENT_ID, "Tax 2025", "Taxes"))
    await step.at_name_step(with_file=False)

    await step.types_name()

    shown, _ = step.reply()
    assert shown == TR("add.ask_file", name="Tax 2025")
    step.saver.save.assert_not_awaited()
    assert await step.state.get_state() == AddDocument.waiting_file.state


async def test_name_step_refuses_a_taken_name_and_saves_nothing_when_the_type_has_it() -> None:
    step = Fixture(Saved(DOCUMENT_ID, "Tax 2025", "Taxes"), taken=True)
    await step.at_name_step()

    await step.types_name()

    shown, _ = step.reply()
    assert shown == TR("add.name_taken", name="Tax 2025", type="Taxes")
    step.saver.save.assert_not_awaited()
    assert await step.state.get_state() == AddDocument.entering_name.state


async def test_name_step_appends_document_added_through_the_real_services_when_api_and_publisher_are_mocks() -> None:
    api = AsyncMock(spec=DocumentsApi)
    api.name_check.return_value = NameCheck(taken=False)
    keys = TEST_PEOPLE[OWNER]
    api.upload_file.return_value = UploadedFile(
        object_key="owners/7001/abc",
        size=1234,
        mime_type="application/pdf",
        file_name=keys.seal("file_name", "scan.pdf"),
        content_id="ab" * 16,
        encrypted=True,
    )
    api.seal.return_value = SealedTexts(
        key_id=keys.key_id,
        name=SealedText(cleaned="Tax 2025", sealed=keys.seal("name", "Tax 2025")),
        type_title=SealedText(cleaned="Taxes", sealed=keys.seal("type_title", "Taxes")),
        type_slug="cd" * 16,
    )
    publisher = AsyncMock(spec=EventAppender)
    store = AsyncMock(spec=UserStore)
    store.count_event.return_value = 1  # the first event of the hour: within the budget
    step = Fixture(Saved(DOCUMENT_ID, "unused", "unused"))
    step.services = Services.build(api, publisher, store, BotConfig(max_download_bytes=1000))
    await step.at_name_step()
    bot = AsyncMock(spec=Bot)
    bot.get_file.return_value = File(file_id="file-1", file_unique_id="unique-1", file_path="documents/scan.pdf")

    await name_typed(step.message, step.state, step.services, step.person, bot)

    (event,) = publisher.append.await_args.args
    assert isinstance(event, EventEnvelope) and isinstance(event.payload, DocumentAddedV2)
    assert event.owner_id == OWNER and keys.open("name", event.payload.name) == "Tax 2025"
    assert (event.payload.type_slug, event.payload.file.content_id) == ("cd" * 16, "ab" * 16)
    assert api.seal.await_args.args == (OWNER, SealRequest(name="Tax 2025", type_title="Taxes"))
    assert api.upload_file.await_args.args[0] == OWNER and api.upload_file.await_args.args[2:] == (
        "application/pdf",
        "scan.pdf",
        False,  # the first page: a document of its own
    )
    store.remember_write.assert_awaited_once_with(OWNER, str(event.event_id))
    shown, _ = step.reply()
    assert shown == TR("add.saved", name="Tax 2025", type="Taxes") and await step.dialog() == CLEARED
