"""A document's card and its actions: get the file, rename, delete (confirm, then undo), download link.

Every action first reads the document through the owner-scoped API (``bot.services.library.Library.document``):
a stale or forged button (a document that is gone or someone else's) gets a polite alert and nothing else.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardMarkup,
    InputFile,
    InputMediaDocument,
    InputMediaPhoto,
    Message,
)

from bot.dialogs.states import RenameDocument
from bot.handlers.browse import first_pages
from bot.handlers.filters import HasText
from bot.injected import Person, Services
from bot.services.expiry import local_day
from bot.services.restores import in_trash
from bot.services.saving import TextRefused
from bot.settings import BotConfig
from bot.telegram.streamed_file import StreamedFile
from bot.ui import keyboards
from bot.ui.callbacks import DocAction, DocCb, Origin
from bot.ui.dates import moment_text
from bot.ui.i18n import Texts
from bot.ui.presentation import (
    PHOTO_MIME,
    PageRef,
    file_format,
    media_groups,
    parse_doc_ref,
    size_text,
    valid_until_line,
)
from bot.ui.screen import say, show, typed_name
from bot.ui.undo_replies import deleted_text, expired_reply, restore_reply
from contracts.api_schemas import DocumentDetail
from contracts.events import DocumentDeleted, DocumentRestored
from contracts.text import MAX_NAME_LENGTH
from contracts.vocabulary import DocumentStatus

log = logging.getLogger(__name__)
InputMedia = InputMediaPhoto | InputMediaDocument


async def _load(
    query: CallbackQuery, callback_data: DocCb, services: Services, person: Person, allow_deleted: bool = False
) -> DocumentDetail | None:
    """The document behind a button if it is this owner's and live (or deleted, when allowed); else an alert."""
    document = await services.library.document(
        person.owner_id, parse_doc_ref(callback_data.doc), person.after_event, allow_deleted
    )
    if document is None:
        await query.answer(person.tr.plain("card.gone"), show_alert=True)
    return document


def card_text(tr: Texts, document: DocumentDetail, config: BotConfig) -> str:
    """Name, type, the file (its name, format and size) and when it was added, in the person's conventions."""
    file = document.file_name or tr.plain("card.photo" if document.mime_type == PHOTO_MIME else "card.no_file_name")
    pages = "\n" + tr("card.pages", count=document.page_count) if document.page_count > 1 else ""
    text = tr(
        "card.text",
        name=document.name,
        type=document.type_title,
        file=file,
        format=file_format(document.mime_type, document.file_name) or tr.plain("card.format_unknown"),
        size=size_text(tr, document.size),
        date=moment_text(tr.language, document.created_at, config.time_zone),
    )
    return text + pages + valid_until_line(tr, document.valid_until, local_day(config.time_zone))


async def open_card(query: CallbackQuery, callback_data: DocCb, services: Services, person: Person) -> None:
    document = await _load(query, callback_data, services, person)
    if document is None:
        return
    back = Origin.unpack(callback_data.back).button()
    if back is None:
        [back] = await first_pages(services, person.owner_id, [(document.type_slug, document.type_title)])
    await show(
        query,
        card_text(person.tr, document, services.config),
        keyboards.document_card(
            person.tr, document.document_id, back, services.config.links_enabled, callback_data.back
        ),
    )


async def get_file(query: CallbackQuery, callback_data: DocCb, services: Services, person: Person, bot: Bot) -> None:
    document = await _load(query, callback_data, services, person)
    if document is None:
        return
    chat_id = query.from_user.id  # private_chats: a button is served only in the person's private chat
    caption = person.tr("file.caption", name=document.name)
    markup = keyboards.open_document(person.tr, document.document_id, callback_data.back)
    if document.page_count > 1:
        await send_pages(bot, chat_id, document, services, person.owner_id)
        await bot.send_message(chat_id, person.tr("file.pages_sent", name=document.name), reply_markup=markup)
        return
    if document.telegram_file_id and await _send_by_file_id(bot, chat_id, document, caption, markup):
        return
    stream = services.library.file_chunks(person.owner_id, document.document_id)
    first = await anext(stream, b"")  # API errors (gone, down) surface here, before Telegram is involved
    upload: InputFile = StreamedFile(first, stream, document.file_name or document.name)
    if not first:
        upload = BufferedInputFile(b"", document.file_name or document.name)
    await bot.send_document(chat_id, upload, caption=caption, reply_markup=markup)


async def send_pages(bot: Bot, chat_id: int, document: DocumentDetail, services: Services, owner_id: int) -> None:
    """Every page, as albums (``sendMediaGroup``: photos and files apart, at most 10 a group; a lone page as
    itself). A group whose Telegram ids are refused (another bot token, expired) is sent again from the API."""
    for group in media_groups(page_refs(document)):
        try:
            await _send_group(bot, chat_id, [_by_file_id(ref) for ref in group])
        except TelegramBadRequest as error:
            log.info("file_id refused, uploading the pages from the API", extra={"reason": error.message})
            uploads = [await _uploaded_page(services, owner_id, document, ref) for ref in group]
            await _send_group(bot, chat_id, uploads)


def page_refs(document: DocumentDetail) -> list[PageRef]:
    first = PageRef(1, document.mime_type, document.file_name, document.telegram_file_id)
    later = [
        PageRef(n, page.mime_type, page.file_name, page.telegram_file_id)
        for n, page in enumerate(document.more_pages, 2)
    ]
    return [first, *later]


async def _uploaded_page(services: Services, owner_id: int, document: DocumentDetail, ref: PageRef) -> InputMedia:
    stream = services.library.file_chunks(owner_id, document.document_id, ref.number)
    first = await anext(stream, b"")
    name = ref.file_name or f"{document.name} ({ref.number})"
    upload: InputFile = StreamedFile(first, stream, name) if first else BufferedInputFile(b"", name)
    return InputMediaPhoto(media=upload) if ref.is_photo else InputMediaDocument(media=upload)


def _by_file_id(ref: PageRef) -> InputMedia:
    media = ref.telegram_file_id or "missing"  # no id: Telegram refuses it, and the page is uploaded
    return InputMediaPhoto(media=media) if ref.is_photo else InputMediaDocument(media=media)


async def _send_group(bot: Bot, chat_id: int, media: list[InputMedia]) -> None:
    if len(media) > 1:
        await bot.send_media_group(chat_id, media)  # type: ignore[arg-type]
    elif isinstance(media[0], InputMediaPhoto):
        await bot.send_photo(chat_id, media[0].media)
    else:
        await bot.send_document(chat_id, media[0].media)


async def _send_by_file_id(
    bot: Bot, chat_id: int, document: DocumentDetail, caption: str, markup: InlineKeyboardMarkup
) -> bool:
    """Telegram refuses ids of another bot token or expired ones: then the caller uploads the bytes."""
    assert document.telegram_file_id is not None
    try:
        if document.mime_type == PHOTO_MIME and document.file_name is None:
            await bot.send_photo(chat_id, document.telegram_file_id, caption=caption, reply_markup=markup)
        else:
            await bot.send_document(chat_id, document.telegram_file_id, caption=caption, reply_markup=markup)
    except TelegramBadRequest as error:
        log.info("file_id refused, uploading from the API", extra={"reason": error.message})
        return False
    return True


async def ask_rename(
    query: CallbackQuery, callback_data: DocCb, state: FSMContext, services: Services, person: Person
) -> None:
    document = await _load(query, callback_data, services, person)
    if document is None:
        return
    await state.set_state(RenameDocument.entering_name)
    await state.set_data(
        {
            "document_id": document.document_id,
            "type_slug": document.type_slug,
            "name": document.name,
            "back": callback_data.back,
        }
    )
    await say(query, person.tr("rename.ask", name=document.name), keyboards.cancel_only(person.tr))


async def rename_typed(message: Message, state: FSMContext, services: Services, person: Person) -> None:
    tr = person.tr
    name = await typed_name(message, message.text or "", tr, MAX_NAME_LENGTH, "name")
    if name is None:
        return
    data = await state.get_data()
    opened = keyboards.open_document(tr, data["document_id"], data.get("back", ""))
    if name == data["name"]:
        await state.clear()
        await message.answer(tr("rename.same"), reply_markup=opened)
        return
    taken = await services.library.name_check(person.owner_id, data["type_slug"], name, person.after_event)
    if taken.taken and taken.document_id != data["document_id"]:
        await message.answer(tr("rename.taken", name=name), reply_markup=keyboards.cancel_only(tr))
        return
    renamed = await services.renamer.rename(person.owner_id, data["document_id"], name)
    if isinstance(renamed, TextRefused):  # the API's rules differ from the bot's check: asked again all the same
        await message.answer(tr(renamed.problem, max=MAX_NAME_LENGTH), reply_markup=keyboards.cancel_only(tr))
        return
    await state.clear()
    await message.answer(tr("rename.done", name=renamed), reply_markup=opened)


async def ask_delete(query: CallbackQuery, callback_data: DocCb, services: Services, person: Person) -> None:
    document = await _load(query, callback_data, services, person)
    if document is not None:
        await show(
            query,
            person.tr("delete.confirm", name=document.name),
            keyboards.confirm_delete(person.tr, document.document_id, callback_data.back),
        )


async def delete(query: CallbackQuery, callback_data: DocCb, services: Services, person: Person) -> None:
    document = await _load(query, callback_data, services, person)
    if document is None:
        return
    event = await services.recorder.record(person.owner_id, DocumentDeleted(document_id=document.document_id))
    until = await services.library.restorable_until(person.owner_id, document.document_id, str(event.event_id))
    await show(
        query,
        deleted_text(person.tr, document.name, until, services.config.time_zone),
        keyboards.undo_delete(person.tr, document.document_id, callback_data.back),
    )


async def undo(query: CallbackQuery, callback_data: DocCb, services: Services, person: Person) -> None:
    document = await _load(query, callback_data, services, person, allow_deleted=True)
    if document is None:  # purged, or never this person's: the same alert either way
        return
    tr = person.tr
    if document.status == DocumentStatus.deleted and not in_trash(document, datetime.now(UTC)):
        await show(query, *expired_reply(tr))  # its time in the trash ran out (the purge follows)
        return
    if document.status != DocumentStatus.deleted:  # a second tap, or restored meanwhile: nothing to append
        await show(
            query,
            tr("undo.done", name=document.name),
            keyboards.open_document(tr, document.document_id, callback_data.back),
        )
        return
    event = await services.recorder.record(person.owner_id, DocumentRestored(document_id=document.document_id))
    outcome = await services.library.restore_outcome(person.owner_id, document, str(event.event_id))
    await show(query, *restore_reply(tr, outcome, document.name, callback_data.back))


async def link(query: CallbackQuery, callback_data: DocCb, services: Services, person: Person) -> None:
    document = None
    if services.config.links_enabled:
        document = await _load(query, callback_data, services, person)
    else:
        await query.answer(person.tr.plain("stale.button"), show_alert=True)
    if document is not None:
        signed = await services.library.link(person.owner_id, document.document_id)
        tr = person.tr
        expires = moment_text(tr.language, signed.expires_at, services.config.time_zone)
        await say(
            query,
            tr("card.link_text", url=signed.url, expires=expires),
            keyboards.open_document(tr, document.document_id, callback_data.back),
        )


def router() -> Router:
    r = Router(name="card")
    actions: dict[DocAction, Callable[..., Awaitable[None]]] = {
        DocAction.open: open_card,
        DocAction.back: open_card,
        DocAction.get: get_file,
        DocAction.rename: ask_rename,
        DocAction.delete: ask_delete,
        DocAction.confirm_delete: delete,
        DocAction.undo: undo,
        DocAction.link: link,
    }
    for action, handler in actions.items():
        r.callback_query.register(handler, DocCb.filter(F.action == action))
    r.message.register(rename_typed, StateFilter(RenameDocument.entering_name), HasText())
    return r
