"""/start, /help, /cancel, the main menu and the Cancel button (which work in any dialog state)."""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from contracts.events import UserStarted
from service_kit.eventlog import EventLogUnavailable

from bot.ui import keyboards
from bot.ui.callbacks import MenuAction, MenuCb
from bot.ui.i18n import Texts
from bot.ui.screen import show
from bot.clients.person_store import UserStore
from bot.dialogs.states import leave_dialog
from bot.services.event_recorder import EventBudgetSpent, EventLog, record

log = logging.getLogger(__name__)


async def start(message: Message, state: FSMContext, tr: Texts, owner_id: int,
                events: EventLog, store: UserStore) -> None:
    await state.clear()
    await _record_start(events, store, owner_id, tr)
    name = message.from_user.first_name if message.from_user else ""
    await message.answer(tr("menu.greeting", name=name), reply_markup=keyboards.main_menu(tr))


async def _record_start(events: EventLog, store: UserStore, owner_id: int, tr: Texts) -> None:
    """``user.started`` once for a person, not for every /start: a repeat would change nothing but the log.

    "Known" is a Redis flag set once the broker confirmed the event (bot.clients.person_store.KNOWN_TTL_SECONDS); a
    Redis that lost it costs one more ``user.started``, which the users projection applies as "seen".
    """
    if await store.is_known(owner_id):
        return
    try:
        await record(events, store, owner_id, UserStarted(language=tr.language))
    except (EventLogUnavailable, EventBudgetSpent) as error:
        # Greeting does not depend on the log; the user view is created by the next write anyway.
        log.warning("user.started not appended", extra={"error": type(error).__name__})
        return
    await store.remember_known(owner_id)


async def menu(target: Message | CallbackQuery, state: FSMContext, raw_state: str | None, tr: Texts) -> None:
    await leave_dialog(state, raw_state)
    await show(target, tr("menu.title"), keyboards.main_menu(tr))


async def help_text(target: Message | CallbackQuery, tr: Texts) -> None:
    await show(target, tr("help.text"), keyboards.back_to_menu(tr))


async def cancel(target: Message | CallbackQuery, state: FSMContext, raw_state: str | None, tr: Texts,
                 left_dialog: str | None = None) -> None:
    """``left_dialog``: the dialog ``bot.middlewares.dialog_scope`` ended just before (/cancel is a command, and
    commands end dialogs)."""
    await leave_dialog(state, raw_state)
    was_open = raw_state is not None or left_dialog is not None
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
