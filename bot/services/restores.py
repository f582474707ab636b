"""How an Undo ended: the processor decides (``contracts.effects``), the bot reads it back and tells the truth.

A restore can bring the document back under its name, under another one (its name was taken meanwhile), as a
duplicate of a live document with the same content, or not at all (no free name left). The bot appends
``document.restored``, reads the document with ``after_event`` (the API waits until the event is applied) and
the event's status, and says which. If that is not known in time, it says the restore was sent.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.clients.api_client import ApiError, ApiNotFound, DocumentsApi
from contracts.api_schemas import DocumentDetail
from contracts.effects import Effect


@dataclass(frozen=True)
class RestoreOutcome:
    """``effect`` None: not applied in time. ``name`` is the document's name now; ``original`` the live document
    with the same content, for a duplicate."""

    effect: str | None
    document_id: str
    name: str
    original: DocumentDetail | None = None


async def restore_outcome(api: DocumentsApi, owner_id: int, before: DocumentDetail, event_id: str) -> RestoreOutcome:
    pending = RestoreOutcome(None, before.document_id, before.name)
    try:
        after = await api.get_document(owner_id, before.document_id, after_event=event_id)
        status = await api.event_status(owner_id, event_id)
    except ApiError:  # not applied within the waits, or the API is briefly away: the event is in the log
        return pending
    if not status.applied:
        return pending
    original = None
    if status.effect == Effect.restored_duplicate and after.duplicate_of:
        original = await _document_or_none(api, owner_id, after.duplicate_of)
    return RestoreOutcome(status.effect, after.document_id, after.name, original)


async def _document_or_none(api: DocumentsApi, owner_id: int, document_id: str) -> DocumentDetail | None:
    try:
        return await api.get_document(owner_id, document_id)
    except ApiNotFound:
        return None
