"""Running the bot: polling or webhook (aiohttp, secret token checked), ops routes, graceful shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator

from aiogram import Bot, Dispatcher
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web
from redis.asyncio import Redis

from service_kit.eventlog import EventPublisher
from service_kit.http import add_ops_routes, start_ops_server

from bot.api_client import ApiClient
from bot.app import Dependencies, build_bot, build_dispatcher, fsm_storage
from bot.settings import WEBHOOK_PATH, BotConfig, BotSettings
from bot.state_store import UserStore

log = logging.getLogger(__name__)
SHUTDOWN_GRACE_SECONDS = 20.0


class Runtime:
    """The process's clients and the ready dispatcher; ``close()`` releases them in reverse order."""

    def __init__(self, settings: BotSettings) -> None:
        self.settings = settings
        self.redis = Redis.from_url(settings.redis_url)
        self.api = ApiClient(settings.api_base_url, settings.api_service_token.get_secret_value(),
                             settings.api_timeout_seconds)
        self.publisher = EventPublisher(settings.rabbitmq, name="docvault-bot")
        store = UserStore(self.redis, settings.redis_prefix, settings.flood_window_seconds)
        deps = Dependencies(self.api, self.publisher, store, BotConfig.from_settings(settings), settings.flood_limit)
        storage = fsm_storage(self.redis, store, settings.redis_prefix, settings.fsm_ttl_seconds)
        self.dispatcher = build_dispatcher(storage, deps)
        self.bot = build_bot(settings)

    async def readiness(self) -> dict[str, bool]:
        try:
            redis_ok = bool(await self.redis.ping())
        except Exception:
            redis_ok = False
        return {"redis": redis_ok, "api": await self.api.healthy()}

    async def close(self) -> None:
        for close in (self.bot.session.close, self.publisher.close, self.api.close, self.redis.aclose):
            try:
                await close()
            except Exception:  # keep closing the rest; the process is ending anyway
                log.warning("closing %s failed", close, exc_info=True)


@contextlib.asynccontextmanager
async def runtime(settings: BotSettings) -> AsyncIterator[Runtime]:
    rt = Runtime(settings)
    try:
        yield rt
    finally:
        await rt.close()


async def run_polling(rt: Runtime) -> None:
    ops = await start_ops_server(rt.settings.http_host, rt.settings.http_port, rt.readiness)
    try:
        await rt.bot.delete_webhook(drop_pending_updates=False)
        # start_polling stops on SIGINT/SIGTERM after the updates in hand are handled.
        await rt.dispatcher.start_polling(rt.bot, allowed_updates=rt.dispatcher.resolve_used_update_types(),
                                          close_bot_session=False)
    finally:
        await ops.cleanup()


def webhook_app(rt: Runtime, dispatcher: Dispatcher, bot: Bot) -> web.Application:
    """The webhook endpoint (secret token checked by aiogram) next to /healthz, /readyz and /metrics."""
    app = web.Application()
    secret = rt.settings.webhook_secret.get_secret_value() if rt.settings.webhook_secret else None
    # Handled in the request: Telegram sees a failure (and retries) only if the process itself fails.
    SimpleRequestHandler(dispatcher, bot, handle_in_background=False, secret_token=secret).register(
        app, path=WEBHOOK_PATH)
    add_ops_routes(app, rt.readiness)
    setup_application(app, dispatcher, bot=bot)
    return app


async def run_webhook(rt: Runtime) -> None:
    settings = rt.settings
    runner = web.AppRunner(webhook_app(rt, rt.dispatcher, rt.bot), access_log=None,
                           shutdown_timeout=SHUTDOWN_GRACE_SECONDS)
    await runner.setup()
    await web.TCPSite(runner, settings.http_host, settings.http_port).start()
    await rt.bot.set_webhook(
        settings.webhook_url,
        secret_token=settings.webhook_secret.get_secret_value() if settings.webhook_secret else None,
        max_connections=settings.webhook_max_connections,
        allowed_updates=rt.dispatcher.resolve_used_update_types(),
    )
    log.info("webhook set", extra={"url": settings.webhook_url})
    try:
        await _until_signal()
    finally:
        # Stops accepting requests and lets the ones in flight finish (up to the grace period).
        await runner.cleanup()


async def _until_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("stopping")
