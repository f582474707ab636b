"""Which handler matched, for the metrics and the log line of ``UpdateContext``."""

from __future__ import annotations

from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.event.handler import HandlerObject
from aiogram.types import TelegramObject

from bot.middlewares.update_context import Handler, HandlerLabel


class HandlerName(BaseMiddleware):
    """Record which handler matched (inner middleware: runs after the filters)."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        matched: HandlerObject | None = data.get("handler")
        label: HandlerLabel | None = data.get("handler_label")
        if matched is not None and label is not None:
            callback = matched.callback
            label.name = f"{callback.__module__.rsplit('.', 1)[-1]}.{callback.__name__}"
        return await handler(event, data)
