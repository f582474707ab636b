"""How an Undo ended: the processor decides (``contracts.effects``), the bot reads it back and tells the truth.

A restore can bring the document back under its name, under another one (its name was taken meanwhile), as a
duplicate of a live document with the same content, or not at all (no free name left). The bot appends
``document.restored``, reads the document with ``after_event`` (the API waits until the event is applied) and
the event's status, and says which. If that is not known in time, it says the restore was sent.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.clients.api_client import DocumentsApi
from bot.services.read_back import document_after, document_or_none
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
    applied = await document_after(api, owner_id, before.document_id, event_id)
    if applied is None:
        return RestoreOutcome(None, before.document_id, before.name)
    after, original = applied.document, None
    if applied.effect == Effect.restored_duplicate and after.duplicate_of:
        original = await document_or_none(api, owner_id, after.duplicate_of)
    return RestoreOutcome(applied.effect, after.document_id, after.name, original)
