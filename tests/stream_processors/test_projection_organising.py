"""Type renames, type deletions and their Undo: documents follow their type, counts stay right, Undo is exact."""

from __future__ import annotations

from contracts.effects import Effect
from stream_processors.projections import apply_event
from stream_processors.projections.state import BatchState, type_id
from tests.factories import added, deleted, document_id_of, moved, type_deleted, type_renamed, type_restored
from tests.keyrings import TEST_PEOPLE
from tests.stream_processors.projection_support import (
    apply_all,
    document,
    live_count,
    name_of,
    opened,
    snapshot,
    type_key_of,
)

OWNER = 412845671
STRANGER = 777
KEYS = TEST_PEOPLE[OWNER]


def test_apply_event_moves_every_document_to_the_new_titles_type_when_type_renamed() -> None:
    first, second = added(OWNER, "Полис", "Страховки", step=1), added(OWNER, "Каско", "Страховки", step=2)
    gone = deleted(OWNER, document_id_of(second), step=3)
    rename = type_renamed(KEYS, "Страховки", "Полисы", step=4)

    state, effects = apply_all([first, second, gone, rename], first_offset=20)

    assert effects[-1] == Effect.type_renamed
    docs = [document(state, first), document(state, second)]
    assert [(d.type_slug, opened(d, "type_title"), d.type_seq, d.status) for d in docs] == [
        (type_key_of(OWNER, "Полисы"), "Полисы", 1, "live"),
        (type_key_of(OWNER, "Полисы"), "Полисы", 2, "deleted"),
    ]
    assert docs[0].page_key == f"{OWNER}|{type_key_of(OWNER, 'Полисы')}|000000000001"
    assert (live_count(state, OWNER, "Страховки"), live_count(state, OWNER, "Полисы")) == (0, 1)
    assert opened_title(state, "Полисы") == "Полисы"


def opened_title(state: BatchState, title: str) -> str:
    return KEYS.open("type_title", state.types[type_id(OWNER, type_key_of(OWNER, title))].title)


def test_apply_event_only_retitles_when_type_renamed_to_a_title_of_the_same_slug() -> None:
    add = added(OWNER, "Полис", "страховки", step=1)

    state, effects = apply_all([add, type_renamed(KEYS, "страховки", "Страховки", step=2)])

    assert effects[-1] == Effect.type_renamed
    assert (opened(document(state, add), "type_title"), opened_title(state, "Страховки")) == ("Страховки", "Страховки")
    assert document(state, add).type_seq == 1


def test_apply_event_refuses_type_rename_when_another_type_of_that_title_holds_documents() -> None:
    events = [added(OWNER, "Полис", "Страховки", step=1), added(OWNER, "Виза", "Визы", step=2)]
    state, _ = apply_all(events)
    before = snapshot(state)

    effect = apply_event(state, type_renamed(KEYS, "Страховки", "Визы", step=3), 5)

    assert (effect, snapshot(state)) == (Effect.type_rename_conflict, before)


def test_apply_event_takes_over_an_empty_type_when_type_renamed_to_its_title() -> None:
    old = added(OWNER, "Виза", "Визы", step=1)
    add = added(OWNER, "Виза", "Страховки", step=3)
    history = [old, deleted(OWNER, document_id_of(old), step=2), add, type_renamed(KEYS, "Страховки", "визы", 4)]

    state, effects = apply_all(history)

    assert effects[-1] == Effect.type_renamed
    assert (document(state, add).type_seq, name_of(state, add), live_count(state, OWNER, "Визы")) == (2, "Виза", 1)
    assert opened(document(state, old), "type_title") == "визы"


def test_apply_event_ignores_type_events_when_type_unknown_or_someone_elses() -> None:
    state, _ = apply_all([added(OWNER, "Полис", "Страховки", step=1)])
    before = snapshot(state)
    stranger = TEST_PEOPLE[STRANGER]

    effects = [
        apply_event(state, type_renamed(stranger, "Страховки", "Мои", 2), 2),
        apply_event(state, type_deleted(stranger, "Страховки", 3), 3),
        apply_event(state, type_deleted(KEYS, "Нет такого", 4), 4),
    ]

    assert effects == [Effect.ignored_unknown_type] * 3
    assert snapshot(state) == before


def test_apply_event_deletes_live_documents_marked_with_the_deletion_when_type_deleted() -> None:
    kept, earlier = added(OWNER, "Полис", "Страховки", step=1), added(OWNER, "Каско", "Страховки", step=2)
    other = added(OWNER, "Виза", "Визы", step=3)
    gone_before = deleted(OWNER, document_id_of(earlier), step=4)
    deletion = type_deleted(KEYS, "Страховки", step=5)

    state, effects = apply_all([kept, earlier, other, gone_before, deletion])

    assert effects[-1] == Effect.type_deleted
    assert [document(state, e).status for e in (kept, earlier, other)] == ["deleted", "deleted", "live"]
    assert (document(state, kept).deleted_by, document(state, earlier).deleted_by) == (str(deletion.event_id), None)
    assert (document(state, kept).link_generation, document(state, kept).page_key) == (1, None)
    assert (live_count(state, OWNER, "Страховки"), live_count(state, OWNER, "Визы")) == (0, 1)


def test_apply_event_restores_only_what_the_deletion_deleted_when_type_restored() -> None:
    kept, earlier = added(OWNER, "Полис", "Страховки", step=1), added(OWNER, "Каско", "Страховки", step=2)
    deletion = type_deleted(KEYS, "Страховки", step=4)
    history = [kept, earlier, deleted(OWNER, document_id_of(earlier), step=3), deletion]

    state, effects = apply_all([*history, type_restored(OWNER, deletion, step=5)])

    assert effects[-1] == Effect.type_restored
    assert [document(state, e).status for e in (kept, earlier)] == ["live", "deleted"]
    assert (document(state, kept).deleted_by, live_count(state, OWNER, "Страховки")) == (None, 1)


def test_apply_event_restores_partly_when_a_restored_documents_name_was_taken_meanwhile() -> None:
    kept = added(OWNER, "Полис", "Страховки", step=1)
    deletion = type_deleted(KEYS, "Страховки", step=2)
    newcomer = added(OWNER, "Полис", "Страховки", step=3)

    state, effects = apply_all([kept, deletion, newcomer, type_restored(OWNER, deletion, step=4)])

    assert effects[-1] == Effect.type_restored_partly
    assert (name_of(state, kept), live_count(state, OWNER, "Страховки")) == ("Полис (2)", 2)


def test_apply_event_restores_into_the_renamed_type_when_type_renamed_after_its_deletion() -> None:
    kept = added(OWNER, "Полис", "Страховки", step=1)
    deletion = type_deleted(KEYS, "Страховки", step=2)
    history = [kept, deletion, type_renamed(KEYS, "Страховки", "Полисы", 3), type_restored(OWNER, deletion, 4)]

    state, effects = apply_all(history)

    assert effects[-2:] == [Effect.type_renamed, Effect.type_restored]
    assert (live_count(state, OWNER, "Полисы"), opened(document(state, kept), "type_title")) == (1, "Полисы")


def test_apply_event_restores_nothing_when_undone_by_a_stranger_or_for_an_unknown_deletion() -> None:
    kept = added(OWNER, "Полис", "Страховки", step=1)
    deletion = type_deleted(KEYS, "Страховки", step=2)
    state, _ = apply_all([kept, deletion])
    before = snapshot(state)

    effects = [
        apply_event(state, type_restored(STRANGER, deletion, step=3), 3),
        apply_event(state, type_restored(OWNER, added(OWNER, "x", step=4), step=4), 4),
    ]

    assert effects == [Effect.ignored_nothing_to_restore] * 2
    assert snapshot(state) == before


def test_apply_event_restores_nothing_when_undone_twice_after_the_document_moved_on() -> None:
    kept = added(OWNER, "Полис", "Страховки", step=1)
    deletion = type_deleted(KEYS, "Страховки", step=2)
    state, _ = apply_all(
        [kept, deletion, type_restored(OWNER, deletion, step=3), moved(KEYS, document_id_of(kept), "Визы", 4)]
    )
    before = snapshot(state)

    effect = apply_event(state, type_restored(OWNER, deletion, step=5), 5)

    assert (effect, snapshot(state)) == (Effect.ignored_nothing_to_restore, before)
    assert live_count(state, OWNER, "Визы") == 1
