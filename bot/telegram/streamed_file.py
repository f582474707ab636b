"""An upload to Telegram streamed from the API, without holding the whole file."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiogram import Bot
from aiogram.types import InputFile


class StreamedFile(InputFile):
    """Bytes streamed from an API endpoint to Telegram: the first chunk (read before, so that API errors surface
    before Telegram is involved) and the rest as it arrives."""

    def __init__(self, first: bytes, rest: AsyncIterator[bytes], filename: str) -> None:
        super().__init__(filename=filename)
        self._first = first
        self._rest = rest

    async def read(self, bot: Bot) -> AsyncIterator[bytes]:  # type: ignore[override]
        yield self._first
        async for chunk in self._rest:
            yield chunk
