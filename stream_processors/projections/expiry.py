"""A document's valid-until date and the reminders sent for it (``document.valid_until_set``,
``document.reminder_sent``).

The reminder state is derived from events: a reminder is sent once the bot recorded ``document.reminder_sent``
for the document's current date. A reminder of a date the document no longer has changes nothing
(``ignored_stale_reminder``); setting a new date starts its reminders afresh. A deleted document keeps its date
but takes no new one (``ignored_not_live``), and is never reminded of (``expiry_keys`` are set only while live).
"""

from __future__ import annotations

from contracts.effects import Effect
from contracts.events import DocumentReminderSent, DocumentValidUntilSet, EventEnvelope
from contracts.vocabulary import DocumentStatus

# The documents projection's own rules for which document an event addresses and how a change is stamped.
from stream_processors.projections.documents import _owned_document as owned_document
from stream_processors.projections.documents import touched
from stream_processors.projections.state import BatchState


def apply_document_valid_until_set(state: BatchState, event: EventEnvelope, offset: int) -> Effect:
    payload = event.payload
    assert isinstance(payload, DocumentValidUntilSet)
    document = owned_document(state, event, str(payload.document_id))
    if document is None:
        return Effect.ignored_unknown
    if document.status == DocumentStatus.deleted:
        return Effect.ignored_not_live
    day = None if payload.valid_until is None else payload.valid_until.isoformat()
    sent = document.reminders_sent if day == document.valid_until else []
    state.put_document(touched(document, event, offset, valid_until=day, reminders_sent=sent))
    return Effect.valid_until_cleared if day is None else Effect.valid_until_set


def apply_document_reminder_sent(state: BatchState, event: EventEnvelope, offset: int) -> Effect:
    payload = event.payload
    assert isinstance(payload, DocumentReminderSent)
    document = owned_document(state, event, str(payload.document_id))
    if document is None:
        return Effect.ignored_unknown
    if document.valid_until != payload.valid_until.isoformat():
        return Effect.ignored_stale_reminder
    sent = sorted({*document.reminders_sent, payload.days_before}, reverse=True)
    state.put_document(touched(document, event, offset, reminders_sent=sent))
    return Effect.reminder_recorded
