"""Every Bot API call goes through here: timed by method, 429 waited out, "not modified" made a no-op."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast

from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter
from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteWebhook,
    EditMessageReplyMarkup,
    EditMessageText,
    GetFile,
    GetMe,
    GetUpdates,
    Response,
    SendDocument,
    SendMessage,
    SendPhoto,
    SetWebhook,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from aiogram.types import Message

from bot.telegram.seen import note_answered, note_shown
from service_kit.metrics import observe_call

if TYPE_CHECKING:
    from aiogram import Bot

log = logging.getLogger(__name__)
NOT_MODIFIED = "message is not modified"
_EDITS = (EditMessageText, EditMessageReplyMarkup)
_METHODS_USED = (
    SendMessage,
    EditMessageText,
    EditMessageReplyMarkup,
    AnswerCallbackQuery,
    SendDocument,
    SendPhoto,
    GetFile,
    GetUpdates,
    SetWebhook,
    DeleteWebhook,
    GetMe,
)
# aiogram parses every answer as ``Response[<return type>]``; pydantic caches parametrized generics weakly,
# so under load the garbage collector drops them and each is rebuilt from the schema (~8 ms per call,
# measured in bench/bot.py). Holding them here keeps that lookup a cache hit.
_response_types: list[type[Any]] = []


def is_not_modified(error: TelegramBadRequest) -> bool:
    return NOT_MODIFIED in error.message


class TelegramCalls(BaseRequestMiddleware):
    """Retry after Telegram's ``retry_after`` (bounded), treat an edit to identical content as done."""

    def __init__(
        self,
        max_attempts: int = 3,
        max_wait_seconds: float = 60.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._max_attempts = max_attempts
        self._max_wait = max_wait_seconds
        self._sleep = sleep

    async def __call__(
        self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot, method: TelegramMethod[TelegramType]
    ) -> Response[TelegramType]:
        for attempt in range(1, self._max_attempts + 1):
            try:
                return await self._timed(make_request, bot, method)
            except TelegramRetryAfter as error:
                if attempt == self._max_attempts or error.retry_after > self._max_wait:
                    raise
                extra = {"method": method.__api_method__, "retry_after": error.retry_after}
                log.warning("telegram asked to wait", extra=extra)
                await self._sleep(error.retry_after)
            except TelegramBadRequest as error:
                if isinstance(method, _EDITS) and is_not_modified(error):
                    # The screen already shows this: a double tap, nothing to do. Edits answer True then.
                    if method.message_id is not None:
                        note_shown(method.message_id)
                    return cast(Response[TelegramType], True)
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    async def _timed(
        make_request: NextRequestMiddlewareType[TelegramType], bot: Bot, method: TelegramMethod[TelegramType]
    ) -> Response[TelegramType]:
        started, outcome = time.perf_counter(), "error"
        try:
            result = await make_request(bot, method)
            outcome = "ok"
            if isinstance(method, AnswerCallbackQuery):
                note_answered(method.callback_query_id)
            elif isinstance(result, Message):  # what the person now sees (DialogScope ties it to an open dialog)
                note_shown(result.message_id)
            return result
        finally:
            observe_call("telegram", method.__api_method__, outcome, started)


def telegram_session(api_url: str, local: bool = False, **kwargs: Any) -> AiohttpSession:
    """An aiohttp session to ``api_url`` (the cloud, a local Bot API server or a fake) with ``TelegramCalls``."""
    if not _response_types:
        _response_types.extend(cast(Any, Response)[method.__returning__] for method in _METHODS_USED)
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_url, is_local=local), **kwargs)
    session.middleware(TelegramCalls())
    return session
