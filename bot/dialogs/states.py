"""FSM states of the dialogs (stored in Redis per user and chat, so a restart does not lose them)."""

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup


class AddDocument(StatesGroup):
    choosing_type = State()
    entering_name = State()
    waiting_file = State()


class RenameDocument(StatesGroup):
    entering_name = State()


class MoveDocument(StatesGroup):
    entering_type = State()


class RenameType(StatesGroup):
    entering_title = State()


class AddPage(StatesGroup):
    waiting_page = State()


class SetValidUntil(StatesGroup):
    entering_date = State()


class SearchDocuments(StatesGroup):
    entering_query = State()


class ForgetMe(StatesGroup):
    typing_confirmation = State()


async def leave_dialog(state: FSMContext, raw_state: str | None) -> None:
    """End any open dialog. ``raw_state`` is what the FSM middleware already read: no Redis call when idle."""
    if raw_state is not None:
        await state.clear()
