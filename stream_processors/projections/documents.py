"""The ``documents`` projection, with its conflict rules.

Conflicts a unique index would reveal are resolved here, deterministically, so a replay rebuilds
the same state: a name already used by a live document of the same type gets the first free name of
``naming`` (a copy suffix "Passport (2)", then the document's id); content already stored by a live
document of the same person makes the new one a ``duplicate`` pointing at the original (the content of a
document of several pages is all its pages in order: ``pages_content_key``). Events for a
document of another owner are ignored. Every event has an outcome, however crowded the names:

- an add is always stored (live under a free name, or as a duplicate); ``created_renamed`` says that
  its live name is not the one asked for;
- a rename with no free name changes nothing (``rename_conflict``);
- a restore with no free name leaves the document deleted (``restore_conflict``); ``restored_renamed``
  says that it is live again under another name than it had;
- an add or a rename whose text was sealed under a key the person no longer has (forgotten) changes nothing
  (``ignored_forgotten``).

Names are worked out in the clear (``personal``) and stored sealed, with keyed hashes for every key: a derived
name ("Passport (2)") is sealed here, and since sealing is deterministic a replay stores the same bytes.
A rename and a delete bump ``link_generation``, so signed links to the old state stop working.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from contracts.effects import Effect
from contracts.events import (
    DocumentAdded,
    DocumentAddedV2,
    DocumentMoved,
    DocumentRenamed,
    DocumentRenamedV2,
    EventEnvelope,
)
from contracts.read_models import DocumentView, pages_content_key
from contracts.vocabulary import DocumentStatus
from service_kit.keyed import search_keys
from stream_processors.projections.document_types import adjust_live_count, ensure_type, next_type_seq
from stream_processors.projections.naming import id_family_names, name_candidates
from stream_processors.projections.personal import read_added, read_renamed, read_title
from stream_processors.projections.state import BatchState, content_slot, type_id


def free_name(state: BatchState, document: DocumentView, candidates: Iterable[str]) -> str | None:
    """The first candidate no other live document of the type holds, or None."""
    return next((name for name in candidates if _is_free(state, document, name)), None)


def _is_free(state: BatchState, document: DocumentView, name: str) -> bool:
    holder = state.name_holder(document.owner_id, document.type_slug, name)
    return holder is None or holder == document.id


def _name_for_new_document(state: BatchState, document: DocumentView, wanted: str) -> str:
    """A free name for an added document: the one asked for, a copy, its id name or a numbered id name."""
    return free_name(state, document, name_candidates(wanted, document.id, state.rules)) or next(
        name for name in id_family_names(wanted, document.id, state.rules) if _is_free(state, document, name)
    )


def _with(document: DocumentView, **changes: object) -> DocumentView:
    changed: DocumentView = document.model_copy(update=changes)
    return changed


def _named(state: BatchState, document: DocumentView, name: str) -> DocumentView:
    """The document under ``name``: sealed, with its keyed name, copies and search keys."""
    person = state.keys_of(document.owner_id)
    keys = state.name_keys(document.owner_id, name)
    return _with(
        document,
        name=person.seal("name", name),
        name_key=keys.name_key,
        name_base_key=keys.base_key,
        copies_key=keys.copies_key,
        search_prefixes=search_keys(person, name),
    )


def _plain_name(state: BatchState, document: DocumentView) -> str:
    return state.keys_of(document.owner_id).open("name", document.name)


def touched(document: DocumentView, event: EventEnvelope, offset: int, **changes: object) -> DocumentView:
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
    live = _with(
        _named(state, document, name),
        status=DocumentStatus.live,
        duplicate_of=None,
        deleted_at=None,
        deleted_by=None,
        restorable_until=None,
    )
    state.take_slots(live)
    adjust_live_count(state, live.owner_id, live.type_slug, +1, at)
    return live


def apply_document_added(state: BatchState, event: EventEnvelope, offset: int) -> Effect:
    payload = event.payload
    assert isinstance(payload, (DocumentAdded, DocumentAddedV2))
    document_id = str(payload.document_id)
    if document_id in state.documents:
        return Effect.ignored_existing
    person = state.keys_of(event.owner_id)
    texts = read_added(payload, person)
    if texts is None:
        return Effect.ignored_forgotten
    ensure_type(state, event.owner_id, texts.type_key, person.seal("type_title", texts.type_title), event.occurred_at)
    draft = _named(
        state,
        DocumentView(
            _id=document_id,
            owner_id=event.owner_id,
            type_slug=texts.type_key,
            type_title=state.types[type_id(event.owner_id, texts.type_key)].title,
            name="",
            name_key="",
            name_base_key="",
            copies_key="",
            content_key=pages_content_key(event.owner_id, [texts.file, *texts.more_pages]),
            search_prefixes=[],
            type_seq=next_type_seq(state, event.owner_id, texts.type_key, event.occurred_at),
            file=texts.file,
            more_pages=list(texts.more_pages),
            created_at=event.occurred_at,
            updated_at=event.occurred_at,
            last_event_id=str(event.event_id),
            last_offset=offset,
        ),
        texts.name,
    )
    original = _live_original(state, draft)
    if original is not None:
        state.put_document(_with(draft, status=DocumentStatus.duplicate, duplicate_of=original))
        return Effect.created_duplicate
    name = _name_for_new_document(state, draft, texts.name)
    state.put_document(_made_live(state, draft, name, event.occurred_at))
    return Effect.created if name == texts.name else Effect.created_renamed


def apply_document_renamed(state: BatchState, event: EventEnvelope, offset: int) -> Effect:
    payload = event.payload
    assert isinstance(payload, (DocumentRenamed, DocumentRenamedV2))
    document = _owned_document(state, event, str(payload.document_id))
    if document is None:
        return Effect.ignored_unknown
    if document.status != DocumentStatus.live:
        return Effect.ignored_not_live
    wanted = read_renamed(payload, state.keys_of(event.owner_id))
    if wanted is None:
        return Effect.ignored_forgotten
    name = free_name(state, document, name_candidates(wanted, document.id, state.rules))
    if name is None:
        return Effect.rename_conflict
    state.free_slots(document)
    renamed = _named(state, document, name)
    state.take_slots(renamed)
    # Links to the document stop working when its name changes (a rename to the same name changes nothing).
    generation = document.link_generation + (renamed.name != document.name)
    state.put_document(touched(renamed, event, offset, link_generation=generation))
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
    state.put_document(
        touched(
            document,
            event,
            offset,
            status=DocumentStatus.deleted,
            deleted_at=event.occurred_at,
            deleted_by=None,
            restorable_until=state.deadline_after(event.occurred_at),
            link_generation=document.link_generation + 1,
        )
    )
    return Effect.deleted


def deleted_with_type(state: BatchState, document: DocumentView, event: EventEnvelope, offset: int) -> DocumentView:
    """A live document as a type deletion leaves it: deleted, marked with the deletion, its links stopped."""
    return touched(
        document,
        event,
        offset,
        status=DocumentStatus.deleted,
        deleted_at=event.occurred_at,
        deleted_by=str(event.event_id),
        restorable_until=state.deadline_after(event.occurred_at),
        link_generation=document.link_generation + 1,
    )


def apply_document_restored(state: BatchState, event: EventEnvelope, offset: int) -> Effect:
    document = _owned_document(state, event, str(getattr(event.payload, "document_id")))
    if document is None:
        return Effect.ignored_unknown
    if document.status != DocumentStatus.deleted:
        return Effect.ignored_not_deleted
    return restore(state, document, event, offset)


def restore(state: BatchState, document: DocumentView, event: EventEnvelope, offset: int) -> Effect:
    """A deleted document live again (under its name or a copy name), a duplicate, or left deleted (no free name)."""
    original = _live_original(state, document)
    if original is not None:
        duplicate = touched(
            document,
            event,
            offset,
            status=DocumentStatus.duplicate,
            duplicate_of=original,
            deleted_at=None,
            deleted_by=None,
            restorable_until=None,
        )
        state.put_document(duplicate)
        return Effect.restored_duplicate
    old_name = _plain_name(state, document)
    name = free_name(state, document, name_candidates(old_name, document.id, state.rules))
    if name is None:
        return Effect.restore_conflict
    state.put_document(touched(_made_live(state, document, name, event.occurred_at), event, offset))
    return Effect.restored if name == old_name else Effect.restored_renamed


def apply_document_moved(state: BatchState, event: EventEnvelope, offset: int) -> Effect:
    """A live document to another type (created with the event's title when new), under its name or the first free
    copy name there; with no free name it stays where it is (``move_conflict``). The old type's count goes down."""
    payload = event.payload
    assert isinstance(payload, DocumentMoved)
    document = _owned_document(state, event, str(payload.document_id))
    if document is None:
        return Effect.ignored_unknown
    if document.status != DocumentStatus.live:
        return Effect.ignored_not_live
    if payload.type_slug == document.type_slug:
        return Effect.ignored_same_type
    person = state.keys_of(event.owner_id)
    title = read_title(payload.type_title, person)
    if title is None:
        return Effect.ignored_forgotten
    there = _with(document, type_slug=payload.type_slug)
    old_name = _plain_name(state, document)
    name = free_name(state, there, name_candidates(old_name, document.id, state.rules))
    if name is None:
        return Effect.move_conflict
    at = event.occurred_at
    ensure_type(state, event.owner_id, payload.type_slug, person.seal("type_title", title), at)
    state.free_slots(document)
    adjust_live_count(state, document.owner_id, document.type_slug, -1, at)
    kind = state.types[type_id(event.owner_id, payload.type_slug)]
    placed = _with(there, type_title=kind.title, type_seq=next_type_seq(state, kind.owner_id, kind.slug, at))
    live = _made_live(state, placed, name, at)
    generation = document.link_generation + (name != old_name)
    state.put_document(touched(live, event, offset, link_generation=generation))
    return Effect.moved if name == old_name else Effect.moved_renamed
