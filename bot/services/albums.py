"""Albums: several files a person sent together (one ``media_group_id``), collected into one document's pages.

Telegram delivers an album as one update per file, within about a second. Every update keeps its file in Redis
(``UserStore.add_album_part``, by message id: a repeated update counts once), so replicas behind one webhook
collect into the same album. The first update of an album (claimed in Redis) starts a wait in the background:
once no new part arrived for ``album_window_seconds`` (or after ``MAX_WAITS`` windows, whatever a flood sends),
the parts are read in message order and judged by ``album_of``. The wait holds nobody's lock: the person's
other updates and everyone else's go on meanwhile. Waits are bounded per process and per person.

At shutdown (``close``) albums still waiting are stopped and their people told to send them again (Telegram
will not deliver those updates twice); albums already being taken finish like updates in hand, within a grace.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot.clients.person_store import UserStore
from bot.services.saving import IncomingFile
from contracts.events import MAX_ALBUM_PAGES

log = logging.getLogger(__name__)
MAX_WAITS = 10  # windows an album may keep growing before it is taken as it is
MAX_OPEN_ALBUMS = 500  # albums waiting in this process
MAX_OPEN_ALBUMS_PER_PERSON = 2  # 15 photos picked at once arrive as two albums
CLOSE_GRACE_SECONDS = 10.0  # albums being taken at shutdown may finish within this (the bot's grace is longer)
Tell = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class Album:
    """What an album's messages make: its pages in order and the first caption, or why it cannot be taken
    (``problem``: ``too_many``, ``not_files``, ``too_big``)."""

    pages: tuple[IncomingFile, ...] = ()
    caption: str | None = None
    problem: str | None = None


def part_of(file: IncomingFile | None, caption: str | None) -> str:
    """One album message as kept in Redis: its file (None: not a document or a photo) and caption."""
    return json.dumps({"file": file.to_state() if file else None, "caption": caption})


def album_of(parts: list[str], max_bytes: int) -> Album:
    """Pure: the album the kept ``parts`` make (in message order)."""
    if len(parts) > MAX_ALBUM_PAGES:
        return Album(problem="too_many")
    decoded: list[dict[str, Any]] = [json.loads(part) for part in parts]
    files = [IncomingFile.from_state(part["file"]) for part in decoded]
    pages = tuple(file for file in files if file is not None)
    if len(pages) != len(files) or not pages:
        return Album(problem="not_files")
    if any(page.size is not None and page.size > max_bytes for page in pages):
        return Album(problem="too_big")
    caption = next((part["caption"] for part in decoded if part["caption"]), None)
    return Album(pages, caption)


@dataclass
class AlbumCollector:
    store: UserStore
    window_seconds: float
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _open: dict[int, int] = field(default_factory=dict)
    _waiting: dict[asyncio.Task[None], Tell] = field(default_factory=dict)  # not taken yet: how to say it was not
    # Set by ``close``. A cancel alone is not enough: redis-py may swallow a cancel that lands inside a command
    # (redis/redis-py#2028, #2551), so waits also watch this and stop at their next step.
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def __len__(self) -> int:
        return len(self._tasks)

    async def keep(self, owner_id: int, media_group_id: str, message_id: int, part: str) -> bool:
        """Keep one message of an album; True for the first one (its caller then starts ``collect_then``)."""
        await self.store.add_album_part(owner_id, media_group_id, message_id, part)
        return await self.store.first_of_album(f"{owner_id}:{media_group_id}")

    def can_open(self, owner_id: int) -> bool:
        return len(self._tasks) < MAX_OPEN_ALBUMS and self._open.get(owner_id, 0) < MAX_OPEN_ALBUMS_PER_PERSON

    def collect_then(
        self,
        owner_id: int,
        media_group_id: str,
        max_bytes: int,
        then: Callable[[Album], Awaitable[None]],
        interrupted: Tell,
    ) -> None:
        """In the background: wait until the album stopped growing, then hand it to ``then``; ``interrupted``
        tells the person when the bot stops before that."""
        self._open[owner_id] = self._open.get(owner_id, 0) + 1
        task = asyncio.create_task(self._collect(owner_id, media_group_id, max_bytes, then))
        self._tasks.add(task)
        self._waiting[task] = interrupted
        task.add_done_callback(lambda done: self._closed(owner_id, done))

    def _closed(self, owner_id: int, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._waiting.pop(task, None)
        left = self._open.get(owner_id, 1) - 1
        if left:
            self._open[owner_id] = left
        else:
            self._open.pop(owner_id, None)

    async def _collect(
        self, owner_id: int, media_group_id: str, max_bytes: int, then: Callable[[Album], Awaitable[None]]
    ) -> None:
        try:
            await self._settled(owner_id, media_group_id)
            parts = await self.store.album_parts(owner_id, media_group_id)
            if self._stopping.is_set():  # interrupted: ``close`` tells the person
                return
            self._taking(asyncio.current_task())
            await then(album_of(parts, max_bytes))
        except Exception:  # a background task: nobody else would see it
            log.exception("taking an album failed", extra={"owner_id": owner_id})

    def _taking(self, task: asyncio.Task[Any] | None) -> None:
        """From here on the album is being taken: a shutdown lets it finish."""
        if task is not None:
            self._waiting.pop(task, None)

    async def _settled(self, owner_id: int, media_group_id: str) -> None:
        seen = -1
        for _ in range(MAX_WAITS):
            count = await self.store.album_count(owner_id, media_group_id)
            if count == seen:
                return
            seen = count
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.window_seconds)
            if self._stopping.is_set():
                return

    async def idle(self) -> None:
        """Wait until every album waiting now was taken (tests)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def close(self, grace_seconds: float = CLOSE_GRACE_SECONDS) -> None:
        """At shutdown, before the clients close: cancel the albums still waiting and tell their people; let the
        ones being taken finish within ``grace_seconds``, then cancel what is left."""
        self._stopping.set()
        waiting = dict(self._waiting)
        for task in waiting:
            task.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)
        for tell in waiting.values():
            try:
                await tell()
            except Exception:  # keep telling the others; the process is stopping
                log.warning("telling of an interrupted album failed", exc_info=True)
        if waiting:
            log.info("albums interrupted by the shutdown", extra={"count": len(waiting)})
        taking = list(self._tasks)
        if taking:
            _, late = await asyncio.wait(taking, timeout=grace_seconds)
            for task in late:
                task.cancel()
            if late:  # bounded: a cancel swallowed inside a Redis command must not hold the shutdown
                await asyncio.wait(late, timeout=1.0)
