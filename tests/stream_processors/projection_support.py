"""Helpers to apply events to a fresh ``BatchState`` and look at the result."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from contracts.effects import Effect
from contracts.events import EventEnvelope
from contracts.read_models import DocumentView
from contracts.text import type_slug
from service_kit.keyed import name_keys, search_keys, type_key
from stream_processors.projections import apply_event
from stream_processors.projections.state import BatchState, type_id
from tests.factories import document_id_of
from tests.keyrings import TEST_PEOPLE


def apply_all(
    events: Sequence[EventEnvelope], state: BatchState | None = None, first_offset: int = 0
) -> tuple[BatchState, list[Effect]]:
    """Apply ``events`` at consecutive offsets; returns the state and the effect of each event."""
    state = BatchState(keys=TEST_PEOPLE) if state is None else state
    effects = [apply_event(state, event, first_offset + index) for index, event in enumerate(events)]
    return state, effects


def document(state: BatchState, added_event: EventEnvelope) -> DocumentView:
    return state.documents[str(document_id_of(added_event))]


def name_of(state: BatchState, added_event: EventEnvelope) -> str:
    """The document's name, opened (the read model keeps it sealed)."""
    doc = document(state, added_event)
    return TEST_PEOPLE[doc.owner_id].open("name", doc.name)


def opened(doc: DocumentView, field: str = "name") -> str:
    value = {"name": doc.name, "type_title": doc.type_title}[field]
    return TEST_PEOPLE[doc.owner_id].open(field, value)


def keyed_forms(owner_id: int, name: str) -> tuple[str, str, list[str]]:
    """What the read model keeps for a name: its keyed name key, keyed base key and keyed search prefixes."""
    keys = name_keys(TEST_PEOPLE[owner_id], name)
    return keys.name_key, keys.base_key, search_keys(TEST_PEOPLE[owner_id], name)


def type_key_of(owner_id: int, type_title: str = "Passport") -> str:
    return type_key(TEST_PEOPLE[owner_id], type_slug(type_title))


def live_count(state: BatchState, owner_id: int, type_title: str = "Passport") -> int:
    return state.types[type_id(owner_id, type_key_of(owner_id, type_title))].live_count


def snapshot(state: BatchState) -> dict[str, Any]:
    """Everything the projection keeps, as plain data (the writes log excluded)."""
    return {
        "documents": {key: doc.model_dump(by_alias=True) for key, doc in state.documents.items()},
        "types": {key: kind.model_dump(by_alias=True) for key, kind in state.types.items()},
        "users": {key: user.model_dump(by_alias=True) for key, user in state.users.items()},
        "name_slots": dict(state.name_slots),
        "content_slots": dict(state.content_slots),
    }
