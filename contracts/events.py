"""Event envelope and the event types (v1, v2 of those carrying personal text, v3 of ``document.added`` with its
pages). Events are past-tense facts; a released schema never changes.

To change a payload: add the new model, bump its version in ``CURRENT_VERSIONS``, register an upcaster
from the old version in ``contracts.upcasting`` and add a golden file for the new version.
"""

from __future__ import annotations

import math
import re
import uuid
from datetime import UTC, date, datetime
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

from contracts.text import MAX_FILE_NAME_LENGTH, MAX_NAME_LENGTH, MAX_TYPE_TITLE_LENGTH, clean_display_name
from contracts.vocabulary import SLUG_PATTERN

EventType = Literal[
    "user.started",
    "user.language_changed",
    "document.added",
    "document.renamed",
    "document.deleted",
    "document.restored",
    "document.moved",
    "document_type.renamed",
    "document_type.deleted",
    "document_type.restored",
    "user.forgotten",
    "document.page_added",
    "document.valid_until_set",
    "document.reminder_sent",
]

MAX_CORRELATION_ID_LENGTH = 64
MAX_FILE_SIZE_BYTES = 4 * 1024**3
# A document is one or more pages (an album: Telegram sends at most 10 files in one); pages added later count too.
MAX_ALBUM_PAGES = 10
MAX_PAGES = 30
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
KeyedHash = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
ShortText = Annotated[str, StringConstraints(max_length=256)]
# A sealed value (service_kit.crypto.PersonKeys.seal): "s1.<key id>.<base64url of AES-SIV(text)>".
SEALED_PATTERN = r"^s1\.[0-9a-f]{16}\.[A-Za-z0-9_-]+$"
KEYED_PATTERN = re.compile(r"^[0-9a-f]{32}$")


def sealed_length(max_chars: int) -> int:
    """The longest sealed value of a text of ``max_chars`` characters (4 UTF-8 bytes each, a 16-byte SIV tag),
    so that every text a person may type still fits once sealed."""
    return len("s1.") + 16 + len(".") + math.ceil((4 * max_chars + 16) * 4 / 3)


# Personal fields of a v2 payload: sealed, or (only in an upcasted v1 event) the typed text; checked by the payload.
SealedOrPlainName = Annotated[str, StringConstraints(max_length=sealed_length(MAX_NAME_LENGTH))]
SealedOrPlainTitle = Annotated[str, StringConstraints(max_length=sealed_length(MAX_TYPE_TITLE_LENGTH))]
# v1 events: plain, at most 256 characters ("" too); v2 events and read models: sealed.
FileNameText = Annotated[str, StringConstraints(max_length=sealed_length(MAX_FILE_NAME_LENGTH))]


class Payload(BaseModel):
    """Base of every payload: immutable, unknown fields rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    event_type: ClassVar[EventType]
    schema_version: ClassVar[int] = 1


class UserStarted(Payload):
    event_type: ClassVar[EventType] = "user.started"
    language: Language


class UserLanguageChanged(Payload):
    event_type: ClassVar[EventType] = "user.language_changed"
    language: Language


class UserForgotten(Payload):
    """ "Forget me": the person confirmed (by typing a word) that everything they stored is to be erased. No
    personal field: the projections delete their read models and queue the erasure of their files and key
    (docs/adr/0014-forget-me-and-trash-retention.md)."""

    event_type: ClassVar[EventType] = "user.forgotten"


class StoredFile(BaseModel):
    """Where a document's bytes live (S3) and how Telegram knows them.

    v1 events carry the plain ``sha256`` and ``file_name`` (at most 256 characters, checked by
    ``DocumentAdded``); v2 events and the read models carry ``content_id`` and a sealed ``file_name``."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    object_key: Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"^[\w./-]+$")]
    sha256: Sha256Hex | None = None
    size: Annotated[int, Field(ge=0, le=MAX_FILE_SIZE_BYTES)]
    mime_type: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    file_name: FileNameText | None = None
    telegram_file_id: ShortText | None = None
    telegram_file_unique_id: ShortText | None = None
    # v2: the keyed content hash (PersonKeys.content_hasher) and whether the object is segment-encrypted.
    content_id: KeyedHash | None = None
    encrypted: bool = False


class DocumentAdded(Payload):
    """v1: the texts in the clear (the bot wrote these until it sealed them through ``POST /seal``; now read and
    upcast only)."""

    event_type: ClassVar[EventType] = "document.added"
    document_id: uuid.UUID
    type_slug: Slug
    type_title: TypeTitle
    name: DisplayName
    file: StoredFile

    @model_validator(mode="after")
    def _file_as_v1_wrote_it(self) -> DocumentAdded:
        _check_plain_file(self.file)
        return self


class DocumentRenamed(Payload):
    """v1: the new name in the clear."""

    event_type: ClassVar[EventType] = "document.renamed"
    document_id: uuid.UUID
    name: DisplayName


class DocumentAddedV2(Payload):
    """v2: ``name``, ``type_title`` and ``file.file_name`` sealed under the person's key (fields "name",
    "type_title", "file_name"), ``type_slug`` the keyed slug, ``file.content_id`` the keyed content hash and no
    plain ``sha256``. ``plaintext`` is set only by the upcaster: a v1 event's texts, as the person typed them."""

    event_type: ClassVar[EventType] = "document.added"
    schema_version: ClassVar[int] = 2
    document_id: uuid.UUID
    type_slug: Slug
    type_title: SealedOrPlainTitle
    name: SealedOrPlainName
    file: StoredFile
    plaintext: bool = False

    @model_validator(mode="after")
    def _sealed_unless_upcasted(self) -> DocumentAddedV2:
        if self.plaintext:
            _check_plain(self.name, MAX_NAME_LENGTH, "name")
            _check_plain(self.type_title, MAX_TYPE_TITLE_LENGTH, "type_title")
            _check_plain_file(self.file)
        else:
            _check_sealed(self.name, "name")
            _check_sealed(self.type_title, "type_title")
            _check_sealed_file(self.file)
            if not KEYED_PATTERN.match(self.type_slug):
                raise ValueError("type_slug of a sealed document.added must be a keyed slug (32 hex digits)")
        return self


class DocumentAddedV3(DocumentAddedV2):
    """v3: a document of several pages (an album). ``file`` is the first page, ``more_pages`` the others in order,
    each stored like ``file`` (sealed file name, keyed content id). A v2 event upcasts with no more pages; only a
    sealed event may carry them. A subclass of v2: what reads a v2 add reads a v3 one."""

    schema_version: ClassVar[int] = 3
    more_pages: Annotated[list[StoredFile], Field(max_length=MAX_PAGES - 1)] = []

    @model_validator(mode="after")
    def _pages_sealed(self) -> DocumentAddedV3:
        if self.more_pages and self.plaintext:
            raise ValueError("an upcasted v1 document.added has one page")
        for page in self.more_pages:
            _check_sealed_file(page)
        return self


class DocumentPageAdded(Payload):
    """v1: pages added to a live document after it was saved (one, or an album), appended after its pages; stored
    like a v2 ``file`` (sealed file name, keyed content id)."""

    event_type: ClassVar[EventType] = "document.page_added"
    document_id: uuid.UUID
    pages: Annotated[list[StoredFile], Field(min_length=1, max_length=MAX_ALBUM_PAGES)]

    @model_validator(mode="after")
    def _pages_sealed(self) -> DocumentPageAdded:
        for page in self.pages:
            _check_sealed_file(page)
        return self


class DocumentRenamedV2(Payload):
    """v2: the new name sealed (field "name"); ``plaintext`` only in an upcasted v1 event."""

    event_type: ClassVar[EventType] = "document.renamed"
    schema_version: ClassVar[int] = 2
    document_id: uuid.UUID
    name: SealedOrPlainName
    plaintext: bool = False

    @model_validator(mode="after")
    def _sealed_unless_upcasted(self) -> DocumentRenamedV2:
        if self.plaintext:
            _check_plain(self.name, MAX_NAME_LENGTH, "name")
        else:
            _check_sealed(self.name, "name")
        return self


_SEALED = re.compile(SEALED_PATTERN)


def _check_sealed(value: str, field: str) -> None:
    if not _SEALED.match(value):
        raise ValueError(f"{field} must be a sealed value (s1.<key id>.<base64url>)")


def _check_plain(value: str, max_length: int, field: str) -> None:
    if len(value) > max_length or clean_display_name(value, max_length) != value:
        raise ValueError(f"{field} must be cleaned with contracts.text.clean_display_name")


def _check_plain_file(file: StoredFile) -> None:
    # Transitional: a v1 file may also carry the keyed content id and be encrypted (v1 events written with
    # ENCRYPT_UPLOADS and UPLOAD_PLAIN_SHA256 on, as the API tests still append), but always has the plain sha256.
    if file.sha256 is None or (file.encrypted and file.content_id is None):
        raise ValueError("a v1 file has a sha256, and an encrypted one its content_id")
    if file.file_name is not None and len(file.file_name) > MAX_FILE_NAME_LENGTH:
        raise ValueError(f"a v1 file_name is at most {MAX_FILE_NAME_LENGTH} characters")


def _check_sealed_file(file: StoredFile) -> None:
    if file.content_id is None or file.sha256 is not None:
        raise ValueError("a v2 file has a content_id and no sha256")
    if file.file_name is not None:
        _check_sealed(file.file_name, "file.file_name")


class DocumentDeleted(Payload):
    event_type: ClassVar[EventType] = "document.deleted"
    document_id: uuid.UUID


class DocumentRestored(Payload):
    event_type: ClassVar[EventType] = "document.restored"
    document_id: uuid.UUID


KeyedSlug = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
SealedTitle = Annotated[str, StringConstraints(max_length=sealed_length(MAX_TYPE_TITLE_LENGTH), pattern=SEALED_PATTERN)]


class DocumentMoved(Payload):
    """A live document moved to another type (issue 12): ``type_slug`` the keyed slug of the type it goes to, and
    ``type_title`` that type's title sealed (field "type_title"), used only when the move creates the type."""

    event_type: ClassVar[EventType] = "document.moved"
    document_id: uuid.UUID
    type_slug: KeyedSlug
    type_title: SealedTitle


class DocumentTypeRenamed(Payload):
    """A type renamed: ``type_title`` the new title sealed. Its documents go to the type of the new title's keyed
    slug (which the projection derives from the title, so a slug always belongs to its title)."""

    event_type: ClassVar[EventType] = "document_type.renamed"
    type_slug: KeyedSlug
    type_title: SealedTitle


class DocumentTypeDeleted(Payload):
    """A type deleted with its live documents (each marked with this event's id, for the Undo)."""

    event_type: ClassVar[EventType] = "document_type.deleted"
    type_slug: KeyedSlug


class DocumentTypeRestored(Payload):
    """The Undo of a type deletion: the documents ``deletion_event_id`` deleted (and only those) are restored."""

    event_type: ClassVar[EventType] = "document_type.restored"
    deletion_event_id: uuid.UUID


_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _storable_date(value: date) -> date:
    """A date the envelope's instants could hold (1970-2099); ``contracts.expiry`` parses into the same range."""
    if not MIN_OCCURRED_AT.date() <= value < MAX_OCCURRED_AT.date():
        raise ValueError(f"a date must be from {MIN_OCCURRED_AT:%Y} to {MAX_OCCURRED_AT:%Y} (exclusive)")
    return value


def _iso_date_text_or_date(value: Any) -> Any:
    """A date is ISO text ("2031-03-01") or a ``date``; a datetime or a number would be a guess."""
    if isinstance(value, datetime) or not isinstance(value, (str, date)):
        raise ValueError("a date must be ISO 8601 text (YYYY-MM-DD)")
    if isinstance(value, str) and not _ISO_DATE.match(value):
        raise ValueError("a date must be ISO 8601 text (YYYY-MM-DD)")
    return value


StorableDate = Annotated[date, BeforeValidator(_iso_date_text_or_date), AfterValidator(_storable_date)]
# Days before a date on which a reminder is sent (settings: REMINDER_DAYS); a year at most.
ReminderDays = Annotated[StrictInt, Field(ge=0, le=366)]


class DocumentValidUntilSet(Payload):
    """The last day a document is valid, or ``None``: the date was removed. A date, not the text typed: kept in
    the clear (docs/privacy.md "Valid-until dates"), so the reminders can be found by date."""

    event_type: ClassVar[EventType] = "document.valid_until_set"
    document_id: uuid.UUID
    valid_until: StorableDate | None


class DocumentReminderSent(Payload):
    """The bot is sending the reminder ``days_before`` the document's ``valid_until``. Its event id is
    ``contracts.expiry.reminder_event_id`` of the three, so a second append of one reminder is dropped by the
    ledger; recorded before the message is sent (at most once: docs/adr/0015)."""

    event_type: ClassVar[EventType] = "document.reminder_sent"
    document_id: uuid.UUID
    valid_until: StorableDate
    days_before: ReminderDays


EventPayload = (
    UserStarted
    | UserLanguageChanged
    | DocumentAdded
    | DocumentRenamed
    | DocumentAddedV2
    | DocumentAddedV3
    | DocumentRenamedV2
    | DocumentDeleted
    | DocumentRestored
    | DocumentMoved
    | DocumentTypeRenamed
    | DocumentTypeDeleted
    | DocumentTypeRestored
    | UserForgotten
    | DocumentPageAdded
    | DocumentValidUntilSet
    | DocumentReminderSent
)

# Every released (event type, schema version) and its model.
PAYLOAD_MODELS: dict[tuple[str, int], type[Payload]] = {
    (cls.event_type, cls.schema_version): cls
    for cls in (
        UserStarted,
        UserLanguageChanged,
        DocumentAdded,
        DocumentRenamed,
        DocumentAddedV2,
        DocumentAddedV3,
        DocumentRenamedV2,
        DocumentDeleted,
        DocumentRestored,
        DocumentMoved,
        DocumentTypeRenamed,
        DocumentTypeDeleted,
        DocumentTypeRestored,
        UserForgotten,
        DocumentPageAdded,
        DocumentValidUntilSet,
        DocumentReminderSent,
    )
}
# The model each event type is decoded into (its newest version; older ones are upcast to it).
PAYLOAD_TYPES: dict[str, type[Payload]] = {
    event_type: PAYLOAD_MODELS[(event_type, version)] for event_type, version in sorted(PAYLOAD_MODELS)
}
# The schema version each event type is read at today.
CURRENT_VERSIONS: dict[str, int] = {event_type: cls.schema_version for event_type, cls in PAYLOAD_TYPES.items()}


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
        """Validate ``payload`` as the model its ``event_type`` and ``schema_version`` name (not the first union
        member that fits)."""
        if isinstance(data, dict) and isinstance(data.get("payload"), dict):
            version = data.get("schema_version")
            payload_type = PAYLOAD_MODELS.get((str(data.get("event_type")), version if isinstance(version, int) else 0))
            if payload_type is not None:
                data = {**data, "payload": payload_type.model_validate(data["payload"])}
        return data

    @model_validator(mode="after")
    def _payload_matches_type(self) -> EventEnvelope:
        if self.payload.event_type != self.event_type:
            raise ValueError(f"payload is {self.payload.event_type}, envelope says {self.event_type}")
        if self.payload.schema_version != self.schema_version:
            raise ValueError(f"payload is v{self.payload.schema_version}, envelope says v{self.schema_version}")
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
    """Wrap a payload in an envelope at its model's schema version; a retry passes its first ``event_id``."""
    return EventEnvelope(
        event_id=event_id or uuid.uuid4(),
        event_type=payload.event_type,
        schema_version=payload.schema_version,
        occurred_at=occurred_at or datetime.now(UTC),
        owner_id=owner_id,
        correlation_id=correlation_id,
        causation_id=causation_id,
        payload=payload,
    )
