"""Adding a document: type -> name -> file, or the file first and the questions after.

The dialog's answers live in the FSM state (Redis) until the broker confirmed ``document.added``;
any failure on the way keeps them, so the person never types anything twice.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from contracts.api_schemas import UploadedFile
from contracts.events import DocumentAdded, StoredFile
from contracts.text import MAX_NAME_LENGTH, MAX_TYPE_TITLE_LENGTH, type_slug
from service_kit.eventlog import EventLogUnavailable

from bot import keyboards
from bot.api_client import ApiRejected, ApiUnavailable, DocumentsApi, QuotaExceeded
from bot.callbacks import MenuAction, MenuCb, PickTypeCb, RetrySaveCb, SuggestedNameCb
from bot.filters import HasFile, HasText
from bot.i18n import Texts
from bot.presentation import (
    IncomingFile,
    check_name,
    incoming_file,
    quota_text,
    size_text,
    suggest_name,
    too_big,
)
from bot.replies import say, show
from bot.settings import BotConfig
from bot.state_store import ListRef, UserStore
from bot.states import AddDocument
from bot.telegram_files import FileTooBig, TelegramDownloadFailed, file_chunks, resolve_file_path
from bot.writes import EventBudgetSpent, EventLog, record

log = logging.getLogger(__name__)
Target = Message | CallbackQuery
INVALID_FILE_NAME = "invalid_file_name"  # the API's code for a name that is empty once cleaned


async def begin(target: Target, state: FSMContext, tr: Texts, owner_id: int, api: DocumentsApi,
                store: UserStore, after_event: str | None) -> None:
    await state.clear()
    await _ask_type(target, state, tr, owner_id, api, store, after_event)


async def _ask_type(target: Target, state: FSMContext, tr: Texts, owner_id: int, api: DocumentsApi,
                    store: UserStore, after_event: str | None, intro: str = "") -> None:
    types = (await api.list_types(owner_id, after_event=after_event)).items
    tokens = await store.save_lists(owner_id, [ListRef(t.slug, t.title) for t in types])
    await state.set_state(AddDocument.choosing_type)
    question = tr("add.ask_type" if types else "add.ask_type_first")
    await show(target, intro + question, keyboards.type_choice(tr, types, tokens))


async def accepted_file(message: Message, tr: Texts, config: BotConfig, store: UserStore) -> IncomingFile | None:
    """The file of ``message`` if the dialog can take it; otherwise say why (once per album) and return None."""
    if message.media_group_id is not None:
        if await store.first_of_album(message.media_group_id):
            await message.answer(tr("add.album"))
        return None
    file = incoming_file(message)
    if file is not None and too_big(file.size, config.max_download_bytes):
        await message.answer(tr("add.too_big", limit=size_text(tr, config.max_download_bytes)))
        return None
    return file


async def file_first(message: Message, state: FSMContext, tr: Texts, owner_id: int, api: DocumentsApi,
                     store: UserStore, config: BotConfig, after_event: str | None) -> None:
    file = await accepted_file(message, tr, config, store)
    if file is None:
        return
    await state.set_data({"file": file.to_state()})
    intro = tr("add.file_received") + "\n"
    await _ask_type(message, state, tr, owner_id, api, store, after_event, intro)


async def type_typed(message: Message, state: FSMContext, tr: Texts) -> None:
    checked = check_name(message.text or "", MAX_TYPE_TITLE_LENGTH, "type")
    if checked.name is None:
        await message.answer(tr(checked.problem or "type.empty", max=MAX_TYPE_TITLE_LENGTH),
                             reply_markup=keyboards.cancel_only(tr))
        return
    await state.update_data(type_slug=type_slug(checked.name), type_title=checked.name)
    await _ask_name(message, state, tr)


async def type_picked(query: CallbackQuery, callback_data: PickTypeCb, state: FSMContext, tr: Texts,
                      owner_id: int, store: UserStore) -> None:
    ref = await store.load_list(owner_id, callback_data.token)
    if ref is None:
        await query.answer(tr.plain("stale.button"), show_alert=True)
        return
    await state.update_data(type_slug=ref.slug, type_title=ref.title)
    await _ask_name(query, state, tr)


async def _ask_name(target: Target, state: FSMContext, tr: Texts, intro: str = "") -> None:
    data = await state.get_data()
    file = IncomingFile.from_state(data.get("file"))
    suggestion = suggest_name(file.file_name) if file else None
    await state.update_data(suggested=suggestion)
    await state.set_state(AddDocument.entering_name)
    await show(target, intro + tr("add.ask_name", type=data["type_title"]), keyboards.name_suggestion(tr, suggestion))


async def name_typed(message: Message, state: FSMContext, tr: Texts, owner_id: int, api: DocumentsApi,
                     events: EventLog, store: UserStore, bot: Bot, config: BotConfig,
                     after_event: str | None) -> None:
    await _accept_name(message, message.text or "", state, tr, owner_id, api, events, store, bot, config, after_event)


async def name_suggested(query: CallbackQuery, state: FSMContext, tr: Texts, owner_id: int, api: DocumentsApi,
                         events: EventLog, store: UserStore, bot: Bot, config: BotConfig,
                         after_event: str | None) -> None:
    suggestion = (await state.get_data()).get("suggested")
    if not suggestion:
        await query.answer(tr.plain("stale.button"), show_alert=True)
        return
    await _accept_name(query, suggestion, state, tr, owner_id, api, events, store, bot, config, after_event)


async def _accept_name(target: Target, raw: str, state: FSMContext, tr: Texts, owner_id: int, api: DocumentsApi,
                       events: EventLog, store: UserStore, bot: Bot, config: BotConfig,
                       after_event: str | None) -> None:
    checked = check_name(raw, MAX_NAME_LENGTH, "name")
    if checked.name is None:
        await say(target, tr(checked.problem or "name.empty", max=MAX_NAME_LENGTH), keyboards.cancel_only(tr))
        return
    data = await state.get_data()
    taken = await api.name_check(owner_id, data["type_slug"], checked.name, after_event=after_event)
    if taken.taken:
        await say(target, tr("add.name_taken", name=checked.name, type=data["type_title"]), keyboards.cancel_only(tr))
        return
    await state.update_data(name=checked.name)
    await state.set_state(AddDocument.waiting_file)
    if data.get("file"):
        await _save(target, state, tr, owner_id, api, events, store, bot, config)
        return
    await say(target, tr("add.ask_file", name=checked.name), keyboards.cancel_only(tr))


async def file_during_questions(message: Message, state: FSMContext, tr: Texts, owner_id: int, api: DocumentsApi,
                                store: UserStore, config: BotConfig, after_event: str | None) -> None:
    """A file sent before the questions were answered: keep it and repeat the open question."""
    file = await accepted_file(message, tr, config, store)
    if file is None:
        return
    await state.update_data(file=file.to_state())
    intro = tr("add.file_received") + "\n"
    if await state.get_state() == AddDocument.choosing_type.state:
        await _ask_type(message, state, tr, owner_id, api, store, after_event, intro)
    else:
        await _ask_name(message, state, tr, intro)


async def file_sent(message: Message, state: FSMContext, tr: Texts, owner_id: int, api: DocumentsApi,
                    events: EventLog, store: UserStore, bot: Bot, config: BotConfig) -> None:
    file = await accepted_file(message, tr, config, store)
    if file is None:
        return
    await state.update_data(file=file.to_state())
    await _save(message, state, tr, owner_id, api, events, store, bot, config)


async def retry_save(query: CallbackQuery, state: FSMContext, tr: Texts, owner_id: int, api: DocumentsApi,
                     events: EventLog, store: UserStore, bot: Bot, config: BotConfig) -> None:
    if not (await state.get_data()).get("file"):
        await query.answer(tr.plain("stale.button"), show_alert=True)
        return
    await _save(query, state, tr, owner_id, api, events, store, bot, config)


async def _save(target: Target, state: FSMContext, tr: Texts, owner_id: int, api: DocumentsApi,
                events: EventLog, store: UserStore, bot: Bot, config: BotConfig) -> None:
    """Upload the file, then append ``document.added``; "saved" only once the broker confirmed it."""
    data = await state.get_data()
    file = IncomingFile.from_state(data["file"])
    assert file is not None
    attempt = SaveAttempt.from_state(data.get("attempt"))
    await state.update_data(attempt=attempt.to_state())  # before anything can fail: a retry reuses the ids
    try:
        uploaded = await _upload(bot, api, owner_id, file, config)
        if is_other_document(uploaded, attempt):
            await _report_duplicate(target, state, tr, uploaded)
            return
        payload = DocumentAdded(document_id=attempt.document_id, type_slug=data["type_slug"],
                                type_title=data["type_title"], name=data["name"], file=stored_file(uploaded, file))
        await record(events, store, owner_id, payload, event_id=attempt.event_id)
    except (FileTooBig, TelegramDownloadFailed) as error:
        await _ask_file_again(target, state, tr, config, error)
        return
    except QuotaExceeded as error:
        await state.clear()  # nothing fits until the person deletes something: the way on is My documents
        await say(target, quota_text(tr, error.usage, data["name"]), keyboards.quota_reached(tr))
        return
    except EventBudgetSpent as error:
        await say(target, tr("budget.spent", minutes=error.minutes_left), keyboards.retry_save(tr))
        return
    except (ApiUnavailable, EventLogUnavailable) as error:
        log.warning("saving a document failed", extra={"error": repr(error)})
        await say(target, tr("add.save_failed"), keyboards.retry_save(tr))
        return
    await state.clear()
    await say(target, tr("add.saved", name=payload.name, type=payload.type_title),
              keyboards.open_document(tr, str(payload.document_id)))


@dataclass(frozen=True)
class SaveAttempt:
    """The ids of one "add document": made at the first attempt and kept in the dialog state for retries.

    An append that failed may have been stored anyway (its confirm was lost); the retry sends the same event
    id and document id, so the processor applies it once and the person gets one document.
    """

    document_id: uuid.UUID
    event_id: uuid.UUID

    @classmethod
    def from_state(cls, raw: Any) -> SaveAttempt:
        try:
            return cls(uuid.UUID(raw["document_id"]), uuid.UUID(raw["event_id"]))
        except (TypeError, KeyError, ValueError):
            return cls(uuid.uuid4(), uuid.uuid4())

    def to_state(self) -> dict[str, str]:
        return {"document_id": str(self.document_id), "event_id": str(self.event_id)}


def is_other_document(uploaded: UploadedFile, attempt: SaveAttempt) -> bool:
    """The same bytes are already a live document, and not the one an earlier attempt of this dialog saved."""
    existing = uploaded.duplicate_of
    return existing is not None and existing.document_id != str(attempt.document_id)


_AS_STORED = {"object_key", "sha256", "size", "mime_type", "file_name", "content_id", "encrypted"}


def stored_file(uploaded: UploadedFile, file: IncomingFile) -> StoredFile:
    """The event's file as the API stored it (its name cleaned and sealed by the API, never Telegram's raw name;
    the keyed content id; no plain hash once the API sends none), with Telegram's ids."""
    telegram = {"telegram_file_id": file.file_id, "telegram_file_unique_id": file.file_unique_id}
    return StoredFile.model_validate(uploaded.model_dump(include=_AS_STORED, exclude_none=True) | telegram)


async def _upload(bot: Bot, api: DocumentsApi, owner_id: int, file: IncomingFile, config: BotConfig) -> UploadedFile:
    try:
        return await _upload_named(bot, api, owner_id, file, config, file.file_name)
    except ApiRejected as error:
        if error.code != INVALID_FILE_NAME or file.file_name is None:
            raise
    # Nothing is left of the name once cleaned (only control characters, say): the file is kept without one.
    log.info("file name refused by the API, uploading without it")
    return await _upload_named(bot, api, owner_id, file, config, None)


async def _upload_named(bot: Bot, api: DocumentsApi, owner_id: int, file: IncomingFile, config: BotConfig,
                        file_name: str | None) -> UploadedFile:
    path = await resolve_file_path(bot, file.file_id)
    chunks = file_chunks(bot, path, config.max_download_bytes, config.telegram_local)
    return await api.upload_file(owner_id, chunks, file.mime_type, file_name)


async def _report_duplicate(target: Target, state: FSMContext, tr: Texts, uploaded: UploadedFile) -> None:
    existing = uploaded.duplicate_of
    assert existing is not None
    await state.clear()
    await say(target, tr("add.duplicate", name=existing.name, type=existing.type_title),
              keyboards.open_document(tr, existing.document_id))


async def _ask_file_again(target: Target, state: FSMContext, tr: Texts, config: BotConfig, error: Exception) -> None:
    data: dict[str, Any] = await state.get_data()
    data.pop("file", None)
    await state.set_data(data)
    await state.set_state(AddDocument.waiting_file)
    if isinstance(error, FileTooBig):
        text = tr("add.too_big", limit=size_text(tr, config.max_download_bytes))
    else:
        text = tr("add.download_failed")
    await say(target, text, keyboards.cancel_only(tr))


def router() -> Router:
    r = Router(name="add_document")
    r.message.register(begin, Command("add"))
    r.callback_query.register(begin, MenuCb.filter(F.action == MenuAction.add))
    r.message.register(file_first, StateFilter(None), HasFile())
    r.message.register(type_typed, StateFilter(AddDocument.choosing_type), HasText())
    r.callback_query.register(type_picked, StateFilter(AddDocument.choosing_type), PickTypeCb.filter())
    r.message.register(name_typed, StateFilter(AddDocument.entering_name), HasText())
    r.callback_query.register(name_suggested, StateFilter(AddDocument.entering_name), SuggestedNameCb.filter())
    r.message.register(file_during_questions, StateFilter(AddDocument.choosing_type, AddDocument.entering_name),
                       HasFile())
    r.message.register(file_sent, StateFilter(AddDocument.waiting_file), HasFile())
    r.callback_query.register(retry_save, StateFilter(AddDocument.waiting_file), RetrySaveCb.filter())
    return r
