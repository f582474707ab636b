"""``stream_processors.history``: what each record of the old stream becomes in the sealed one (pure)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from contracts.amqp_body import encode_message
from contracts.codec import decode_event, encode_event, envelope_to_json
from contracts.effects import Effect
from contracts.events import DocumentAddedV3, DocumentRenamedV2, EventEnvelope
from service_kit.keyed import V1_CONTENT, type_key
from stream_processors import history
from stream_processors.history import Outcome
from tests import factories as f
from tests.keyrings import TEST_PEOPLE
from tests.stream_processors.projection_support import apply_all, snapshot

OWNER = 412845671
KEYS = TEST_PEOPLE[OWNER]


def _message(body: bytes) -> bytes:
    return encode_message(body, message_id="m", correlation_id="c", content_type="application/json", subject="s")


def _migrated(event: EventEnvelope, offset: int = 0, forgets: dict[int, int] | None = None) -> history.Migrated:
    data = encode_event(event)
    return history.migrated(data, history.decoded(data), offset, forgets or {}, {OWNER: KEYS})


def test_migrated_seals_every_text_and_keeps_the_envelope_when_a_v1_add_carries_them() -> None:
    plain = f.added(OWNER, "Passport marker", "Papers marker", content="bytes")

    result = _migrated(plain)

    sealed = decode_event(result.data)
    payload = sealed.payload
    assert result.outcome is Outcome.sealed and isinstance(payload, DocumentAddedV3) and not payload.plaintext
    sha256 = plain.payload.file.sha256 or ""  # type: ignore[union-attr]
    assert b"marker" not in result.data and result.data.count(sha256.encode()) == 1  # only in the object key
    assert sealed.model_dump(exclude={"payload", "schema_version"}) == plain.model_dump(
        exclude={"payload", "schema_version"}
    )
    assert KEYS.open("name", payload.name) == "Passport marker"
    assert KEYS.open("type_title", payload.type_title) == "Papers marker"
    assert KEYS.open("file_name", payload.file.file_name or "") == "scan.pdf"
    assert payload.type_slug == type_key(KEYS, plain.payload.type_slug)  # type: ignore[union-attr]
    plain_file = plain.payload.file  # type: ignore[union-attr]
    assert payload.file.content_id == KEYS.keyed(V1_CONTENT, plain_file.sha256 or "")
    assert payload.file.object_key == plain_file.object_key and not payload.file.encrypted


def test_migrated_seals_the_name_when_a_v1_rename_carries_it() -> None:
    plain = f.renamed(OWNER, f.document_id_of(f.added(OWNER, "A")), "New name")

    result = _migrated(plain, offset=7)

    payload = decode_event(result.data).payload
    assert result.outcome is Outcome.sealed and isinstance(payload, DocumentRenamedV2)
    assert KEYS.open("name", payload.name) == "New name" and decode_event(result.data).event_id == plain.event_id


def test_migrated_seals_under_a_key_nobody_holds_when_the_event_is_of_a_forgotten_life() -> None:
    plain = f.added(OWNER, "Diary secret")

    result = _migrated(plain, offset=3, forgets={OWNER: 4})

    payload = decode_event(result.data).payload
    assert result.outcome is Outcome.redacted and b"secret" not in result.data
    assert isinstance(payload, DocumentAddedV3) and not payload.name.startswith(f"s1.{KEYS.key_id}.")


def test_migrated_seals_under_the_live_key_when_the_event_comes_after_the_last_forget() -> None:
    assert _migrated(f.added(OWNER, "Back again"), offset=5, forgets={OWNER: 4}).outcome is Outcome.sealed
    assert history.needs_live_key(history.decoded(encode_event(f.added(OWNER, "x"))), 3, {OWNER: 4}) is None


def test_migrated_copies_the_bytes_when_the_event_carries_no_plain_text() -> None:
    for event in (
        f.sealed_added(KEYS, "Lease"),
        f.started(OWNER),
        f.forgotten(OWNER),
        f.deleted(OWNER, uuid.uuid4()),
    ):
        data = encode_event(event)
        assert history.migrated(data, history.decoded(data), 0, {}, {}) == history.Migrated(data, Outcome.copied)


def test_migrated_copies_the_bytes_when_the_record_does_not_decode() -> None:
    for data in (b"", b"\x00garbage", _message(b'{"event_type": "document.added"'), b"\xff" * 70_000):
        assert history.migrated(data, history.decoded(data), 0, {}, {}) == history.Migrated(data, Outcome.undecodable)


def test_migrated_seals_the_text_when_a_hostile_v2_says_plaintext() -> None:
    plain = f.as_read(f.added(OWNER, "Hostile marker"))
    raw = json.loads(envelope_to_json(plain))
    data = _message(json.dumps(raw).encode())

    result = history.migrated(data, history.decoded(data), 0, {}, {OWNER: KEYS})

    assert result.outcome is Outcome.sealed and b"marker" not in result.data


def test_migrated_keeps_a_file_name_already_sealed_when_the_v1_event_passed_on_the_apis() -> None:
    plain = f.added(OWNER, "Scan")
    sealed_name = KEYS.seal("file_name", "a.pdf")
    file = plain.payload.file.model_copy(update={"file_name": sealed_name})  # type: ignore[union-attr]
    plain = plain.model_copy(update={"payload": plain.payload.model_copy(update={"file": file})})

    payload = decode_event(_migrated(plain).data).payload

    assert isinstance(payload, DocumentAddedV3) and KEYS.open("file_name", payload.file.file_name or "") == "a.pdf"


def _less_content(state: dict[str, Any]) -> dict[str, Any]:
    """A snapshot without what names the content (the sha256 or its keyed id), which seal-history changes."""
    documents = {
        key: {k: v for k, v in doc.items() if k != "content_key"}
        | {"file": doc["file"] | {"sha256": 0, "content_id": 0}}
        for key, doc in state["documents"].items()
    }
    return state | {"documents": documents, "content_slots": len(state["content_slots"])}


def test_migrated_events_build_the_read_models_the_plain_ones_did_when_applied() -> None:
    first = f.added(OWNER, "Passport", content="same")
    plain = [
        first,
        f.renamed(OWNER, f.document_id_of(first), "Passport 2", 1),
        f.added(OWNER, "Copy", content="same", step=2),
        f.added(OWNER, "Other", "Receipts", step=3),
    ]
    sealed = [decode_event(_migrated(event, offset).data) for offset, event in enumerate(plain)]

    (before, plain_effects), (after, sealed_effects) = apply_all([f.as_read(e) for e in plain]), apply_all(sealed)

    assert sealed_effects == plain_effects and Effect.created_duplicate in sealed_effects
    assert _less_content(snapshot(after)) == _less_content(snapshot(before))
    assert all(doc.file.sha256 is None and doc.file.content_id for doc in after.documents.values())
