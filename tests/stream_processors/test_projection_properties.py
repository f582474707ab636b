"""Invariants of the projections over arbitrary histories of two people sharing names and contents."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.effects import Effect
from contracts.events import EventEnvelope, UserLanguageChanged, new_event
from contracts.read_models import DocumentView
from contracts.text import MAX_NAME_LENGTH, clean_display_name, type_slug
from service_kit.keyed import type_key
from stream_processors.projections import apply_event
from stream_processors.projections.naming import NameRules
from stream_processors.projections.state import BatchState, DocumentWrite
from tests.factories import (
    added,
    as_read,
    at,
    deleted,
    document_id_of,
    moved,
    pages_added,
    renamed,
    restored,
    sealed_album,
    started,
    type_deleted,
    type_renamed,
    type_restored,
)
from tests.keyrings import TEST_PEOPLE
from tests.stream_processors.projection_support import apply_all, keyed_forms, opened, snapshot

OWNERS = (412845671, 777)
TYPES = ("Passport", "Визы")
# Titles moves and type renames may name: the types above, one of the same slug as "Визы", and a new one.
TITLES = (*TYPES, "визы", "Страховки")
NAMES = ("Паспорт", "паспорт", "Паспорт (2)", "Ёлка", "Елка (2)", "Виза")
CONTENTS = ("a", "b", "c")

_index = st.integers(0, 20)
_ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), _index, _index, _index, _index),
        st.tuples(st.just("rename"), _index, _index, st.booleans()),
        st.tuples(st.sampled_from(["delete", "restore"]), _index, st.booleans()),
        st.tuples(st.sampled_from(["start", "language"]), _index, st.sampled_from(["en", "ru"])),
        st.tuples(st.just("move"), _index, _index, st.booleans()),
        st.tuples(st.just("type_rename"), _index, _index, _index),
        st.tuples(st.just("type_delete"), _index, _index),
        st.tuples(st.just("type_restore"), _index, st.booleans()),
        st.tuples(st.just("album"), _index, _index, _index, _index),
        st.tuples(st.just("page"), _index, _index, st.booleans()),
    ),
    max_size=30,
)


def _document_event(op: tuple[Any, ...], adds: list[EventEnvelope], step: int) -> EventEnvelope | None:
    if not adds:
        return None
    add = adds[op[1] % len(adds)]
    owner = OWNERS[1] if op[-1] and add.owner_id == OWNERS[0] else add.owner_id
    if op[0] == "rename":
        return renamed(owner, document_id_of(add), NAMES[op[2] % len(NAMES)], step=step)
    if op[0] == "move":
        return moved(TEST_PEOPLE[owner], document_id_of(add), TITLES[op[2] % len(TITLES)], step=step)
    if op[0] == "page":
        return pages_added(TEST_PEOPLE[owner], document_id_of(add), [CONTENTS[op[2] % 3]], step=step)
    maker = deleted if op[0] == "delete" else restored
    return maker(owner, document_id_of(add), step=step)


def _type_event(op: tuple[Any, ...], deletions: list[EventEnvelope], step: int) -> EventEnvelope | None:
    """A type renamed or deleted (any title, maybe unknown), or an earlier deletion undone (maybe by a stranger)."""
    if op[0] == "type_restore":
        if not deletions:
            return None
        deletion = deletions[op[1] % len(deletions)]
        owner = OWNERS[1] if op[2] and deletion.owner_id == OWNERS[0] else deletion.owner_id
        return type_restored(owner, deletion, step)
    keys = TEST_PEOPLE[OWNERS[op[1] % 2]]
    if op[0] == "type_rename":
        return type_renamed(keys, TITLES[op[2] % len(TITLES)], TITLES[op[3] % len(TITLES)], step)
    deletions.append(type_deleted(keys, TITLES[op[2] % len(TITLES)], step))
    return deletions[-1]


def build_events(ops: list[tuple[Any, ...]]) -> list[EventEnvelope]:
    """Events of a history; renames, deletes and restores address earlier documents (maybe as a stranger)."""
    events: list[EventEnvelope] = []
    adds: list[EventEnvelope] = []
    deletions: list[EventEnvelope] = []
    for step, op in enumerate(ops):
        event: EventEnvelope | None
        if op[0] == "add":
            event = added(OWNERS[op[1] % 2], NAMES[op[3] % len(NAMES)], TYPES[op[2] % 2], CONTENTS[op[4] % 3], step)
            adds.append(event)
        elif op[0] == "album":  # two or three pages of the same contents: albums collide as often as files do
            contents = [CONTENTS[(op[4] + i) % 3] for i in range(2 + op[4] % 2)]
            owner = OWNERS[op[1] % 2]
            event = as_read(
                sealed_album(TEST_PEOPLE[owner], NAMES[op[3] % len(NAMES)], contents, TYPES[op[2] % 2], step)
            )
            adds.append(event)
        elif op[0] == "start":
            event = started(OWNERS[op[1] % 2], op[2], step)
        elif op[0] in ("type_rename", "type_delete", "type_restore"):
            event = _type_event(op, deletions, step)
        elif op[0] == "language":
            event = new_event(
                UserLanguageChanged(language=op[2]),
                owner_id=OWNERS[op[1] % 2],
                correlation_id="c",
                occurred_at=at(step),
            )
        else:
            event = _document_event(op, adds, step)
        if event is not None:
            events.append(event)
    return events


def opened_type_title(kind: Any) -> str:
    return TEST_PEOPLE[kind.owner_id].open("type_title", kind.title)


def assert_consistent(state: BatchState) -> None:
    documents = list(state.documents.values())
    live = [doc for doc in documents if doc.status == "live"]
    assert state.name_slots == {(doc.owner_id, doc.type_slug, doc.name_key): doc.id for doc in live}
    assert state.content_slots == {(doc.owner_id, doc.content_key): doc.id for doc in live}
    assert len(state.name_slots) == len(state.content_slots) == len(live)
    live_per_type = Counter(f"{doc.owner_id}:{doc.type_slug}" for doc in live)
    assert {key: kind.live_count for key, kind in state.types.items()} == {
        key: live_per_type[key] for key in state.types
    }
    for kind in state.types.values():  # a type's slug is its title's, also after renames
        assert kind.slug == type_key(TEST_PEOPLE[kind.owner_id], type_slug(opened_type_title(kind)))
    for doc in documents:
        assert doc.type_title == state.types[f"{doc.owner_id}:{doc.type_slug}"].title
        assert doc.deleted_by is None or doc.status == "deleted"
        assert (doc.name_key, doc.name_base_key, doc.search_prefixes) == keyed_forms(doc.owner_id, opened(doc))
        assert (doc.page_key is not None) == (doc.status == "live")
        assert (doc.deleted_at is not None) == (doc.status == "deleted")
        if doc.status == "duplicate":
            original = state.documents[str(doc.duplicate_of)]
            assert (original.owner_id, original.content_key) == (doc.owner_id, doc.content_key)
            assert original.id != doc.id


def assert_writes_replay_cleanly(
    state: BatchState, writes: list[DocumentWrite] | None = None, stored: Iterable[DocumentView] = ()
) -> None:
    """Writing ``writes`` (default ``document_writes``) in order over the ``stored`` documents never passes through
    a state a unique index would refuse, and ends with the state's documents."""
    table: dict[str, dict[str, Any]] = {doc.id: doc.model_dump(by_alias=True) for doc in stored}
    for is_new, written in state.document_writes if writes is None else writes:
        assert is_new == (written["_id"] not in table)
        table[written["_id"]] = written
        live = [doc for doc in table.values() if doc["status"] == "live"]
        assert len({(d["owner_id"], d["type_slug"], d["name_key"]) for d in live}) == len(live)
        assert len({(d["owner_id"], d["content_key"]) for d in live}) == len(live)
    assert table == {key: doc.model_dump(by_alias=True) for key, doc in state.documents.items()}


@settings(max_examples=150, deadline=None)
@given(ops=_ops)
def test_apply_event_keeps_slots_counts_and_duplicates_consistent_when_any_history_applied(
    ops: list[tuple[Any, ...]],
) -> None:
    state = BatchState(keys=TEST_PEOPLE)
    for offset, event in enumerate(build_events(ops)):
        apply_event(state, event, offset)
        assert_consistent(state)

    assert all(kind.live_count >= 0 for kind in state.types.values())
    assert_writes_replay_cleanly(state)
    assert_writes_replay_cleanly(state, state.ordered_document_writes())


@settings(max_examples=100, deadline=None)
@given(ops=_ops)
def test_apply_event_gives_same_state_when_every_event_applied_twice_in_a_row(ops: list[tuple[Any, ...]]) -> None:
    events = build_events(ops)
    once, _ = apply_all(events)

    twice = BatchState(keys=TEST_PEOPLE)
    for offset, event in enumerate(events):
        apply_event(twice, event, offset)
        apply_event(twice, event, offset)

    assert snapshot(twice) == snapshot(once)


@settings(max_examples=100, deadline=None)
@given(ops=_ops)
def test_apply_event_gives_equal_writes_when_history_applied_to_fresh_states(ops: list[tuple[Any, ...]]) -> None:
    events = build_events(ops)

    first, first_effects = apply_all(events)
    second, second_effects = apply_all(events)

    assert (first.document_writes, first_effects) == (second.document_writes, second_effects)


# The same invariants when names run out (issue 10): two copy suffixes only, names at the length limit, and renames
# onto another document's id name, so that every fallback and both conflicts occur.
FEW_COPIES = NameRules(max_copy_number=2)
LONG_NAME = "Договор " + "д" * (MAX_NAME_LENGTH - 8)
CROWDED_NAMES = ("Паспорт", "паспорт", "Паспорт (2)", LONG_NAME, LONG_NAME[:-1])

_crowded_ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), _index, _index, _index, _index),
        st.tuples(st.just("rename"), _index, _index, st.booleans()),
        st.tuples(st.just("rename_to_id_name"), _index, _index, _index),
        st.tuples(st.sampled_from(["delete", "restore"]), _index, st.booleans()),
    ),
    max_size=40,
)


def build_crowded_events(ops: list[tuple[Any, ...]]) -> list[EventEnvelope]:
    """One owner, one type, few names: adds, renames (also to the id name of another document), deletes, restores."""
    events: list[EventEnvelope] = []
    adds: list[EventEnvelope] = []
    for step, op in enumerate(ops):
        if op[0] == "add":
            event = added(OWNERS[0], CROWDED_NAMES[op[3] % len(CROWDED_NAMES)], TYPES[0], CONTENTS[op[4] % 3], step)
            adds.append(event)
            events.append(event)
        elif adds and op[0] == "rename":
            target = adds[op[1] % len(adds)]
            events.append(renamed(OWNERS[0], document_id_of(target), CROWDED_NAMES[op[2] % len(CROWDED_NAMES)], step))
        elif adds and op[0] == "rename_to_id_name":
            target, other = adds[op[1] % len(adds)], adds[op[2] % len(adds)]
            wanted = CROWDED_NAMES[op[3] % len(CROWDED_NAMES)]
            events.append(renamed(OWNERS[0], document_id_of(target), _fitted_id_name(wanted, other), step))
        elif adds:
            maker = deleted if op[0] == "delete" else restored
            events.append(maker(OWNERS[0], document_id_of(adds[op[1] % len(adds)]), step=step))
    return events


def _fitted_id_name(wanted: str, add: EventEnvelope) -> str:
    suffix = f" ({document_id_of(add).hex})"
    return wanted[: MAX_NAME_LENGTH - len(suffix)].rstrip() + suffix


@settings(max_examples=300, deadline=None)
@given(ops=_crowded_ops)
def test_apply_event_keeps_unique_slots_and_defined_effects_when_names_run_out(ops: list[tuple[Any, ...]]) -> None:
    state = BatchState(rules=FEW_COPIES, keys=TEST_PEOPLE)
    for offset, event in enumerate(build_crowded_events(ops)):
        effect = apply_event(state, event, offset)
        assert isinstance(effect, Effect)
        assert_consistent(state)

    assert_writes_replay_cleanly(state)
    assert_writes_replay_cleanly(state, state.ordered_document_writes())
    live = [doc for doc in state.documents.values() if doc.status == "live"]
    names = [opened(doc) for doc in live]
    assert all(len(name) <= MAX_NAME_LENGTH and clean_display_name(name) == name for name in names)


@settings(max_examples=100, deadline=None)
@given(ops=_crowded_ops)
def test_apply_event_gives_equal_writes_and_effects_when_crowded_history_applied_twice(
    ops: list[tuple[Any, ...]],
) -> None:
    events = build_crowded_events(ops)

    first, first_effects = apply_all(events, BatchState(rules=FEW_COPIES, keys=TEST_PEOPLE))
    second, second_effects = apply_all(events, BatchState(rules=FEW_COPIES, keys=TEST_PEOPLE))

    assert (first.document_writes, first_effects) == (second.document_writes, second_effects)


@settings(max_examples=300, deadline=None)
@given(ops=_crowded_ops, cut=st.integers(min_value=0, max_value=40))
def test_ordered_document_writes_pass_no_unique_conflict_when_a_crowded_history_is_split_in_two_batches(
    ops: list[tuple[Any, ...]], cut: int
) -> None:
    events = build_crowded_events(ops)
    first, _ = apply_all(events[:cut], BatchState(rules=FEW_COPIES, keys=TEST_PEOPLE))
    stored = list(first.documents.values())
    second = BatchState.of(stored, list(first.types.values()), list(first.users.values()), FEW_COPIES, keys=TEST_PEOPLE)
    apply_all(events[cut:], second, first_offset=cut)

    assert_writes_replay_cleanly(second, second.document_writes, stored)
    assert_writes_replay_cleanly(second, second.ordered_document_writes(), stored)
    written = Counter(snapshot["_id"] for _, snapshot in second.document_writes)
    sent = Counter(snapshot["_id"] for _, snapshot in second.ordered_document_writes())
    assert (set(sent), sent <= written) == (set(written), True)
