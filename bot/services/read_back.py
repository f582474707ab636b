"""Reading back what an appended event did: the processor decides (``contracts.effects``), the API answers the
document once the event is applied (``after_event``: read-your-writes) and the event's status; the bot tells the
person that, not what it hoped for."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clients.api_client import ApiError, ApiNotFound, DocumentsApi
from contracts.api_schemas import DocumentDetail


@dataclass(frozen=True)
class Applied:
    """The document after the event, and the event's effect."""

    document: DocumentDetail
    effect: str | None


async def document_after(api: DocumentsApi, owner_id: int, document_id: str, event_id: str) -> Applied | None:
    """The document once ``event_id`` is applied and what applying it did; None when that is not known in time
    (not applied within the API's waits, or the API briefly away: the event is in the log all the same)."""
    try:
        after = await api.get_document(owner_id, document_id, after_event=event_id)
        status = await api.event_status(owner_id, event_id)
    except ApiError:
        return None
    return Applied(after, status.effect) if status.applied else None


async def document_or_none(api: DocumentsApi, owner_id: int, document_id: str) -> DocumentDetail | None:
    try:
        return await api.get_document(owner_id, document_id)
    except ApiNotFound:
        return None
