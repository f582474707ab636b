"""/start, /help, /cancel, the main menu and the Cancel button (which work in any dialog state)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.dialogs.states import leave_dialog
from bot.injected import Person, Services
from bot.ui import keyboards
from bot.ui.callbacks import MenuAction, MenuCb
from bot.ui.screen import show


async def start(message: Message, state: FSMContext, services: Services, person: Person) -> None:
    await state.clear()
    await services.people.started(person.owner_id, person.tr.language)
    name = message.from_user.first_name if message.from_user else ""
    await message.answer(person.tr("menu.greeting", name=name), reply_markup=keyboards.main_menu(person.tr))


async def menu(target: Message | CallbackQuery, state: FSMContext, raw_state: str | None, person: Person) -> None:
    await leave_dialog(state, raw_state)
    await show(target, person.tr("menu.title"), keyboards.main_menu(person.tr))


async def help_text(target: Message | CallbackQuery, person: Person) -> None:
    await show(target, person.tr("help.text"), keyboards.back_to_menu(person.tr))


async def cancel(
    target: Message | CallbackQuery,
    state: FSMContext,
    raw_state: str | None,
    person: Person,
    left_dialog: str | None = None,
) -> None:
    """``left_dialog``: the dialog ``bot.middlewares.dialog_scope`` ended just before (/cancel is a command, and
    commands end dialogs)."""
    await leave_dialog(state, raw_state)
    was_open = raw_state is not None or left_dialog is not None
    tr = person.tr
    await show(target, tr("common.cancelled" if was_open else "menu.title"), keyboards.main_menu(tr))


def router() -> Router:
    r = Router(name="start")
    r.message.register(start, CommandStart())
    r.message.register(help_text, Command("help"))
    r.message.register(cancel, Command("cancel"))
    r.message.register(menu, Command("menu"))
    r.callback_query.register(menu, MenuCb.filter(F.action == MenuAction.menu))
    r.callback_query.register(help_text, MenuCb.filter(F.action == MenuAction.help))
    r.callback_query.register(cancel, MenuCb.filter(F.action == MenuAction.cancel))
    return r
