"""Search by name: results as buttons that open the document's card."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.dialogs.states import SearchDocuments
from bot.handlers.filters import HasText
from bot.injected import Person, Services
from bot.services.library import search_words
from bot.ui import keyboards
from bot.ui.callbacks import MenuAction, MenuCb
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


async def _run(message: Message, raw: str, state: FSMContext, services: Services, person: Person) -> None:
    tr = person.tr
    query = search_words(raw)
    if not query:
        await message.answer(tr("search.empty_query"), reply_markup=keyboards.cancel_only(tr))
        return
    found = await services.library.search(person.owner_id, query, person.after_event)
    await state.clear()
    text = tr("search.results", query=query) if found else tr("search.nothing", query=query)
    await message.answer(text, reply_markup=keyboards.search_results(tr, found))


def router() -> Router:
    r = Router(name="search")
    r.message.register(command, Command("search"))
    r.callback_query.register(ask, MenuCb.filter(F.action == MenuAction.search))
    r.message.register(typed, StateFilter(SearchDocuments.entering_query), HasText())
    return r
