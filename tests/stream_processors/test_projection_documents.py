"""The documents projection: creation, renames, soft delete and restore, and its deterministic conflict rules."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

import bson
import pytest

from contracts.events import EventEnvelope
from contracts.read_models import DocumentTypeView, DocumentView
from contracts.text import MAX_NAME_LENGTH, clean_display_name, name_key
from contracts.vocabulary import DocumentStatus
from service_kit.keyed import name_keys
from stream_processors.projections import apply_event
from stream_processors.projections.naming import MAX_COPY_NUMBER, NameRules
from stream_processors.projections.state import BatchState, type_id
from tests.factories import added, at, deleted, document_id_of, moved, renamed, restored, started
from tests.keyrings import TEST_PEOPLE
from tests.stream_processors.projection_support import (
    apply_all,
    document,
    keyed_forms,
    live_count,
    name_of,
    opened,
    snapshot,
    type_key_of,
)

OWNER = 412845671
STRANGER = 777


def test_apply_event_creates_live_document_when_added() -> None:
    event = added(OWNER, "Паспорт РФ", type_title="Паспорта", step=5)

    state, effects = apply_all([event], first_offset=40)

    doc = document(state, event)
    assert effects == ["created"]
    assert (doc.owner_id, doc.type_slug, opened(doc, "type_title"), opened(doc), doc.status) == (
        OWNER,
        type_key_of(OWNER, "Паспорта"),
        "Паспорта",
        "Паспорт РФ",
        "live",
    )
    assert (doc.name_key, doc.name_base_key, doc.search_prefixes) == keyed_forms(OWNER, "Паспорт РФ")
    assert "Паспорт" not in str(doc.model_dump()) and "паспорт" not in str(doc.model_dump())
    assert (doc.type_seq, doc.page_key) == (1, f"{OWNER}|{doc.type_slug}|000000000001")
    assert (doc.created_at, doc.updated_at, doc.deleted_at, doc.duplicate_of) == (at(5), at(5), None, None)
    assert (doc.last_event_id, doc.last_offset) == (str(event.event_id), 40)
    assert state.document_writes == [(True, doc.model_dump(by_alias=True))]
    assert live_count(state, OWNER, "Паспорта") == 1


def test_apply_event_writes_each_status_as_a_plain_string_when_the_writes_are_encoded_to_bson() -> None:
    original = added(OWNER, "Паспорт", content="same")
    copy = added(OWNER, "Паспорт копия", content="same", step=1)
    state, _ = apply_all([original, copy, deleted(OWNER, document_id_of(original), step=2)])

    stored = [bson.decode(bson.encode(snapshot)) for _, snapshot in state.document_writes]

    assert {(type(raw["status"]), raw["status"]) for raw in stored} == {
        (str, "live"),
        (str, "duplicate"),
        (str, "deleted"),
    }
    assert {DocumentView.model_validate(raw).status for raw in stored} == set(DocumentStatus)


def test_apply_event_ignores_add_when_document_id_exists() -> None:
    first = added(OWNER, "Паспорт")
    again = added(STRANGER, "Полис", type_title="Полисы", document_id=document_id_of(first), step=1)
    state, _ = apply_all([first])
    before, writes = snapshot(state), len(state.document_writes)

    assert apply_event(state, again, 1) == "ignored_existing"
    assert (snapshot(state), len(state.document_writes)) == (before, writes)


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["Паспорт", "Паспорт"], ["Паспорт", "Паспорт (2)"]),
        (["Паспорт", "Паспорт", "Паспорт"], ["Паспорт", "Паспорт (2)", "Паспорт (3)"]),
        (["Ёлка", "ЕЛКА"], ["Ёлка", "ЕЛКА (2)"]),
        (["Crème", "creme"], ["Crème", "creme (2)"]),
        (["Паспорт", "Паспорт (2)", "Паспорт"], ["Паспорт", "Паспорт (2)", "Паспорт (3)"]),
        (["Паспорт (2)", "Паспорт", "Паспорт"], ["Паспорт (2)", "Паспорт", "Паспорт (3)"]),
        (["Паспорт", "Паспорт (2)", "Паспорт (2)"], ["Паспорт", "Паспорт (2)", "Паспорт (2) (2)"]),
    ],
)
def test_apply_event_gives_first_free_copy_suffix_when_name_live_under_type(
    names: list[str], expected: list[str]
) -> None:
    events = [added(OWNER, name, step=index) for index, name in enumerate(names)]

    state, effects = apply_all(events)

    assert [name_of(state, event) for event in events] == expected
    assert len(state.name_slots) == len(names)
    assert effects == ["created" if name == got else "created_renamed" for name, got in zip(names, expected)]
    assert live_count(state, OWNER) == len(names)


@pytest.mark.parametrize(
    ("second_owner", "second_type"),
    [(OWNER, "Визы"), (STRANGER, "Passport")],
    ids=["other-type", "other-owner"],
)
def test_apply_event_keeps_plain_name_when_same_name_under_other_type_or_owner(
    second_owner: int, second_type: str
) -> None:
    first, second = added(OWNER, "Скан"), added(second_owner, "Скан", type_title=second_type, step=1)

    state, _ = apply_all([first, second])

    assert (name_of(state, first), name_of(state, second)) == ("Скан", "Скан")


@pytest.mark.parametrize("second_type", ["Passport", "Полисы"], ids=["same-type", "other-type"])
def test_apply_event_marks_duplicate_when_owner_already_has_live_content(second_type: str) -> None:
    original = added(OWNER, "Паспорт", content="same bytes")
    copy = added(OWNER, "Паспорт копия", type_title=second_type, content="same bytes", step=1)

    state, effects = apply_all([original, copy])

    duplicate = document(state, copy)
    assert effects == ["created", "created_duplicate"]
    assert (duplicate.status, duplicate.duplicate_of) == ("duplicate", str(document_id_of(original)))
    assert state.content_slots[(OWNER, duplicate.content_key)] == str(document_id_of(original))
    assert live_count(state, OWNER, second_type) == (1 if second_type == "Passport" else 0)


def test_apply_event_keeps_content_live_when_other_owner_has_it() -> None:
    mine, theirs = added(OWNER, "Паспорт", content="same bytes"), added(STRANGER, "Паспорт", content="same bytes")

    state, effects = apply_all([mine, theirs])

    assert effects == ["created", "created"]
    assert document(state, theirs).status == "live"


def test_apply_event_leaves_name_free_when_added_document_is_duplicate() -> None:
    original = added(OWNER, "Оригинал", content="bytes")
    duplicate = added(OWNER, "Копия", content="bytes", step=1)
    other = added(OWNER, "Копия", content="other bytes", step=2)

    state, effects = apply_all([original, duplicate, other])

    assert effects == ["created", "created_duplicate", "created"]
    assert (name_of(state, duplicate), name_of(state, other)) == ("Копия", "Копия")


def test_apply_event_renames_document_when_name_free() -> None:
    add = added(OWNER, "Паспорт")
    rename = renamed(OWNER, document_id_of(add), "Загранпаспорт", step=9)

    state, effects = apply_all([add, rename])

    doc = document(state, add)
    assert effects == ["created", "renamed"]
    assert (opened(doc), doc.link_generation) == ("Загранпаспорт", 1)
    assert (doc.name_key, doc.name_base_key, doc.search_prefixes) == keyed_forms(OWNER, "Загранпаспорт")
    assert (doc.created_at, doc.updated_at, doc.last_event_id, doc.last_offset) == (
        at(0),
        at(9),
        str(rename.event_id),
        1,
    )
    assert [is_new for is_new, _ in state.document_writes] == [True, False]
    assert state.document_writes[-1][1] == doc.model_dump(by_alias=True)
    assert (OWNER, type_key_of(OWNER), keyed_forms(OWNER, "Паспорт")[0]) not in state.name_slots
    assert live_count(state, OWNER) == 1


@pytest.mark.parametrize(
    ("names", "rename_to", "expected"),
    [
        (["Паспорт", "Виза"], "Паспорт", "Паспорт (2)"),
        (["Паспорт", "Паспорт (2)", "Виза"], "паспорт", "паспорт (3)"),
        (["Паспорт", "Виза"], "виза", "виза"),
        (["Паспорт", "Паспорт"], "Паспорт (2)", "Паспорт (2)"),
        (["Паспорт", "Паспорт"], "Паспорт", "Паспорт (2)"),
        (["Паспорт", "Паспорт"], "Полис", "Полис"),
    ],
    ids=["taken", "taken-with-copy", "own-name-other-case", "own-suffixed-name", "own-base-taken", "free"],
)
def test_apply_event_resolves_rename_conflict_when_name_live_under_type(
    names: list[str], rename_to: str, expected: str
) -> None:
    events = [added(OWNER, name, step=index) for index, name in enumerate(names)]
    target = events[-1]

    state, effects = apply_all([*events, renamed(OWNER, document_id_of(target), rename_to, step=10)])

    assert effects[-1] == "renamed"
    assert name_of(state, target) == expected
    assert len({doc.name_key for doc in state.documents.values()}) == len(names)


def test_apply_event_frees_old_name_when_document_renamed() -> None:
    first = added(OWNER, "Паспорт")
    later = added(OWNER, "Паспорт", step=2)

    state, _ = apply_all([first, renamed(OWNER, document_id_of(first), "Старый паспорт", step=1), later])

    assert name_of(state, later) == "Паспорт"


def test_apply_event_deletes_document_when_live() -> None:
    add = added(OWNER, "Паспорт")
    delete = deleted(OWNER, document_id_of(add), step=3)

    state, effects = apply_all([add, delete])

    doc = document(state, add)
    assert effects == ["created", "deleted"]
    assert (doc.status, doc.deleted_at, doc.updated_at, doc.last_event_id) == (
        "deleted",
        at(3),
        at(3),
        str(delete.event_id),
    )
    assert (state.name_slots, state.content_slots) == ({}, {})
    assert live_count(state, OWNER) == 0


def test_apply_event_gives_plain_name_and_live_status_when_slot_freed_by_delete() -> None:
    first = added(OWNER, "Паспорт", content="bytes")
    again = added(OWNER, "Паспорт", content="bytes", step=2)

    state, effects = apply_all([first, deleted(OWNER, document_id_of(first), step=1), again])

    assert effects[-1] == "created"
    assert (name_of(state, again), document(state, again).status) == ("Паспорт", "live")
    assert live_count(state, OWNER) == 1


def test_apply_event_deletes_duplicate_without_touching_original_when_duplicate_deleted() -> None:
    original, copy = added(OWNER, "Паспорт", content="bytes"), added(OWNER, "Копия", content="bytes", step=1)

    state, effects = apply_all([original, copy, deleted(OWNER, document_id_of(copy), step=2)])

    assert effects[-1] == "deleted"
    assert document(state, copy).status == "deleted"
    assert state.content_slots == {(OWNER, document(state, original).content_key): str(document_id_of(original))}
    assert live_count(state, OWNER) == 1


def test_apply_event_restores_document_under_its_name_when_name_and_content_free() -> None:
    add = added(OWNER, "Паспорт")
    restore = restored(OWNER, document_id_of(add), step=2)

    state, effects = apply_all([add, deleted(OWNER, document_id_of(add), step=1), restore])

    doc = document(state, add)
    assert effects[-1] == "restored"
    assert (doc.status, opened(doc), doc.deleted_at, doc.updated_at, doc.last_event_id) == (
        "live",
        "Паспорт",
        None,
        at(2),
        str(restore.event_id),
    )
    assert state.name_slots == {(OWNER, type_key_of(OWNER), keyed_forms(OWNER, "Паспорт")[0]): str(document_id_of(add))}
    assert live_count(state, OWNER) == 1


def test_apply_event_restores_with_copy_suffix_when_name_now_taken() -> None:
    old, new = added(OWNER, "Паспорт"), added(OWNER, "паспорт", step=2)

    state, effects = apply_all(
        [old, deleted(OWNER, document_id_of(old), step=1), new, restored(OWNER, document_id_of(old), step=3)]
    )

    assert effects[-1] == "restored_renamed"
    assert (name_of(state, old), name_of(state, new)) == ("Паспорт (2)", "паспорт")
    assert live_count(state, OWNER) == 2


def test_apply_event_restores_as_duplicate_when_content_now_live() -> None:
    old, new = added(OWNER, "Паспорт", content="bytes"), added(OWNER, "Новый", content="bytes", step=2)

    state, effects = apply_all(
        [old, deleted(OWNER, document_id_of(old), step=1), new, restored(OWNER, document_id_of(old), step=3)]
    )

    doc = document(state, old)
    assert effects[-1] == "restored_duplicate"
    assert (doc.status, doc.duplicate_of, doc.deleted_at) == ("duplicate", str(document_id_of(new)), None)
    assert live_count(state, OWNER) == 1


def test_apply_event_restores_former_duplicate_as_live_when_original_gone() -> None:
    original, copy = added(OWNER, "Паспорт", content="bytes"), added(OWNER, "Копия", content="bytes", step=1)
    history = [
        original,
        copy,
        deleted(OWNER, document_id_of(copy), step=2),
        deleted(OWNER, document_id_of(original), step=3),
        restored(OWNER, document_id_of(copy), step=4),
    ]

    state, effects = apply_all(history)

    doc = document(state, copy)
    assert effects[-1] == "restored"
    assert (doc.status, doc.duplicate_of) == ("live", None)
    assert live_count(state, OWNER) == 1


def _rename(add: EventEnvelope) -> EventEnvelope:
    return renamed(add.owner_id, document_id_of(add), "Другое имя", step=50)


def _delete(add: EventEnvelope) -> EventEnvelope:
    return deleted(add.owner_id, document_id_of(add), step=50)


def _restore(add: EventEnvelope) -> EventEnvelope:
    return restored(add.owner_id, document_id_of(add), step=50)


def _deleted_history(add: EventEnvelope) -> list[EventEnvelope]:
    return [add, deleted(OWNER, document_id_of(add), step=1)]


def _duplicate_history(add: EventEnvelope) -> list[EventEnvelope]:
    return [added(OWNER, "Оригинал", content="bytes", step=-1), add]


@pytest.mark.parametrize(
    ("history", "event", "effect"),
    [
        (_deleted_history, _rename, "ignored_not_live"),
        (_duplicate_history, _rename, "ignored_not_live"),
        (_deleted_history, _delete, "ignored_already_deleted"),
        (lambda add: [add], _restore, "ignored_not_deleted"),
        (_duplicate_history, _restore, "ignored_not_deleted"),
    ],
    ids=["rename-deleted", "rename-duplicate", "delete-deleted", "restore-live", "restore-duplicate"],
)
def test_apply_event_ignores_change_when_document_status_does_not_allow_it(
    history: Callable[[EventEnvelope], list[EventEnvelope]],
    event: Callable[[EventEnvelope], EventEnvelope],
    effect: str,
) -> None:
    add = added(OWNER, "Паспорт", content="bytes")
    state, _ = apply_all(history(add))
    before, writes = snapshot(state), len(state.document_writes)

    assert apply_event(state, event(add), 99) == effect
    assert (snapshot(state), len(state.document_writes)) == (before, writes)


def _as_stranger(make: Callable[[EventEnvelope], EventEnvelope]) -> Callable[[EventEnvelope], EventEnvelope]:
    def stranger_event(add: EventEnvelope) -> EventEnvelope:
        event = make(add)
        return event.model_copy(update={"owner_id": STRANGER})

    return stranger_event


@pytest.mark.parametrize("history", [lambda add: [add], _deleted_history], ids=["live", "deleted"])
@pytest.mark.parametrize("make", [_rename, _delete, _restore], ids=["rename", "delete", "restore"])
def test_apply_event_ignores_event_when_document_of_another_owner(
    history: Callable[[EventEnvelope], list[EventEnvelope]], make: Callable[[EventEnvelope], EventEnvelope]
) -> None:
    add = added(OWNER, "Паспорт")
    state, _ = apply_all(history(add))
    before, writes = snapshot(state), len(state.document_writes)

    assert apply_event(state, _as_stranger(make)(add), 99) == "ignored_unknown"
    assert (snapshot(state), len(state.document_writes)) == (before, writes)


@pytest.mark.parametrize("make", [_rename, _delete, _restore], ids=["rename", "delete", "restore"])
def test_apply_event_ignores_event_when_document_unknown(make: Callable[[EventEnvelope], EventEnvelope]) -> None:
    state = BatchState(keys=TEST_PEOPLE)

    assert apply_event(state, make(added(OWNER, "Никогда не добавлен")), 0) == "ignored_unknown"
    assert snapshot(state) == snapshot(BatchState(keys=TEST_PEOPLE))


def test_apply_event_keeps_first_title_when_type_used_again_with_other_title() -> None:
    first = added(OWNER, "Скан", type_title="Tax Returns")
    second = added(OWNER, "Скан 2", type_title="TAX returns", step=1)

    state, _ = apply_all([first, second])

    kind = state.types[type_id(OWNER, type_key_of(OWNER, "Tax Returns"))]
    assert (TEST_PEOPLE[OWNER].open("type_title", kind.title), kind.live_count, kind.created_at, kind.updated_at) == (
        "Tax Returns",
        2,
        at(0),
        at(1),
    )
    assert opened(document(state, second), "type_title") == "Tax Returns"


@pytest.mark.parametrize(
    "history",
    [
        lambda a, b: [a, b],
        lambda a, b: [a, b, deleted(OWNER, document_id_of(a), step=3)],
        lambda a, b: [a, b, deleted(OWNER, document_id_of(a), step=3), deleted(OWNER, document_id_of(a), step=4)],
        lambda a, b: [
            a,
            b,
            deleted(OWNER, document_id_of(a), step=3),
            restored(OWNER, document_id_of(a), step=4),
            restored(OWNER, document_id_of(a), step=5),
        ],
        lambda a, b: [a, b, deleted(OWNER, document_id_of(a), step=3), deleted(OWNER, document_id_of(b), step=4)],
        lambda a, b: [a, added(OWNER, "Копия", content="a", step=2), deleted(OWNER, document_id_of(a), step=3)],
        lambda a, b: [a, b, renamed(OWNER, document_id_of(a), "Виза", step=3), deleted(STRANGER, document_id_of(b))],
    ],
    ids=[
        "two-added",
        "one-deleted",
        "deleted-twice",
        "restored-twice",
        "all-deleted",
        "duplicate-kept",
        "rename-and-foreign-delete",
    ],
)
def test_apply_event_counts_live_documents_per_type_when_history_applied(
    history: Callable[[EventEnvelope, EventEnvelope], list[EventEnvelope]],
) -> None:
    a, b = added(OWNER, "Паспорт", content="a", step=1), added(OWNER, "Паспорт", content="b", step=2)

    state, _ = apply_all(history(a, b))

    assert live_count(state, OWNER) == sum(doc.status == "live" for doc in state.documents.values())


def _loaded_state(document_status: DocumentStatus, live_count_stored: int) -> tuple[BatchState, EventEnvelope]:
    """A state as the store would load it: one stored document and its type."""
    add = added(OWNER, "Паспорт")
    built, _ = apply_all([add])
    stored: DocumentView = document(built, add).model_copy(update={"status": document_status})
    kind: DocumentTypeView = built.types[type_id(OWNER, type_key_of(OWNER))].model_copy(
        update={"live_count": live_count_stored}
    )
    return BatchState.of([stored], [kind], [], keys=TEST_PEOPLE), add


def test_batch_state_of_takes_slots_of_live_documents_only_when_loaded() -> None:
    live_state, live_add = _loaded_state(DocumentStatus.live, 1)
    deleted_state, _ = _loaded_state(DocumentStatus.deleted, 0)

    slot = (OWNER, type_key_of(OWNER), keyed_forms(OWNER, "Паспорт")[0])
    assert live_state.name_slots == {slot: str(document_id_of(live_add))}
    assert len(live_state.content_slots) == 1
    assert (deleted_state.name_slots, deleted_state.content_slots) == ({}, {})


def test_apply_event_writes_replacement_when_document_loaded_from_store() -> None:
    state, add = _loaded_state(DocumentStatus.live, 1)

    apply_event(state, renamed(OWNER, document_id_of(add), "Новое имя", step=1), 7)

    assert [is_new for is_new, _ in state.document_writes] == [False]


def test_apply_event_keeps_live_count_at_zero_when_stored_count_already_zero() -> None:
    state, add = _loaded_state(DocumentStatus.live, 0)

    apply_event(state, deleted(OWNER, document_id_of(add), step=1), 7)

    assert live_count(state, OWNER) == 0


def _history_for_repeat(a: EventEnvelope) -> list[EventEnvelope]:
    return [started(OWNER), a, added(OWNER, "Виза", content="visa", step=1)]


@pytest.mark.parametrize(
    "repeated",
    [
        lambda a: added(OWNER, "Паспорт", step=5),
        lambda a: added(OWNER, "Копия", content="a", step=5),
        lambda a: renamed(OWNER, document_id_of(a), "Виза", step=5),
        lambda a: renamed(OWNER, document_id_of(a), "паспорт", step=5),
        lambda a: deleted(OWNER, document_id_of(a), step=5),
        lambda a: started(OWNER, "ru", step=5),
    ],
    ids=["add", "add-duplicate", "rename-to-taken", "rename-to-own", "delete", "user-started"],
)
def test_apply_event_changes_nothing_when_same_event_applied_again(
    repeated: Callable[[EventEnvelope], EventEnvelope],
) -> None:
    a = added(OWNER, "Паспорт", content="a")
    event = repeated(a)
    history = _history_for_repeat(a)
    state, _ = apply_all([*history, event])
    once = snapshot(state)

    apply_event(state, event, len(history))  # read again at its offset, as a replay does

    assert snapshot(state) == once


@pytest.mark.parametrize("restore_into", ["free", "name-taken", "content-taken"])
def test_apply_event_changes_nothing_when_same_restore_applied_again(restore_into: str) -> None:
    a = added(OWNER, "Паспорт", content="a")
    blockers = {
        "free": [],
        "name-taken": [added(OWNER, "Паспорт", content="b", step=2)],
        "content-taken": [added(OWNER, "Другой", content="a", step=2)],
    }[restore_into]
    restore = restored(OWNER, document_id_of(a), step=3)
    state, _ = apply_all([a, deleted(OWNER, document_id_of(a), step=1), *blockers, restore])
    once = snapshot(state)

    assert apply_event(state, restore, 100) == "ignored_not_deleted"
    assert snapshot(state) == once


def test_apply_event_gives_equal_writes_when_same_events_applied_to_fresh_states() -> None:
    a, b = added(OWNER, "Паспорт", content="a"), added(OWNER, "Паспорт", content="b", step=1)
    events = [
        started(OWNER),
        a,
        b,
        added(OWNER, "Копия", content="a", step=2),
        renamed(OWNER, document_id_of(b), "Паспорт", step=3),
        deleted(OWNER, document_id_of(a), step=4),
        added(OWNER, "Паспорт", content="c", step=5),
        restored(OWNER, document_id_of(a), step=6),
    ]

    first, first_effects = apply_all(events)
    second, second_effects = apply_all(events)

    assert first_effects == second_effects
    assert first.document_writes == second.document_writes
    assert snapshot(first) == snapshot(second)
    assert isinstance(first.document_writes[0][1]["created_at"], datetime)
    assert uuid.UUID(first.document_writes[0][1]["_id"]) == document_id_of(a)


# Names beyond every copy suffix (issue 10): each event still has one deterministic outcome.

FEW_COPIES = NameRules(max_copy_number=3)


def _few_copies() -> BatchState:
    return BatchState(rules=FEW_COPIES, keys=TEST_PEOPLE)


def _id_name(name: str, add: EventEnvelope) -> str:
    return f"{name} ({document_id_of(add).hex})"


def test_apply_event_names_added_document_by_its_id_when_copy_suffixes_exhausted() -> None:
    adds = [added(OWNER, "Паспорт", step=step) for step in range(4)]

    state, effects = apply_all(adds, _few_copies())

    assert [name_of(state, add) for add in adds] == [
        "Паспорт",
        "Паспорт (2)",
        "Паспорт (3)",
        _id_name("Паспорт", adds[3]),
    ]
    assert effects == ["created", "created_renamed", "created_renamed", "created_renamed"]
    assert live_count(state, OWNER) == 4


def test_apply_event_numbers_the_id_name_when_even_the_id_name_of_an_added_document_is_taken() -> None:
    later_id = uuid.uuid4()
    squatter = added(OWNER, "Скан", step=0)
    history = [
        squatter,
        renamed(OWNER, document_id_of(squatter), f"Паспорт ({later_id.hex})", step=1),
        *[added(OWNER, "Паспорт", step=step) for step in range(2, 5)],
    ]
    late = added(OWNER, "Паспорт", step=9, document_id=later_id)

    state, effects = apply_all([*history, late], _few_copies())

    assert (name_of(state, late), document(state, late).status) == (f"Паспорт ({later_id.hex}) (2)", "live")
    assert effects[-1] == "created_renamed"


def test_apply_event_renames_to_id_name_when_copy_suffixes_of_new_name_exhausted() -> None:
    adds = [added(OWNER, name, step=step) for step, name in enumerate(["Виза", "Виза", "Виза", "Полис"])]

    state, effects = apply_all([*adds, renamed(OWNER, document_id_of(adds[3]), "виза", step=9)], _few_copies())

    assert effects[-1] == "renamed"
    assert name_of(state, adds[3]) == _id_name("виза", adds[3])
    assert (OWNER, type_key_of(OWNER), keyed_forms(OWNER, "Полис")[0]) not in state.name_slots


def test_apply_event_keeps_old_name_when_no_name_is_free_for_a_rename() -> None:
    target = added(OWNER, "Полис", step=0)
    squatter = added(OWNER, "Скан", step=1)
    history = [
        target,
        squatter,
        renamed(OWNER, document_id_of(squatter), _id_name("Виза", target), step=2),
        *[added(OWNER, "Виза", step=step) for step in range(3, 6)],
    ]
    state, _ = apply_all(history, _few_copies())
    before, writes = snapshot(state), len(state.document_writes)

    effect = apply_event(state, renamed(OWNER, document_id_of(target), "Виза", step=9), 99)

    assert effect == "rename_conflict"
    assert (snapshot(state), len(state.document_writes)) == (before, writes)
    assert name_of(state, target) == "Полис"


def test_apply_event_restores_under_id_name_when_copy_suffixes_exhausted_meanwhile() -> None:
    first = added(OWNER, "Паспорт", step=0)
    history = [
        first,
        deleted(OWNER, document_id_of(first), step=1),
        *[added(OWNER, "Паспорт", step=step) for step in range(2, 5)],
    ]

    state, effects = apply_all([*history, restored(OWNER, document_id_of(first), step=9)], _few_copies())

    assert effects[-1] == "restored_renamed"
    assert (name_of(state, first), document(state, first).status) == (_id_name("Паспорт", first), "live")
    assert live_count(state, OWNER) == 4


def test_apply_event_leaves_document_deleted_when_no_name_is_free_for_a_restore() -> None:
    first = added(OWNER, "Паспорт", step=0)
    squatter = added(OWNER, "Скан", step=1)
    history = [
        first,
        squatter,
        deleted(OWNER, document_id_of(first), step=2),
        renamed(OWNER, document_id_of(squatter), _id_name("Паспорт", first), step=3),
        *[added(OWNER, "Паспорт", step=step) for step in range(4, 7)],
    ]
    state, _ = apply_all(history, _few_copies())
    before, writes = snapshot(state), len(state.document_writes)

    effect = apply_event(state, restored(OWNER, document_id_of(first), step=9), 99)

    assert effect == "restore_conflict"
    assert (snapshot(state), len(state.document_writes)) == (before, writes)
    assert document(state, first).status == "deleted"


def test_apply_event_restores_under_id_name_when_a_person_used_every_copy_suffix_through_the_bot() -> None:
    # The stall of issue 10, step by step as the bot allows it, with the real limit of 1000 copies.
    first = added(OWNER, "x", step=0)
    copies = [added(OWNER, f"x ({number})", step=number) for number in range(2, MAX_COPY_NUMBER + 1)]
    history = [first, *copies, deleted(OWNER, document_id_of(first), step=2000), added(OWNER, "x", step=2001)]

    state, effects = apply_all([*history, restored(OWNER, document_id_of(first), step=2002)])

    assert effects[-1] == "restored_renamed"
    assert name_of(state, first) == _id_name("x", first)
    assert live_count(state, OWNER) == MAX_COPY_NUMBER + 1


LONG = "Договор аренды " + "д" * (MAX_NAME_LENGTH - 15)


@pytest.mark.parametrize(
    ("count", "expected_suffix"),
    [(2, " (2)"), (3, " (3)")],
)
def test_apply_event_cuts_the_asked_name_when_its_copy_suffix_would_pass_the_name_limit(
    count: int, expected_suffix: str
) -> None:
    adds = [added(OWNER, LONG, step=step) for step in range(count)]

    state, effects = apply_all(adds)

    name = name_of(state, adds[-1])
    assert len(LONG) == MAX_NAME_LENGTH
    assert (len(name), name) == (MAX_NAME_LENGTH, LONG[: MAX_NAME_LENGTH - len(expected_suffix)] + expected_suffix)
    assert effects[-1] == "created_renamed"


def test_apply_event_keeps_names_within_limit_and_clean_when_a_long_name_ends_on_a_space_at_the_cut() -> None:
    spaced = "a" * (MAX_NAME_LENGTH - 5) + " bcd"  # cutting 4 characters for " (2)" would leave "a… "
    adds = [added(OWNER, spaced, step=step) for step in range(5)]

    state, _ = apply_all(adds, _few_copies())

    names = [name_of(state, add) for add in adds]
    assert names[1] == "a" * (MAX_NAME_LENGTH - 5) + " (2)"
    assert all(len(name) <= MAX_NAME_LENGTH and clean_display_name(name) == name for name in names)
    assert len({name_key(name) for name in names}) == len(names)


def test_batch_state_names_copies_keys_probed_beyond_what_was_loaded_when_names_ran_out() -> None:
    adds = [added(OWNER, "Паспорт", step=step) for step in range(4)]
    loaded = frozenset({name_keys(TEST_PEOPLE[OWNER], "Паспорт").copies_key})
    state = BatchState.of([], [], [], rules=FEW_COPIES, loaded_copies_keys=loaded, keys=TEST_PEOPLE)

    apply_all(adds[:3], state)
    before_fallback = state.unloaded_copies_keys()
    apply_all(adds[3:], state, first_offset=3)

    assert before_fallback == set()
    assert state.unloaded_copies_keys() == {name_keys(TEST_PEOPLE[OWNER], _id_name("Паспорт", adds[3])).copies_key}


def test_batch_state_names_no_unloaded_keys_when_it_holds_every_document() -> None:
    state, _ = apply_all([added(OWNER, "Паспорт", step=step) for step in range(4)], _few_copies())

    assert state.unloaded_copies_keys() == set()


# document.moved (issue 12)
KEYS = TEST_PEOPLE[OWNER]


def test_apply_event_moves_document_into_new_type_when_moved_to_an_unknown_title() -> None:
    add = added(OWNER, "Полис", "Passport", step=1)
    move = moved(KEYS, document_id_of(add), "Страховки", step=2)

    state, effects = apply_all([add, move], first_offset=10)

    doc = document(state, add)
    assert effects == ["created", "moved"]
    assert (doc.type_slug, opened(doc, "type_title"), opened(doc), doc.type_seq) == (
        type_key_of(OWNER, "Страховки"),
        "Страховки",
        "Полис",
        1,
    )
    assert doc.page_key == f"{OWNER}|{doc.type_slug}|000000000001"
    assert (live_count(state, OWNER, "Passport"), live_count(state, OWNER, "Страховки")) == (0, 1)
    assert (doc.last_event_id, doc.last_offset, doc.updated_at, doc.link_generation) == (
        str(move.event_id),
        11,
        at(2),
        0,
    )


def test_apply_event_gives_copy_name_when_moved_into_a_type_holding_that_name() -> None:
    there = added(OWNER, "Полис", "Страховки", step=1)
    here = added(OWNER, "Полис", "Passport", step=2)

    state, effects = apply_all([there, here, moved(KEYS, document_id_of(here), "Страховки", step=3)])

    assert effects == ["created", "created", "moved_renamed"]
    assert (name_of(state, here), document(state, here).link_generation) == ("Полис (2)", 1)
    assert state.types[type_id(OWNER, type_key_of(OWNER, "Страховки"))].added_count == 2
    assert live_count(state, OWNER, "Страховки") == 2


def test_apply_event_keeps_document_in_place_when_no_name_is_free_in_the_new_type() -> None:
    rules = NameRules(max_copy_number=1)
    here = added(OWNER, "Полис", "Passport", step=1)
    there = [added(OWNER, "Полис", "Страховки", step=2)]
    there.append(renamed(OWNER, document_id_of(there[0]), "Полис", step=3))
    blocker = added(OWNER, f"Полис ({document_id_of(here).hex})", "Страховки", step=4)
    state = BatchState(rules=rules, keys=TEST_PEOPLE)

    state, effects = apply_all([here, *there, blocker, moved(KEYS, document_id_of(here), "Страховки", 5)], state)

    assert effects[-1] == "move_conflict"
    assert document(state, here).type_slug == type_key_of(OWNER, "Passport")
    assert (live_count(state, OWNER, "Passport"), live_count(state, OWNER, "Страховки")) == (1, 2)


@pytest.mark.parametrize(
    ("prelude", "expected"),
    [
        (lambda add: [], "ignored_same_type"),
        (lambda add: [deleted(OWNER, document_id_of(add), step=2)], "ignored_not_live"),
    ],
)
def test_apply_event_changes_nothing_when_moved_to_its_own_type_or_not_live(
    prelude: Callable[[EventEnvelope], list[EventEnvelope]], expected: str
) -> None:
    add = added(OWNER, "Полис", "Passport", step=1)
    state, _ = apply_all([add, *prelude(add)])
    before = snapshot(state)

    effect = apply_event(
        state, moved(KEYS, document_id_of(add), "Passport" if not expected.endswith("live") else "X"), 9
    )

    assert (effect, snapshot(state)) == (expected, before)


def test_apply_event_ignores_move_when_document_is_someone_elses_or_unknown() -> None:
    add = added(OWNER, "Полис", "Passport", step=1)
    state, _ = apply_all([add])
    before = snapshot(state)

    effects = [
        apply_event(state, moved(TEST_PEOPLE[STRANGER], document_id_of(add), "Страховки"), 5),
        apply_event(state, moved(KEYS, uuid.uuid4(), "Страховки"), 6),
    ]

    assert (effects, snapshot(state)) == (["ignored_unknown", "ignored_unknown"], before)


def _stored_after(*events: EventEnvelope) -> BatchState:
    """A batch's state loaded over what ``events`` left stored (as the store loads it: every document)."""
    first, _ = apply_all(list(events))
    return BatchState.of(list(first.documents.values()), list(first.types.values()), [], keys=TEST_PEOPLE)


def test_batch_state_ordered_document_writes_puts_inserts_first_when_no_other_document_holds_their_slots() -> None:
    stored = added(OWNER, "Паспорт")
    state = _stored_after(stored)
    new = added(OWNER, "Полис", content="other bytes", step=2)

    apply_all([renamed(OWNER, document_id_of(stored), "Виза", step=1), new], state, first_offset=1)

    order = [(is_new, written["_id"]) for is_new, written in state.ordered_document_writes()]
    assert [is_new for is_new, _ in state.document_writes] == [False, True]
    assert order == [(True, str(document_id_of(new))), (False, str(document_id_of(stored)))]


def test_batch_state_ordered_document_writes_keeps_an_add_after_the_rename_when_the_rename_frees_its_name() -> None:
    stored = added(OWNER, "Паспорт")
    state = _stored_after(stored)
    new = added(OWNER, "Паспорт", content="other bytes", step=2)

    apply_all([renamed(OWNER, document_id_of(stored), "Виза", step=1), new], state, first_offset=1)

    assert name_of(state, new) == "Паспорт"
    assert state.ordered_document_writes() == state.document_writes


def test_batch_state_ordered_document_writes_sends_a_document_once_in_its_last_state_when_it_shares_no_slot() -> None:
    state = _stored_after(added(OWNER, "Паспорт"))
    new = added(OWNER, "Полис", content="other bytes", step=2)

    apply_all(
        [new, renamed(OWNER, document_id_of(new), "Виза", step=3), deleted(OWNER, document_id_of(new), step=4)],
        state,
        first_offset=1,
    )

    assert len(state.document_writes) == 3
    assert state.ordered_document_writes() == [(True, state.document_writes[-1][1])]


def test_batch_state_ordered_document_writes_sends_one_replace_when_a_stored_document_changes_twice() -> None:
    stored = added(OWNER, "Паспорт")
    state = _stored_after(stored)

    apply_all(
        [
            renamed(OWNER, document_id_of(stored), "Виза", step=1),
            renamed(OWNER, document_id_of(stored), "Полис", step=2),
        ],
        state,
        first_offset=1,
    )

    assert state.ordered_document_writes() == [(False, state.document_writes[-1][1])]


def test_batch_state_ordered_document_writes_keeps_every_write_when_two_documents_swap_their_names() -> None:
    first, second = added(OWNER, "Паспорт"), added(OWNER, "Виза", content="other bytes", step=1)
    state = _stored_after(first, second)

    apply_all(
        [
            renamed(OWNER, document_id_of(first), "Полис", step=2),
            renamed(OWNER, document_id_of(second), "Паспорт", step=3),
            renamed(OWNER, document_id_of(first), "Виза", step=4),
        ],
        state,
        first_offset=2,
    )

    assert (name_of(state, first), name_of(state, second)) == ("Виза", "Паспорт")
    assert state.ordered_document_writes() == state.document_writes
