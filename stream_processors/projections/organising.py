"""Organising a person's types (issue 12): rename a type, delete a type with its documents, and undo that deletion.

- A rename moves the type's documents (every status, in creation order) to the type of the new title's keyed slug,
  so a type's slug stays the keyed slug of its title and typing the new title later finds it. A title whose slug is
  the type's own (a change of case) only changes the title. When another type with that title holds live documents
  the rename is refused (``type_rename_conflict``): merging two types would have to rename documents the person did
  not ask about, and could not be undone. An empty type of that title (its documents all deleted) is taken over.
- A deletion deletes the type's live documents, each marked with the deletion's event id (``deleted_by``); the type
  stays, empty, and is no longer listed.
- Its Undo (``document_type.restored``) restores exactly the documents still marked with that deletion, each by the
  rules of a single restore (under its name, a copy name, as a duplicate, or left deleted when no name is free).
"""

from __future__ import annotations

from contracts.effects import Effect
from contracts.events import DocumentTypeDeleted, DocumentTypeRenamed, DocumentTypeRestored, EventEnvelope
from contracts.read_models import DocumentTypeView, DocumentView
from contracts.text import type_slug
from contracts.vocabulary import DocumentStatus
from service_kit.keyed import type_key
from stream_processors.projections.document_types import adjust_live_count, ensure_type, next_type_seq
from stream_processors.projections.documents import deleted_with_type, restore, touched
from stream_processors.projections.personal import read_title
from stream_processors.projections.state import BatchState, type_id

RESTORED_AS_THEY_WERE = {Effect.restored}


def documents_of_type(state: BatchState, owner_id: int, slug: str) -> list[DocumentView]:
    """Every document of the type, in creation order (the store loads them all for a type event)."""
    found = [d for d in state.documents.values() if d.owner_id == owner_id and d.type_slug == slug]
    return sorted(found, key=lambda d: (d.type_seq, d.id))


def _retitled(state: BatchState, kind: DocumentTypeView, title: str, event: EventEnvelope, offset: int) -> None:
    state.put_type(kind.model_copy(update={"title": title, "updated_at": event.occurred_at}))
    for document in documents_of_type(state, kind.owner_id, kind.slug):
        state.put_document(touched(document, event, offset, type_title=title))


def _moved_over(state: BatchState, source: DocumentTypeView, slug: str, event: EventEnvelope, offset: int) -> None:
    """Every document of ``source`` into the type ``slug`` (empty of live documents), numbered after its own."""
    at = event.occurred_at
    target = state.types[type_id(source.owner_id, slug)]
    for document in documents_of_type(state, source.owner_id, source.slug):
        is_live = document.status == DocumentStatus.live
        if is_live:
            state.free_slots(document)
        moved = touched(
            document,
            event,
            offset,
            type_slug=slug,
            type_title=target.title,
            type_seq=next_type_seq(state, source.owner_id, slug, at),
        )
        if is_live:
            state.take_slots(moved)
            adjust_live_count(state, source.owner_id, source.slug, -1, at)
            adjust_live_count(state, source.owner_id, slug, +1, at)
        state.put_document(moved)


def apply_document_type_renamed(state: BatchState, event: EventEnvelope, offset: int) -> Effect:
    payload = event.payload
    assert isinstance(payload, DocumentTypeRenamed)
    source = state.types.get(type_id(event.owner_id, payload.type_slug))
    if source is None:
        return Effect.ignored_unknown_type
    person = state.keys_of(event.owner_id)
    title = read_title(payload.type_title, person)
    if title is None:
        return Effect.ignored_forgotten
    sealed = person.seal("type_title", title)
    slug = type_key(person, type_slug(title))
    if slug == source.slug:
        _retitled(state, source, sealed, event, offset)
        return Effect.type_renamed
    target = state.types.get(type_id(event.owner_id, slug))
    if target is not None and target.live_count > 0:
        return Effect.type_rename_conflict
    ensure_type(state, event.owner_id, slug, sealed, event.occurred_at)
    _retitled(state, state.types[type_id(event.owner_id, slug)], sealed, event, offset)
    _moved_over(state, source, slug, event, offset)
    return Effect.type_renamed


def apply_document_type_deleted(state: BatchState, event: EventEnvelope, offset: int) -> Effect:
    payload = event.payload
    assert isinstance(payload, DocumentTypeDeleted)
    kind = state.types.get(type_id(event.owner_id, payload.type_slug))
    if kind is None:
        return Effect.ignored_unknown_type
    for document in documents_of_type(state, event.owner_id, kind.slug):
        if document.status == DocumentStatus.live:
            state.free_slots(document)
            adjust_live_count(state, kind.owner_id, kind.slug, -1, event.occurred_at)
            state.put_document(deleted_with_type(state, document, event, offset))
    return Effect.type_deleted


def deleted_by(state: BatchState, owner_id: int, deletion_event_id: str) -> list[DocumentView]:
    """The owner's documents the deletion deleted and nothing has brought back since, in creation order."""
    found = [
        d
        for d in state.documents.values()
        if d.owner_id == owner_id and d.deleted_by == deletion_event_id and d.status == DocumentStatus.deleted
    ]
    return sorted(found, key=lambda d: (d.type_slug, d.type_seq, d.id))


def apply_document_type_restored(state: BatchState, event: EventEnvelope, offset: int) -> Effect:
    payload = event.payload
    assert isinstance(payload, DocumentTypeRestored)
    documents = deleted_by(state, event.owner_id, str(payload.deletion_event_id))
    if not documents:
        return Effect.ignored_nothing_to_restore
    effects = {restore(state, document, event, offset) for document in documents}
    return Effect.type_restored if effects <= RESTORED_AS_THEY_WERE else Effect.type_restored_partly
