"""Every button press is answered once: in the webhook response when possible."""

from __future__ import annotations

from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, TelegramObject

from bot.middlewares.update_context import Handler
from bot.telegram import seen


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
