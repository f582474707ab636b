"""The webhook endpoint Telegram posts to: aiogram's handler made safe for any request, next to the ops routes."""

from __future__ import annotations

import hmac
import logging
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bot.settings import WEBHOOK_PATH
from service_kit.http import ReadinessCheck, add_ops_routes

log = logging.getLogger(__name__)
# An update is a few KB; a body past this is refused with 413 before it is parsed (aiohttp's default, made explicit).
WEBHOOK_MAX_BODY_BYTES = 1024 * 1024


class WebhookHandler(SimpleRequestHandler):
    """aiogram's webhook handler, made safe for any request: a secret header that is not the secret is a 401
    whatever its bytes (aiogram's ``compare_digest`` on ``str`` raises on non-ASCII), and a body that is not a
    Telegram update is a 400 handled by nobody (aiogram lets the JSON or validation error become a 500).

    Updates are handled in the request: Telegram sees a failure (and retries) only if handling itself fails.
    """

    def __init__(self, dispatcher: Dispatcher, bot: Bot, secret_token: str | None) -> None:
        super().__init__(dispatcher, bot, handle_in_background=False, secret_token=secret_token)

    def verify_secret(self, telegram_secret_token: str, bot: Bot) -> bool:
        if not self.secret_token:
            return True
        # aiohttp decodes header bytes that are not UTF-8 to surrogates: "surrogatepass" encodes any str.
        presented = telegram_secret_token.encode("utf-8", "surrogatepass")
        return hmac.compare_digest(presented, self.secret_token.encode("utf-8"))

    async def _handle_request(self, bot: Bot, request: web.Request) -> web.Response:
        """aiogram's own ``_handle_request`` with the body parsed by ``_update`` first."""
        update = await _update(bot, request)
        result: TelegramMethod[Any] | None = await self.dispatcher.feed_webhook_update(bot, update, **self.data)
        return web.Response(body=self._build_response_writer(bot=bot, result=result))


async def _update(bot: Bot, request: web.Request) -> Update:
    body = await request.read()  # past the app's client_max_size aiohttp answers 413
    try:
        # Telegram sends UTF-8 JSON; a declared charset is ignored (an unknown one would raise LookupError).
        return Update.model_validate(bot.session.json_loads(body.decode("utf-8")), context={"bot": bot})
    except (ValueError, RecursionError) as error:  # bad UTF-8 or JSON, not an Update, or nested too deep
        log.warning("webhook body is not an update", extra={"error": type(error).__name__, "size": len(body)})
        raise web.HTTPBadRequest(text="not a Telegram update") from None


def webhook_app(dispatcher: Dispatcher, bot: Bot, secret: str | None, readiness: ReadinessCheck) -> web.Application:
    """The webhook endpoint next to /healthz, /readyz and /metrics."""
    app = web.Application(client_max_size=WEBHOOK_MAX_BODY_BYTES)
    WebhookHandler(dispatcher, bot, secret).register(app, path=WEBHOOK_PATH)
    add_ops_routes(app, readiness)
    setup_application(app, dispatcher, bot=bot)
    return app
