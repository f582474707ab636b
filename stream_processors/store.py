"""MongoDB side of a processor: load what a batch needs, write what it produced, in one transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import InsertOne, ReplaceOne, UpdateMany, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from contracts.effects import Effect
from contracts.events import (
    DocumentAdded,
    DocumentAddedV2,
    DocumentMoved,
    DocumentTypeDeleted,
    DocumentTypeRenamed,
    DocumentTypeRestored,
    EventEnvelope,
)
from contracts.read_models import (
    ERASURES_COLLECTION,
    FORGET_JOB,
    PURGE_JOB,
    AppliedEvent,
    DocumentTypeView,
    DocumentView,
    ErasureJob,
    ProcessorCheckpoint,
    UserView,
    object_keys_of,
    pages_content_key,
)
from contracts.text import type_slug
from contracts.vocabulary import DocumentStatus
from service_kit.crypto import PersonKeys
from service_kit.keyed import name_keys, type_key
from service_kit.metrics import timed
from service_kit.mongo import in_chunks
from stream_processors.projections.naming import NameRules
from stream_processors.projections.personal import NAMED_PAYLOADS, added_name, read_title
from stream_processors.projections.state import DEFAULT_RETENTION, BatchState, Forget, type_id

Database = AsyncDatabase[dict[str, Any]]


@dataclass(frozen=True)
class Positioned:
    """An event and the stream offset it was read at."""

    offset: int
    event: EventEnvelope


def _collection(db: Database, model: type[Any]) -> Any:
    return db[model.Settings.name]


async def _find(db: Database, model: type[Any], query: dict[str, Any], session: AsyncClientSession) -> list[Any]:
    cursor = _collection(db, model).find(query, session=session)
    return [model.model_validate(raw) for raw in await cursor.to_list(None)]


async def _raw_in(
    db: Database,
    model: type[Any],
    field: str,
    values: Sequence[Any],
    session: AsyncClientSession,
    projection: dict[str, int] | None = None,
) -> list[dict[str, Any]]:
    """The stored documents whose ``field`` is one of ``values``, asked ``IN_CHUNK`` values at a time."""
    found: list[dict[str, Any]] = []
    for chunk in in_chunks(values):
        cursor = _collection(db, model).find({field: {"$in": chunk}}, projection, session=session)
        found += await cursor.to_list(None)
    return found


async def _find_in(
    db: Database, model: type[Any], field: str, values: Sequence[Any], session: AsyncClientSession
) -> list[Any]:
    return [model.model_validate(raw) for raw in await _raw_in(db, model, field, values, session)]


@timed("mongo", "load_applied")
async def already_applied(db: Database, event_ids: list[str], session: AsyncClientSession) -> set[str]:
    return {raw["_id"] for raw in await _raw_in(db, AppliedEvent, "_id", event_ids, session, {"_id": 1})}


def _document_ids(events: Sequence[Positioned]) -> list[str]:
    return list({str(p.event.payload.document_id) for p in events if hasattr(p.event.payload, "document_id")})


Keys = Mapping[int, PersonKeys]


def _adds(events: Sequence[Positioned], keys: Keys) -> list[tuple[int, DocumentAdded | DocumentAddedV2]]:
    """The adds of people whose key was handed in (an add of a forgotten person applies as a no-op)."""
    return [
        (p.event.owner_id, p.event.payload)
        for p in events
        if isinstance(p.event.payload, (DocumentAdded, DocumentAddedV2)) and p.event.owner_id in keys
    ]


def _wanted_copies(events: Sequence[Positioned], documents: list[DocumentView], keys: Keys) -> list[str]:
    """Copy keys (owner + keyed base name) a batch may want to occupy, for copy-suffix resolution."""
    wanted: set[str] = set()
    for p in events:
        person = keys.get(p.event.owner_id)
        payload = p.event.payload
        if person is not None and isinstance(payload, NAMED_PAYLOADS):
            name = added_name(payload, person)
            if name is not None:
                wanted.add(name_keys(person, name).copies_key)
    wanted.update(d.copies_key for d in documents)
    return sorted(wanted)


def _wanted_contents(events: Sequence[Positioned], documents: list[DocumentView], keys: Keys) -> list[str]:
    wanted = {
        pages_content_key(owner_id, [payload.file, *getattr(payload, "more_pages", ())])
        for owner_id, payload in _adds(events, keys)
    }
    wanted.update(d.content_key for d in documents)
    return sorted(wanted)


def _wanted_types(events: Sequence[Positioned], documents: list[DocumentView], keys: Keys) -> list[str]:
    ids = {type_id(owner_id, type_key(keys[owner_id], payload.type_slug)) for owner_id, payload in _adds(events, keys)}
    ids.update(type_id(d.owner_id, d.type_slug) for d in documents)
    ids.update(type_id(owner_id, slug) for owner_id, slug in _named_types(events, keys))
    return sorted(ids)


def _named_types(events: Sequence[Positioned], keys: Keys) -> set[tuple[int, str]]:
    """(owner, keyed slug) of the types a move or a type event names: the type renamed or deleted, a move's target
    and a rename's (the keyed slug of its new title, when it opens)."""
    named: set[tuple[int, str]] = set()
    for p in events:
        payload, owner_id = p.event.payload, p.event.owner_id
        if isinstance(payload, (DocumentMoved, DocumentTypeRenamed, DocumentTypeDeleted)):
            named.add((owner_id, payload.type_slug))
        person = keys.get(owner_id)
        if isinstance(payload, DocumentTypeRenamed) and person is not None:
            title = read_title(payload.type_title, person)
            if title is not None:
                named.add((owner_id, type_key(person, type_slug(title))))
    return named


async def _type_documents(db: Database, events: Sequence[Positioned], session: AsyncClientSession) -> list[Any]:
    """Every document of a type renamed or deleted, and those a deletion being undone deleted."""
    found: list[Any] = []
    for p in events:
        payload = p.event.payload
        if isinstance(payload, (DocumentTypeRenamed, DocumentTypeDeleted)):
            query = {"owner_id": p.event.owner_id, "type_slug": payload.type_slug}
            found += await _find(db, DocumentView, query, session)
    undone = sorted(
        {str(p.event.payload.deletion_event_id) for p in events if isinstance(p.event.payload, DocumentTypeRestored)}
    )
    if undone:
        found += await _find_in(db, DocumentView, "deleted_by", undone, session)
    return found


@timed("mongo", "load_state")
async def load_state(
    db: Database,
    events: Sequence[Positioned],
    session: AsyncClientSession,
    rules: NameRules | None = None,
    more_copies_keys: frozenset[str] = frozenset(),
    keys: Keys | None = None,
    forgotten_through: Mapping[int, int] | None = None,
    retention: timedelta = DEFAULT_RETENTION,
    clock: datetime | None = None,
) -> BatchState:
    """Everything the batch's events can read: their documents, the live documents whose name or
    content they could collide with, the types whose counts they change and their users.

    Names are looked up by copies key: those of the names the events ask for and of their documents, and
    ``more_copies_keys``, which the caller passes when applying showed that naming probed others (a name
    cut to fit a suffix, an id name): see ``BatchState.unloaded_copies_keys``.
    """
    people = keys if keys is not None else {}
    documents = await _find_in(db, DocumentView, "_id", _document_ids(events), session)
    documents = list({d.id: d for d in documents + await _type_documents(db, events, session)}.values())
    copies = sorted(set(_wanted_copies(events, documents, people)) | more_copies_keys)
    neighbours = [
        document
        for field, values in (("copies_key", copies), ("content_key", _wanted_contents(events, documents, people)))
        if values
        for document in await _find_in(db, DocumentView, field, values, session)
        if document.status == DocumentStatus.live
    ]
    by_id = {d.id: d for d in neighbours} | {d.id: d for d in documents}
    type_ids = _wanted_types(events, list(by_id.values()), people)
    types = await _find_in(db, DocumentTypeView, "_id", type_ids, session)
    owners = sorted({p.event.owner_id for p in events if p.event.event_type.startswith("user.")})
    users = await _find_in(db, UserView, "_id", owners, session)
    return BatchState.of(
        list(by_id.values()), types, users, rules, frozenset(copies), people, forgotten_through, retention, clock
    )


def applied_record(positioned: Positioned, effect: str) -> dict[str, Any]:
    event = positioned.event
    document_id = getattr(event.payload, "document_id", None)
    record: dict[str, Any] = AppliedEvent(
        _id=str(event.event_id),
        offset=positioned.offset,
        event_type=event.event_type,
        owner_id=event.owner_id,
        document_id=str(document_id) if document_id is not None else None,
        occurred_at=event.occurred_at,
        correlation_id=event.correlation_id,
        effect=effect,
    ).model_dump(by_alias=True)
    return record


@timed("mongo", "commit_batch")
async def write_batch(
    db: Database,
    state: BatchState,
    applied: list[dict[str, Any]],
    checkpoint_id: str,
    last_offset: int,
    session: AsyncClientSession,
) -> None:
    """Write the batch's results and advance the checkpoint (the caller holds the transaction). A forget's deletes go
    first: what the batch writes after it (the person starting again) is a new life."""
    for forget in state.forgets:
        await _erase_owner(db, forget, session)
    if state.document_writes:
        await _collection(db, DocumentView).bulk_write(
            [
                InsertOne(d) if is_new else ReplaceOne({"_id": d["_id"]}, d)
                for is_new, d in state.ordered_document_writes()
            ],
            ordered=True,
            session=session,
        )
    types = [(i in state.stored_type_ids, state.types[i].model_dump(by_alias=True)) for i in sorted(state.dirty_types)]
    await _write_all(db, DocumentTypeView, types, session)
    users = [(i in state.stored_user_ids, state.users[i].model_dump(by_alias=True)) for i in sorted(state.dirty_users)]
    await _write_all(db, UserView, users, session)
    if state.clock is not None:
        await purge_expired(db, state.clock, session)
    if applied:
        await _collection(db, AppliedEvent).bulk_write([InsertOne(r) for r in applied], ordered=False, session=session)
    for forget in state.forgets:
        await _collection(db, AppliedEvent).bulk_write([_forgotten_ledger(forget)], session=session)
    await _collection(db, ProcessorCheckpoint).bulk_write(
        [
            UpdateOne(
                {"_id": checkpoint_id},
                {
                    "$set": {"offset": last_offset, "updated_at": datetime.now(UTC)},
                    "$inc": {"events_applied": len(applied)},
                }
                | ({"$max": {"clock": state.clock}} if state.clock is not None else {}),
                upsert=True,
            )
        ],
        session=session,
    )


async def _erase_owner(db: Database, forget: Forget, session: AsyncClientSession) -> None:
    """Delete the person's read models as stored and queue the erasure of their files and key (one job per forget)."""
    owner = forget.owner_id
    cursor = _collection(db, DocumentView).find({"owner_id": owner}, session=session)
    objects = sorted({key async for raw in cursor for key in object_keys_of(raw)})
    for model in (DocumentView, DocumentTypeView):
        await _collection(db, model).delete_many({"owner_id": owner}, session=session)
    await _collection(db, UserView).delete_many({"_id": owner}, session=session)
    job = ErasureJob(
        id=forget.event_id,
        kind=FORGET_JOB,
        owner_id=owner,
        offset=forget.offset,
        stored_by=forget.occurred_at,
        object_keys=objects,
    )
    await db[ERASURES_COLLECTION].replace_one(
        {"_id": job.id}, job.model_dump(by_alias=True), upsert=True, session=session
    )


def purge_job(raw: dict[str, Any]) -> ErasureJob:
    """The erasure of a purged document's objects; every field comes from the document as its deletion left it, so a
    rebuild queues the very same job (and finds its receipt)."""
    return ErasureJob(
        id=f"purge:{raw['_id']}:{raw['last_event_id']}",
        kind=PURGE_JOB,
        owner_id=raw["owner_id"],
        offset=raw["last_offset"],
        stored_by=raw["deleted_at"],
        object_keys=sorted(set(object_keys_of(raw))),
    )


async def purge_expired(db: Database, clock: datetime, session: AsyncClientSession) -> None:
    """Delete the deleted documents whose trash deadline ``clock`` reached and queue the erasure of their objects (the
    API's worker keeps an object another document still names). After the batch's writes: a document deleted and
    expired within the batch goes too."""
    query = {"status": DocumentStatus.deleted, "restorable_until": {"$lte": clock}}
    expired = await _collection(db, DocumentView).find(query, session=session).to_list(None)
    if not expired:
        return
    await _collection(db, DocumentView).delete_many({"_id": {"$in": [raw["_id"] for raw in expired]}}, session=session)
    jobs = [purge_job(raw).model_dump(by_alias=True) for raw in expired]
    await db[ERASURES_COLLECTION].bulk_write(
        [ReplaceOne({"_id": job["_id"]}, job, upsert=True) for job in jobs], ordered=False, session=session
    )


@timed("mongo", "load_clock")
async def load_clock(db: Database, checkpoint_id: str, session: AsyncClientSession) -> datetime | None:
    """The stream's clock as the last commit left it (None before the first event, or from before retention)."""
    raw = await _collection(db, ProcessorCheckpoint).find_one({"_id": checkpoint_id}, {"clock": 1}, session=session)
    return None if raw is None else raw.get("clock")


def _forgotten_ledger(forget: Forget) -> UpdateMany:
    """The person's earlier ledger entries read as a rebuild writes them: ids and offsets stay (exactly once), the
    effects become ``ignored_forgotten``."""
    return UpdateMany(
        {"owner_id": forget.owner_id, "offset": {"$lt": forget.offset}}, {"$set": {"effect": Effect.ignored_forgotten}}
    )


async def _write_all(
    db: Database, model: type[Any], docs: list[tuple[bool, dict[str, Any]]], session: AsyncClientSession
) -> None:
    """Each (stored, document): an insert for one the batch created (none was loaded, in this transaction, so none
    is there), an upsert for one it loaded (unordered: the driver sends one command per kind)."""
    writes: list[InsertOne[dict[str, Any]] | ReplaceOne[dict[str, Any]]] = [
        InsertOne(doc) for stored, doc in docs if not stored
    ]
    writes += [ReplaceOne({"_id": doc["_id"]}, doc, upsert=True) for stored, doc in docs if stored]
    if writes:
        await _collection(db, model).bulk_write(writes, ordered=False, session=session)


@timed("mongo", "load_checkpoint")
async def load_checkpoint(db: Database, checkpoint_id: str) -> int | None:
    """The last committed offset, or None when the processor never committed."""
    raw = await _collection(db, ProcessorCheckpoint).find_one({"_id": checkpoint_id})
    return None if raw is None else int(raw["offset"])
