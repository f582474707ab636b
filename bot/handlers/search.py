"""Search by name: results a page at a time, as buttons that open the document's card (whose Back returns to the
same page of results). A word typed at the menu, outside any dialog, is searched for too."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.dialogs.states import SearchDocuments
from bot.handlers.filters import HasText, SearchableText
from bot.injected import Person, Services
from bot.services.library import SEARCH_RESULTS, SearchPage, search_words
from bot.ui import keyboards
from bot.ui.callbacks import MenuAction, MenuCb, SearchCb
from bot.ui.i18n import Texts
from bot.ui.screen import show


async def ask(target: Message | CallbackQuery, state: FSMContext, person: Person) -> None:
    await state.set_state(SearchDocuments.entering_query)
    await show(target, person.tr("search.ask"), keyboards.cancel_only(person.tr))


async def command(
    message: Message, command: CommandObject, state: FSMContext, services: Services, person: Person
) -> None:
    words = (command.args or "").strip()
    if not words:
        await ask(message, state, person)
        return
    await _run(message, words, state, services, person)


async def typed(message: Message, state: FSMContext, services: Services, person: Person) -> None:
    await _run(message, message.text or "", state, services, person)


async def typed_at_menu(message: Message, services: Services, person: Person) -> None:
    """Text outside any dialog: most likely a name the person is looking for. When nothing matches, the reply
    also says that a dialog they were in may have been interrupted (the old "I didn't get that")."""
    query = search_words(message.text or "")  # not empty: SearchableText
    found = await services.library.search(person.owner_id, query, person.after_event)
    tr = person.tr
    if not found.documents:
        await message.answer(tr("search.nothing_at_menu", query=query), reply_markup=keyboards.main_menu(tr))
        return
    await message.answer(results_text(tr, found), reply_markup=keyboards.search_results(tr, found))


async def _run(message: Message, raw: str, state: FSMContext, services: Services, person: Person) -> None:
    tr = person.tr
    query = search_words(raw)
    if not query:
        await message.answer(tr("search.empty_query"), reply_markup=keyboards.cancel_only(tr))
        return
    found = await services.library.search(person.owner_id, query, person.after_event)
    await state.clear()
    text = results_text(tr, found) if found.documents else tr("search.nothing", query=query)
    await message.answer(text, reply_markup=keyboards.search_results(tr, found))


async def page(query: CallbackQuery, callback_data: SearchCb, services: Services, person: Person) -> None:
    found = await services.library.search_page(
        person.owner_id, callback_data.token, callback_data.page, person.after_event
    )
    if found is None:
        await query.answer(person.tr.plain("stale.button"), show_alert=True)
        return
    text = results_text(person.tr, found) if found.documents else person.tr("search.nothing", query=found.query)
    await show(query, text, keyboards.search_results(person.tr, found))


def results_text(tr: Texts, found: SearchPage) -> str:
    """The heading of a page of results: the query, where the page is ("2 / 5"), and whether more were found
    than are paged through."""
    if found.pages > 1:
        text = tr("search.results_page", query=found.query, page=found.page, pages=found.pages)
    else:
        text = tr("search.results", query=found.query)
    return text + ("\n" + tr("search.capped", n=SEARCH_RESULTS) if found.capped else "")


def router() -> Router:
    r = Router(name="search")
    r.message.register(command, Command("search"))
    r.callback_query.register(ask, MenuCb.filter(F.action == MenuAction.search))
    r.callback_query.register(page, SearchCb.filter())
    r.message.register(typed, StateFilter(SearchDocuments.entering_query), HasText())
    r.message.register(typed_at_menu, StateFilter(None), SearchableText())
    return r
