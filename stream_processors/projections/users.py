"""The ``users`` projection: one record per person, with their language."""

from __future__ import annotations

from contracts.effects import Effect
from contracts.events import EventEnvelope, UserForgotten, UserLanguageChanged, UserStarted
from contracts.read_models import UserView
from stream_processors.projections.state import BatchState, Forget


def _known_or_created(state: BatchState, event: EventEnvelope, language: str) -> UserView | None:
    """The stored user, or None after creating one from this event."""
    known = state.users.get(event.owner_id)
    if known is None:
        state.put_user(
            UserView(
                _id=event.owner_id,
                owner_id=event.owner_id,
                language=language,
                first_seen_at=event.occurred_at,
                last_seen_at=event.occurred_at,
            )
        )
    return known


def apply_user_started(state: BatchState, event: EventEnvelope, offset: int) -> Effect:
    assert isinstance(event.payload, UserStarted)
    known = _known_or_created(state, event, event.payload.language)
    if known is None:
        return Effect.user_created
    if event.occurred_at > known.last_seen_at:
        state.put_user(known.model_copy(update={"last_seen_at": event.occurred_at}))
    return Effect.user_seen


def apply_user_language_changed(state: BatchState, event: EventEnvelope, offset: int) -> Effect:
    assert isinstance(event.payload, UserLanguageChanged)
    known = _known_or_created(state, event, event.payload.language)
    if known is None:
        return Effect.user_created
    state.put_user(known.model_copy(update={"language": event.payload.language}))
    return Effect.user_updated


def apply_user_forgotten(state: BatchState, event: EventEnvelope, offset: int) -> Effect:
    """Delete everything the person has (documents, types, user record); the store also deletes what is stored and
    queues the erasure of their files and data key. Applied again (a rebuild), it finds nothing and queues the same
    job, which the API knows it did."""
    assert isinstance(event.payload, UserForgotten)
    state.drop_owner(Forget(event.owner_id, offset, str(event.event_id), event.occurred_at))
    return Effect.forgotten
