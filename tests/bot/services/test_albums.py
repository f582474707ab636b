"""``album_of``: what an album's kept messages make (pure); ``AlbumCollector.close`` at shutdown (real Redis)."""

from __future__ import annotations

import asyncio

from bot.clients.person_store import UserStore
from bot.services.albums import Album, AlbumCollector, album_of, part_of
from bot.services.saving import IncomingFile
from contracts.events import MAX_ALBUM_PAGES


def _file(n: int, size: int | None = 10) -> IncomingFile:
    return IncomingFile(f"id{n}", f"u{n}", f"p{n}.pdf", "application/pdf", size)


def test_album_of_keeps_pages_in_order_and_the_first_caption_when_parts_are_files() -> None:
    parts = [part_of(_file(1), None), part_of(_file(2), "Lease"), part_of(_file(3), "ignored")]

    assert album_of(parts, 100) == Album((_file(1), _file(2), _file(3)), "Lease")


def test_album_of_refuses_when_there_are_more_parts_than_an_album_holds() -> None:
    parts = [part_of(_file(n), None) for n in range(MAX_ALBUM_PAGES + 1)]

    assert album_of(parts, 100).problem == "too_many"
    assert album_of(parts[:MAX_ALBUM_PAGES], 100).problem is None


def test_album_of_refuses_when_a_part_is_not_a_file_or_nothing_was_kept() -> None:
    assert album_of([part_of(_file(1), None), part_of(None, None)], 100).problem == "not_files"
    assert album_of([], 100).problem == "not_files"


def test_album_of_refuses_when_one_page_is_over_the_download_limit() -> None:
    assert album_of([part_of(_file(1), None), part_of(_file(2, 101), None)], 100).problem == "too_big"
    assert album_of([part_of(_file(1, None), None)], 100).problem is None  # unknown size: the download checks


class Told:
    """A person's side of an album: what was taken, and how often they were told it was interrupted."""

    def __init__(self, hold: asyncio.Event | None = None) -> None:
        self.albums: list[Album] = []
        self.interrupted = 0
        self.hold = hold

    async def then(self, album: Album) -> None:
        self.albums.append(album)
        if self.hold is not None:
            await self.hold.wait()

    async def tell(self) -> None:
        self.interrupted += 1


async def _waiting(collector: AlbumCollector, owner_id: int, group: str, told: Told) -> None:
    assert await collector.keep(owner_id, group, 1, part_of(_file(1), None))
    collector.collect_then(owner_id, group, 100, told.then, told.tell)


async def test_close_cancels_the_waiting_albums_and_tells_their_people_when_the_bot_stops(store: UserStore) -> None:
    collector = AlbumCollector(store, window_seconds=30.0)  # nobody waits that out: close comes first
    ann, bob = Told(), Told()
    await _waiting(collector, 1, "a", ann)
    await _waiting(collector, 1, "b", ann)
    await _waiting(collector, 2, "a", bob)

    await collector.close()

    assert (ann.interrupted, bob.interrupted) == (2, 1) and not ann.albums and not bob.albums
    assert len(collector) == 0 and collector.can_open(1)


async def test_close_lets_an_album_being_taken_finish_when_the_bot_stops(store: UserStore) -> None:
    collector = AlbumCollector(store, window_seconds=0.01)
    hold = asyncio.Event()
    ann = Told(hold)
    await _waiting(collector, 1, "a", ann)
    while not ann.albums:  # taken: its save is under way
        await asyncio.sleep(0.01)

    closing = asyncio.create_task(collector.close())
    await asyncio.sleep(0)
    assert not closing.done()
    hold.set()
    await closing

    assert ann.interrupted == 0 and ann.albums == [Album((_file(1),))] and len(collector) == 0


async def test_close_cancels_an_album_being_taken_when_it_outlasts_the_grace(store: UserStore) -> None:
    collector = AlbumCollector(store, window_seconds=0.01)
    ann = Told(asyncio.Event())  # never set: the save hangs
    await _waiting(collector, 1, "a", ann)
    while not ann.albums:
        await asyncio.sleep(0.01)

    await collector.close(grace_seconds=0.01)

    assert ann.interrupted == 0 and len(collector) == 0
