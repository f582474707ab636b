"""``media_groups``: a document's pages cut into the albums Telegram accepts (pure)."""

from __future__ import annotations

from bot.ui.presentation import MAX_MEDIA_GROUP, PHOTO_MIME, PageRef, media_groups


def _photo(n: int) -> PageRef:
    return PageRef(n, PHOTO_MIME, None, f"p{n}")


def _document(n: int) -> PageRef:
    return PageRef(n, "application/pdf", f"{n}.pdf", f"d{n}")


def test_media_groups_cuts_every_ten_pages_when_a_document_has_more() -> None:
    pages = [_photo(n) for n in range(1, 24)]

    groups = media_groups(pages)

    assert [len(group) for group in groups] == [MAX_MEDIA_GROUP, MAX_MEDIA_GROUP, 3]
    assert [page for group in groups for page in group] == pages


def test_media_groups_keeps_photos_and_files_apart_when_pages_are_mixed() -> None:
    pages = [_photo(1), _photo(2), _document(3), _photo(4)]

    assert media_groups(pages) == [[_photo(1), _photo(2)], [_document(3)], [_photo(4)]]


def test_page_ref_sends_an_image_file_as_a_file_when_it_has_a_name() -> None:
    assert not PageRef(1, PHOTO_MIME, "scan.jpg", "x").is_photo and _photo(1).is_photo
