"""``seal-history``: the event stream copied record by record into a new stream, with every v1 (plaintext)
``document.added`` / ``document.renamed`` replaced by its sealed equivalent. Pure: the keys are handed in.

Rules (docs/adr/0019-sealing-the-plaintext-history.md):

- One record out for every record in, in order: the new stream's offsets are the old one's, so the forget markers,
  the dead letters and every offset a read model records still point at the same events.
- An event carrying a person's text in the clear (v1, or a v2 marked ``plaintext``) becomes the current version of
  its type with the same envelope (event id, time, owner, correlation and causation ids): name, type title and file
  name sealed under the person's key, the keyed type slug, and for the file the keyed id of its sha256
  (``V1_CONTENT``) instead of the sha256. The object key stays (the object in S3 is not moved) and ``encrypted``
  stays false. Applying the sealed event gives the read model the plain one gave, less the plain sha256.
- An event of a forgotten life (before its person's last ``user.forgotten``) is sealed under a throwaway key that
  no store ever holds: it applies nothing either way (``ignored_forgotten``), and its text is now unreadable.
- Every other record, an undecodable one included, is copied byte for byte (and counted: the processors dead-letter
  it as before).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from contracts.codec import EventDecodeError, decode_event, encode_event
from contracts.events import (
    DocumentAddedV2,
    DocumentAddedV3,
    DocumentRenamedV2,
    EventEnvelope,
    StoredFile,
    UserForgotten,
    new_event,
)
from service_kit.crypto import DATA_KEY_BYTES, PersonKeys, new_key_id
from service_kit.keyed import V1_CONTENT, type_key
from stream_processors.projections.personal import with_sealed_file_name


class Outcome(StrEnum):
    copied = "copied"  # no personal text in the clear: the same bytes
    sealed = "sealed"  # plaintext sealed under the person's key
    redacted = "redacted"  # plaintext of a forgotten life sealed under a throwaway key
    undecodable = "undecodable"  # copied as it is


@dataclass(frozen=True)
class Migrated:
    data: bytes
    outcome: Outcome


def decoded(data: bytes) -> EventEnvelope | None:
    try:
        return decode_event(data)
    except EventDecodeError:
        return None


def forget_of(data: bytes) -> int | None:
    """The owner a ``user.forgotten`` record forgets, or None for any other record."""
    event = decoded(data)
    return event.owner_id if event is not None and isinstance(event.payload, UserForgotten) else None


def carries_plaintext(event: EventEnvelope) -> bool:
    payload = event.payload
    return isinstance(payload, (DocumentAddedV2, DocumentRenamedV2)) and payload.plaintext


def of_forgotten_life(event: EventEnvelope, offset: int, last_forgets: Mapping[int, int]) -> bool:
    """Before its person's last forget (the processors' rule: those events apply nothing)."""
    return offset < last_forgets.get(event.owner_id, -1)


def throwaway_keys(owner_id: int) -> PersonKeys:
    """A key made for one event and kept nowhere: what it seals nobody can open."""
    return PersonKeys(owner_id, os.urandom(DATA_KEY_BYTES), new_key_id())


def keyed_v1_content_id(keys: PersonKeys, sha256: str) -> str:
    return keys.keyed(V1_CONTENT, sha256)


def sealed_file(file: StoredFile, keys: PersonKeys) -> StoredFile:
    """A v1 file as a v2 event carries it: no sha256, the keyed content id, the file name sealed, the same object."""
    named = with_sealed_file_name(file, keys)
    content_id = file.content_id or keyed_v1_content_id(keys, file.sha256 or "")
    return StoredFile.model_validate(named.model_dump() | {"sha256": None, "content_id": content_id})


def sealed_event(event: EventEnvelope, keys: PersonKeys) -> EventEnvelope:
    """The sealed equivalent of a plaintext add or rename: same envelope, current schema version."""
    payload = event.payload
    sealed: DocumentAddedV3 | DocumentRenamedV2
    if isinstance(payload, DocumentAddedV2):
        sealed = DocumentAddedV3(
            document_id=payload.document_id,
            type_slug=type_key(keys, payload.type_slug),
            type_title=keys.seal("type_title", payload.type_title),
            name=keys.seal("name", payload.name),
            file=sealed_file(payload.file, keys),
        )
    else:
        assert isinstance(payload, DocumentRenamedV2)
        sealed = DocumentRenamedV2(document_id=payload.document_id, name=keys.seal("name", payload.name))
    return new_event(
        sealed,
        owner_id=event.owner_id,
        correlation_id=event.correlation_id,
        causation_id=event.causation_id,
        occurred_at=event.occurred_at,
        event_id=event.event_id,
    )


def migrated(
    data: bytes,
    event: EventEnvelope | None,
    offset: int,
    last_forgets: Mapping[int, int],
    keys: Mapping[int, PersonKeys],
) -> Migrated:
    """What record ``offset`` (``data``, ``decoded`` into ``event``) becomes in the new stream. ``keys`` holds the
    live key of every owner whose plaintext event of a current life this is (``needs_live_key``)."""
    if event is None:
        return Migrated(data, Outcome.undecodable)
    if not carries_plaintext(event):
        return Migrated(data, Outcome.copied)
    if of_forgotten_life(event, offset, last_forgets):
        return Migrated(encode_event(sealed_event(event, throwaway_keys(event.owner_id))), Outcome.redacted)
    return Migrated(encode_event(sealed_event(event, keys[event.owner_id])), Outcome.sealed)


def needs_live_key(event: EventEnvelope | None, offset: int, last_forgets: Mapping[int, int]) -> int | None:
    """The owner whose key sealing this record takes (created if they have none, as the processors do)."""
    if event is None or not carries_plaintext(event) or of_forgotten_life(event, offset, last_forgets):
        return None
    return event.owner_id


def same_event(source: bytes, target: bytes) -> bool:
    """Whether a target record is the migration of a source record (a resumed run checks the last one copied)."""
    if source == target:
        return True
    before, after = decoded(source), decoded(target)
    return before is not None and after is not None and before.event_id == after.event_id


def summary(source: str, target: str, counts: Mapping[Outcome, int], last_offset: int) -> str:
    told = " ".join(f"{outcome.value}={counts.get(outcome, 0)}" for outcome in Outcome)
    return f"sealed history of {source} into {target} through offset {last_offset}: {told}"
