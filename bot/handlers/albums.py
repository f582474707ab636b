"""Albums: the messages of one ``media_group_id`` become one document's pages (``bot.services.albums``).

Each message is kept and the handler returns at once; the first one's background wait then takes the album under
the person's own lock, where their dialog stands: the add dialog (``add_document.files_received``) or "Add page"
(``pages.pages_received``).
"""

from __future__ import annotations

from aiogram import Bot, Dispatcher, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import InlineKeyboardMarkup, Message

from bot.dialogs.states import AddPage
from bot.handlers import add_document, pages
from bot.injected import Person, Services
from bot.services.albums import Album, part_of
from bot.ui import keyboards
from bot.ui.presentation import incoming_file, size_text
from contracts.events import MAX_ALBUM_PAGES

PROBLEMS = {"too_many": "album.too_many", "not_files": "album.not_files"}  # and "too_big": add.too_big
MAX_GROUP_ID = 64  # Telegram's media_group_id is a short number; anything longer is cut before it names a key


async def album_part(
    message: Message, state: FSMContext, services: Services, person: Person, bot: Bot, dispatcher: Dispatcher
) -> None:
    group = (message.media_group_id or "")[:MAX_GROUP_ID]
    part = part_of(incoming_file(message), message.caption)
    if not await services.albums.keep(person.owner_id, group, message.message_id, part):
        return
    if not services.albums.can_open(person.owner_id):
        await message.answer(person.tr("album.busy"), reply_markup=keyboards.main_menu(person.tr))
        return
    isolation = dispatcher.fsm.events_isolation

    async def take(album: Album) -> None:
        async with isolation.lock(state.key):
            await album_taken(message, state, services, person, bot, album)

    async def interrupted() -> None:
        await message.answer(person.tr("album.interrupted"), reply_markup=await way_on(state, person))

    services.albums.collect_then(person.owner_id, group, services.config.max_download_bytes, take, interrupted)


async def way_on(state: FSMContext, person: Person) -> InlineKeyboardMarkup:
    """Cancel inside a dialog (the album may be sent again at the same step), the menu outside."""
    return keyboards.cancel_only(person.tr) if await state.get_state() is not None else keyboards.main_menu(person.tr)


async def album_taken(
    message: Message, state: FSMContext, services: Services, person: Person, bot: Bot, album: Album
) -> None:
    tr = person.tr
    if album.problem is not None:
        limit = size_text(tr, services.config.max_download_bytes)
        if album.problem == "too_big":
            text = tr("add.too_big", limit=limit)
        else:
            text = tr(PROBLEMS[album.problem], max=MAX_ALBUM_PAGES)
        await message.answer(text, reply_markup=await way_on(state, person))
        return
    if await state.get_state() == AddPage.waiting_page.state:
        await pages.pages_received(message, state, services, person, bot, list(album.pages))
        return
    await add_document.files_received(message, state, services, person, bot, album.pages, album.caption)


def router() -> Router:
    r = Router(name="albums")
    r.message.register(album_part, F.media_group_id)
    return r
