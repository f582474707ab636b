"""Search by name: results as buttons that open the document's card."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.ui import keyboards
from bot.clients.api_client import DocumentsApi
from bot.ui.callbacks import MenuAction, MenuCb
from bot.handlers.filters import HasText
from bot.ui.i18n import Texts
from bot.ui.screen import show
from bot.settings import BotConfig
from bot.dialogs.states import SearchDocuments

MAX_QUERY_LENGTH = 100


async def ask(target: Message | CallbackQuery, state: FSMContext, tr: Texts) -> None:
    await state.set_state(SearchDocuments.entering_query)
    await show(target, tr("search.ask"), keyboards.cancel_only(tr))


async def command(message: Message, command: CommandObject, state: FSMContext, tr: Texts, owner_id: int,
                  api: DocumentsApi, config: BotConfig, after_event: str | None) -> None:
    words = (command.args or "").strip()
    if not words:
        await ask(message, state, tr)
        return
    await _run(message, words, state, tr, owner_id, api, config, after_event)


async def typed(message: Message, state: FSMContext, tr: Texts, owner_id: int, api: DocumentsApi,
                config: BotConfig, after_event: str | None) -> None:
    await _run(message, message.text or "", state, tr, owner_id, api, config, after_event)


async def _run(message: Message, raw: str, state: FSMContext, tr: Texts, owner_id: int, api: DocumentsApi,
               config: BotConfig, after_event: str | None) -> None:
    query = " ".join(raw.split())[:MAX_QUERY_LENGTH]
    if not query:
        await message.answer(tr("search.empty_query"), reply_markup=keyboards.cancel_only(tr))
        return
    found = (await api.search(owner_id, query, config.search_limit, after_event=after_event)).items
    await state.clear()
    text = tr("search.results", query=query) if found else tr("search.nothing", query=query)
    await message.answer(text, reply_markup=keyboards.search_results(tr, found))


def router() -> Router:
    r = Router(name="search")
    r.message.register(command, Command("search"))
    r.callback_query.register(ask, MenuCb.filter(F.action == MenuAction.search))
    r.message.register(typed, StateFilter(SearchDocuments.entering_query), HasText())
    return r
