"""The ``users`` projection: one record per person, with their language."""

from __future__ import annotations

from contracts.events import EventEnvelope, UserLanguageChanged, UserStarted
from contracts.read_models import UserView
from stream_processors.projections.state import BatchState


def _new_user(event: EventEnvelope, language: str) -> UserView:
    return UserView(
        _id=event.owner_id,
        owner_id=event.owner_id,
        language=language,
        first_seen_at=event.occurred_at,
        last_seen_at=event.occurred_at,
    )


def apply_user_started(state: BatchState, event: EventEnvelope, offset: int) -> str:
    assert isinstance(event.payload, UserStarted)
    known = state.users.get(event.owner_id)
    if known is None:
        state.put_user(_new_user(event, event.payload.language))
        return "created"
    if event.occurred_at > known.last_seen_at:
        state.put_user(known.model_copy(update={"last_seen_at": event.occurred_at}))
    return "seen"


def apply_user_language_changed(state: BatchState, event: EventEnvelope, offset: int) -> str:
    assert isinstance(event.payload, UserLanguageChanged)
    known = state.users.get(event.owner_id)
    if known is None:
        state.put_user(_new_user(event, event.payload.language))
        return "created"
    state.put_user(known.model_copy(update={"language": event.payload.language}))
    return "updated"
