"""Builders of valid events for tests."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

from contracts.events import (
    DocumentAdded,
    DocumentDeleted,
    DocumentRenamed,
    DocumentRestored,
    EventEnvelope,
    StoredFile,
    UserStarted,
    new_event,
)
from contracts.text import type_slug

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


def started(owner_id: int, language: str = "en", step: int = 0) -> EventEnvelope:
    return new_event(
        UserStarted(language="ru" if language == "ru" else "en"),
        owner_id=owner_id,
        correlation_id="c",
        occurred_at=at(step),
    )


def document_id_of(event: EventEnvelope) -> uuid.UUID:
    payload = event.payload
    assert isinstance(payload, DocumentAdded)
    return payload.document_id
