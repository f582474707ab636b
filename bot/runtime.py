"""Running the bot: polling or webhook (aiohttp, secret token checked), ops routes, graceful shutdown.

Start-up asks Telegram who the bot is (``getMe``) and, in webhook mode, registers the webhook (uploading the
self-signed certificate when the address is a bare IP). The bot is *ready* (``/readyz``, the compose
healthcheck) only once both succeeded; a token Telegram refuses or a webhook it rejects stops the process
with one line (``StartupRefused``), anything else is retried with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from functools import partial

from aiogram.fsm.storage.base import BaseEventIsolation, DefaultKeyBuilder
from aiogram.fsm.storage.redis import RedisEventIsolation
from aiogram.types import BufferedInputFile, InputFile
from aiohttp import web
from redis.asyncio import Redis

from bot.app import Dependencies, build_bot, build_dispatcher, fsm_storage
from bot.clients.api_client import ApiClient
from bot.clients.person_store import UserStore, redis_client
from bot.injected import Services
from bot.middlewares.person_locks import PersonLocks
from bot.services.expiry import local_day
from bot.services.reminders import ReminderSender, run_reminders
from bot.settings import BotConfig, BotSettings
from bot.telegram.startup import until_telegram_answers
from bot.telegram.webhook import webhook_app
from bot.ui import keyboards
from bot.ui.commands import bot_commands
from bot.ui.i18n import Language, Texts, pick_language
from bot.ui.presentation import reminder_text
from contracts.api_schemas import DueReminder
from service_kit.eventlog import EventPublisher
from service_kit.http import start_ops_server

log = logging.getLogger(__name__)
# docker-compose.yml gives the bot a longer stop_grace_period than this (tests/infra checks it).
SHUTDOWN_GRACE_SECONDS = 20.0
# (Telegram's language_code, the locale): None is the default list, shown to every other language.
COMMAND_LANGUAGES: tuple[tuple[str | None, Language], ...] = ((None, "en"), ("ru", "ru"))


class Runtime:
    """The process's clients and the ready dispatcher; ``close()`` releases them in reverse order."""

    def __init__(self, settings: BotSettings) -> None:
        self.settings = settings
        self.redis = redis_client(settings.redis_connection_url)
        self.api = ApiClient(
            settings.api_base_url, settings.api_service_token.get_secret_value(), settings.api_timeout_seconds
        )
        self.publisher = EventPublisher(settings.rabbitmq, name="docvault-bot")
        store = UserStore(self.redis, settings.redis_prefix, settings.flood_window_seconds)
        deps = Dependencies(self.api, self.publisher, store, BotConfig.from_settings(settings), settings.flood_limit)
        storage = fsm_storage(self.redis, store, settings.redis_prefix, settings.fsm_ttl_seconds)
        self.dispatcher = build_dispatcher(storage, deps, events_isolation=event_isolation(settings, self.redis))
        self.services: Services = self.dispatcher["services"]
        self.bot = build_bot(settings)
        self.reminders = ReminderSender(
            self.api, self.publisher, store, self.send_reminder, settings.reminder_days_before
        )
        # Set once Telegram accepted the token (getMe) and, in webhook mode, the webhook.
        self.telegram_ready = False

    async def send_reminder(self, reminder: DueReminder) -> None:
        """One reminder in its person's language, with a button to the document's card (a private chat's id is
        the person's)."""
        tr = Texts(pick_language(reminder.language, None))
        text = reminder_text(
            tr, reminder.name, reminder.type_title, reminder.valid_until, local_day(self.settings.bot_time_zone)
        )
        await self.bot.send_message(reminder.owner_id, text, reply_markup=keyboards.reminder(tr, reminder.document_id))

    async def readiness(self) -> dict[str, bool]:
        try:
            redis_ok = bool(await self.redis.ping())
        except Exception:
            redis_ok = False
        return {"telegram": self.telegram_ready, "redis": redis_ok, "api": await self.api.healthy()}

    async def close(self) -> None:
        """Albums first (a waiting one is told through Telegram and reads Redis), then the clients."""
        closes = (self.services.albums.close, self.bot.session.close, self.publisher.close, self.api.close)
        for close in (*closes, self.redis.aclose):
            try:
                await close()
            except Exception:  # keep closing the rest; the process is ending anyway
                log.warning("closing %s failed", close, exc_info=True)


def event_isolation(settings: BotSettings, redis: Redis) -> BaseEventIsolation:
    """How updates of one person are kept from running at once: in this process, or across replicas."""
    if settings.event_isolation == "redis":
        return RedisEventIsolation(redis, key_builder=DefaultKeyBuilder(prefix=f"{settings.redis_prefix}:fsm"))
    return PersonLocks()


async def introduce(rt: Runtime) -> None:
    """getMe: the token works; logs who the bot is (its id and username are not personal data)."""
    me = await until_telegram_answers(rt.bot.get_me, "getMe")
    log.info("telegram accepted the token", extra={"bot_id": me.id, "username": me.username})
    await publish_commands(rt)


async def publish_commands(rt: Runtime) -> None:
    """setMyCommands in English (the default for every interface language) and in Russian, so Telegram's menu
    button lists the commands in the person's language."""
    for language_code, language in COMMAND_LANGUAGES:
        commands = bot_commands(Texts(language))
        await until_telegram_answers(
            partial(rt.bot.set_my_commands, commands, language_code=language_code), "setMyCommands"
        )


def webhook_certificate(settings: BotSettings) -> InputFile | None:
    """The self-signed certificate Telegram must trust, uploaded only for a bare-IP webhook."""
    path = settings.webhook_certificate_path
    if settings.webhook.certificate != "upload-self-signed" or path is None or not path.is_file():
        return None
    return BufferedInputFile(path.read_bytes(), filename="docvault-webhook.pem")


@contextlib.asynccontextmanager
async def runtime(settings: BotSettings) -> AsyncIterator[Runtime]:
    rt = Runtime(settings)
    try:
        async with reminders_running(rt):
            yield rt
    finally:
        await rt.close()


@contextlib.asynccontextmanager
async def reminders_running(rt: Runtime) -> AsyncIterator[None]:
    """The reminder sender beside the updates, in both modes (REMINDERS_ENABLED); stopped before the clients
    close. Every replica runs it: the Redis claim lets one of them send each reminder."""
    settings = rt.settings
    if not settings.reminders_enabled:
        yield
        return
    task = asyncio.create_task(
        run_reminders(rt.reminders, settings.bot_time_zone, settings.reminder_hour, settings.reminder_check_seconds)
    )
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def run_polling(rt: Runtime) -> None:
    ops = await start_ops_server(rt.settings.http_host, rt.settings.http_port, rt.readiness)
    try:
        await introduce(rt)
        await until_telegram_answers(lambda: rt.bot.delete_webhook(drop_pending_updates=False), "deleteWebhook")
        rt.telegram_ready = True
        # start_polling stops on SIGINT/SIGTERM after the updates in hand are handled.
        await rt.dispatcher.start_polling(
            rt.bot, allowed_updates=rt.dispatcher.resolve_used_update_types(), close_bot_session=False
        )
    finally:
        await ops.cleanup()


def webhook_secret(settings: BotSettings) -> str | None:
    return settings.webhook_secret.get_secret_value() if settings.webhook_secret else None


async def run_webhook(rt: Runtime) -> None:
    settings = rt.settings
    app = webhook_app(rt.dispatcher, rt.bot, webhook_secret(settings), rt.readiness)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_GRACE_SECONDS)
    await runner.setup()
    await web.TCPSite(runner, settings.http_host, settings.http_port).start()
    try:
        await register_webhook(rt)
        await _until_signal()
    finally:
        # Stops accepting requests and lets the ones in flight finish (up to the grace period).
        await runner.cleanup()


async def register_webhook(rt: Runtime) -> None:
    """getMe, then setWebhook (with the certificate for a bare IP); the bot is ready afterwards."""
    settings = rt.settings
    await introduce(rt)
    target = settings.webhook
    await until_telegram_answers(
        lambda: rt.bot.set_webhook(
            target.url,
            certificate=webhook_certificate(settings),
            secret_token=webhook_secret(settings),
            max_connections=settings.webhook_max_connections,
            allowed_updates=rt.dispatcher.resolve_used_update_types(),
        ),
        "WEBHOOK_BASE_URL",
    )
    rt.telegram_ready = True
    log.info("webhook set", extra={"url": target.url, "mode": target.describe()})


async def _until_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("stopping")
