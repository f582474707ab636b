"""The bot serves a person in their private chat with it, and nowhere else.

Everything the bot shows is personal (lists of documents, the files themselves), and a button carries only a
slug or a document reference: rendered in a group, one member's list would be shown to all and another member's
tap would render their own list into the shared message. So, before any dialog state is read or any handler
runs (an outer middleware of the dispatcher, so no handler can forget it):

- an update from a person's private chat (the chat's id is the person's id) is served;
- a message in a group, supergroup or channel gets one short explanation per chat (remembered in Redis), then
  nothing: no list, no file, no event;
- a button pressed anywhere else (a message in another chat, a forwarded button, an inline message with no
  chat) gets a polite alert and nothing else;
- any other update outside a private chat (members joining, reactions, ...) is dropped.
"""

from __future__ import annotations

import logging
from enum import Enum
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.dispatcher.middlewares.user_context import UserContextMiddleware
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Chat, TelegramObject, Update, User

from bot.clients.person_store import UserStore
from bot.middlewares.update_context import Handler
from bot.ui.i18n import Texts, pick_language

log = logging.getLogger(__name__)
SHARED_CHATS = frozenset({ChatType.GROUP, ChatType.SUPERGROUP, ChatType.CHANNEL})


class Verdict(str, Enum):
    serve = "serve"
    explain = "explain"  # a message in a shared chat: explain once per chat
    refuse_button = "refuse_button"  # a button outside its person's private chat: an alert
    ignore = "ignore"


def _is_own_private_chat(chat: Chat | None, user: User | None) -> bool:
    return chat is not None and user is not None and chat.type == ChatType.PRIVATE and chat.id == user.id


def button_verdict(query: CallbackQuery) -> Verdict:
    """A button is honoured only in the private chat of the person who presses it (where it was shown to them)."""
    message = query.message  # None for a button of an inline message: no chat to check
    if message is not None and _is_own_private_chat(message.chat, query.from_user):
        return Verdict.serve
    return Verdict.refuse_button


def chat_verdict(update: Update) -> Verdict:
    if update.callback_query is not None:
        return button_verdict(update.callback_query)
    context = UserContextMiddleware.resolve_event_context(update)
    if _is_own_private_chat(context.chat, context.user):
        return Verdict.serve
    posted = update.message or update.edited_message or update.channel_post or update.edited_channel_post
    if posted is not None and posted.chat.type in SHARED_CHATS:
        return Verdict.explain
    return Verdict.ignore


class PrivateChatsOnly(BaseMiddleware):
    """Outer middleware of ``dispatcher.update``, after ``UpdateContext`` and before the FSM."""

    def __init__(self, store: UserStore) -> None:
        self._store = store

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        verdict = chat_verdict(event)
        if verdict is Verdict.serve:
            return await handler(event, data)
        label = data["handler_label"]
        label.name, label.status = f"private_chats.{verdict.value}", "refused"
        if verdict is Verdict.refuse_button:
            query = event.callback_query
            assert query is not None
            tr = await self._texts(query.from_user)
            return query.answer(tr.plain("private.button"), show_alert=True)
        if verdict is Verdict.explain:
            await self._explain_once(data["bot"], event, data.get("event_from_user"))
        return None

    async def _texts(self, person: User | None) -> Texts:
        """The person's language (their choice, else Telegram's); English for a channel post (no person)."""
        stored = await self._store.language(person.id) if person is not None else None
        return Texts(pick_language(stored, person.language_code if person else None))

    async def _explain_once(self, bot: Bot, update: Update, person: User | None) -> None:
        posted = update.message or update.edited_message or update.channel_post or update.edited_channel_post
        assert posted is not None
        if not await self._store.first_notice(posted.chat.id):
            return
        tr = await self._texts(person)
        try:
            await bot.send_message(posted.chat.id, tr("private.group"))
        except TelegramAPIError as error:  # a channel the bot may not post in, a group it was removed from
            log.info("group notice not sent", extra={"chat_id": posted.chat.id, "error": type(error).__name__})
