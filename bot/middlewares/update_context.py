"""Update middlewares: correlation id and RPS metrics, flood control and language, handler names.

Order on ``dispatcher.update`` (outer): ``UpdateContext`` -> ``bot.private_chats.PrivateChatsOnly`` -> aiogram's
FSM middleware -> ``UserGate``; then ``bot.dialogs.DialogScope`` outside the message and button observers;
``HandlerName`` runs inside each event observer, where aiogram knows which handler matched.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.dispatcher.event.handler import HandlerObject
from aiogram.types import CallbackQuery, TelegramObject, Update, User

from service_kit.correlation import correlation_id_var, new_correlation_id
from service_kit.metrics import REQUEST_SECONDS, REQUESTS_TOTAL

from bot.telegram import seen
from bot.dialogs.dialog_storage import GateCell, current_gate
from bot.ui.i18n import Texts, pick_language
from bot.clients.person_store import FloodVerdict, UserContext, UserStore, flood_verdict

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
log = logging.getLogger(__name__)


@dataclass
class HandlerLabel:
    """Filled in by ``HandlerName`` so the outer middleware can label metrics with the handler that ran."""

    name: str = "unhandled"
    status: str = "ok"


class UpdateContext(BaseMiddleware):
    """A correlation id per update (logged, sent to the API, stored in events) and the RPS metrics."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        correlation_id_var.set(new_correlation_id())
        seen.start_update()
        user: User | None = data.get("event_from_user")
        current_gate.set(GateCell(user.id, event.update_id) if user is not None else None)
        label = HandlerLabel()
        data["handler_label"] = label
        started = time.perf_counter()
        try:
            result = await handler(event, data)
            if result is UNHANDLED and label.status == "ok":
                label.status = "unhandled"
            return result
        except Exception:
            label.status = "error"
            raise
        finally:
            endpoint = f"{event.event_type}:{label.name}"
            REQUESTS_TOTAL.labels("bot", endpoint, label.status).inc()
            REQUEST_SECONDS.labels("bot", endpoint).observe(time.perf_counter() - started)
            log.info("update handled", extra={"update_id": event.update_id, "handler": endpoint,
                                              "status": label.status})


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
        if user is None or user.is_bot:
            data["tr"] = Texts(pick_language(None, None))
            data["after_event"] = None
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

    async def _admit(self, handler: Handler, event: TelegramObject, data: dict[str, Any], user: User,
                     context: UserContext) -> Any:
        tr = Texts(pick_language(context.language, user.language_code))
        verdict = flood_verdict(context.updates_in_window, self._limit)
        if verdict is not FloodVerdict.allow:
            data["handler_label"].status = "throttled"
            if verdict is FloodVerdict.warn:
                bot: Bot = data["bot"]
                await bot.send_message(user.id, tr("flood.warn"))
            return None
        data.update(tr=tr, owner_id=user.id, after_event=context.last_event_id)
        return await handler(event, data)


class HandlerName(BaseMiddleware):
    """Record which handler matched (inner middleware: runs after the filters)."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        matched: HandlerObject | None = data.get("handler")
        label: HandlerLabel | None = data.get("handler_label")
        if matched is not None and label is not None:
            callback = matched.callback
            label.name = f"{callback.__module__.rsplit('.', 1)[-1]}.{callback.__name__}"
        return await handler(event, data)


class AnswerCallbacks(BaseMiddleware):
    """Stop the button's spinner after a handler that did not answer the query itself.

    The answer is returned rather than sent: aiogram puts it in the webhook response (one HTTP call less per
    button press) or, when polling, sends it right after the handler. Nothing is answered when the handler
    failed: the error handler answers with an explanation instead (a query can be answered only once).
    """

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        result = await handler(event, data)
        if result is None and isinstance(event, CallbackQuery) and not seen.was_answered(event.id):
            return event.answer()
        return result
