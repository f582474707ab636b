"""The ``documents`` projection, with its conflict rules.

Conflicts a unique index would reveal are resolved here, deterministically, so a replay rebuilds
the same state: a name already used by a live document of the same type gets the first free name of
``naming`` (a copy suffix "Passport (2)", then the document's id); content already stored by a live
document of the same person makes the new one a ``duplicate`` pointing at the original. Events for a
document of another owner are ignored. Every event has an outcome, however crowded the names:

- an add is always stored (live under a free name, or as a duplicate); ``created_renamed`` says that
  its live name is not the one asked for;
- a rename with no free name changes nothing (``rename_conflict``);
- a restore with no free name leaves the document deleted (``restore_conflict``); ``restored_renamed``
  says that it is live again under another name than it had.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from contracts.effects import Effect
from contracts.events import DocumentAdded, DocumentRenamed, EventEnvelope
from contracts.read_models import DocumentView, content_key, copies_key
from contracts.text import base_name_key, name_key, search_prefixes
from contracts.vocabulary import DocumentStatus
from stream_processors.projections.document_types import adjust_live_count, ensure_type
from stream_processors.projections.naming import id_family_names, name_candidates
from stream_processors.projections.state import BatchState, content_slot


def free_name(state: BatchState, document: DocumentView, candidates: Iterable[str]) -> str | None:
    """The first candidate no other live document of the type holds, or None."""
    return next((name for name in candidates if _is_free(state, document, name)), None)


def _is_free(state: BatchState, document: DocumentView, name: str) -> bool:
    holder = state.name_holder(document.owner_id, document.type_slug, name_key(name))
    return holder is None or holder == document.id


def _name_for_new_document(state: BatchState, document: DocumentView, wanted: str) -> str:
    """A free name for an added document: the one asked for, a copy, its id name or a numbered id name."""
    return free_name(state, document, name_candidates(wanted, document.id, state.rules)) or next(
        name for name in id_family_names(wanted, document.id, state.rules) if _is_free(state, document, name)
    )


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


def _live_original(state: BatchState, document: DocumentView) -> str | None:
    """The id of another live document of the owner with the same content, if any."""
    original = state.content_slots.get(content_slot(document))
    return original if original is not None and original != document.id else None


def _made_live(state: BatchState, document: DocumentView, name: str, at: datetime) -> DocumentView:
    live = _with(_named(document, name), status=DocumentStatus.live, duplicate_of=None, deleted_at=None)
    state.take_slots(live)
    adjust_live_count(state, live.owner_id, live.type_slug, +1, at)
    return live


def apply_document_added(state: BatchState, event: EventEnvelope, offset: int) -> Effect:
    payload = event.payload
    assert isinstance(payload, DocumentAdded)
    document_id = str(payload.document_id)
    if document_id in state.documents:
        return Effect.ignored_existing
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
    original = _live_original(state, draft)
    if original is not None:
        state.put_document(_with(draft, status=DocumentStatus.duplicate, duplicate_of=original))
        return Effect.created_duplicate
    name = _name_for_new_document(state, draft, payload.name)
    state.put_document(_made_live(state, draft, name, event.occurred_at))
    return Effect.created if name == payload.name else Effect.created_renamed


def apply_document_renamed(state: BatchState, event: EventEnvelope, offset: int) -> Effect:
    payload = event.payload
    assert isinstance(payload, DocumentRenamed)
    document = _owned_document(state, event, str(payload.document_id))
    if document is None:
        return Effect.ignored_unknown
    if document.status != DocumentStatus.live:
        return Effect.ignored_not_live
    name = free_name(state, document, name_candidates(payload.name, document.id, state.rules))
    if name is None:
        return Effect.rename_conflict
    state.free_slots(document)
    renamed = _named(document, name)
    state.take_slots(renamed)
    state.put_document(_touched(renamed, event, offset))
    return Effect.renamed


def apply_document_deleted(state: BatchState, event: EventEnvelope, offset: int) -> Effect:
    document = _owned_document(state, event, str(getattr(event.payload, "document_id")))
    if document is None:
        return Effect.ignored_unknown
    if document.status == DocumentStatus.deleted:
        return Effect.ignored_already_deleted
    if document.status == DocumentStatus.live:
        state.free_slots(document)
        adjust_live_count(state, document.owner_id, document.type_slug, -1, event.occurred_at)
    state.put_document(_touched(document, event, offset, status=DocumentStatus.deleted, deleted_at=event.occurred_at))
    return Effect.deleted


def apply_document_restored(state: BatchState, event: EventEnvelope, offset: int) -> Effect:
    document = _owned_document(state, event, str(getattr(event.payload, "document_id")))
    if document is None:
        return Effect.ignored_unknown
    if document.status != DocumentStatus.deleted:
        return Effect.ignored_not_deleted
    original = _live_original(state, document)
    if original is not None:
        duplicate = _touched(
            document, event, offset, status=DocumentStatus.duplicate, duplicate_of=original, deleted_at=None
        )
        state.put_document(duplicate)
        return Effect.restored_duplicate
    name = free_name(state, document, name_candidates(document.name, document.id, state.rules))
    if name is None:
        return Effect.restore_conflict
    state.put_document(_touched(_made_live(state, document, name, event.occurred_at), event, offset))
    return Effect.restored if name == document.name else Effect.restored_renamed
