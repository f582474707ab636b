"""/forget: what it erases, a word to type to confirm, then everything the person stored is erased for good."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from bot.dialogs.states import ForgetMe
from bot.handlers.filters import HasText
from bot.injected import Person, Services
from bot.services.forgetting import confirms
from bot.ui import keyboards


async def explain(message: Message, state: FSMContext, person: Person) -> None:
    await state.set_state(ForgetMe.typing_confirmation)
    tr = person.tr
    await message.answer(tr("forget.explain", word=tr.plain("forget.word")), reply_markup=keyboards.cancel_only(tr))


async def typed(message: Message, state: FSMContext, services: Services, person: Person) -> None:
    tr = person.tr
    if not confirms(message.text or "", tr.plain("forget.word")):
        await state.clear()
        await message.answer(tr("forget.not_confirmed"), reply_markup=keyboards.main_menu(tr))
        return
    # A failed append (stream down, budget spent) is explained by handlers/errors.py; the dialog stays open, so typing
    # the word again tries again, and nothing was erased.
    await services.forgetting.forget(person.owner_id)
    await state.clear()
    await message.answer(tr("forget.done"), reply_markup=keyboards.back_to_menu(tr))


def router() -> Router:
    r = Router(name="forget")
    r.message.register(explain, Command("forget"))
    r.message.register(typed, StateFilter(ForgetMe.typing_confirmation), HasText())
    return r
