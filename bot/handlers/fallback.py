"""Whatever no feature took: a clear answer, and the dialog state left as it was."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import StateFilter
from aiogram.types import CallbackQuery, Message

from bot.dialogs.states import AddDocument
from bot.handlers.filters import HasText
from bot.injected import Person
from bot.ui import keyboards


async def edited(message: Message, person: Person, raw_state: str | None) -> None:
    await message.answer(person.tr("input.edited"), reply_markup=keyboards.way_on(person.tr, raw_state))


async def not_a_file(message: Message, person: Person) -> None:
    await message.answer(person.tr("add.not_a_file"), reply_markup=keyboards.cancel_only(person.tr))


async def unsupported(message: Message, person: Person, raw_state: str | None) -> None:
    """Stickers, voice, locations, contacts...: say what the bot can keep; any dialog goes on (Cancel leaves it)."""
    await message.answer(person.tr("input.unsupported"), reply_markup=keyboards.way_on(person.tr, raw_state))


async def unknown_text(message: Message, person: Person) -> None:
    await message.answer(person.tr("input.unknown"), reply_markup=keyboards.main_menu(person.tr))


async def stale_button(query: CallbackQuery, person: Person) -> None:
    """Buttons of a finished dialog, an older bot version or forged data."""
    await query.answer(person.tr.plain("stale.button"), show_alert=True)


def router() -> Router:
    r = Router(name="fallback")
    r.edited_message.register(edited)
    r.message.register(not_a_file, StateFilter(AddDocument.waiting_file))
    r.message.register(unknown_text, StateFilter(None), HasText())
    r.message.register(unsupported)
    r.callback_query.register(stale_button)
    return r
