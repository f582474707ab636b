"""How an Undo ended: the processor decides (``contracts.effects``), the bot reads it back and tells the truth.

A restore can bring the document back under its name, under another one (its name was taken meanwhile), as a
duplicate of a live document with the same content, or not at all (no free name left). The bot appends
``document.restored``, reads the document with ``after_event`` (the API waits until the event is applied) and
the event's status, and says which. If that is not known in time, it says the restore was sent.

A deleted document stays in the trash until ``restorable_until`` (the processor sets it from ``RETENTION_DAYS``
and the API serves it: the bot does not know the setting); after that it is purged and Undo says so
(``in_trash``, and ``ignored_unknown`` when the processor found it gone).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.clients.api_client import ApiError, ApiNotFound, DocumentsApi
from bot.services.read_back import document_or_none
from contracts.api_schemas import DocumentDetail
from contracts.effects import Effect
from contracts.vocabulary import DocumentStatus


@dataclass(frozen=True)
class RestoreOutcome:
    """``effect`` None: not applied in time. ``name`` is the document's name now; ``original`` the live document
    with the same content, for a duplicate."""

    effect: str | None
    document_id: str
    name: str
    original: DocumentDetail | None = None


def in_trash(document: DocumentDetail, now: datetime) -> bool:
    """A deleted document can still be restored: its deadline is not reached (none known: the processor decides)."""
    return document.restorable_until is None or now < document.restorable_until


async def restorable_until(api: DocumentsApi, owner_id: int, document_id: str, event_id: str) -> datetime | None:
    """Until when the document the deletion ``event_id`` deleted can be restored; None if not known in time."""
    try:
        after = await api.get_document(owner_id, document_id, after_event=event_id)
    except ApiError:
        return None
    return after.restorable_until if after.status == DocumentStatus.deleted else None


async def restore_outcome(api: DocumentsApi, owner_id: int, before: DocumentDetail, event_id: str) -> RestoreOutcome:
    pending = RestoreOutcome(None, before.document_id, before.name)
    try:
        after: DocumentDetail | None = await api.get_document(owner_id, before.document_id, after_event=event_id)
    except ApiNotFound:  # purged meanwhile (its time in the trash ran out): the event's effect says so
        after = None
    except ApiError:  # not applied within the waits, or the API is briefly away: the event is in the log
        return pending
    try:
        status = await api.event_status(owner_id, event_id)
    except ApiError:
        return pending
    if not status.applied:
        return pending
    if after is None:
        return RestoreOutcome(status.effect, before.document_id, before.name)
    original = None
    if status.effect == Effect.restored_duplicate and after.duplicate_of:
        original = await document_or_none(api, owner_id, after.duplicate_of)
    return RestoreOutcome(status.effect, after.document_id, after.name, original)
