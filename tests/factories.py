"""Builders of valid events for tests."""

from __future__ import annotations

import hashlib
import random
import uuid
from datetime import UTC, date, datetime, timedelta

from contracts.codec import decode_envelope_json, envelope_to_json
from contracts.events import (
    DocumentAdded,
    DocumentAddedV2,
    DocumentAddedV3,
    DocumentDeleted,
    DocumentMoved,
    DocumentPageAdded,
    DocumentReminderSent,
    DocumentRenamed,
    DocumentRenamedV2,
    DocumentRestored,
    DocumentTypeDeleted,
    DocumentTypeRenamed,
    DocumentTypeRestored,
    DocumentValidUntilSet,
    EventEnvelope,
    StoredFile,
    UserForgotten,
    UserStarted,
    new_event,
)
from contracts.expiry import reminder_event_id
from contracts.text import type_slug
from service_kit.crypto import PersonKeys
from service_kit.keyed import TYPE

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def at(step: int) -> datetime:
    """A deterministic instant, ``step`` seconds after the test epoch."""
    return EPOCH + timedelta(seconds=step)


def stored_file(content: str, owner_id: int = 1) -> StoredFile:
    digest = hashlib.sha256(content.encode()).hexdigest()
    return StoredFile(
        object_key=f"owners/{owner_id}/{digest}",
        sha256=digest,
        size=len(content),
        mime_type="application/pdf",
        file_name="scan.pdf",
    )


def added(
    owner_id: int,
    name: str,
    type_title: str = "Passport",
    content: str | None = None,
    step: int = 0,
    document_id: uuid.UUID | None = None,
) -> EventEnvelope:
    return new_event(
        DocumentAdded(
            document_id=document_id or uuid.uuid4(),
            type_slug=type_slug(type_title),
            type_title=type_title,
            name=name,
            file=stored_file(content if content is not None else f"{owner_id}/{name}/{uuid.uuid4()}", owner_id),
        ),
        owner_id=owner_id,
        correlation_id=f"corr-{step}",
        occurred_at=at(step),
    )


def renamed(owner_id: int, document_id: uuid.UUID, name: str, step: int = 0) -> EventEnvelope:
    return new_event(
        DocumentRenamed(document_id=document_id, name=name), owner_id=owner_id, correlation_id="c", occurred_at=at(step)
    )


def deleted(owner_id: int, document_id: uuid.UUID, step: int = 0) -> EventEnvelope:
    return new_event(
        DocumentDeleted(document_id=document_id), owner_id=owner_id, correlation_id="c", occurred_at=at(step)
    )


def restored(owner_id: int, document_id: uuid.UUID, step: int = 0) -> EventEnvelope:
    return new_event(
        DocumentRestored(document_id=document_id), owner_id=owner_id, correlation_id="c", occurred_at=at(step)
    )


def valid_until_set(owner_id: int, document_id: uuid.UUID, valid_until: date | None, step: int = 0) -> EventEnvelope:
    return new_event(
        DocumentValidUntilSet(document_id=document_id, valid_until=valid_until),
        owner_id=owner_id,
        correlation_id="c",
        occurred_at=at(step),
    )


def reminder_sent(
    owner_id: int, document_id: uuid.UUID, valid_until: date, days_before: int, step: int = 0
) -> EventEnvelope:
    """As the bot's reminder sender appends it: the event id derived from the reminder."""
    return new_event(
        DocumentReminderSent(document_id=document_id, valid_until=valid_until, days_before=days_before),
        owner_id=owner_id,
        correlation_id="reminders",
        occurred_at=at(step),
        event_id=reminder_event_id(document_id, valid_until, days_before),
    )


def started(owner_id: int, language: str = "en", step: int = 0) -> EventEnvelope:
    return new_event(
        UserStarted(language="ru" if language == "ru" else "en"),
        owner_id=owner_id,
        correlation_id="c",
        occurred_at=at(step),
    )


def forgotten(owner_id: int, step: int = 0) -> EventEnvelope:
    return new_event(UserForgotten(), owner_id=owner_id, correlation_id="c", occurred_at=at(step))


def document_id_of(event: EventEnvelope) -> uuid.UUID:
    payload = event.payload
    assert isinstance(payload, (DocumentAdded, DocumentAddedV2))
    return payload.document_id


def story(owners: int = 5, per_owner: int = 40, seed: int = 7) -> list[EventEnvelope]:
    """A reproducible mix of every event type with name and content conflicts."""
    rng = random.Random(seed)
    events: list[EventEnvelope] = []
    step = 0
    for owner in range(1, owners + 1):
        events.append(started(owner, rng.choice(["en", "ru"]), step))
        ids: list[uuid.UUID] = []
        for i in range(per_owner):
            step += 1
            kind = rng.random()
            if kind < 0.55 or not ids:
                name = rng.choice(["Passport", "passport", "Lease", "Ёлка", "елка", f"Receipt {i}"])
                content = rng.choice(["same-bytes", f"unique-{owner}-{i}"])
                event = added(owner, name, rng.choice(["Passport", "Receipts"]), content, step)
                ids.append(document_id_of(event))
            elif kind < 0.7:
                event = renamed(owner, rng.choice(ids), rng.choice(["Passport", "Lease", f"Doc {i}"]), step)
            elif kind < 0.85:
                event = deleted(owner, rng.choice(ids), step)
            else:
                event = restored(owner, rng.choice(ids), step)
            events.append(event)
    return events


def as_read(event: EventEnvelope) -> EventEnvelope:
    """The event as decoding returns it: an old version lifted by the upcasters (a v1 event with personal text
    marked ``plaintext``, a v2 add with no more pages)."""
    return decode_envelope_json(envelope_to_json(event))


def sealed_added(
    keys: PersonKeys,
    name: str,
    type_title: str = "Passport",
    content: str | None = None,
    step: int = 0,
    document_id: uuid.UUID | None = None,
    file_name: str | None = "scan.pdf",
) -> EventEnvelope:
    """A v2 document.added as a bot that seals through the API wrote it (before documents had pages)."""
    return new_event(
        DocumentAddedV2(
            document_id=document_id or uuid.uuid4(),
            type_slug=keys.keyed(TYPE, type_slug(type_title)),
            type_title=keys.seal("type_title", type_title),
            name=keys.seal("name", name),
            file=sealed_page(
                keys, content if content is not None else f"{keys.owner_id}/{name}/{uuid.uuid4()}", file_name
            ),
        ),
        owner_id=keys.owner_id,
        correlation_id=f"corr-{step}",
        occurred_at=at(step),
    )


def sealed_page(keys: PersonKeys, content: str, file_name: str | None = "scan.pdf") -> StoredFile:
    """A file (a page) as the API stores it for ``keys``' person: keyed content id, sealed file name."""
    hasher = keys.content_hasher()
    hasher.update(content.encode())
    content_id = hasher.hexdigest()[:32]
    return StoredFile(
        object_key=f"owners/{keys.owner_id}/{content_id}",
        size=10,
        mime_type="application/pdf",
        file_name=keys.seal("file_name", file_name) if file_name is not None else None,
        content_id=content_id,
        encrypted=True,
    )


def sealed_album(
    keys: PersonKeys,
    name: str,
    contents: list[str],
    type_title: str = "Passport",
    step: int = 0,
    document_id: uuid.UUID | None = None,
) -> EventEnvelope:
    """A v3 document.added of several pages (an album), as the bot writes it."""
    first, *more = [sealed_page(keys, content, f"page{i}.pdf") for i, content in enumerate(contents, 1)]
    return new_event(
        DocumentAddedV3(
            document_id=document_id or uuid.uuid4(),
            type_slug=keys.keyed(TYPE, type_slug(type_title)),
            type_title=keys.seal("type_title", type_title),
            name=keys.seal("name", name),
            file=first,
            more_pages=more,
        ),
        owner_id=keys.owner_id,
        correlation_id=f"corr-{step}",
        occurred_at=at(step),
    )


def pages_added(keys: PersonKeys, document_id: uuid.UUID, contents: list[str], step: int = 0) -> EventEnvelope:
    return new_event(
        DocumentPageAdded(document_id=document_id, pages=[sealed_page(keys, content) for content in contents]),
        owner_id=keys.owner_id,
        correlation_id="c",
        occurred_at=at(step),
    )


def sealed_renamed(keys: PersonKeys, document_id: uuid.UUID, name: str, step: int = 0) -> EventEnvelope:
    return new_event(
        DocumentRenamedV2(document_id=document_id, name=keys.seal("name", name)),
        owner_id=keys.owner_id,
        correlation_id="c",
        occurred_at=at(step),
    )


def _keyed_type(keys: PersonKeys, type_title: str) -> str:
    return keys.keyed(TYPE, type_slug(type_title))


def moved(keys: PersonKeys, document_id: uuid.UUID, type_title: str, step: int = 0) -> EventEnvelope:
    """A document.moved to the type of ``type_title`` (created by the move when new)."""
    return new_event(
        DocumentMoved(
            document_id=document_id,
            type_slug=_keyed_type(keys, type_title),
            type_title=keys.seal("type_title", type_title),
        ),
        owner_id=keys.owner_id,
        correlation_id="c",
        occurred_at=at(step),
    )


def type_renamed(keys: PersonKeys, type_title: str, new_title: str, step: int = 0) -> EventEnvelope:
    return new_event(
        DocumentTypeRenamed(type_slug=_keyed_type(keys, type_title), type_title=keys.seal("type_title", new_title)),
        owner_id=keys.owner_id,
        correlation_id="c",
        occurred_at=at(step),
    )


def type_deleted(keys: PersonKeys, type_title: str, step: int = 0) -> EventEnvelope:
    return new_event(
        DocumentTypeDeleted(type_slug=_keyed_type(keys, type_title)),
        owner_id=keys.owner_id,
        correlation_id="c",
        occurred_at=at(step),
    )


def type_restored(owner_id: int, deletion: EventEnvelope, step: int = 0) -> EventEnvelope:
    return new_event(
        DocumentTypeRestored(deletion_event_id=deletion.event_id),
        owner_id=owner_id,
        correlation_id="c",
        occurred_at=at(step),
    )
