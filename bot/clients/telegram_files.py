"""Fetching a file a person sent from the Bot API server, as a stream of chunks.

Timed once each under ``docvault_integration_call_seconds{target="telegram"}``: ``getFile`` by the Bot API
session (``bot.telegram.session``, as every method), the download of the bytes here as ``download_file``, from
the first request to the last chunk (the upload that consumes the chunks is timed apart, as ``api/upload_file``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiohttp import ClientError

from service_kit.metrics import CallOutcome, observe_call

CHUNK_BYTES = 256 * 1024
DOWNLOAD_OPERATION = "download_file"


class FileTooBig(Exception):
    """The Bot API server will not hand this file out (over its download limit)."""


class TelegramDownloadFailed(Exception):
    """The file could not be fetched from the Bot API server; the person can send it again."""


async def resolve_file_path(bot: Bot, file_id: str) -> str:
    """``getFile``: where the server keeps the file. Telegram refuses it with "file is too big" past its limit.
    Not timed here: the session times every Bot API method."""
    try:
        file = await bot.get_file(file_id)
    except TelegramBadRequest as error:
        if "too big" in error.message:
            raise FileTooBig(error.message) from error
        raise TelegramDownloadFailed(error.message) from error
    if not file.file_path:
        raise TelegramDownloadFailed("getFile returned no file_path")
    return file.file_path


async def file_chunks(bot: Bot, file_path: str, limit: int, local: bool) -> AsyncIterator[bytes]:
    """The file's bytes; stops with ``FileTooBig`` once more than ``limit`` bytes arrived.

    Timed by hand as ``telegram/download_file`` (a decorator cannot see a generator's end): ``ok`` once the last
    chunk arrived, ``error`` when it failed, was cut at the limit or was abandoned by its consumer.
    """
    started, outcome = time.perf_counter(), CallOutcome.error
    received = 0
    source = _local_chunks(Path(file_path)) if local else _remote_chunks(bot, file_path)
    try:
        async for chunk in source:
            received += len(chunk)
            if received > limit:
                raise FileTooBig(f"more than {limit} bytes")
            yield chunk
        outcome = CallOutcome.ok
    finally:
        observe_call("telegram", DOWNLOAD_OPERATION, outcome, started)


async def _remote_chunks(bot: Bot, file_path: str) -> AsyncIterator[bytes]:
    url = bot.session.api.file_url(bot.token, file_path)
    try:
        async for chunk in bot.session.stream_content(url, timeout=120, chunk_size=CHUNK_BYTES):
            yield chunk
    except (ClientError, asyncio.TimeoutError) as error:
        raise TelegramDownloadFailed(f"{type(error).__name__}: {error}") from error


async def _local_chunks(path: Path) -> AsyncIterator[bytes]:
    """A local Bot API server (``--local``) leaves files on a disk shared with the bot."""
    try:
        with path.open("rb") as file:
            while chunk := await asyncio.to_thread(file.read, CHUNK_BYTES):
                yield chunk
    except OSError as error:
        raise TelegramDownloadFailed(f"{type(error).__name__}: {error}") from error


class TelegramFiles:
    """Files of one bot, opened by ``file_id``: what ``bot.services.saving`` reads a person's file from."""

    def __init__(self, bot: Bot, limit: int, local: bool) -> None:
        self._bot = bot
        self._limit = limit
        self._local = local

    async def open(self, file_id: str) -> AsyncIterator[bytes]:
        """The file's chunks; ``getFile`` runs now, so a refused id fails here rather than inside an upload."""
        path = await resolve_file_path(self._bot, file_id)
        return file_chunks(self._bot, path, self._limit, self._local)
