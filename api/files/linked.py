"""The document a signed link names, with the link generation it is at (``DocumentView.link_generation``)."""

from __future__ import annotations

from dataclasses import dataclass

from api.core.served_projection import Database
from api.documents import queries
from service_kit.metrics import timed


@dataclass(frozen=True)
class LinkedDocument:
    document: queries.StoredDocument
    link_generation: int


@timed("mongo", "find_linked_document")
async def find_linked_document(db: Database, owner_id: int, document_id: str) -> LinkedDocument | None:
    """The document with this id if it belongs to ``owner_id`` (by ``_id``, owner checked here), in one read."""
    raw = await db[queries.DOCUMENTS].find_one({"_id": document_id})
    if raw is None or raw.get("owner_id") != owner_id:
        return None
    return LinkedDocument(queries.stored_document_of(raw), int(raw.get("link_generation", 0)))
