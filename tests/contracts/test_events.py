"""The envelope and payload models: what ``new_event`` builds, what the envelope refuses, and lossless encoding."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from contracts.codec import decode_event, encode_event
from contracts.events import (
    CURRENT_VERSIONS,
    MAX_FILE_SIZE_BYTES,
    DocumentAdded,
    DocumentDeleted,
    DocumentRenamed,
    DocumentRestored,
    EventEnvelope,
    EventPayload,
    StoredFile,
    UserLanguageChanged,
    UserStarted,
    new_event,
)
from contracts.text import MAX_TYPE_TITLE_LENGTH, type_slug
from tests.contracts.strategies import LATIN_CYRILLIC, display_names

DOCUMENT_ID = uuid.UUID("c0a8012e-5b3f-4d7a-8e21-6f4b9d2a7c15")


_short_texts = st.none() | st.text(max_size=256)
_stored_files = st.builds(
    lambda content, size, mime, file_name, file_id, unique_id: StoredFile(
        object_key=f"owners/1/{hashlib.sha256(content).hexdigest()}",
        sha256=hashlib.sha256(content).hexdigest(),
        size=size,
        mime_type=mime,
        file_name=file_name,
        telegram_file_id=file_id,
        telegram_file_unique_id=unique_id,
    ),
    st.binary(max_size=32), st.integers(0, MAX_FILE_SIZE_BYTES), st.text(min_size=1, max_size=128),
    _short_texts, _short_texts, _short_texts,
)
_payloads: st.SearchStrategy[EventPayload] = st.one_of(
    st.builds(UserStarted, language=st.sampled_from(["en", "ru"])),
    st.builds(UserLanguageChanged, language=st.sampled_from(["en", "ru"])),
    st.builds(
        lambda document_id, title, name, stored: DocumentAdded(
            document_id=document_id, type_slug=type_slug(title), type_title=title, name=name, file=stored
        ),
        st.uuids(), display_names(MAX_TYPE_TITLE_LENGTH, LATIN_CYRILLIC), display_names(), _stored_files,
    ),
    st.builds(DocumentRenamed, document_id=st.uuids(), name=display_names()),
    st.builds(DocumentDeleted, document_id=st.uuids()),
    st.builds(DocumentRestored, document_id=st.uuids()),
)
_zones = st.sampled_from([UTC, timezone(timedelta(hours=3)), timezone(-timedelta(hours=9, minutes=30))])


@settings(max_examples=200, deadline=None)
@given(
    payload=_payloads,
    owner_id=st.integers(1, 2**53),
    correlation_id=st.text(min_size=1, max_size=64),
    causation_id=st.none() | st.text(max_size=64),
    occurred_at=st.datetimes(timezones=_zones),
)
def test_decode_event_returns_equal_event_when_any_valid_event_encoded(
    payload: EventPayload, owner_id: int, correlation_id: str, causation_id: str | None, occurred_at: datetime
) -> None:
    event = new_event(payload, owner_id=owner_id, correlation_id=correlation_id, causation_id=causation_id,
                      occurred_at=occurred_at)

    assert decode_event(encode_event(event)) == event


@pytest.mark.parametrize(
    "payload",
    [UserStarted(language="ru"), UserLanguageChanged(language="en"), DocumentDeleted(document_id=DOCUMENT_ID),
     DocumentRestored(document_id=DOCUMENT_ID), DocumentRenamed(document_id=DOCUMENT_ID, name="Полис ОСАГО")],
    ids=lambda payload: payload.event_type,
)
def test_new_event_uses_payload_type_and_current_version_when_built(payload: EventPayload) -> None:
    before = datetime.now(UTC)

    first = new_event(payload, owner_id=7, correlation_id="corr")
    second = new_event(payload, owner_id=7, correlation_id="corr")

    assert (first.event_type, first.schema_version) == (payload.event_type, CURRENT_VERSIONS[payload.event_type])
    assert first.event_id != second.event_id
    assert before <= first.occurred_at <= datetime.now(UTC)


def test_event_envelope_rejects_payload_when_type_names_another() -> None:
    event = new_event(DocumentDeleted(document_id=DOCUMENT_ID), owner_id=7, correlation_id="corr")

    with pytest.raises(ValidationError, match="envelope says document.restored"):
        EventEnvelope(**{**dict(event), "event_type": "document.restored"})


def test_event_envelope_refuses_assignment_when_frozen() -> None:
    event = new_event(UserStarted(language="en"), owner_id=7, correlation_id="corr")

    with pytest.raises(ValidationError):
        event.owner_id = 8  # type: ignore[misc]


@pytest.mark.parametrize("name", [" Паспорт", "Паспорт ", "Пас  порт", "Пас\tпорт", "Паспорт\u200b", ""])
def test_document_renamed_rejects_name_when_not_cleaned(name: str) -> None:
    with pytest.raises(ValidationError):
        DocumentRenamed(document_id=DOCUMENT_ID, name=name)
