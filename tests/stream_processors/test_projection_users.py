"""The users projection: one record per person, first and last seen, and the language."""

from __future__ import annotations

import pytest

from contracts.events import EventEnvelope, UserLanguageChanged, new_event
from stream_processors.projections import apply_event
from tests.factories import at, started
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
