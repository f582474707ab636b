"""Failures a handler did not handle itself: a friendly reply, never a stack trace; the dialog state is kept."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.types import ErrorEvent
from redis.exceptions import RedisError

from bot.clients.api_client import ApiBusy, ApiNotFound, ApiNotYetApplied, ApiUnavailable
from bot.injected import Services
from bot.middlewares.private_chats import Verdict, chat_verdict
from bot.services.limits import EventBudgetSpent
from bot.telegram.seen import was_answered
from bot.ui import keyboards
from bot.ui.i18n import Texts, pick_language
from service_kit.eventlog import EventLogUnavailable

log = logging.getLogger(__name__)

_MESSAGE_KEYS: tuple[tuple[type[Exception], str], ...] = (
    (ApiBusy, "error.overloaded"),  # before its base class: overload is not an outage
    (ApiUnavailable, "error.api_down"),
    (ApiNotYetApplied, "error.not_applied"),
    (ApiNotFound, "card.gone"),
    (EventLogUnavailable, "error.stream_down"),
    (EventBudgetSpent, "budget.spent"),
    (RedisError, "error.busy"),  # dialog state and flood control unreachable: nothing was done
)


def message_key(error: Exception) -> str:
    """The locale key that explains ``error`` to the person."""
    for kind, key in _MESSAGE_KEYS:
        if isinstance(error, kind):
            return key
    return "error.generic"


def error_values(error: Exception) -> dict[str, object]:
    """What the message of ``error`` interpolates."""
    if isinstance(error, EventBudgetSpent):
        return {"minutes": error.minutes_left}
    return {}


async def on_error(event: ErrorEvent, bot: Bot, services: Services, raw_state: str | None = None) -> None:
    """``raw_state``: the dialog open when the handler failed (kept: Cancel is offered), if it was read."""
    key, values = message_key(event.exception), error_values(event.exception)
    if key == "error.generic":
        log.error("handler failed", exc_info=event.exception)
    else:
        log.warning("handler failed: %s", key, extra={"error": repr(event.exception)})
    update = event.update
    source = update.message or update.callback_query or update.edited_message
    if source is None or source.from_user is None or chat_verdict(update) is not Verdict.serve:
        return  # nobody to tell, or not in the person's private chat (nothing is said in groups)
    person = source.from_user
    tr = Texts(pick_language(await services.people.stored_language(person.id), person.language_code))
    query = update.callback_query
    if query is not None and not was_answered(query.id):
        await query.answer(tr.plain(key, **values), show_alert=True)
    else:
        await bot.send_message(person.id, tr(key, **values), reply_markup=keyboards.way_on(tr, raw_state))


def router() -> Router:
    r = Router(name="errors")
    r.errors.register(on_error)
    return r
