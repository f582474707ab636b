"""The valid-until projection: dates set and cleared, reminders recorded for the current date only."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.effects import Effect
from contracts.events import EventEnvelope
from contracts.read_models import DocumentView
from stream_processors.projections.state import BatchState
from tests.factories import added, deleted, document_id_of, reminder_sent, restored, valid_until_set
from tests.stream_processors.projection_support import apply_all, document, snapshot

OWNER = 412845671
STRANGER = 777
DAY = date(2031, 3, 31)
OTHER_DAY = date(2032, 1, 15)


def _dated(step: int = 1, day: date | None = DAY) -> tuple[EventEnvelope, list[EventEnvelope]]:
    add = added(OWNER, "Паспорт", content="p", step=0)
    return add, [add, valid_until_set(OWNER, document_id_of(add), day, step=step)]


def test_apply_event_stores_date_and_expiry_keys_when_valid_until_set() -> None:
    add, events = _dated()

    state, effects = apply_all(events, first_offset=10)

    doc = document(state, add)
    assert effects == [Effect.created, Effect.valid_until_set]
    assert (doc.valid_until, doc.reminders_sent) == ("2031-03-31", [])
    assert (doc.expiry_key, doc.expiry_day) == (f"{OWNER}|2031-03-31", "2031-03-31")
    assert (doc.last_event_id, doc.last_offset) == (str(events[1].event_id), 11)
    assert state.document_writes[-1] == (False, doc.model_dump(by_alias=True))


def test_apply_event_removes_date_and_keys_when_valid_until_cleared() -> None:
    add, events = _dated()

    state, effects = apply_all([*events, valid_until_set(OWNER, document_id_of(add), None, step=2)])

    doc = document(state, add)
    assert effects[-1] == Effect.valid_until_cleared
    assert (doc.valid_until, doc.expiry_key, doc.expiry_day) == (None, None, None)


def test_apply_event_ignores_date_when_document_of_another_owner() -> None:
    add, events = _dated()

    state, effects = apply_all([add, valid_until_set(STRANGER, document_id_of(add), DAY, step=1)])

    assert effects[-1] == Effect.ignored_unknown
    assert document(state, add).valid_until is None


def test_apply_event_ignores_date_when_document_unknown() -> None:
    state, effects = apply_all([valid_until_set(OWNER, uuid.uuid4(), DAY)])

    assert effects == [Effect.ignored_unknown]
    assert state.document_writes == []


def test_apply_event_ignores_new_date_when_document_deleted() -> None:
    add, events = _dated()
    doc_id = document_id_of(add)

    state, effects = apply_all([*events, deleted(OWNER, doc_id, 2), valid_until_set(OWNER, doc_id, OTHER_DAY, 3)])

    doc = document(state, add)
    assert effects[-1] == Effect.ignored_not_live
    assert (doc.valid_until, doc.expiry_key, doc.expiry_day) == ("2031-03-31", None, None)


def test_apply_event_gives_back_expiry_keys_when_dated_document_restored() -> None:
    add, events = _dated()
    doc_id = document_id_of(add)

    state, _ = apply_all([*events, deleted(OWNER, doc_id, 2), restored(OWNER, doc_id, 3)])

    assert document(state, add).expiry_day == "2031-03-31"


def test_apply_event_records_reminder_when_sent_for_current_date() -> None:
    add, events = _dated()
    doc_id = document_id_of(add)

    state, effects = apply_all(
        [*events, reminder_sent(OWNER, doc_id, DAY, 30, 2), reminder_sent(OWNER, doc_id, DAY, 7, 3)]
    )

    assert effects[-2:] == [Effect.reminder_recorded, Effect.reminder_recorded]
    assert document(state, add).reminders_sent == [30, 7]


def test_apply_event_keeps_one_entry_when_same_reminder_applied_twice() -> None:
    add, events = _dated()
    doc_id = document_id_of(add)

    state, effects = apply_all(
        [*events, reminder_sent(OWNER, doc_id, DAY, 7, 2), reminder_sent(OWNER, doc_id, DAY, 7, 3)]
    )

    assert effects[-1] == Effect.reminder_recorded
    assert document(state, add).reminders_sent == [7]


def test_apply_event_ignores_reminder_when_date_changed_since() -> None:
    add, events = _dated()
    doc_id = document_id_of(add)

    state, effects = apply_all(
        [*events, valid_until_set(OWNER, doc_id, OTHER_DAY, 2), reminder_sent(OWNER, doc_id, DAY, 30, 3)]
    )

    assert effects[-1] == Effect.ignored_stale_reminder
    assert document(state, add).reminders_sent == []


def test_apply_event_starts_reminders_afresh_when_date_changes() -> None:
    add, events = _dated()
    doc_id = document_id_of(add)

    state, _ = apply_all(
        [*events, reminder_sent(OWNER, doc_id, DAY, 30, 2), valid_until_set(OWNER, doc_id, OTHER_DAY, 3)]
    )

    assert document(state, add).reminders_sent == []


def test_apply_event_keeps_sent_reminders_when_same_date_set_again() -> None:
    add, events = _dated()
    doc_id = document_id_of(add)

    state, _ = apply_all([*events, reminder_sent(OWNER, doc_id, DAY, 30, 2), valid_until_set(OWNER, doc_id, DAY, 3)])

    assert document(state, add).reminders_sent == [30]


def test_apply_event_ignores_reminder_when_document_of_another_owner() -> None:
    add, events = _dated()

    state, effects = apply_all([*events, reminder_sent(STRANGER, document_id_of(add), DAY, 30, 2)])

    assert effects[-1] == Effect.ignored_unknown
    assert document(state, add).reminders_sent == []


# Arbitrary histories of a few documents: dates, reminders, deletes and restores, in any order.
DAYS = (None, DAY, OTHER_DAY)
_index = st.integers(0, 10)
_expiry_ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), _index),
        st.tuples(st.just("date"), _index, st.sampled_from(DAYS), st.booleans()),
        st.tuples(st.just("remind"), _index, st.sampled_from(DAYS[1:]), st.sampled_from([30, 7, 0])),
        st.tuples(st.sampled_from(["delete", "restore"]), _index),
    ),
    max_size=30,
)


def _event(op: tuple[Any, ...], adds: list[EventEnvelope], step: int) -> EventEnvelope | None:
    if op[0] == "add":
        event = added(OWNER, f"Doc {op[1]}", content=f"c{op[1]}-{step}", step=step)
        adds.append(event)
        return event
    if not adds:
        return None
    doc_id = document_id_of(adds[op[1] % len(adds)])
    if op[0] == "date":
        return valid_until_set(STRANGER if op[3] else OWNER, doc_id, op[2], step)
    if op[0] == "remind":
        return reminder_sent(OWNER, doc_id, op[2], op[3], step)
    return (deleted if op[0] == "delete" else restored)(OWNER, doc_id, step)


def _history(ops: list[tuple[Any, ...]]) -> list[EventEnvelope]:
    adds: list[EventEnvelope] = []
    return [event for step, op in enumerate(ops) if (event := _event(op, adds, step)) is not None]


def _assert_expiry_consistent(doc: DocumentView) -> None:
    dated_live = doc.status == "live" and doc.valid_until is not None
    assert (doc.expiry_day is not None) == dated_live
    assert doc.expiry_key == (f"{doc.owner_id}|{doc.valid_until}" if dated_live else None)
    assert doc.reminders_sent == sorted(set(doc.reminders_sent), reverse=True)
    assert not doc.reminders_sent or doc.valid_until is not None


@settings(max_examples=150, deadline=None)
@given(ops=_expiry_ops)
def test_apply_event_keeps_expiry_keys_and_reminders_consistent_when_any_history_applied(
    ops: list[tuple[Any, ...]],
) -> None:
    events = _history(ops)

    state, effects = apply_all(events)

    assert len(effects) == len(events)
    for doc in state.documents.values():
        _assert_expiry_consistent(doc)


@settings(max_examples=100, deadline=None)
@given(ops=_expiry_ops)
def test_apply_event_gives_equal_state_when_history_replayed_with_every_event_twice(ops: list[tuple[Any, ...]]) -> None:
    events = _history(ops)
    once, first_effects = apply_all(events)

    twice = BatchState(keys=once.keys)
    for event in events:
        apply_all([event, event], state=twice)

    assert snapshot(twice)["documents"].keys() == snapshot(once)["documents"].keys()
    assert {k: d["valid_until"] for k, d in snapshot(twice)["documents"].items()} == {
        k: d["valid_until"] for k, d in snapshot(once)["documents"].items()
    }
    assert {k: d["reminders_sent"] for k, d in snapshot(twice)["documents"].items()} == {
        k: d["reminders_sent"] for k, d in snapshot(once)["documents"].items()
    }
    assert len(first_effects) == len(events)
