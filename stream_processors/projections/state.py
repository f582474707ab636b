"""The slice of the read models one batch needs, held in memory while the batch is applied."""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from contracts.read_models import DocumentTypeView, DocumentView, UserView, expiry_keys, page_key
from contracts.vocabulary import DocumentStatus
from service_kit.crypto import PersonKeys
from service_kit.keyed import NameKeys, name_keys
from stream_processors.projections.naming import NameRules

NameSlot = tuple[int, str, str]  # owner, keyed type slug, keyed name key
ContentSlot = tuple[int, str]  # owner, content key
DEFAULT_RETENTION = timedelta(days=30)  # RETENTION_DAYS: how long a deleted document stays in the trash


def ms_floor(moment: datetime) -> datetime:
    """``moment`` to the millisecond, as MongoDB stores it: a deadline compares the same loaded or just computed."""
    return moment.replace(microsecond=moment.microsecond - moment.microsecond % 1000)


def is_expired(document: DocumentView, clock: datetime | None) -> bool:
    """A deleted document whose trash deadline the stream's clock has reached: purged, as if it never was."""
    deadline = document.restorable_until
    return (
        document.status == DocumentStatus.deleted and deadline is not None and clock is not None and deadline <= clock
    )


# A unique index entry a live document holds: ("name", *NameSlot) or ("content", *ContentSlot).
UniqueSlot = tuple[object, ...]
DocumentWrite = tuple[bool, dict[str, Any]]  # (is_new, snapshot)


@dataclass(frozen=True)
class Forget:
    """A ``user.forgotten`` applied in this batch: the store deletes the person's read models as they were before
    it, rewrites their earlier ledger entries as ``ignored_forgotten`` and queues the erasure job."""

    owner_id: int
    offset: int
    event_id: str
    occurred_at: datetime


class MissingKey(LookupError):
    """No data key was handed in for a person whose text an event needs (the processor loads or creates them)."""


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

    ``keys`` are the data keys of the batch's people (loaded by the processor): documents keep sealed names and
    keyed hashes (``service_kit.keyed``), never the text.
    """

    documents: dict[str, DocumentView] = field(default_factory=dict)
    types: dict[str, DocumentTypeView] = field(default_factory=dict)
    users: dict[int, UserView] = field(default_factory=dict)
    name_slots: dict[NameSlot, str] = field(default_factory=dict)
    content_slots: dict[ContentSlot, str] = field(default_factory=dict)
    document_writes: list[DocumentWrite] = field(default_factory=list)
    stored_document_ids: set[str] = field(default_factory=set)
    # The unique slots each stored document held before the batch's first change to it (``ordered_document_writes``).
    slots_before: dict[str, frozenset[UniqueSlot]] = field(default_factory=dict)
    dirty_types: set[str] = field(default_factory=set)
    dirty_users: set[int] = field(default_factory=set)
    # The types and users as loaded from the store (less those a forget of the batch deletes): a dirty one not among
    # them is new, and the store inserts it (an insert costs the test server about half an upsert).
    stored_type_ids: set[str] = field(default_factory=set)
    stored_user_ids: set[int] = field(default_factory=set)
    rules: NameRules = field(default_factory=NameRules)
    loaded_copies_keys: frozenset[str] | None = None
    probed_copies_keys: set[str] = field(default_factory=set)
    keys: Mapping[int, PersonKeys] = field(default_factory=dict)
    # Owner -> offset of their last user.forgotten (service_kit.forgetting): their events before it apply nothing.
    forgotten_through: dict[int, int] = field(default_factory=dict)
    forgets: list[Forget] = field(default_factory=list)
    # People with a destroyed key and no live one: a sealed event of theirs was sealed under the erased key (an API
    # process still held it in its cache when they came back) and reads as forgotten. No record at all is another
    # matter (a keys database lost): MissingKey, and the event waits in the dead-letter stream for the backup.
    destroyed_keys: frozenset[int] = frozenset()
    # Trash retention (docs/adr/0014): the stream's clock (the latest ``occurred_at`` applied, kept in the checkpoint)
    # and the deleted documents by deadline; a document whose deadline the clock reached is dropped from the state
    # before the next event reads it, and the store purges it at the batch's end.
    retention: timedelta = DEFAULT_RETENTION
    clock: datetime | None = None
    trash: list[tuple[datetime, str]] = field(default_factory=list)

    @classmethod
    def of(
        cls,
        documents: list[DocumentView],
        types: list[DocumentTypeView],
        users: list[UserView],
        rules: NameRules | None = None,
        loaded_copies_keys: frozenset[str] | None = None,
        keys: Mapping[int, PersonKeys] | None = None,
        forgotten_through: Mapping[int, int] | None = None,
        retention: timedelta = DEFAULT_RETENTION,
        clock: datetime | None = None,
    ) -> BatchState:
        state = cls(
            retention=retention,
            clock=clock,
            keys=keys if keys is not None else {},
            forgotten_through=dict(forgotten_through or {}),
            stored_document_ids={d.id for d in documents},
            documents={d.id: d for d in documents},
            types={t.id: t for t in types},
            users={u.id: u for u in users},
            stored_type_ids={t.id for t in types},
            stored_user_ids={u.id for u in users},
            rules=rules or NameRules(),
            loaded_copies_keys=loaded_copies_keys,
        )
        for document in documents:
            if document.status == DocumentStatus.live:
                state.take_slots(document)
            state.note_trash(document)
        state.drop_expired()
        return state

    def deadline_after(self, deleted_at: datetime) -> datetime:
        """Until when a document deleted at ``deleted_at`` can be restored."""
        return ms_floor(deleted_at + self.retention)

    def advance_clock(self, at: datetime) -> None:
        """The stream's clock moves to ``at`` unless it is past it already (event times may go back a little)."""
        self.clock = at if self.clock is None else max(self.clock, at)
        self.drop_expired()

    def note_trash(self, document: DocumentView) -> None:
        if document.status == DocumentStatus.deleted and document.restorable_until is not None:
            heapq.heappush(self.trash, (document.restorable_until, document.id))

    def drop_expired(self) -> None:
        """Forget the documents whose trash deadline the clock reached (they hold no slots: they are deleted)."""
        while self.trash and self.clock is not None and self.trash[0][0] <= self.clock:
            _, document_id = heapq.heappop(self.trash)
            document = self.documents.get(document_id)
            if document is not None and is_expired(document, self.clock):
                del self.documents[document_id]

    def keys_of(self, owner_id: int) -> PersonKeys:
        found = self.keys.get(owner_id)
        if found is None:
            raise MissingKey(f"no data key handed in for owner {owner_id}")
        return found

    def name_keys(self, owner_id: int, name: str) -> NameKeys:
        return name_keys(self.keys_of(owner_id), name)

    def name_holder(self, owner_id: int, slug: str, name: str) -> str | None:
        """The live document holding a name in a type, noting the probe (see ``unloaded_copies_keys``)."""
        keys = self.name_keys(owner_id, name)
        self.probed_copies_keys.add(keys.copies_key)
        return self.name_slots.get((owner_id, slug, keys.name_key))

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
        previous = self.documents.get(document.id)
        if previous is not None and document.id not in self.slots_before:
            self.slots_before[document.id] = unique_slots(previous.model_dump(include=SLOT_FIELDS))
        document = document.model_copy(update={"page_key": page_key(document), **expiry_keys(document)})
        self.stored_document_ids.add(document.id)
        self.documents[document.id] = document
        self.note_trash(document)
        self.document_writes.append((is_new, document.model_dump(by_alias=True, mode="python")))

    def ordered_document_writes(self) -> list[DocumentWrite]:
        """``document_writes`` as the store sends them: each document that shares no unique slot with another written
        once, in its last state, and the inserts moved first where that is safe, so that the store sends fewer
        documents and fewer commands (the test server pays per document and per command; a replace costs it several
        inserts' worth, since it rewrites every index entry of the document).

        A document is *alone* when no other document holds one of its unique slots at any point of the batch
        (before it, or in any snapshot). Then the states its intermediate writes pass through touch no slot of
        anyone else, so writing only its last state, at any point, can violate no unique index; and a new one (an
        insert) can go to the front. Every other write keeps its place, e.g. an add that takes the name a rename in
        the same batch freed, or two documents swapping their names."""
        holders: dict[UniqueSlot, set[str]] = {}
        for document_id, slots in self.slots_before.items():
            for slot in slots:
                holders.setdefault(slot, set()).add(document_id)
        for _, snapshot in self.document_writes:
            for slot in unique_slots(snapshot):
                holders.setdefault(slot, set()).add(snapshot["_id"])
        shared = {document_id for ids in holders.values() if len(ids) > 1 for document_id in ids}
        last = {snapshot["_id"]: index for index, (_, snapshot) in enumerate(self.document_writes)}
        first: list[DocumentWrite] = []
        rest: list[DocumentWrite] = []
        is_new: dict[str, bool] = {}
        for index, (new, snapshot) in enumerate(self.document_writes):
            document_id = snapshot["_id"]
            if document_id in shared:
                rest.append((new, snapshot))
                continue
            is_new.setdefault(document_id, new)  # the first write of a document not stored before is an insert
            if index == last[document_id]:
                (first if is_new[document_id] else rest).append((is_new[document_id], snapshot))
        return first + rest

    def put_type(self, document_type: DocumentTypeView) -> None:
        self.types[document_type.id] = document_type
        self.dirty_types.add(document_type.id)

    def put_user(self, user: UserView) -> None:
        self.users[user.id] = user
        self.dirty_users.add(user.id)

    def has_only_a_destroyed_key(self, owner_id: int) -> bool:
        return owner_id in self.destroyed_keys and owner_id not in self.keys

    def is_forgotten_life(self, owner_id: int, offset: int) -> bool:
        """An event of a person before their last ``user.forgotten``: it belongs to a life that was erased."""
        return offset < self.forgotten_through.get(owner_id, -1)

    def drop_owner(self, forget: Forget) -> None:
        """Everything of ``forget.owner_id`` held or about to be written goes (the store deletes what is stored)."""
        owner = forget.owner_id
        for document in [d for d in self.documents.values() if d.owner_id == owner]:
            self.free_slots(document)
            del self.documents[document.id]
        self.document_writes = [(new, d) for new, d in self.document_writes if d["owner_id"] != owner]
        for type_key in [k for k, t in self.types.items() if t.owner_id == owner]:
            del self.types[type_key]
            self.dirty_types.discard(type_key)
            self.stored_type_ids.discard(type_key)
        self.users.pop(owner, None)
        self.dirty_users.discard(owner)
        self.stored_user_ids.discard(owner)
        self.forgotten_through[owner] = max(forget.offset, self.forgotten_through.get(owner, -1))
        self.forgets.append(forget)


SLOT_FIELDS = {"owner_id", "type_slug", "name_key", "content_key", "status"}


def unique_slots(snapshot: Mapping[str, Any]) -> frozenset[UniqueSlot]:
    """The entries a document snapshot (a stored dict) takes in the two unique indexes: none unless it is live."""
    if snapshot["status"] != DocumentStatus.live:
        return frozenset()
    owner = snapshot["owner_id"]
    return frozenset(
        {("name", owner, snapshot["type_slug"], snapshot["name_key"]), ("content", owner, snapshot["content_key"])}
    )


def name_slot(document: DocumentView) -> NameSlot:
    return (document.owner_id, document.type_slug, document.name_key)


def content_slot(document: DocumentView) -> ContentSlot:
    return (document.owner_id, document.content_key)


def type_id(owner_id: int, slug: str) -> str:
    return f"{owner_id}:{slug}"
