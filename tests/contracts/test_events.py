"""The envelope and payload models: what ``new_event`` builds, what the envelope refuses, and lossless encoding."""

from __future__ import annotations

import re
import typing
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from contracts.codec import decode_event, encode_event
from contracts.events import (
    MAX_OCCURRED_AT,
    MAX_OWNER_ID,
    MIN_OCCURRED_AT,
    PAYLOAD_MODELS,
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
    UserLanguageChanged,
    UserStarted,
    new_event,
)
from tests.contracts.strategies import event_payloads, occurred_instants
from tests.factories import as_read

DOCUMENT_ID = uuid.UUID("c0a8012e-5b3f-4d7a-8e21-6f4b9d2a7c15")


_payloads = event_payloads()
_zones = st.sampled_from([UTC, timezone(timedelta(hours=3)), timezone(-timedelta(hours=9, minutes=30))])


@settings(max_examples=200, deadline=None)
@given(
    payload=_payloads,
    owner_id=st.integers(1, MAX_OWNER_ID),
    correlation_id=st.text(min_size=1, max_size=64),
    causation_id=st.none() | st.text(max_size=64),
    occurred_at=occurred_instants(_zones),
)
def test_decode_event_returns_equal_event_when_any_valid_event_encoded(
    payload: EventPayload, owner_id: int, correlation_id: str, causation_id: str | None, occurred_at: datetime
) -> None:
    event = new_event(
        payload, owner_id=owner_id, correlation_id=correlation_id, causation_id=causation_id, occurred_at=occurred_at
    )

    assert decode_event(encode_event(event)) == as_read(event)


@pytest.mark.parametrize(
    "payload",
    [
        UserStarted(language="ru"),
        UserLanguageChanged(language="en"),
        DocumentDeleted(document_id=DOCUMENT_ID),
        DocumentRestored(document_id=DOCUMENT_ID),
        DocumentRenamed(document_id=DOCUMENT_ID, name="Полис ОСАГО"),
    ],
    ids=lambda payload: payload.event_type,
)
def test_new_event_uses_payload_type_and_its_version_when_built(payload: EventPayload) -> None:
    before = datetime.now(UTC)

    first = new_event(payload, owner_id=7, correlation_id="corr")
    second = new_event(payload, owner_id=7, correlation_id="corr")

    assert (first.event_type, first.schema_version) == (payload.event_type, payload.schema_version)
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


# What no store can hold is refused by the envelope itself (issue 10): such an event decodes to an
# ``InvalidEvent`` and goes to the dead-letter stream instead of failing the processor's commit for ever.


def _envelope(**changes: object) -> dict[str, object]:
    raw = new_event(UserStarted(language="en"), owner_id=7, correlation_id="corr").model_dump()
    return {**raw, **changes}


@pytest.mark.parametrize(
    "owner_id",
    [1, 412845671, 2**52, 2**53 + 1, MAX_OWNER_ID],
    ids=["one", "telegram", "2^52", "past-double-precision", "int64-max"],
)
def test_event_envelope_accepts_owner_id_when_within_int64(owner_id: int) -> None:
    assert EventEnvelope.model_validate(_envelope(owner_id=owner_id)).owner_id == owner_id


@pytest.mark.parametrize("owner_id", [MAX_OWNER_ID + 1, 2**64, 10**30], ids=["int64-max+1", "2^64", "10^30"])
def test_event_envelope_rejects_owner_id_when_beyond_int64(owner_id: int) -> None:
    with pytest.raises(ValidationError):
        EventEnvelope.model_validate(_envelope(owner_id=owner_id))


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2026-03-14T12:26:53+03:00", datetime(2026, 3, 14, 9, 26, 53, tzinfo=UTC)),
        ("2026-03-13T23:27:53-09:59", datetime(2026, 3, 14, 9, 26, 53, tzinfo=UTC)),
        ("1970-01-01T00:00:00Z", MIN_OCCURRED_AT),
        ("1970-01-01T23:59:00+23:59", MIN_OCCURRED_AT),
        ("2099-12-31T23:59:59.999999Z", MAX_OCCURRED_AT - timedelta(microseconds=1)),
    ],
    ids=["plus-3", "minus-9:59", "epoch", "epoch-at-plus-23:59", "last-instant"],
)
def test_event_envelope_normalizes_occurred_at_to_utc_when_given_any_offset(text: str, utc: datetime) -> None:
    occurred_at = EventEnvelope.model_validate(_envelope(occurred_at=text)).occurred_at

    assert (occurred_at, occurred_at.utcoffset()) == (utc, timedelta(0))


@pytest.mark.parametrize(
    "text",
    [
        "9999-12-31T23:59:59-23:59",
        "9999-12-31T23:59:59Z",
        "0001-01-01T00:00:00+23:59",
        "0001-01-01T00:00:00Z",
        "1969-12-31T23:59:59.999999Z",
        "1970-01-01T00:00:00+00:01",
        "2100-01-01T00:00:00Z",
        "2099-12-31T23:59:59-00:01",
    ],
    ids=[
        "year-9999-minus-23:59",
        "year-9999",
        "year-1-plus-23:59",
        "year-1",
        "before-epoch",
        "epoch-at-plus-0:01",
        "year-2100",
        "2100-in-utc",
    ],
)
def test_event_envelope_rejects_occurred_at_when_outside_the_storable_years(text: str) -> None:
    with pytest.raises(ValidationError):
        EventEnvelope.model_validate(_envelope(occurred_at=text))


def _string_fields(model: type[BaseModel], prefix: str = "") -> list[tuple[str, list[object]]]:
    """(dotted name, constraints) of every field of ``model`` and its nested models that can hold a str."""
    found: list[tuple[str, list[object]]] = []
    for name, field in model.model_fields.items():
        for member in typing.get_args(field.annotation) or (field.annotation,):
            rules = list(field.metadata)
            if typing.get_origin(member) is typing.Annotated:
                member, *inner = typing.get_args(member)
                rules += inner
            if isinstance(member, type) and issubclass(member, BaseModel):
                found += _string_fields(member, f"{prefix}{name}.")
            elif member is str:
                found.append((f"{prefix}{name}", rules))
    return found


_ENVELOPE_AND_PAYLOADS: list[type[BaseModel]] = [EventEnvelope, *PAYLOAD_MODELS.values()]


def test_string_field_discovery_finds_names_and_file_fields_when_models_walked() -> None:
    names = {name for model in _ENVELOPE_AND_PAYLOADS for name, _ in _string_fields(model)}
    assert {
        "correlation_id",
        "causation_id",
        "name",
        "type_title",
        "file.mime_type",
        "file.sha256",
        "file.file_name",
    } <= names


@pytest.mark.parametrize("model", _ENVELOPE_AND_PAYLOADS, ids=lambda model: model.__name__)
def test_event_models_bound_every_string_field_when_declared(model: type[BaseModel]) -> None:
    unbounded = [name for name, rules in _string_fields(model) if not any(_bounds_length(rule) for rule in rules)]
    assert unbounded == []


def _bounds_length(rule: object) -> bool:
    """A maximum length, or a pattern of one fixed length (``^[0-9a-f]{32}$``)."""
    pattern = getattr(rule, "pattern", None)
    fixed = isinstance(pattern, str) and re.fullmatch(r"\^[^*+?{]*\{\d+\}\$", pattern) is not None
    return bool(getattr(rule, "max_length", None)) or fixed


_SEALED = "s1.5a3c9e7b1d2f4a60.wKoz-6mgbSjx5GqnQjwAM7PgWPHjvwYdSk-1ZSLNTkub3Aw0Grm2hy-Q35XINcyKElCkAQ"
_KEYED = "8f14e45fceea167a5a36dedd4bea2543"


@pytest.mark.parametrize(
    "fields",
    [
        {"type_slug": "passport", "type_title": _SEALED},  # a plain slug: v2 types are keyed
        {"type_slug": _KEYED, "type_title": "Passport"},  # a plain title
        {"type_slug": _KEYED, "type_title": "s1." + "0" * 16 + "." + "A" * 2000},  # beyond any sealed title
        {"type_slug": _KEYED.upper(), "type_title": _SEALED},
    ],
)
def test_document_moved_and_type_renamed_reject_payload_when_slug_not_keyed_or_title_not_sealed(
    fields: dict[str, str],
) -> None:
    with pytest.raises(ValidationError):
        DocumentMoved(document_id=uuid.uuid4(), **fields)
    with pytest.raises(ValidationError):
        DocumentTypeRenamed(**fields)


def test_document_type_restored_rejects_payload_when_deletion_id_missing_or_not_a_uuid() -> None:
    with pytest.raises(ValidationError):
        DocumentTypeRestored.model_validate({})
    with pytest.raises(ValidationError):
        DocumentTypeRestored.model_validate({"deletion_event_id": "yesterday"})
    with pytest.raises(ValidationError):
        DocumentTypeDeleted.model_validate({"type_slug": _KEYED, "extra": 1})


@pytest.mark.parametrize(
    "valid_until",
    ["2031-03-01T00:00:00", "01.03.2031", "2031-02-30", "1969-12-31", "2100-01-01", 20310301, "", "2031-3-1"],
)
def test_valid_until_set_refuses_the_date_when_not_an_iso_day_in_range(valid_until: object) -> None:
    with pytest.raises(ValidationError):
        DocumentValidUntilSet.model_validate({"document_id": str(uuid.uuid4()), "valid_until": valid_until})


def test_valid_until_set_takes_null_when_the_date_is_removed() -> None:
    payload = DocumentValidUntilSet.model_validate({"document_id": str(uuid.uuid4()), "valid_until": None})

    assert payload.valid_until is None


@pytest.mark.parametrize("days_before", [-1, 367, True, "7", 7.0])
def test_reminder_sent_refuses_days_before_when_not_a_day_count_up_to_a_year(days_before: object) -> None:
    with pytest.raises(ValidationError):
        DocumentReminderSent.model_validate(
            {"document_id": str(uuid.uuid4()), "valid_until": "2031-03-01", "days_before": days_before}
        )
