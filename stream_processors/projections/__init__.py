"""Projections: pure functions from (state, event) to a new state, recorded as writes.

``apply_event`` is the one entry point; I/O (loading the state a batch needs, writing the result)
lives in ``stream_processors.store``.
"""

from __future__ import annotations

from collections.abc import Callable

from contracts.effects import Effect
from contracts.events import EventEnvelope
from stream_processors.projections.documents import (
    apply_document_added,
    apply_document_deleted,
    apply_document_moved,
    apply_document_renamed,
    apply_document_restored,
)
from stream_processors.projections.expiry import apply_document_reminder_sent, apply_document_valid_until_set
from stream_processors.projections.organising import (
    apply_document_type_deleted,
    apply_document_type_renamed,
    apply_document_type_restored,
)
from stream_processors.projections.pages import apply_document_page_added
from stream_processors.projections.state import BatchState
from stream_processors.projections.users import apply_user_forgotten, apply_user_language_changed, apply_user_started

Handler = Callable[[BatchState, EventEnvelope, int], Effect]

HANDLERS: dict[str, Handler] = {
    "user.started": apply_user_started,
    "user.language_changed": apply_user_language_changed,
    "document.added": apply_document_added,
    "document.renamed": apply_document_renamed,
    "document.deleted": apply_document_deleted,
    "document.restored": apply_document_restored,
    "document.moved": apply_document_moved,
    "document_type.renamed": apply_document_type_renamed,
    "document_type.deleted": apply_document_type_deleted,
    "document_type.restored": apply_document_type_restored,
    "user.forgotten": apply_user_forgotten,
    "document.page_added": apply_document_page_added,
    "document.valid_until_set": apply_document_valid_until_set,
    "document.reminder_sent": apply_document_reminder_sent,
}


def needs_keys(event: EventEnvelope) -> bool:
    """Every document and type event reads or writes sealed text (a restore opens the stored name)."""
    return event.event_type.startswith(("document.", "document_type."))


def apply_event(state: BatchState, event: EventEnvelope, offset: int) -> Effect:
    """Apply one event to ``state``; returns its effect (e.g. ``created``, ``ignored_unknown``). An event of a life
    the person had forgotten (before their last ``user.forgotten``), or one needing a key the person no longer has,
    applies nothing. The stream's clock moves to the event's time first: a deleted document whose trash deadline it
    reached is gone for this event (``ignored_unknown``), as it is for a run that purged it already."""
    state.advance_clock(event.occurred_at)
    if state.is_forgotten_life(event.owner_id, offset) or (
        needs_keys(event) and state.has_only_a_destroyed_key(event.owner_id)
    ):
        return Effect.ignored_forgotten
    return HANDLERS[event.event_type](state, event, offset)
