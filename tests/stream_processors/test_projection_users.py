"""The users projection: one record per person, first and last seen, and the language."""

from __future__ import annotations

import uuid

import pytest

from contracts.effects import Effect
from contracts.events import EventEnvelope, UserLanguageChanged, new_event
from stream_processors.projections import apply_event
from stream_processors.projections.state import BatchState, MissingKey
from tests.factories import added, at, deleted, document_id_of, forgotten, renamed, sealed_added, started
from tests.keyrings import TEST_PEOPLE
from tests.stream_processors.projection_support import apply_all, snapshot

OWNER = 412845671


def language_changed(owner_id: int, language: str, step: int) -> EventEnvelope:
    return new_event(
        UserLanguageChanged(language="ru" if language == "ru" else "en"),
        owner_id=owner_id,
        correlation_id="c",
        occurred_at=at(step),
    )


@pytest.mark.parametrize(
    ("events", "effects", "expected"),
    [
        ([started(OWNER, "ru", step=3)], ["created"], ("ru", at(3), at(3))),
        ([started(OWNER, "ru", step=3), started(OWNER, "en", step=9)], ["created", "seen"], ("ru", at(3), at(9))),
        ([started(OWNER, "ru", step=9), started(OWNER, "en", step=3)], ["created", "seen"], ("ru", at(9), at(9))),
        ([language_changed(OWNER, "ru", 4)], ["created"], ("ru", at(4), at(4))),
        (
            [started(OWNER, "en", step=1), language_changed(OWNER, "ru", 4)],
            ["created", "updated"],
            ("ru", at(1), at(1)),
        ),
        ([language_changed(OWNER, "ru", 1), started(OWNER, "en", step=4)], ["created", "seen"], ("ru", at(1), at(4))),
    ],
    ids=[
        "started",
        "started-again-later",
        "started-again-earlier",
        "language-first",
        "language-changed",
        "started-after-language",
    ],
)
def test_apply_event_tracks_user_when_user_events_applied(
    events: list[EventEnvelope], effects: list[str], expected: tuple[object, ...]
) -> None:
    state, applied = apply_all(events)

    user = state.users[OWNER]
    assert applied == effects
    assert (user.language, user.first_seen_at, user.last_seen_at) == expected
    assert (user.id, user.owner_id, state.dirty_users) == (OWNER, OWNER, {OWNER})


def test_apply_event_keeps_users_apart_when_several_people_start() -> None:
    state, _ = apply_all([started(OWNER, "ru", step=1), started(42, "en", step=2)])

    assert {owner: user.language for owner, user in state.users.items()} == {OWNER: "ru", 42: "en"}


@pytest.mark.parametrize(
    "event", [started(OWNER, "ru", step=5), language_changed(OWNER, "ru", 5)], ids=["started", "language-changed"]
)
def test_apply_event_changes_nothing_when_same_user_event_applied_again(event: EventEnvelope) -> None:
    state, _ = apply_all([started(OWNER, "en", step=1), event])
    once = snapshot(state)

    apply_event(state, event, 1)

    assert snapshot(state) == once


# "Forget me" (user.forgotten): the person's read models go; their earlier events, replayed, apply nothing.


def _life(owner_id: int, first_step: int, names: tuple[str, ...] = ("Passport", "Lease")) -> list[EventEnvelope]:
    adds = [added(owner_id, name, step=first_step + 1 + i) for i, name in enumerate(names)]
    return [started(owner_id, "ru", step=first_step), *adds, deleted(owner_id, document_id_of(adds[0]), first_step + 9)]


def test_apply_user_forgotten_drops_documents_types_and_user_when_person_forgotten() -> None:
    state, effects = apply_all([*_life(OWNER, 0), forgotten(OWNER, step=20)])

    assert effects[-1] == Effect.forgotten
    assert (state.documents, state.types, state.users, state.document_writes) == ({}, {}, {}, [])
    assert (state.name_slots, state.content_slots, state.dirty_types, state.dirty_users) == ({}, {}, set(), set())
    assert [(f.owner_id, f.offset) for f in state.forgets] == [(OWNER, 4)]


def test_apply_user_forgotten_keeps_other_people_when_one_person_forgotten() -> None:
    other_life = _life(42, 0)
    others, _ = apply_all(other_life)

    state, _ = apply_all([*other_life, *_life(OWNER, 30), forgotten(OWNER, step=50)])

    assert snapshot(state) == snapshot(others)


def test_apply_event_ignores_every_event_of_forgotten_life_when_marker_loaded() -> None:
    life = [*_life(OWNER, 0), renamed(OWNER, uuid.uuid4(), "Other", 12), language_changed(OWNER, "en", 13)]
    marked = BatchState(keys=TEST_PEOPLE, forgotten_through={OWNER: len(life)})

    state, effects = apply_all(life, marked)

    assert effects == [Effect.ignored_forgotten] * len(life)
    assert (state.documents, state.types, state.users, state.document_writes) == ({}, {}, {}, [])


def test_apply_event_ignores_earlier_forget_when_later_forget_marked() -> None:
    marked = BatchState(keys=TEST_PEOPLE, forgotten_through={OWNER: 5})

    state, effects = apply_all([forgotten(OWNER, step=1)], marked, first_offset=2)

    assert (effects, state.forgets) == ([Effect.ignored_forgotten], [])


def test_apply_event_gives_state_without_first_life_when_person_comes_back_after_forget() -> None:
    second_life = _life(OWNER, 40, names=("Passport", "Visa"))
    history = [*_life(OWNER, 0), forgotten(OWNER, step=30), *second_life]
    first_run, _ = apply_all(history)
    # A rebuild: the marker (written by the first run) is loaded before anything is applied.
    rebuilt, effects = apply_all(history, BatchState(keys=TEST_PEOPLE, forgotten_through={OWNER: 4}))
    never_forgotten, _ = apply_all(second_life, first_offset=5)

    assert snapshot(first_run) == snapshot(rebuilt) == snapshot(never_forgotten)
    assert effects[:5] == [Effect.ignored_forgotten] * 4 + [Effect.forgotten]
    assert first_run.users[OWNER].first_seen_at == at(40)


def test_apply_user_forgotten_finds_nothing_when_person_never_seen() -> None:
    state, effects = apply_all([forgotten(OWNER, step=1)])

    assert effects == [Effect.forgotten]
    assert (state.documents, state.users, [f.owner_id for f in state.forgets]) == ({}, {}, [OWNER])


def test_apply_event_ignores_sealed_event_as_forgotten_when_person_has_only_a_destroyed_key() -> None:
    # Sealed under a key an API process still had cached after the erasure destroyed it: it can never be opened.
    event = sealed_added(TEST_PEOPLE[OWNER], "Passport scan", step=1)
    state = BatchState(keys={}, destroyed_keys=frozenset({OWNER}))

    _, effects = apply_all([event], state)

    assert effects == [Effect.ignored_forgotten] and state.documents == {} and state.types == {}


def test_apply_event_raises_missing_key_when_person_has_no_key_record_at_all() -> None:
    # No key and no tombstone: the keys database was lost, not the person forgotten; the event must not vanish.
    with pytest.raises(MissingKey):
        apply_all([sealed_added(TEST_PEOPLE[OWNER], "Passport scan", step=1)], BatchState(keys={}))
