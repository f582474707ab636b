"""Event envelope and the v1 event types. Events are past-tense facts; a released schema never changes.

To change a payload: add the new model, bump its version in ``CURRENT_VERSIONS``, register an upcaster
from the old version in ``contracts.upcasting`` and add a golden file for the new version.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    model_validator,
)

from contracts.text import MAX_NAME_LENGTH, MAX_TYPE_TITLE_LENGTH, clean_display_name
from contracts.vocabulary import SLUG_PATTERN

EventType = Literal[
    "user.started",
    "user.language_changed",
    "document.added",
    "document.renamed",
    "document.deleted",
    "document.restored",
]

MAX_CORRELATION_ID_LENGTH = 64
MAX_FILE_SIZE_BYTES = 4 * 1024**3
# What a store can hold bounds what an event may say (a record that decodes must be storable, or one event
# stops the processor for everyone). Owner ids are BSON int64; Telegram's ids fit in 52 bits, far below it.
MAX_OWNER_ID = 2**63 - 1
# Instants are kept in UTC. From the Unix epoch (a device whose clock was never set says 1970, and its person's
# action is still real) to the end of 2099: a converter to any zone (+-24 h) stays inside every datetime type.
MIN_OCCURRED_AT = datetime(1970, 1, 1, tzinfo=UTC)
MAX_OCCURRED_AT = datetime(2100, 1, 1, tzinfo=UTC)  # exclusive


def _iso_text_or_datetime(value: Any) -> Any:
    """Refuse numbers (epoch seconds or milliseconds would be a guess); JSON carries ISO 8601 text."""
    if isinstance(value, (str, datetime)):
        return value
    raise ValueError("occurred_at must be an ISO 8601 date-time with a time zone")


def _utc_within_storable_years(value: datetime) -> datetime:
    """Compared before converting: converting 9999-12-31T23:59:59-23:59 to UTC overflows the year."""
    if not MIN_OCCURRED_AT <= value < MAX_OCCURRED_AT:
        raise ValueError(f"occurred_at must be from {MIN_OCCURRED_AT:%Y} to {MAX_OCCURRED_AT:%Y} (exclusive)")
    return value.astimezone(UTC)


def _is_clean_name(value: str) -> str:
    if clean_display_name(value) != value:
        raise ValueError("name must be cleaned with contracts.text.clean_display_name")
    return value


DisplayName = Annotated[str, StringConstraints(max_length=MAX_NAME_LENGTH), AfterValidator(_is_clean_name)]
TypeTitle = Annotated[str, StringConstraints(max_length=MAX_TYPE_TITLE_LENGTH), AfterValidator(_is_clean_name)]
Slug = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TYPE_TITLE_LENGTH, pattern=SLUG_PATTERN)]
Language = Literal["en", "ru"]
Sha256Hex = Annotated[str, StringConstraints(max_length=64, pattern=r"^[0-9a-f]{64}$")]
ShortText = Annotated[str, StringConstraints(max_length=256)]


class Payload(BaseModel):
    """Base of every payload: immutable, unknown fields rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    event_type: ClassVar[EventType]


class UserStarted(Payload):
    event_type: ClassVar[EventType] = "user.started"
    language: Language


class UserLanguageChanged(Payload):
    event_type: ClassVar[EventType] = "user.language_changed"
    language: Language


class StoredFile(BaseModel):
    """Where a document's bytes live (S3) and how Telegram knows them."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    object_key: Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"^[\w./-]+$")]
    sha256: Sha256Hex
    size: Annotated[int, Field(ge=0, le=MAX_FILE_SIZE_BYTES)]
    mime_type: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    file_name: ShortText | None = None
    telegram_file_id: ShortText | None = None
    telegram_file_unique_id: ShortText | None = None


class DocumentAdded(Payload):
    event_type: ClassVar[EventType] = "document.added"
    document_id: uuid.UUID
    type_slug: Slug
    type_title: TypeTitle
    name: DisplayName
    file: StoredFile


class DocumentRenamed(Payload):
    event_type: ClassVar[EventType] = "document.renamed"
    document_id: uuid.UUID
    name: DisplayName


class DocumentDeleted(Payload):
    event_type: ClassVar[EventType] = "document.deleted"
    document_id: uuid.UUID


class DocumentRestored(Payload):
    event_type: ClassVar[EventType] = "document.restored"
    document_id: uuid.UUID


EventPayload = UserStarted | UserLanguageChanged | DocumentAdded | DocumentRenamed | DocumentDeleted | DocumentRestored

PAYLOAD_TYPES: dict[str, type[Payload]] = {
    cls.event_type: cls
    for cls in (UserStarted, UserLanguageChanged, DocumentAdded, DocumentRenamed, DocumentDeleted, DocumentRestored)
}

# The schema version each event type is written with today.
CURRENT_VERSIONS: dict[str, int] = {event_type: 1 for event_type in PAYLOAD_TYPES}


class EventEnvelope(BaseModel):
    """One fact in the log. ``event_id`` is the idempotency key of every consumer."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: uuid.UUID
    event_type: EventType
    schema_version: Annotated[StrictInt, Field(gt=0)]
    occurred_at: Annotated[
        AwareDatetime, BeforeValidator(_iso_text_or_datetime), AfterValidator(_utc_within_storable_years)
    ]
    owner_id: Annotated[StrictInt, Field(gt=0, le=MAX_OWNER_ID)]  # a Telegram user id; true or "123" are refused
    correlation_id: Annotated[str, StringConstraints(min_length=1, max_length=MAX_CORRELATION_ID_LENGTH)]
    causation_id: Annotated[str, StringConstraints(max_length=MAX_CORRELATION_ID_LENGTH)] | None = None
    payload: EventPayload

    @model_validator(mode="before")
    @classmethod
    def _payload_of_its_type(cls, data: Any) -> Any:
        """Validate ``payload`` as the model its ``event_type`` names (not the first union member that fits)."""
        if isinstance(data, dict) and isinstance(data.get("payload"), dict):
            payload_type = PAYLOAD_TYPES.get(str(data.get("event_type")))
            if payload_type is not None:
                data = {**data, "payload": payload_type.model_validate(data["payload"])}
        return data

    @model_validator(mode="after")
    def _payload_matches_type(self) -> EventEnvelope:
        if self.payload.event_type != self.event_type:
            raise ValueError(f"payload is {self.payload.event_type}, envelope says {self.event_type}")
        return self


def new_event(
    payload: EventPayload,
    *,
    owner_id: int,
    correlation_id: str,
    causation_id: str | None = None,
    occurred_at: datetime | None = None,
    event_id: uuid.UUID | None = None,
) -> EventEnvelope:
    """Wrap a payload in an envelope at the current schema version; a retry passes its first ``event_id``."""
    return EventEnvelope(
        event_id=event_id or uuid.uuid4(),
        event_type=payload.event_type,
        schema_version=CURRENT_VERSIONS[payload.event_type],
        occurred_at=occurred_at or datetime.now(UTC),
        owner_id=owner_id,
        correlation_id=correlation_id,
        causation_id=causation_id,
        payload=payload,
    )
