"""Wiring: the dispatcher with its routers, middlewares and dependencies; the Bot with its session."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage, DefaultKeyBuilder
from aiogram.fsm.storage.redis import RedisStorage
from redis.asyncio import Redis

from bot.clients.api_client import DocumentsApi
from bot.clients.person_store import UserStore
from bot.dialogs.dialog_storage import GatedRedisStorage
from bot.handlers import all_routers
from bot.injected import Services
from bot.middlewares.answer_callbacks import AnswerCallbacks
from bot.middlewares.dialog_scope import DialogScope
from bot.middlewares.handler_name import HandlerName
from bot.middlewares.person_locks import PersonLocks
from bot.middlewares.private_chats import PrivateChatsOnly
from bot.middlewares.update_context import UpdateContext
from bot.middlewares.user_gate import UserGate
from bot.services.event_recorder import EventAppender
from bot.settings import BotConfig, BotSettings
from bot.telegram.session import telegram_session


@dataclass(frozen=True)
class Dependencies:
    """What the dispatcher is built from (``bot.runtime``, the tests): the clients and the settings. The handlers
    see them through ``bot.injected.Services``."""

    api: DocumentsApi
    events: EventAppender
    store: UserStore
    config: BotConfig
    flood_limit: int


def fsm_storage(redis: Redis, users: UserStore, prefix: str, ttl_seconds: int) -> RedisStorage:
    """FSM state per user and chat in Redis; it expires after ``ttl_seconds`` without activity."""
    return GatedRedisStorage(
        redis, users, key_builder=DefaultKeyBuilder(prefix=f"{prefix}:fsm"), state_ttl=ttl_seconds, data_ttl=ttl_seconds
    )


def build_dispatcher(
    storage: BaseStorage, deps: Dependencies, events_isolation: BaseEventIsolation | None = None
) -> Dispatcher:
    # Updates of one person are handled one at a time inside this process, so dialog steps cannot interleave
    # (PersonLocks: a lock per person while they have an update in hand, not for everyone ever seen); several
    # replicas behind one webhook pass a Redis isolation instead (bot.runtime.event_isolation).
    # disable_fsm only keeps aiogram from registering its FSM middleware first: it is registered below, after
    # UpdateContext, which opens the cell the first state read fills (bot.dialogs.dialog_storage), and after
    # PrivateChatsOnly, so nothing of a group or a foreign button reaches the dialog state.
    services = Services.build(deps.api, deps.events, deps.store, deps.config)
    dispatcher = Dispatcher(
        storage=storage,
        events_isolation=events_isolation or PersonLocks(),
        disable_fsm=True,
        name="docvault",
        services=services,
    )
    dispatcher.update.outer_middleware(UpdateContext())
    dispatcher.update.outer_middleware(PrivateChatsOnly(deps.store))
    dispatcher.update.outer_middleware(dispatcher.fsm)
    dispatcher.update.outer_middleware(UserGate(deps.store, deps.flood_limit))
    for observer in (dispatcher.message, dispatcher.callback_query):
        observer.outer_middleware(DialogScope())
    for observer in (dispatcher.message, dispatcher.edited_message, dispatcher.callback_query):
        observer.middleware(HandlerName())
    dispatcher.callback_query.middleware(AnswerCallbacks())
    dispatcher.include_routers(*all_routers())
    return dispatcher


def build_bot(settings: BotSettings) -> Bot:
    session = telegram_session(settings.telegram_api_url, local=settings.telegram_api_local)
    # HTML parse mode: every interpolated value is escaped by bot.ui.i18n.Texts.
    defaults = DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True)
    return Bot(settings.bot_token.get_secret_value(), session=session, default=defaults)
