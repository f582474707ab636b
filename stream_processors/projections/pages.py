"""The ``documents`` projection of ``document.page_added``: pages appended to a live document after it was saved.

Pages already in the document (the same keyed content id) are left out, so a page sent twice is stored once; an
add of only such pages changes nothing (``ignored_same_pages``), and one that would take the document past
``MAX_PAGES`` is refused whole (``ignored_page_limit``). The document's content key stays what its add made it
(docs/adr/0017): what it duplicates is decided once, so adding a page never collides with another document.
"""

from __future__ import annotations

from collections.abc import Sequence

from contracts.effects import Effect
from contracts.events import MAX_PAGES, DocumentPageAdded, EventEnvelope, StoredFile
from contracts.read_models import DocumentView
from contracts.vocabulary import DocumentStatus
from stream_processors.projections.documents import _owned_document, touched
from stream_processors.projections.personal import file_name_readable
from stream_processors.projections.state import BatchState


def _content(page: StoredFile) -> str | None:
    return page.content_id or page.sha256


def new_pages(document: DocumentView, pages: Sequence[StoredFile]) -> list[StoredFile]:
    """Pure: ``pages`` without those the document already has, or that repeat an earlier one of ``pages``."""
    seen = {_content(page) for page in (document.file, *document.more_pages)}
    fresh: list[StoredFile] = []
    for page in pages:
        if _content(page) not in seen:
            seen.add(_content(page))
            fresh.append(page)
    return fresh


def apply_document_page_added(state: BatchState, event: EventEnvelope, offset: int) -> Effect:
    payload = event.payload
    assert isinstance(payload, DocumentPageAdded)
    document = _owned_document(state, event, str(payload.document_id))
    if document is None:
        return Effect.ignored_unknown
    if document.status != DocumentStatus.live:
        return Effect.ignored_not_live
    person = state.keys_of(event.owner_id)
    if not all(file_name_readable(page, person) for page in payload.pages):
        return Effect.ignored_forgotten
    pages = new_pages(document, payload.pages)
    if not pages:
        return Effect.ignored_same_pages
    if 1 + len(document.more_pages) + len(pages) > MAX_PAGES:
        return Effect.ignored_page_limit
    state.put_document(touched(document, event, offset, more_pages=[*document.more_pages, *pages]))
    return Effect.pages_added
