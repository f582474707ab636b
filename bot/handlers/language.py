"""Switching the interface language (Russian or English); remembered in Redis and appended as an event."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from contracts.events import UserLanguageChanged

from bot.ui import keyboards
from bot.ui.callbacks import LangCb, MenuAction, MenuCb
from bot.ui.i18n import LANGUAGES, Language, Texts
from bot.ui.screen import show
from bot.clients.person_store import UserStore
from bot.services.event_recorder import EventLog, record


async def choose(target: Message | CallbackQuery, tr: Texts) -> None:
    await show(target, tr("lang.choose"), keyboards.language_choice())


async def chosen(query: CallbackQuery, callback_data: LangCb, owner_id: int,
                 events: EventLog, store: UserStore) -> None:
    language: Language = "ru" if callback_data.code == "ru" else "en"
    if await store.language(owner_id) != language:  # the language already chosen changes nothing: no event
        await record(events, store, owner_id, UserLanguageChanged(language=language))
        await store.set_language(owner_id, language)
    tr = Texts(language)
    await show(query, tr("lang.set"), keyboards.main_menu(tr))


def router() -> Router:
    r = Router(name="language")
    r.message.register(choose, Command("language"))
    r.callback_query.register(choose, MenuCb.filter(F.action == MenuAction.language))
    r.callback_query.register(chosen, LangCb.filter(F.code.in_(LANGUAGES)))
    return r
