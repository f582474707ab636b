"""Helpers to apply events to a fresh ``BatchState`` and look at the result."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from contracts.effects import Effect
from contracts.events import EventEnvelope
from contracts.read_models import DocumentView
from contracts.text import type_slug
from stream_processors.projections import apply_event
from stream_processors.projections.state import BatchState, type_id
from tests.factories import document_id_of


def apply_all(
    events: Sequence[EventEnvelope], state: BatchState | None = None, first_offset: int = 0
) -> tuple[BatchState, list[Effect]]:
    """Apply ``events`` at consecutive offsets; returns the state and the effect of each event."""
    state = BatchState() if state is None else state
    effects = [apply_event(state, event, first_offset + index) for index, event in enumerate(events)]
    return state, effects


def document(state: BatchState, added_event: EventEnvelope) -> DocumentView:
    return state.documents[str(document_id_of(added_event))]


def live_count(state: BatchState, owner_id: int, type_title: str = "Passport") -> int:
    return state.types[type_id(owner_id, type_slug(type_title))].live_count


def snapshot(state: BatchState) -> dict[str, Any]:
    """Everything the projection keeps, as plain data (the writes log excluded)."""
    return {
        "documents": {key: doc.model_dump(by_alias=True) for key, doc in state.documents.items()},
        "types": {key: kind.model_dump(by_alias=True) for key, kind in state.types.items()},
        "users": {key: user.model_dump(by_alias=True) for key, user in state.users.items()},
        "name_slots": dict(state.name_slots),
        "content_slots": dict(state.content_slots),
    }
