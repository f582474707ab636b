"""What the query API answers, shared by the API (which produces it) and the bot (which reads it).

Routes (all under ``/v1``, bearer service token, everything scoped to ``owner_id``; a document of
another owner is a 404):

| method | path | answer |
|---|---|---|
| GET | /owners/{owner_id}/types | ``TypeList`` |
| GET | /owners/{owner_id}/types/{slug}/documents?limit=&cursor= | ``DocumentPage`` |
| GET | /owners/{owner_id}/documents/search?q=&limit= | ``DocumentList`` |
| GET | /owners/{owner_id}/documents/expiring?on=&within_days=&limit= | ``DocumentList`` (by date) |
| GET | /owners/{owner_id}/documents/{document_id} | ``DocumentDetail`` |
| GET | /owners/{owner_id}/documents/{document_id}/history | ``HistoryList`` |
| GET | /owners/{owner_id}/name-check?type_slug=&name= | ``NameCheck`` |
| GET | /owners/{owner_id}/profile | ``UserProfile`` |
| GET | /owners/{owner_id}/usage | ``StorageUsage`` |
| GET | /owners/{owner_id}/events/{event_id} | ``EventStatus`` |
| POST | /owners/{owner_id}/seal (``SealRequest``) | ``SealedTexts`` |
| POST | /owners/{owner_id}/files (raw body; ``Content-Type``, ``X-File-Name``) | ``UploadedFile`` |
| POST | /owners/{owner_id}/files?page=true (a page of a document of several pages) | ``UploadedFile`` |
| GET | /owners/{owner_id}/documents/{document_id}/file?page=N (``Range``) | the bytes (of page N, 1 the first) |
| POST | /owners/{owner_id}/documents/{document_id}/link | ``SignedLink`` |
| GET | /v1/reminders/due?on=&days=&limit= (service token, every owner: the bot's sender) | ``DueReminders`` |
| GET | /v1/files/signed/{token} (no service token; nginx exposes only this) | the bytes |

Uploads: the raw body, ``Content-Type`` its media type, ``X-File-Name`` the original name percent-encoded
as UTF-8 (``urllib.parse.quote``); the answer's ``file_name`` is that name cleaned and sealed under the
person's key (``s1.<key id>.<b64>``): put it in the event as it is. The bytes are stored encrypted
(``encrypted``), named by the person's keyed ``content_id``; ``sha256`` is null (it names only objects stored in the
clear, with ``ENCRYPT_UPLOADS`` off).

An upload that would take a person past their storage limits (live documents, bytes) is refused with
403 and an ``ErrorBody`` whose ``code`` is ``quota_exceeded`` and whose ``usage`` says where they stand.

Names, type titles and file names are answered in the clear (the API opens what the read models keep sealed);
``type_slug`` is the keyed slug. ``/seal`` is the key service: it cleans and seals what a person typed, for the
event the bot writes (v2 events carry only sealed text).

Reads accept ``after_event=<event_id>``: the API waits briefly until that event is applied and
answers 409 with ``Retry-After`` if it is not. Errors are ``ErrorBody``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.text import MAX_FILE_NAME_LENGTH, MAX_NAME_LENGTH, MAX_TYPE_TITLE_LENGTH
from contracts.vocabulary import DocumentStatus

API_PREFIX = "/v1"
OWNER_SCOPE = API_PREFIX + "/owners/{owner_id}"


class _Schema(BaseModel):
    model_config = ConfigDict(frozen=True)


QUOTA_EXCEEDED = "quota_exceeded"
# Export answers (``GET /export``, its link): nothing live to export; an export of the person under way or too many.
NOTHING_TO_EXPORT = "nothing_to_export"
EXPORT_LIMITED = "export_limited"


class StorageUsage(_Schema):
    """What a person stores (live documents and their bytes) against their limits."""

    documents: int
    documents_limit: int
    bytes: int
    bytes_limit: int


class ErrorBody(_Schema):
    """Every error: a stable machine ``code`` and a human ``message``; ``usage`` with ``quota_exceeded``."""

    code: str
    message: str
    usage: StorageUsage | None = None


class TypeSummary(_Schema):
    slug: str
    title: str
    live_count: int


class TypeList(_Schema):
    items: list[TypeSummary]


class DocumentSummary(_Schema):
    document_id: str
    type_slug: str
    type_title: str
    name: str
    size: int
    mime_type: str
    created_at: datetime
    valid_until: date | None = None  # the last day it is valid (document.valid_until_set)


class DocumentPage(_Schema):
    items: list[DocumentSummary]
    next_cursor: str | None = None


class DocumentList(_Schema):
    items: list[DocumentSummary]


class PageDetail(_Schema):
    """A page after the first (the first is the document's own file fields): what the bot needs to send it."""

    size: int
    mime_type: str
    file_name: str | None = None
    telegram_file_id: str | None = None


class DocumentDetail(DocumentSummary):
    status: DocumentStatus
    duplicate_of: str | None = None
    sha256: str | None = None  # v1 documents only: v2 ones have a keyed content id
    file_name: str | None = None
    telegram_file_id: str | None = None
    updated_at: datetime
    deleted_at: datetime | None = None
    restorable_until: datetime | None = None  # while deleted: the end of its time in the trash (then it is purged)
    more_pages: list[PageDetail] = []  # a document of several pages: the second and later ones, in order

    @property
    def page_count(self) -> int:
        return 1 + len(self.more_pages)


class HistoryEntry(_Schema):
    event_id: str
    event_type: str
    occurred_at: datetime
    effect: str


class HistoryList(_Schema):
    items: list[HistoryEntry]


class NameCheck(_Schema):
    taken: bool
    document_id: str | None = None


class UserProfile(_Schema):
    owner_id: int
    language: str


class EventStatus(_Schema):
    event_id: str
    applied: bool
    effect: str | None = None


class DueReminder(_Schema):
    """A reminder to send today: the document ``days_before`` its ``valid_until``, in its person's language."""

    owner_id: int
    document_id: str
    name: str
    type_title: str
    valid_until: date
    days_before: int
    language: str


class DueReminders(_Schema):
    items: list[DueReminder]


class UploadedFile(_Schema):
    """Where an upload landed; ``duplicate_of`` names the owner's live document with the same content."""

    object_key: str
    sha256: str | None = None  # the plain hash: only while v1 events need it (null for encrypted uploads after)
    size: int
    mime_type: str
    duplicate_of: DocumentSummary | None = None
    # X-File-Name decoded, cleaned (no directories, no control characters) and sealed: put this in the event.
    file_name: str | None = None
    content_id: str | None = None  # the person's keyed content hash (encrypted uploads)
    encrypted: bool = False


# Room for the spaces and control characters cleaning removes before a length limit applies.
RAW_TEXT_FACTOR = 4


class SealRequest(_Schema):
    """What a person typed, by the field it goes to; at least one. Cleaned like the bot cleans it, then sealed."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=RAW_TEXT_FACTOR * MAX_NAME_LENGTH)] | None = None
    type_title: Annotated[str, Field(min_length=1, max_length=RAW_TEXT_FACTOR * MAX_TYPE_TITLE_LENGTH)] | None = None
    file_name: Annotated[str, Field(min_length=1, max_length=RAW_TEXT_FACTOR * MAX_FILE_NAME_LENGTH)] | None = None

    @model_validator(mode="after")
    def _something_to_seal(self) -> SealRequest:
        if self.name is None and self.type_title is None and self.file_name is None:
            raise ValueError("give at least one of name, type_title, file_name")
        return self


class SealedText(_Schema):
    cleaned: str  # what will be shown (the text as the events' rules clean it)
    sealed: str  # "s1.<key id>.<ciphertext>": put this in the v2 event


class SealedTexts(_Schema):
    """Sealed values for a v2 event, and ``type_slug``: the keyed slug of ``type_title`` (the event's type_slug)."""

    key_id: str
    name: SealedText | None = None
    type_title: SealedText | None = None
    type_slug: str | None = None
    file_name: SealedText | None = None


class SignedLink(_Schema):
    url: str
    expires_at: datetime


class ExportSummary(_Schema):
    """What ``GET /export`` would send now: how many live documents, their files' bytes, and at most how many bytes
    the zip takes (the bot compares it with what Telegram lets it upload)."""

    documents: int
    bytes: int
    archive_bytes_max: int


class Health(_Schema):
    """``/healthz``: the process answers."""

    status: str


class Readiness(_Schema):
    """``/readyz``: whether each dependency answered (``mongo``, ``s3``); 503 when any did not."""

    ready: bool
    checks: dict[str, bool]
