"""Adding pages to a saved document: "Add page" on its card, then a file, a photo or an album."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.clients.telegram_files import TelegramFiles
from bot.dialogs.states import AddPage
from bot.handlers.add_document import accepted_file, save_reply
from bot.handlers.filters import HasFile
from bot.injected import Person, Services
from bot.services.saving import IncomingFile, PagesAdded
from bot.ui import keyboards
from bot.ui.callbacks import DocAction, DocCb
from bot.ui.presentation import parse_doc_ref
from bot.ui.screen import say
from contracts.events import MAX_PAGES


async def ask_page(
    query: CallbackQuery, callback_data: DocCb, state: FSMContext, services: Services, person: Person
) -> None:
    tr = person.tr
    document = await services.library.document(person.owner_id, parse_doc_ref(callback_data.doc), person.after_event)
    if document is None:
        await query.answer(tr.plain("card.gone"), show_alert=True)
        return
    if document.page_count >= MAX_PAGES:
        await query.answer(tr.plain("pages.limit", max=MAX_PAGES), show_alert=True)
        return
    await state.set_state(AddPage.waiting_page)
    await state.set_data({"document_id": document.document_id, "name": document.name, "back": callback_data.back})
    await say(query, tr("pages.ask", name=document.name), keyboards.cancel_only(tr))


async def page_sent(message: Message, state: FSMContext, services: Services, person: Person, bot: Bot) -> None:
    file = await accepted_file(message, services, person.tr, keyboards.cancel_only(person.tr))
    if file is not None:
        await pages_received(message, state, services, person, bot, [file])


async def pages_received(
    message: Message, state: FSMContext, services: Services, person: Person, bot: Bot, files: Sequence[IncomingFile]
) -> None:
    """Upload ``files`` as the document's next pages; the dialog ends once the broker confirmed them."""
    tr, config, data = person.tr, services.config, await state.get_data()
    source = TelegramFiles(bot, config.max_download_bytes, config.telegram_local)
    result = await services.saver.add_pages(person.owner_id, data["document_id"], list(files), source)
    if isinstance(result, PagesAdded):
        await state.clear()
        opened = keyboards.open_document(tr, data["document_id"], data.get("back", ""))
        await message.answer(tr("pages.added", name=data["name"], count=result.count), reply_markup=opened)
        return
    text, _ = save_reply(tr, result, data["name"], config)
    await message.answer(text, reply_markup=keyboards.cancel_only(tr))  # the step stays: the page may be sent again


def router() -> Router:
    r = Router(name="pages")
    r.callback_query.register(ask_page, DocCb.filter(F.action == DocAction.add_page))
    r.message.register(page_sent, StateFilter(AddPage.waiting_page), HasFile())
    return r
