"""The ``documents`` projection, with its conflict rules.

Conflicts a unique index would reveal are resolved here, deterministically, so a replay rebuilds
the same state: a name already used by a live document of the same type gets the first free copy
suffix ("Passport (2)"); content already stored by a live document of the same person makes the new
one a ``duplicate`` pointing at the original. Events for a document of another owner are ignored.
"""

from __future__ import annotations

from datetime import datetime

from contracts.events import DocumentAdded, DocumentRenamed, EventEnvelope
from contracts.read_models import LIVE, DocumentView, content_key, copies_key
from contracts.text import base_name_key, name_key, search_prefixes, with_copy_suffix
from stream_processors.projections.document_types import adjust_live_count, ensure_type
from stream_processors.projections.state import BatchState, content_slot

MAX_COPY_NUMBER = 1000


def free_name(state: BatchState, owner_id: int, slug: str, wanted: str, document_id: str) -> str:
    """The wanted name, or its first copy suffix not used by another live document of the type."""
    for copy_number in range(1, MAX_COPY_NUMBER + 1):
        candidate = with_copy_suffix(wanted, copy_number)
        holder = state.name_slots.get((owner_id, slug, name_key(candidate)))
        if holder is None or holder == document_id:
            return candidate
    raise ValueError(f"more than {MAX_COPY_NUMBER} copies of one name")


def _with(document: DocumentView, **changes: object) -> DocumentView:
    changed: DocumentView = document.model_copy(update=changes)
    return changed


def _named(document: DocumentView, name: str) -> DocumentView:
    key = name_key(name)
    base = base_name_key(key)
    return _with(
        document,
        name=name,
        name_key=key,
        name_base_key=base,
        copies_key=copies_key(document.owner_id, base),
        search_prefixes=search_prefixes(key),
    )


def _touched(document: DocumentView, event: EventEnvelope, offset: int, **changes: object) -> DocumentView:
    return _with(
        document, **changes, updated_at=event.occurred_at, last_event_id=str(event.event_id), last_offset=offset
    )


def _owned_document(state: BatchState, event: EventEnvelope, document_id: str) -> DocumentView | None:
    document = state.documents.get(document_id)
    if document is None or document.owner_id != event.owner_id:
        return None
    return document


def _go_live(state: BatchState, document: DocumentView, at: datetime) -> DocumentView:
    """Make ``document`` live under a free name, or a duplicate if its content is already live."""
    original = state.content_slots.get(content_slot(document))
    if original is not None and original != document.id:
        return _with(document, status="duplicate", duplicate_of=original)
    live = _named(document, free_name(state, document.owner_id, document.type_slug, document.name, document.id))
    live = _with(live, status=LIVE, duplicate_of=None, deleted_at=None)
    state.take_slots(live)
    adjust_live_count(state, live.owner_id, live.type_slug, +1, at)
    return live


def apply_document_added(state: BatchState, event: EventEnvelope, offset: int) -> str:
    payload = event.payload
    assert isinstance(payload, DocumentAdded)
    document_id = str(payload.document_id)
    if document_id in state.documents:
        return "ignored_existing"
    ensure_type(state, event.owner_id, payload.type_slug, payload.type_title, event.occurred_at)
    draft = _named(
        DocumentView(
            _id=document_id,
            owner_id=event.owner_id,
            type_slug=payload.type_slug,
            type_title=state.types[f"{event.owner_id}:{payload.type_slug}"].title,
            name=payload.name,
            name_key="",
            name_base_key="",
            copies_key="",
            content_key=content_key(event.owner_id, payload.file.sha256),
            search_prefixes=[],
            file=payload.file,
            created_at=event.occurred_at,
            updated_at=event.occurred_at,
            last_event_id=str(event.event_id),
            last_offset=offset,
        ),
        payload.name,
    )
    document = _go_live(state, draft, event.occurred_at)
    state.put_document(document)
    return "created" if document.status == LIVE else "created_duplicate"


def apply_document_renamed(state: BatchState, event: EventEnvelope, offset: int) -> str:
    payload = event.payload
    assert isinstance(payload, DocumentRenamed)
    document = _owned_document(state, event, str(payload.document_id))
    if document is None:
        return "ignored_unknown"
    if document.status != LIVE:
        return "ignored_not_live"
    state.free_slots(document)
    renamed = _named(document, free_name(state, document.owner_id, document.type_slug, payload.name, document.id))
    state.take_slots(renamed)
    state.put_document(_touched(renamed, event, offset))
    return "renamed"


def apply_document_deleted(state: BatchState, event: EventEnvelope, offset: int) -> str:
    document = _owned_document(state, event, str(getattr(event.payload, "document_id")))
    if document is None:
        return "ignored_unknown"
    if document.status == "deleted":
        return "ignored_already_deleted"
    if document.status == LIVE:
        state.free_slots(document)
        adjust_live_count(state, document.owner_id, document.type_slug, -1, event.occurred_at)
    state.put_document(_touched(document, event, offset, status="deleted", deleted_at=event.occurred_at))
    return "deleted"


def apply_document_restored(state: BatchState, event: EventEnvelope, offset: int) -> str:
    document = _owned_document(state, event, str(getattr(event.payload, "document_id")))
    if document is None:
        return "ignored_unknown"
    if document.status != "deleted":
        return "ignored_not_deleted"
    restored = _go_live(state, document, event.occurred_at)
    state.put_document(_touched(restored, event, offset, deleted_at=None))
    return "restored" if restored.status == LIVE else "restored_duplicate"
