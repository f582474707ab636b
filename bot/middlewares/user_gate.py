"""The person behind an update: each update handled once, flood control, their language and last write."""

from __future__ import annotations

from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.types import TelegramObject, Update, User

from bot.clients.person_store import UserContext, UserStore
from bot.dialogs.dialog_storage import current_gate
from bot.injected import Person
from bot.middlewares.update_context import Handler
from bot.services.limits import FloodVerdict, flood_verdict
from bot.ui import keyboards
from bot.ui.i18n import Texts, pick_language


class UserGate(BaseMiddleware):
    """Flood control per person (a fixed window in Redis), the person's language and last write, and
    each update handled once.

    The first update over the limit gets one warning; later ones are dropped until the window passes.
    A delivery of an update that an earlier delivery claimed (Telegram retries when it saw no answer in
    time) is dropped. The claim is taken when handling starts (in the state read, inside the per-person
    lock): handling an update twice could apply it to the dialog step it had already moved to (a type
    taken for the name), while an update cut short by a crash is only lost, and the person sends it again.
    """

    def __init__(self, store: UserStore, limit: int) -> None:
        self._store = store
        self._limit = limit

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None or user.is_bot:  # nobody to act for (private_chats already keeps such updates out)
            return await handler(event, data)
        assert isinstance(event, Update)  # an outer middleware of the update observer
        cell = current_gate.get()
        context = cell.context if cell is not None else None
        if context is None:  # no dialog state was read for this update (no chat): ask Redis directly
            context, _ = await self._store.enter(user.id, event.update_id)
        if context.already_handled:
            data["handler_label"].status = "replayed"
            return None
        return await self._admit(handler, event, data, user, context)

    async def _admit(
        self, handler: Handler, event: TelegramObject, data: dict[str, Any], user: User, context: UserContext
    ) -> Any:
        tr = Texts(pick_language(context.language, user.language_code))
        verdict = flood_verdict(context.updates_in_window, self._limit)
        if verdict is not FloodVerdict.allow:
            data["handler_label"].status = "throttled"
            if verdict is FloodVerdict.warn:
                bot: Bot = data["bot"]
                markup = keyboards.way_on(tr, data.get("raw_state"))
                await bot.send_message(user.id, tr("flood.warn"), reply_markup=markup)
            return None
        data["person"] = Person(user.id, tr, context.last_event_id)
        return await handler(event, data)
