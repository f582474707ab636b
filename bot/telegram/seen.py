"""What the person was shown while the current update is handled: the buttons answered and the messages sent
or edited. The Telegram session notes them as calls succeed; the middlewares read them (``DialogScope`` ties the
messages to an open dialog, ``AnswerCallbacks`` and the error handler answer a button only once).

It lives on the Telegram side, below the middlewares, so the session never reaches into them.
"""

from __future__ import annotations

from contextvars import ContextVar

# Callback queries answered while handling the current update.
answered_callbacks: ContextVar[set[str] | None] = ContextVar("answered_callbacks", default=None)
# Ids of the messages the bot sent or edited while handling the current update.
shown_messages: ContextVar[list[int] | None] = ContextVar("shown_messages", default=None)


def start_update() -> None:
    """Begin noting for a new update (``UpdateContext`` calls it first)."""
    answered_callbacks.set(set())
    shown_messages.set([])


def note_answered(callback_query_id: str) -> None:
    answered = answered_callbacks.get()
    if answered is not None:
        answered.add(callback_query_id)


def note_shown(message_id: int) -> None:
    shown = shown_messages.get()
    if shown is not None and message_id not in shown:
        shown.append(message_id)


def was_answered(callback_query_id: str) -> bool:
    return callback_query_id in (answered_callbacks.get() or set())


def shown_now() -> list[int]:
    return list(shown_messages.get() or [])
