"""Adding a document: type -> name -> file, or the file first and the questions after.

The dialog's answers live in the FSM state (Redis) until the broker confirmed ``document.added``;
any failure on the way keeps them, so the person never types anything twice. The saving itself is
``bot.services.saving.DocumentSaver``; here each step parses, calls it and renders what it answered.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.clients.telegram_files import TelegramFiles
from bot.dialogs.states import AddDocument
from bot.handlers.filters import HasFile, HasText
from bot.injected import Person, Services
from bot.services.saving import (
    Draft,
    Duplicate,
    IncomingFile,
    OverBudget,
    QuotaReached,
    Rejected,
    SaveAttempt,
    Saved,
    SaveResult,
    TextRefused,
    Unavailable,
)
from bot.settings import BotConfig
from bot.ui import keyboards
from bot.ui.callbacks import MenuAction, MenuCb, PickTypeCb, RetrySaveCb, SuggestedNameCb
from bot.ui.i18n import Texts
from bot.ui.presentation import incoming_file, quota_text, size_text, suggest_name, too_big
from bot.ui.screen import say, show, typed_name
from contracts.text import MAX_NAME_LENGTH, MAX_TYPE_TITLE_LENGTH, type_slug

Target = Message | CallbackQuery


async def begin(target: Target, state: FSMContext, services: Services, person: Person) -> None:
    await state.clear()
    await _ask_type(target, state, services, person)


async def _ask_type(target: Target, state: FSMContext, services: Services, person: Person, intro: str = "") -> None:
    choice = await services.shelves.choice(person.owner_id, person.after_event)
    await state.set_state(AddDocument.choosing_type)
    question = person.tr("add.ask_type" if choice.types else "add.ask_type_first")
    await show(target, intro + question, keyboards.type_choice(person.tr, choice.types, choice.tokens))


async def accepted_file(
    message: Message, services: Services, tr: Texts, way_on: InlineKeyboardMarkup
) -> IncomingFile | None:
    """The file of ``message`` if the dialog can take it; otherwise say why, offering ``way_on`` (Cancel in a
    dialog, the menu outside), and return None. Albums are collected by ``bot.handlers.albums`` first."""
    file = incoming_file(message)
    limit = services.config.max_download_bytes
    if file is not None and too_big(file.size, limit):
        await message.answer(tr("add.too_big", limit=size_text(tr, limit)), reply_markup=way_on)
        return None
    return file


def received(tr: Texts, file: IncomingFile, pages: int = 1) -> str:
    """The line acknowledging ``file`` (and the album's other pages); for a compressed camera photo, with the
    hint that a file keeps quality."""
    got = tr("add.file_received") if pages == 1 else tr("album.received", count=pages)
    return got + ("\n" + tr("add.photo_hint") if file.is_photo else "") + "\n"


def file_answers(
    message: Message, file: IncomingFile, more: Sequence[IncomingFile] = (), caption: str | None = None
) -> dict[str, Any]:
    """What the dialog keeps of a file message (or an album) acknowledged with ``received``: the file, the album's
    other pages, the caption (offered as the document's name), and whether the photo hint was given."""
    return {
        "file": file.to_state(),
        "more_files": [page.to_state() for page in more],
        "caption": caption or message.caption,
        "hinted": file.is_photo,
    }


async def files_received(
    message: Message,
    state: FSMContext,
    services: Services,
    person: Person,
    bot: Bot,
    files: Sequence[IncomingFile],
    caption: str | None,
) -> None:
    """An album, taken where the add dialog stands: it starts one, answers its open question, or is saved."""
    current, tr = await state.get_state(), person.tr
    answers = file_answers(message, files[0], files[1:], caption)
    intro = received(tr, files[0], len(files))
    if current is None:
        await state.set_data(answers)
        await _ask_type(message, state, services, person, intro)
    elif current in (AddDocument.choosing_type.state, AddDocument.entering_name.state):
        await state.update_data(answers)
        if current == AddDocument.choosing_type.state:
            await _ask_type(message, state, services, person, intro)
        else:
            await _ask_name(message, state, tr, intro)
    elif current == AddDocument.waiting_file.state:
        await state.update_data(answers)
        await _save(message, state, services, person, bot)
    else:
        await message.answer(tr("album.not_now"), reply_markup=keyboards.cancel_only(tr))


async def file_first(message: Message, state: FSMContext, services: Services, person: Person) -> None:
    file = await accepted_file(message, services, person.tr, keyboards.main_menu(person.tr))
    if file is None:
        return
    await state.set_data(file_answers(message, file))
    await _ask_type(message, state, services, person, received(person.tr, file))


async def type_typed(message: Message, state: FSMContext, person: Person) -> None:
    title = await typed_name(message, message.text or "", person.tr, MAX_TYPE_TITLE_LENGTH, "type")
    if title is None:
        return
    await state.update_data(type_slug=type_slug(title), type_title=title)
    await _ask_name(message, state, person.tr)


async def type_picked(
    query: CallbackQuery, callback_data: PickTypeCb, state: FSMContext, services: Services, person: Person
) -> None:
    ref = await services.shelves.recall(person.owner_id, callback_data.token)
    if ref is None:
        await query.answer(person.tr.plain("stale.button"), show_alert=True)
        return
    await state.update_data(type_slug=ref.slug, type_title=ref.title)
    await _ask_name(query, state, person.tr)


async def _ask_name(target: Target, state: FSMContext, tr: Texts, intro: str = "") -> None:
    data = await state.get_data()
    file = IncomingFile.from_state(data.get("file"))
    # What the person wrote under the file says best what it is; then the file's own name.
    suggestion = suggest_name(data.get("caption"), keep_extension=True) or (
        suggest_name(file.file_name) if file else None
    )
    await state.update_data(suggested=suggestion)
    await state.set_state(AddDocument.entering_name)
    await show(target, intro + tr("add.ask_name", type=data["type_title"]), keyboards.name_suggestion(tr, suggestion))


async def name_typed(message: Message, state: FSMContext, services: Services, person: Person, bot: Bot) -> None:
    if await accept_name(message, message.text or "", state, services, person):
        await _save(message, state, services, person, bot)


async def name_suggested(query: CallbackQuery, state: FSMContext, services: Services, person: Person, bot: Bot) -> None:
    suggestion = (await state.get_data()).get("suggested")
    if not suggestion:
        await query.answer(person.tr.plain("stale.button"), show_alert=True)
        return
    if await accept_name(query, suggestion, state, services, person):
        await _save(query, state, services, person, bot)


async def accept_name(target: Target, raw: str, state: FSMContext, services: Services, person: Person) -> bool:
    """The name step: check the name and ask for the file; True when the file came first, so it is time to save."""
    tr = person.tr
    name = await typed_name(target, raw, tr, MAX_NAME_LENGTH, "name")
    if name is None:
        return False
    data = await state.get_data()
    check = await services.library.name_check(person.owner_id, data["type_slug"], name, person.after_event)
    if check.taken:
        await say(target, tr("add.name_taken", name=name, type=data["type_title"]), keyboards.cancel_only(tr))
        return False
    await state.update_data(name=name)
    await state.set_state(AddDocument.waiting_file)
    if data.get("file"):
        return True
    await say(target, tr("add.ask_file", name=name), keyboards.cancel_only(tr))
    return False


async def file_during_questions(message: Message, state: FSMContext, services: Services, person: Person) -> None:
    """A file sent before the questions were answered: keep it and repeat the open question."""
    file = await accepted_file(message, services, person.tr, keyboards.cancel_only(person.tr))
    if file is None:
        return
    await state.update_data(file_answers(message, file))
    intro = received(person.tr, file)
    if await state.get_state() == AddDocument.choosing_type.state:
        await _ask_type(message, state, services, person, intro)
    else:
        await _ask_name(message, state, person.tr, intro)


async def file_sent(message: Message, state: FSMContext, services: Services, person: Person, bot: Bot) -> None:
    file = await accepted_file(message, services, person.tr, keyboards.cancel_only(person.tr))
    if file is None:
        return
    await state.update_data(file=file.to_state(), more_files=[])
    await _save(message, state, services, person, bot)


async def retry_save(query: CallbackQuery, state: FSMContext, services: Services, person: Person, bot: Bot) -> None:
    if not (await state.get_data()).get("file"):
        await query.answer(person.tr.plain("stale.button"), show_alert=True)
        return
    await _save(query, state, services, person, bot)


def draft_of(data: dict[str, Any]) -> Draft:
    """The document the dialog's answers describe, with the ids of its first attempt (new ones the first time)."""
    file = IncomingFile.from_state(data["file"])
    assert file is not None
    more = tuple(page for page in map(IncomingFile.from_state, data.get("more_files") or []) if page is not None)
    attempt = SaveAttempt.from_state(data.get("attempt"))
    return Draft(data["type_slug"], data["type_title"], data["name"], file, attempt, more)


async def _save(target: Target, state: FSMContext, services: Services, person: Person, bot: Bot) -> None:
    """Save what the dialog collected; "saved" only once the broker confirmed ``document.added``."""
    data = await state.get_data()
    draft = draft_of(data)
    await state.update_data(attempt=draft.attempt.to_state())  # before anything can fail: a retry reuses the ids
    config = services.config
    files = TelegramFiles(bot, config.max_download_bytes, config.telegram_local)
    result = await services.saver.save(person.owner_id, draft, files)
    await _after_save(state, result)
    text, markup = save_reply(person.tr, result, draft.name, config)
    if draft.file.is_photo and not data.get("hinted") and isinstance(result, Saved):
        text += "\n" + person.tr("add.photo_hint")  # the photo came last: this is the first word about it
    await say(target, text, markup)


async def _after_save(state: FSMContext, result: SaveResult) -> None:
    """The dialog after a save: over once saved (or nothing can fit); the file asked again when it was refused;
    everything kept for "Try again" otherwise."""
    if isinstance(result, Saved | Duplicate | QuotaReached):
        await state.clear()
    elif isinstance(result, Rejected):
        data: dict[str, Any] = await state.get_data()
        data.pop("file", None)
        data.pop("more_files", None)
        await state.set_data(data)
        await state.set_state(AddDocument.waiting_file)
    elif isinstance(result, TextRefused):  # asked again for what the API refused; the other answers are kept
        name_refused = result.problem.startswith("name.")
        await state.set_state(AddDocument.entering_name if name_refused else AddDocument.choosing_type)


def save_reply(tr: Texts, result: SaveResult, name: str, config: BotConfig) -> tuple[str, InlineKeyboardMarkup]:
    """What the person reads after saving ``name`` ended with ``result``."""
    if isinstance(result, Saved):
        return (
            tr("add.saved", name=result.name, type=result.type_title),
            keyboards.saved_document(tr, result.document_id),
        )
    if isinstance(result, Duplicate):
        return (
            tr("album.duplicate" if result.album else "add.duplicate", name=result.name, type=result.type_title),
            keyboards.open_document(tr, result.document_id),
        )
    if isinstance(result, Rejected):
        limit = size_text(tr, config.max_download_bytes)
        text = tr("add.too_big", limit=limit) if result.too_big else tr("add.download_failed")
        return text, keyboards.cancel_only(tr)
    if isinstance(result, QuotaReached):
        return quota_text(tr, result.usage, name), keyboards.quota_reached(tr)
    if isinstance(result, OverBudget):
        return tr("budget.spent", minutes=result.minutes_left), keyboards.retry_save(tr)
    if isinstance(result, TextRefused):
        longest = MAX_NAME_LENGTH if result.problem.startswith("name.") else MAX_TYPE_TITLE_LENGTH
        return tr(result.problem, max=longest), keyboards.cancel_only(tr)
    assert isinstance(result, Unavailable)
    return tr("add.save_failed"), keyboards.retry_save(tr)


def router() -> Router:
    r = Router(name="add_document")
    r.message.register(begin, Command("add"))
    r.callback_query.register(begin, MenuCb.filter(F.action == MenuAction.add))
    r.message.register(file_first, StateFilter(None), HasFile())
    r.message.register(type_typed, StateFilter(AddDocument.choosing_type), HasText())
    r.callback_query.register(type_picked, StateFilter(AddDocument.choosing_type), PickTypeCb.filter())
    r.message.register(name_typed, StateFilter(AddDocument.entering_name), HasText())
    r.callback_query.register(name_suggested, StateFilter(AddDocument.entering_name), SuggestedNameCb.filter())
    r.message.register(
        file_during_questions, StateFilter(AddDocument.choosing_type, AddDocument.entering_name), HasFile()
    )
    r.message.register(file_sent, StateFilter(AddDocument.waiting_file), HasFile())
    r.callback_query.register(retry_save, StateFilter(AddDocument.waiting_file), RetrySaveCb.filter())
    return r
