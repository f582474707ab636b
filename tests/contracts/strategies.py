"""Hypothesis strategies for names as the bot puts them in events, and for whole events of every type."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo

from hypothesis import assume
from hypothesis import strategies as st

from contracts.events import (
    MAX_FILE_SIZE_BYTES,
    MAX_OCCURRED_AT,
    MAX_OWNER_ID,
    MIN_OCCURRED_AT,
    DocumentAdded,
    DocumentDeleted,
    DocumentMoved,
    DocumentReminderSent,
    DocumentRenamed,
    DocumentRestored,
    DocumentTypeDeleted,
    DocumentTypeRenamed,
    DocumentTypeRestored,
    DocumentValidUntilSet,
    EventEnvelope,
    EventPayload,
    StoredFile,
    UserLanguageChanged,
    UserStarted,
    new_event,
)
from contracts.text import MAX_NAME_LENGTH, MAX_TYPE_TITLE_LENGTH, InvalidName, clean_display_name, type_slug


def _letters(first: int, last: int) -> st.SearchStrategy[str]:
    return st.characters(
        min_codepoint=first, max_codepoint=last, categories=("Lu", "Ll", "Lt", "Nd", "Zs", "Po", "Pd", "Ps", "Pe")
    )


# Latin with its accented letters, combining accents, Cyrillic, digits, spaces and punctuation.
LATIN_CYRILLIC = st.one_of(
    _letters(0x20, 0x24F), st.characters(min_codepoint=0x300, max_codepoint=0x36F), _letters(0x400, 0x4FF)
)


@st.composite
def display_names(
    draw: st.DrawFn, max_length: int = MAX_NAME_LENGTH, alphabet: st.SearchStrategy[str] = st.characters()
) -> str:
    """Any text a person may type, after ``clean_display_name`` (what the bot puts in events)."""
    raw = draw(st.text(alphabet=alphabet, max_size=max_length))
    try:
        return clean_display_name(raw, max_length)
    except InvalidName:
        assume(False)
        raise


def occurred_instants(timezones: st.SearchStrategy[tzinfo] = st.just(UTC)) -> st.SearchStrategy[datetime]:
    """Instants an envelope accepts as ``occurred_at`` (a day's margin for the zones' offsets)."""
    return st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2099, 12, 30), timezones=timezones)


_short_texts = st.none() | st.text(max_size=256)


def stored_files(contents: st.SearchStrategy[bytes] = st.binary(max_size=32)) -> st.SearchStrategy[StoredFile]:
    return st.builds(
        lambda content, size, mime, file_name, file_id, unique_id: StoredFile(
            object_key=f"owners/1/{hashlib.sha256(content).hexdigest()}",
            sha256=hashlib.sha256(content).hexdigest(),
            size=size,
            mime_type=mime,
            file_name=file_name,
            telegram_file_id=file_id,
            telegram_file_unique_id=unique_id,
        ),
        contents,
        st.integers(0, MAX_FILE_SIZE_BYTES),
        st.text(min_size=1, max_size=128),
        _short_texts,
        _short_texts,
        _short_texts,
    )


_keyed_slugs = st.from_regex(r"\A[0-9a-f]{32}\Z")
# Sealed-looking values under a key id nobody has: they decode, and apply as a forgotten person's text would.
_sealed_values = st.from_regex(r"\As1\.0{16}\.[A-Za-z0-9_-]{1,40}\Z")


def storable_dates() -> st.SearchStrategy[date]:
    """Days an event may carry (``contracts.events.StorableDate``)."""
    return st.dates(min_value=MIN_OCCURRED_AT.date(), max_value=MAX_OCCURRED_AT.date() - timedelta(days=1))


def event_payloads(
    document_ids: st.SearchStrategy[uuid.UUID] = st.uuids(),
    names: st.SearchStrategy[str] = display_names(),
    contents: st.SearchStrategy[bytes] = st.binary(max_size=32),
) -> st.SearchStrategy[EventPayload]:
    """Every payload type, each field over what its model accepts (narrowed by the arguments)."""
    return st.one_of(
        st.builds(UserStarted, language=st.sampled_from(["en", "ru"])),
        st.builds(UserLanguageChanged, language=st.sampled_from(["en", "ru"])),
        st.builds(
            lambda document_id, title, name, stored: DocumentAdded(
                document_id=document_id, type_slug=type_slug(title), type_title=title, name=name, file=stored
            ),
            document_ids,
            display_names(MAX_TYPE_TITLE_LENGTH, LATIN_CYRILLIC),
            names,
            stored_files(contents),
        ),
        st.builds(DocumentRenamed, document_id=document_ids, name=names),
        st.builds(DocumentDeleted, document_id=document_ids),
        st.builds(DocumentRestored, document_id=document_ids),
        st.builds(DocumentMoved, document_id=document_ids, type_slug=_keyed_slugs, type_title=_sealed_values),
        st.builds(DocumentTypeRenamed, type_slug=_keyed_slugs, type_title=_sealed_values),
        st.builds(DocumentTypeDeleted, type_slug=_keyed_slugs),
        st.builds(DocumentTypeRestored, deletion_event_id=st.uuids()),
        st.builds(DocumentValidUntilSet, document_id=document_ids, valid_until=st.none() | storable_dates()),
        st.builds(
            DocumentReminderSent,
            document_id=document_ids,
            valid_until=storable_dates(),
            days_before=st.integers(0, 366),
        ),
    )


def envelopes(
    payloads: st.SearchStrategy[EventPayload] = event_payloads(),
    owners: st.SearchStrategy[int] = st.integers(1, MAX_OWNER_ID),
) -> st.SearchStrategy[EventEnvelope]:
    """Whole events as ``new_event`` builds them, at any instant and with any ids the envelope accepts."""
    return st.builds(
        lambda payload, owner_id, correlation_id, causation_id, occurred_at: new_event(
            payload,
            owner_id=owner_id,
            correlation_id=correlation_id,
            causation_id=causation_id,
            occurred_at=occurred_at,
        ),
        payloads,
        owners,
        st.text(min_size=1, max_size=64),
        st.none() | st.text(max_size=64),
        occurred_instants(st.sampled_from([UTC, timezone(timedelta(hours=14)), timezone(-timedelta(hours=12))])),
    )
