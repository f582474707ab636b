"""Documents of several pages: an album added as one document, pages added later, and old adds as one page."""

from __future__ import annotations

import uuid

from contracts.effects import Effect
from contracts.events import MAX_PAGES
from contracts.read_models import pages_content_key
from contracts.vocabulary import DocumentStatus
from service_kit.crypto import PersonKeys
from stream_processors.projections.pages import new_pages
from tests.factories import added, as_read, deleted, document_id_of, pages_added, sealed_added, sealed_album
from tests.keyrings import TEST_PEOPLE
from tests.stream_processors.projection_support import apply_all, document, snapshot

ANN = 412845671
BOB = 777
KEYS = TEST_PEOPLE[ANN]


def _page_ids(keys: PersonKeys, contents: list[str]) -> list[str]:
    ids = []
    for content in contents:
        hasher = keys.content_hasher()
        hasher.update(content.encode())
        ids.append(hasher.hexdigest()[:32])
    return ids


def test_apply_document_added_keeps_every_page_in_order_when_an_album_arrives() -> None:
    album = sealed_album(KEYS, "Lease", ["p1", "p2", "p3"])

    state, effects = apply_all([as_read(album)])

    doc = document(state, album)
    assert effects == [Effect.created]
    assert [doc.file.content_id, *(p.content_id for p in doc.more_pages)] == _page_ids(KEYS, ["p1", "p2", "p3"])
    assert KEYS.open("file_name", doc.more_pages[1].file_name or "") == "page3.pdf"


def test_apply_document_added_stores_one_page_when_a_v2_add_is_replayed() -> None:
    old = sealed_added(KEYS, "Passport", content="only")

    state, effects = apply_all([as_read(old)])

    doc = document(state, old)
    assert effects == [Effect.created] and doc.more_pages == []
    assert doc.content_key == pages_content_key(ANN, [doc.file]) == f"{ANN}|{doc.file.content_id}"


def test_apply_document_added_gives_the_same_state_when_a_v2_add_is_read_as_v3() -> None:
    old = sealed_added(KEYS, "Passport", content="only")

    as_written, _ = apply_all([old])
    upcast, _ = apply_all([as_read(old)])

    assert snapshot(upcast) == snapshot(as_written)


def test_apply_document_added_marks_duplicate_when_the_same_pages_come_in_the_same_order() -> None:
    first = sealed_album(KEYS, "Lease", ["p1", "p2"])
    again = sealed_album(KEYS, "Lease again", ["p1", "p2"])
    reordered = sealed_album(KEYS, "Lease reordered", ["p2", "p1"])
    single = sealed_added(KEYS, "First page", content="p1")

    state, effects = apply_all([as_read(e) for e in (first, again, reordered, single)])

    assert effects == [Effect.created, Effect.created_duplicate, Effect.created, Effect.created]
    assert document(state, again).duplicate_of == str(document_id_of(first))


def test_apply_document_page_added_appends_new_pages_and_skips_known_ones_when_pages_come_later() -> None:
    album = sealed_album(KEYS, "Lease", ["p1", "p2"])
    doc_id = document_id_of(album)

    state, effects = apply_all(
        [as_read(album), pages_added(KEYS, doc_id, ["p3", "p1", "p3"], 1), pages_added(KEYS, doc_id, ["p2"], 2)]
    )

    doc = document(state, album)
    assert effects == [Effect.created, Effect.pages_added, Effect.ignored_same_pages]
    assert [p.content_id for p in doc.more_pages] == _page_ids(KEYS, ["p2", "p3"])
    first_pages = [album.payload.file, *album.payload.more_pages]  # type: ignore[union-attr]
    assert doc.content_key == pages_content_key(ANN, first_pages)  # pages added later leave it as it was
    assert doc.last_event_id != str(album.event_id)


def test_apply_document_page_added_adds_to_a_v1_document_when_it_was_plain() -> None:
    old = added(ANN, "Passport", content="plain bytes")

    state, effects = apply_all([as_read(old), pages_added(KEYS, document_id_of(old), ["p2"], 1)])

    assert effects == [Effect.created, Effect.pages_added]
    assert len(document(state, old).more_pages) == 1


def test_apply_document_page_added_changes_nothing_when_the_document_is_not_live_unknown_or_foreign() -> None:
    album = sealed_album(KEYS, "Lease", ["p1", "p2"])
    doc_id = document_id_of(album)
    stranger = pages_added(TEST_PEOPLE[BOB], doc_id, ["b1"], 1)
    unknown = pages_added(KEYS, uuid.uuid4(), ["p9"], 2)

    state, effects = apply_all(
        [as_read(album), stranger, unknown, deleted(ANN, doc_id, 3), pages_added(KEYS, doc_id, ["p3"], 4)]
    )

    assert effects == [
        Effect.created,
        Effect.ignored_unknown,
        Effect.ignored_unknown,
        Effect.deleted,
        Effect.ignored_not_live,
    ]
    assert document(state, album).status == DocumentStatus.deleted and len(document(state, album).more_pages) == 1


def test_apply_document_page_added_refuses_every_page_when_the_document_would_pass_the_limit() -> None:
    album = sealed_album(KEYS, "Book", [f"p{i}" for i in range(MAX_PAGES - 1)])
    doc_id = document_id_of(album)

    state, effects = apply_all(
        [as_read(album), pages_added(KEYS, doc_id, ["last", "one too many"], 1), pages_added(KEYS, doc_id, ["last"], 2)]
    )

    assert effects == [Effect.created, Effect.ignored_page_limit, Effect.pages_added]
    assert 1 + len(document(state, album).more_pages) == MAX_PAGES


def test_apply_document_page_added_changes_nothing_when_a_page_was_sealed_under_a_forgotten_key() -> None:
    album = sealed_album(KEYS, "Lease", ["p1", "p2"])
    old_key = PersonKeys(ANN, bytes(32), "00" * 8)

    state, effects = apply_all([as_read(album), pages_added(old_key, document_id_of(album), ["p3"], 1)])

    assert effects == [Effect.created, Effect.ignored_forgotten]
    assert len(document(state, album).more_pages) == 1


def test_new_pages_keeps_order_and_drops_repeats_when_pages_overlap() -> None:
    album = sealed_album(KEYS, "Lease", ["p1", "p2"])
    state, _ = apply_all([as_read(album)])
    later = pages_added(KEYS, document_id_of(album), ["p4", "p2", "p3", "p4"])

    fresh = new_pages(document(state, album), later.payload.pages)  # type: ignore[union-attr]

    assert [p.content_id for p in fresh] == _page_ids(KEYS, ["p4", "p3"])
