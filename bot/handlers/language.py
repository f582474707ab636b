"""Switching the interface language (Russian or English); remembered in Redis and appended as an event."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.injected import Person, Services
from bot.ui import keyboards
from bot.ui.callbacks import LangCb, MenuAction, MenuCb
from bot.ui.i18n import LANGUAGES, Language, Texts
from bot.ui.screen import show


async def choose(target: Message | CallbackQuery, person: Person) -> None:
    await show(target, person.tr("lang.choose"), keyboards.language_choice(person.tr, person.tr.language))


async def chosen(query: CallbackQuery, callback_data: LangCb, services: Services, person: Person) -> None:
    language: Language = "ru" if callback_data.code == "ru" else "en"
    await services.people.choose_language(person.owner_id, language)
    tr = Texts(language)
    await show(query, tr("lang.set"), keyboards.main_menu(tr))


def router() -> Router:
    r = Router(name="language")
    r.message.register(choose, Command("language"))
    r.callback_query.register(choose, MenuCb.filter(F.action == MenuAction.language))
    r.callback_query.register(chosen, LangCb.filter(F.code.in_(LANGUAGES)))
    return r
