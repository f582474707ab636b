"""Invariants of the projections over arbitrary histories of two people sharing names and contents."""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.events import EventEnvelope, UserLanguageChanged, new_event
from contracts.text import base_name_key, name_key
from stream_processors.projections import apply_event
from stream_processors.projections.state import BatchState
from tests.factories import added, at, deleted, document_id_of, renamed, restored, started
from tests.stream_processors.projection_support import apply_all, snapshot

OWNERS = (412845671, 777)
TYPES = ("Passport", "Визы")
NAMES = ("Паспорт", "паспорт", "Паспорт (2)", "Ёлка", "Елка (2)", "Виза")
CONTENTS = ("a", "b", "c")

_index = st.integers(0, 20)
_ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), _index, _index, _index, _index),
        st.tuples(st.just("rename"), _index, _index, st.booleans()),
        st.tuples(st.sampled_from(["delete", "restore"]), _index, st.booleans()),
        st.tuples(st.sampled_from(["start", "language"]), _index, st.sampled_from(["en", "ru"])),
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
    maker = deleted if op[0] == "delete" else restored
    return maker(owner, document_id_of(add), step=step)


def build_events(ops: list[tuple[Any, ...]]) -> list[EventEnvelope]:
    """Events of a history; renames, deletes and restores address earlier documents (maybe as a stranger)."""
    events: list[EventEnvelope] = []
    adds: list[EventEnvelope] = []
    for step, op in enumerate(ops):
        event: EventEnvelope | None
        if op[0] == "add":
            event = added(OWNERS[op[1] % 2], NAMES[op[3] % len(NAMES)], TYPES[op[2] % 2], CONTENTS[op[4] % 3], step)
            adds.append(event)
        elif op[0] == "start":
            event = started(OWNERS[op[1] % 2], op[2], step)
        elif op[0] == "language":
            event = new_event(UserLanguageChanged(language=op[2]), owner_id=OWNERS[op[1] % 2], correlation_id="c",
                              occurred_at=at(step))
        else:
            event = _document_event(op, adds, step)
        if event is not None:
            events.append(event)
    return events


def assert_consistent(state: BatchState) -> None:
    documents = list(state.documents.values())
    live = [doc for doc in documents if doc.status == "live"]
    assert state.name_slots == {(doc.owner_id, doc.type_slug, doc.name_key): doc.id for doc in live}
    assert state.content_slots == {(doc.owner_id, doc.file.sha256): doc.id for doc in live}
    assert len(state.name_slots) == len(state.content_slots) == len(live)
    live_per_type = Counter(f"{doc.owner_id}:{doc.type_slug}" for doc in live)
    assert {key: kind.live_count for key, kind in state.types.items()} == {
        key: live_per_type[key] for key in state.types}
    for doc in documents:
        assert (doc.name_key, doc.name_base_key) == (name_key(doc.name), base_name_key(name_key(doc.name)))
        assert (doc.deleted_at is not None) == (doc.status == "deleted")
        if doc.status == "duplicate":
            original = state.documents[str(doc.duplicate_of)]
            assert (original.owner_id, original.file.sha256) == (doc.owner_id, doc.file.sha256)
            assert original.id != doc.id


def assert_writes_replay_cleanly(state: BatchState) -> None:
    """Writing ``document_writes`` in order never passes through a state a unique index would refuse."""
    table: dict[str, dict[str, Any]] = {}
    for is_new, written in state.document_writes:
        assert is_new == (written["_id"] not in table)
        table[written["_id"]] = written
        live = [doc for doc in table.values() if doc["status"] == "live"]
        assert len({(d["owner_id"], d["type_slug"], d["name_key"]) for d in live}) == len(live)
        assert len({(d["owner_id"], d["file"]["sha256"]) for d in live}) == len(live)
    assert table == {key: doc.model_dump(by_alias=True) for key, doc in state.documents.items()}


@settings(max_examples=150, deadline=None)
@given(ops=_ops)
def test_apply_event_keeps_slots_counts_and_duplicates_consistent_when_any_history_applied(
    ops: list[tuple[Any, ...]]
) -> None:
    state = BatchState()
    for offset, event in enumerate(build_events(ops)):
        apply_event(state, event, offset)
        assert_consistent(state)

    assert all(kind.live_count >= 0 for kind in state.types.values())
    assert_writes_replay_cleanly(state)


@settings(max_examples=100, deadline=None)
@given(ops=_ops)
def test_apply_event_gives_same_state_when_every_event_applied_twice_in_a_row(ops: list[tuple[Any, ...]]) -> None:
    events = build_events(ops)
    once, _ = apply_all(events)

    twice = BatchState()
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
