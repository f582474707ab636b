"""A dialog is one screen's business: leaving its screen ends it, and nothing later applies to an abandoned step.

Without this, a dialog left open kept listening: open document A and tap Rename, then tap document B in a list
further up and get its file, then type "hello", and A was renamed "hello". Now the dialog remembers which
messages belong to it (the ids of every message the bot sent or edited while it was open, in the FSM data), and
an outer middleware of the message and button observers, so no handler can forget it, decides before any
filter runs:

- a button on one of the dialog's messages is the dialog's business (its "Try again" too, so a failed save can
  still be retried);
- a button that only means something inside a dialog (a type, the suggested name, "Try again", Cancel) on any
  other message answers "This button is outdated", and the open dialog goes on;
- any other button on another message (a list, a card, the menu) ends the open dialog first, then is handled
  as if no dialog had been open;
- a command ends the open dialog first.

Text that then reaches no dialog is answered as at the menu (``handlers/fallback.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import Any

from aiogram import BaseMiddleware
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, TelegramObject

from bot.dialogs.dialog_storage import current_gate
from bot.injected import Person
from bot.middlewares.update_context import Handler
from bot.telegram.seen import shown_now
from bot.ui.callbacks import MenuAction, MenuCb, PickTypeCb, RetrySaveCb, SuggestedNameCb

DIALOG_MESSAGES = "dialog_messages"  # key in the FSM data
MAX_DIALOG_MESSAGES = 8  # a dialog's latest screens; older ones of a long dialog expire
# ``data["left_dialog"]``: the state of the dialog this middleware ended before the handler ran (for Cancel).
LEFT_DIALOG = "left_dialog"
_DIALOG_PREFIXES = frozenset(factory.__prefix__ for factory in (PickTypeCb, SuggestedNameCb, RetrySaveCb))
_CANCEL = MenuCb(action=MenuAction.cancel).pack()


class ButtonVerdict(str, Enum):
    handle = "handle"
    leave_then_handle = "leave_then_handle"
    outdated = "outdated"


def is_dialog_button(data: str | None) -> bool:
    """Buttons that mean something only inside the dialog that showed them."""
    if data is None:
        return False
    return data == _CANCEL or data.split(":", 1)[0] in _DIALOG_PREFIXES


def is_command(message: Message) -> bool:
    return (message.text or "").startswith("/")


def dialog_button_verdict(dialog_open: bool, on_dialog_message: bool, dialog_button: bool) -> ButtonVerdict:
    if dialog_open and on_dialog_message:
        return ButtonVerdict.handle
    if dialog_button:
        return ButtonVerdict.outdated
    return ButtonVerdict.leave_then_handle if dialog_open else ButtonVerdict.handle


def tied_messages(already: Sequence[int], shown: Sequence[int]) -> list[int]:
    """The dialog's message ids once ``shown`` are added: no repeats, the latest ``MAX_DIALOG_MESSAGES``."""
    return list(dict.fromkeys([*already, *shown]))[-MAX_DIALOG_MESSAGES:]


def _ids_in(dialog_data: dict[str, Any]) -> list[int]:
    ids = dialog_data.get(DIALOG_MESSAGES)
    return [value for value in ids if isinstance(value, int)] if isinstance(ids, list) else []


class DialogScope(BaseMiddleware):
    """Outer middleware of ``dispatcher.message`` and ``dispatcher.callback_query`` (after the FSM's)."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        state: FSMContext | None = data.get("state")
        if state is None:
            return await handler(event, data)
        if isinstance(event, CallbackQuery):
            refused = await self._before_button(event, state, data)
            if refused is not None:
                return refused
        elif isinstance(event, Message) and data.get("raw_state") is not None and is_command(event):
            await _leave(state, data)
        result = await handler(event, data)
        await self._tie_shown_messages(state, data)
        return result

    @staticmethod
    async def _before_button(query: CallbackQuery, state: FSMContext, data: dict[str, Any]) -> Any:
        raw_state: str | None = data.get("raw_state")
        dialog_button = is_dialog_button(query.data)
        if raw_state is None and not dialog_button:
            return None  # the common case, no Redis call
        members = _ids_in(await state.get_data()) if raw_state is not None else []
        message_id = query.message.message_id if query.message is not None else None
        verdict = dialog_button_verdict(raw_state is not None, message_id in members, dialog_button)
        if verdict is ButtonVerdict.outdated:
            data["handler_label"].name = "dialogs.outdated"
            person: Person = data["person"]
            return query.answer(person.tr.plain("stale.button"), show_alert=True)
        if verdict is ButtonVerdict.leave_then_handle:
            await _leave(state, data)
        return None

    @staticmethod
    async def _tie_shown_messages(state: FSMContext, data: dict[str, Any]) -> None:
        shown = shown_now()
        if not shown or not await _dialog_open_now(state, data):
            return
        current = await state.get_data()
        already = _ids_in(current)
        tied = tied_messages(already, shown)
        if tied != already:  # an edit of a screen the dialog holds already changes nothing stored
            await state.set_data({**current, DIALOG_MESSAGES: tied})


async def _leave(state: FSMContext, data: dict[str, Any]) -> None:
    data[LEFT_DIALOG] = data.get("raw_state")
    await state.clear()
    data["raw_state"] = None


async def _dialog_open_now(state: FSMContext, data: dict[str, Any]) -> bool:
    """Whether the update leaves a dialog open: what it wrote last, else what it found (no Redis call)."""
    cell = current_gate.get()
    if cell is not None and cell.state_written:
        return cell.state_now is not None
    if cell is not None:
        return data.get("raw_state") is not None
    return await state.get_state() is not None
