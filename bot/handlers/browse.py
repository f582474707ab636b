"""My documents: types with counts -> documents of a type, a page at a time."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.clients.person_store import ListRef
from bot.dialogs.states import leave_dialog
from bot.injected import Person, Services
from bot.ui import keyboards
from bot.ui.callbacks import ListCb, MenuAction, MenuCb, Origin, TypeCb, fits
from bot.ui.screen import show


async def first_pages(services: Services, owner_id: int, types: Sequence[tuple[str, str]]) -> list[CallbackData]:
    """Callback data opening each (slug, title)'s first page: the slug itself when it fits in the 64 bytes
    (no Redis write on the hot path), a stored navigation token otherwise."""
    direct: dict[str, CallbackData] = {slug: TypeCb(slug=slug) for slug, _ in types if fits(TypeCb(slug=slug))}
    tokens = iter(await services.shelves.remember(owner_id, [ListRef(s, t) for s, t in types if s not in direct]))
    return [direct.get(slug) or ListCb(token=next(tokens)) for slug, _ in types]


async def types(
    target: Message | CallbackQuery, state: FSMContext, raw_state: str | None, services: Services, person: Person
) -> None:
    await leave_dialog(state, raw_state)
    tr = person.tr
    items = await services.library.types(person.owner_id, person.after_event)
    if not items:
        await show(target, tr("browse.no_documents"), keyboards.type_list(tr, [], []))
        return
    pages = await first_pages(services, person.owner_id, [(t.slug, t.title) for t in items])
    await show(target, tr("browse.types_title"), keyboards.type_list(tr, items, pages))


async def first_page(query: CallbackQuery, callback_data: TypeCb, services: Services, person: Person) -> None:
    ref = ListRef(callback_data.slug, callback_data.slug)
    await show_page(query, ref, callback_data.pack(), Origin(), services, person)


async def page(query: CallbackQuery, callback_data: ListCb, services: Services, person: Person) -> None:
    ref = await services.shelves.recall(person.owner_id, callback_data.token)
    if ref is None:
        await query.answer(person.tr.plain("stale.button"), show_alert=True)
        return
    origin = Origin(list_token=callback_data.token) if ref.page > 1 else Origin()
    await show_page(query, ref, callback_data.pack(), origin, services, person)


async def show_page(
    target: Message | CallbackQuery, ref: ListRef, this_page: str, origin: Origin, services: Services, person: Person
) -> None:
    """One page of a type; ``this_page`` (packed callback data) becomes the next page's "Back" button, and the
    cards opened here return to ``origin`` (this page)."""
    tr = person.tr
    found = await services.library.page(person.owner_id, ref, this_page, person.after_event)
    next_page = ListCb(token=found.next_token).pack() if found.next_token else None
    if not found.documents:
        text = tr("browse.empty_type", title=found.title)
    elif found.pages > 1:
        text = tr("browse.type_page", title=found.title, page=ref.page, pages=found.pages)
    else:
        text = tr("browse.type_single", title=found.title)
    await show(target, text, keyboards.document_page(tr, found.documents, ref.prev, next_page, origin, ref.slug))


def router() -> Router:
    r = Router(name="browse")
    r.message.register(types, Command("documents"))
    r.callback_query.register(types, MenuCb.filter(F.action == MenuAction.browse))
    r.callback_query.register(first_page, TypeCb.filter())
    r.callback_query.register(page, ListCb.filter())
    return r
