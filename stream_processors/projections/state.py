"""The slice of the read models one batch needs, held in memory while the batch is applied."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from contracts.read_models import DocumentTypeView, DocumentView, UserView, copies_key
from contracts.text import base_name_key
from contracts.vocabulary import DocumentStatus
from stream_processors.projections.naming import NameRules

NameSlot = tuple[int, str, str]  # owner, type slug, name key
ContentSlot = tuple[int, str]  # owner, sha256


@dataclass
class BatchState:
    """Documents, types and users by id, plus the unique slots taken by live documents.

    ``document_writes`` keeps one snapshot per change, in event order (an insert for a new document,
    a replace after that: inserts are about twice as cheap as upserts on the test server), so that writing them in order
    never passes through a state that violates a unique index; types and users keep only their last state.

    A state loaded from the store holds only the live documents of the copies keys it loaded
    (``loaded_copies_keys``; ``None``: it holds every document, as in unit tests). Naming notes the copies key
    of every name it probes, so the caller can see when a name was judged free without its possible holders
    loaded (``unloaded_copies_keys``), load them and apply the batch again.
    """

    documents: dict[str, DocumentView] = field(default_factory=dict)
    types: dict[str, DocumentTypeView] = field(default_factory=dict)
    users: dict[int, UserView] = field(default_factory=dict)
    name_slots: dict[NameSlot, str] = field(default_factory=dict)
    content_slots: dict[ContentSlot, str] = field(default_factory=dict)
    document_writes: list[tuple[bool, dict[str, Any]]] = field(default_factory=list)  # (is_new, snapshot)
    stored_document_ids: set[str] = field(default_factory=set)
    dirty_types: set[str] = field(default_factory=set)
    dirty_users: set[int] = field(default_factory=set)
    rules: NameRules = field(default_factory=NameRules)
    loaded_copies_keys: frozenset[str] | None = None
    probed_copies_keys: set[str] = field(default_factory=set)

    @classmethod
    def of(
        cls,
        documents: list[DocumentView],
        types: list[DocumentTypeView],
        users: list[UserView],
        rules: NameRules | None = None,
        loaded_copies_keys: frozenset[str] | None = None,
    ) -> BatchState:
        state = cls(
            stored_document_ids={d.id for d in documents},
            documents={d.id: d for d in documents},
            types={t.id: t for t in types},
            users={u.id: u for u in users},
            rules=rules or NameRules(),
            loaded_copies_keys=loaded_copies_keys,
        )
        for document in documents:
            if document.status == DocumentStatus.live:
                state.take_slots(document)
        return state

    def name_holder(self, owner_id: int, slug: str, key: str) -> str | None:
        """The live document holding a name key in a type, noting the probe (see ``unloaded_copies_keys``)."""
        self.probed_copies_keys.add(copies_key(owner_id, base_name_key(key)))
        return self.name_slots.get((owner_id, slug, key))

    def unloaded_copies_keys(self) -> set[str]:
        if self.loaded_copies_keys is None:
            return set()
        return self.probed_copies_keys - self.loaded_copies_keys

    def take_slots(self, document: DocumentView) -> None:
        self.name_slots[name_slot(document)] = document.id
        self.content_slots[content_slot(document)] = document.id

    def free_slots(self, document: DocumentView) -> None:
        if self.name_slots.get(name_slot(document)) == document.id:
            del self.name_slots[name_slot(document)]
        if self.content_slots.get(content_slot(document)) == document.id:
            del self.content_slots[content_slot(document)]

    def put_document(self, document: DocumentView) -> None:
        """Record a document's new state; the first write of a document not yet stored is an insert."""
        is_new = document.id not in self.stored_document_ids
        self.stored_document_ids.add(document.id)
        self.documents[document.id] = document
        self.document_writes.append((is_new, document.model_dump(by_alias=True, mode="python")))

    def put_type(self, document_type: DocumentTypeView) -> None:
        self.types[document_type.id] = document_type
        self.dirty_types.add(document_type.id)

    def put_user(self, user: UserView) -> None:
        self.users[user.id] = user
        self.dirty_users.add(user.id)


def name_slot(document: DocumentView) -> NameSlot:
    return (document.owner_id, document.type_slug, document.name_key)


def content_slot(document: DocumentView) -> ContentSlot:
    return (document.owner_id, document.file.sha256)


def type_id(owner_id: int, slug: str) -> str:
    return f"{owner_id}:{slug}"
