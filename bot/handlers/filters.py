"""Async filters. aiogram runs synchronous filters (magic ``F`` expressions, bare ``State`` objects) in a
worker thread per check, which cost a third of the bot's time in the benchmark; these run inline.
"""

from __future__ import annotations

from aiogram.filters import Filter
from aiogram.types import Message

from bot.services.library import search_words


class HasText(Filter):
    async def __call__(self, message: Message) -> bool:
        return message.text is not None


class HasFile(Filter):
    """A document or a photo: what the add dialog can store."""

    async def __call__(self, message: Message) -> bool:
        return message.document is not None or bool(message.photo)


class SearchableText(Filter):
    """Text that is not a command and holds something a name could match (a letter or a digit)."""

    async def __call__(self, message: Message) -> bool:
        text = message.text
        return text is not None and not text.startswith("/") and bool(search_words(text))
