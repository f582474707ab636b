"""``album_of``: what an album's kept messages make (pure)."""

from __future__ import annotations

from bot.services.albums import Album, album_of, part_of
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
