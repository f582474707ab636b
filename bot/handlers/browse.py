"""My documents: types with counts -> documents of a type, a page at a time."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.ui import keyboards
from bot.clients.api_client import DocumentsApi
from bot.ui.callbacks import ListCb, MenuAction, MenuCb, TypeCb, fits
from bot.ui.i18n import Texts
from bot.ui.screen import show
from bot.settings import BotConfig
from bot.clients.person_store import ListRef, UserStore
from bot.dialogs.states import leave_dialog


async def first_pages(store: UserStore, owner_id: int, types: Sequence[tuple[str, str]]) -> list[CallbackData]:
    """Callback data opening each (slug, title)'s first page: the slug itself when it fits in the 64 bytes
    (no Redis write on the hot path), a stored navigation token otherwise."""
    direct: dict[str, CallbackData] = {slug: TypeCb(slug=slug) for slug, _ in types if fits(TypeCb(slug=slug))}
    tokens = iter(await store.save_lists(owner_id, [ListRef(s, t) for s, t in types if s not in direct]))
    return [direct.get(slug) or ListCb(token=next(tokens)) for slug, _ in types]


async def types(target: Message | CallbackQuery, state: FSMContext, raw_state: str | None, tr: Texts, owner_id: int,
                api: DocumentsApi, store: UserStore, after_event: str | None) -> None:
    await leave_dialog(state, raw_state)
    items = (await api.list_types(owner_id, after_event=after_event)).items
    if not items:
        await show(target, tr("browse.no_documents"), keyboards.type_list(tr, [], []))
        return
    pages = await first_pages(store, owner_id, [(t.slug, t.title) for t in items])
    await show(target, tr("browse.types_title"), keyboards.type_list(tr, items, pages))


async def first_page(query: CallbackQuery, callback_data: TypeCb, tr: Texts, owner_id: int, api: DocumentsApi,
                     store: UserStore, config: BotConfig, after_event: str | None) -> None:
    ref = ListRef(callback_data.slug, callback_data.slug)
    await show_page(query, ref, callback_data.pack(), tr, owner_id, api, store, config, after_event)


async def page(query: CallbackQuery, callback_data: ListCb, tr: Texts, owner_id: int, api: DocumentsApi,
               store: UserStore, config: BotConfig, after_event: str | None) -> None:
    ref = await store.load_list(owner_id, callback_data.token)
    if ref is None:
        await query.answer(tr.plain("stale.button"), show_alert=True)
        return
    await show_page(query, ref, callback_data.pack(), tr, owner_id, api, store, config, after_event)


async def show_page(target: Message | CallbackQuery, ref: ListRef, this_page: str, tr: Texts, owner_id: int,
                    api: DocumentsApi, store: UserStore, config: BotConfig, after_event: str | None) -> None:
    """One page of a type; ``this_page`` (packed callback data) becomes the next page's "Back" button."""
    result = await api.list_documents(owner_id, ref.slug, config.page_size, ref.cursor, after_event=after_event)
    title = result.items[0].type_title if result.items else ref.title
    next_page = None
    if result.next_cursor and result.items:
        following = ListRef(ref.slug, title, result.next_cursor, ref.page + 1, prev=this_page)
        [token] = await store.save_lists(owner_id, [following])
        next_page = ListCb(token=token).pack()
    text = tr("browse.type_page", title=title, page=ref.page) if result.items else tr("browse.empty_type",
                                                                                      title=title)
    await show(target, text, keyboards.document_page(tr, result.items, ref.prev, next_page))


def router() -> Router:
    r = Router(name="browse")
    r.message.register(types, Command("documents"))
    r.callback_query.register(types, MenuCb.filter(F.action == MenuAction.browse))
    r.callback_query.register(first_page, TypeCb.filter())
    r.callback_query.register(page, ListCb.filter())
    return r
