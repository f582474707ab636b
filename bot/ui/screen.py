"""Answering an update where the person is looking: edit the message a button sits on, else send a new one."""

from __future__ import annotations

from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message


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
