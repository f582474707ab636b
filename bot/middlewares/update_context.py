"""The first middleware of every update: a correlation id, the RPS metrics and the log line.

Order on ``dispatcher.update`` (outer): ``UpdateContext`` -> ``private_chats.PrivateChatsOnly`` -> aiogram's
FSM middleware -> ``user_gate.UserGate``; then ``dialog_scope.DialogScope`` outside the message and button
observers; ``handler_name.HandlerName`` runs inside each event observer, where aiogram knows which handler
matched; ``answer_callbacks.AnswerCallbacks`` inside the button observer (``bot.app.build_dispatcher``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import TelegramObject, Update, User

from bot.dialogs.dialog_storage import GateCell, current_gate
from bot.telegram import seen
from service_kit.correlation import correlation_id_var, new_correlation_id
from service_kit.metrics import REQUEST_SECONDS, REQUESTS_TOTAL

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
            log.info(
                "update handled", extra={"update_id": event.update_id, "handler": endpoint, "status": label.status}
            )
