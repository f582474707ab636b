"""Answering an update where the person is looking: edit the message a button sits on, else send a new one."""

from __future__ import annotations

from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.ui import keyboards
from bot.ui.i18n import Texts
from bot.ui.presentation import check_name


async def show(target: Message | CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Edit the message under a pressed button (so menus do not pile up); answer a typed message with a new one."""
    if isinstance(target, CallbackQuery):
        if isinstance(target.message, Message):
            await target.message.edit_text(text, reply_markup=markup)
            return
        if target.bot is not None:  # the message is too old to edit: send a fresh one
            await target.bot.send_message(target.from_user.id, text, reply_markup=markup)
        return
    await target.answer(text, reply_markup=markup)


async def say(target: Message | CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Always a new message in the chat of ``target`` (results that should stay in the history)."""
    if isinstance(target, CallbackQuery):
        if target.bot is not None:
            await target.bot.send_message(target.from_user.id, text, reply_markup=markup)
        return
    await target.answer(text, reply_markup=markup)


async def typed_name(target: Message | CallbackQuery, raw: str, tr: Texts, max_length: int, kind: str) -> str | None:
    """The cleaned name a person typed (``kind`` "name" or "type"), or None once they were told what is wrong and
    asked again (the dialog stays on its step, with Cancel as the way out)."""
    checked = check_name(raw, max_length, kind)
    if checked.name is None:
        await say(target, tr(checked.problem or f"{kind}.empty", max=max_length), keyboards.cancel_only(tr))
    return checked.name
