"""Read models materialized by the processors and served by the API (beanie 2 documents).

Only the processors and the API import this module (it pulls in MongoDB's driver); the bot never does.
Every partial index filter here uses plain equality, which both mongod and the test server accept.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from beanie import Document
from pydantic import BaseModel, ConfigDict, Field
from pymongo import ASCENDING, IndexModel

from contracts.events import StoredFile
from contracts.vocabulary import DocumentStatus


class DocumentView(Document):
    """One stored document. ``status`` is ``duplicate`` when its content already belonged to a live one.

    What a person typed is kept sealed (``name``, ``type_title``, ``file.file_name``: opened by the API when it
    answers) and every key derived from it is a keyed hash (``service_kit.keyed``): a database reader learns
    only which values of one person are equal (docs/privacy.md)."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(alias="_id")  # type: ignore[assignment]  # the document_id from the event
    owner_id: int
    type_slug: str  # keyed
    type_title: str  # sealed
    name: str  # sealed
    name_key: str  # keyed
    name_base_key: str  # keyed
    # Single-field lookup keys: the processor finds the documents a batch may collide with by one
    # ``$in`` on each, which every engine serves from an index (compound filters are not on the test server).
    copies_key: str  # "<owner_id>|<name_base_key>"
    content_key: str  # "<owner_id>|<content_id>" (v1 documents: "<owner_id>|<sha256>")
    search_prefixes: list[str]  # keyed
    file: StoredFile  # the first page
    more_pages: list[StoredFile] = []  # the other pages in order (an album, pages added later); [] for one page
    status: DocumentStatus = DocumentStatus.live
    link_generation: int = 0  # bumped by rename, delete and forget: signed links name it (api/files/links.py)
    # Its number among the documents ever added to its type (1, 2, ...), and from it the page key
    # "<owner>|<type>|<number, 12 digits>" while live (None otherwise): pages of a type are ranges of
    # numbers in creation order, each asked in a window a few pages wide (names are sealed: they cannot
    # order a page), so a page costs the same in a type of 100 and of 10,000 on every engine.
    type_seq: int = 0
    page_key: str | None = None
    duplicate_of: str | None = None
    # The last day it is valid (ISO "YYYY-MM-DD", document.valid_until_set; None: no date) and the reminders
    # sent for that date (their days before it; emptied when the date changes). While live and dated,
    # ``expiry_key`` "<owner>|<date>" and ``expiry_day`` "<date>": single-field ranges serve a person's
    # "expiring soon" and the reminders due on a day (``expiring_of_owner``, ``expiring_on_day``).
    valid_until: str | None = None
    reminders_sent: list[int] = Field(default_factory=list)
    expiry_key: str | None = None
    expiry_day: str | None = None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None
    deleted_by: str | None = None  # the document_type.deleted that deleted it (its Undo restores exactly those)
    # While deleted: until when it can be restored (deleted_at + RETENTION_DAYS); then it is purged (docs/adr/0014).
    restorable_until: datetime | None = None
    last_event_id: str
    last_offset: int

    class Settings:
        name = "documents"
        use_revision = False
        validate_on_save = False
        indexes = [
            IndexModel(
                [("owner_id", ASCENDING), ("type_slug", ASCENDING), ("name_key", ASCENDING)],
                name="unique_live_name_per_type",
                unique=True,
                partialFilterExpression={"status": DocumentStatus.live},
            ),
            IndexModel(
                [("owner_id", ASCENDING), ("content_key", ASCENDING)],
                name="unique_live_content_key_per_owner",
                unique=True,
                partialFilterExpression={"status": DocumentStatus.live},
            ),
            IndexModel([("page_key", ASCENDING)], name="documents_of_type_by_creation"),
            IndexModel([("owner_id", ASCENDING), ("file.content_id", ASCENDING)], name="content_id_of_owner"),
            IndexModel([("copies_key", ASCENDING)], name="copies_of_name"),
            IndexModel([("owner_id", ASCENDING), ("type_slug", ASCENDING)], name="documents_of_type"),
            IndexModel([("deleted_by", ASCENDING)], name="deleted_with_type"),
            IndexModel(
                [("restorable_until", ASCENDING)],
                name="trash_by_deadline",
                partialFilterExpression={"status": DocumentStatus.deleted},
            ),
            IndexModel([("expiry_key", ASCENDING)], name="expiring_of_owner"),
            IndexModel([("expiry_day", ASCENDING)], name="expiring_on_day"),
            IndexModel([("content_key", ASCENDING)], name="content_of_owner"),
            IndexModel([("owner_id", ASCENDING), ("search_prefixes", ASCENDING)], name="search_prefix"),
        ]


class DocumentTypeView(Document):
    """A person's document type with the number of live documents in it. ``_id`` is ``owner:slug``."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(alias="_id")  # type: ignore[assignment]
    owner_id: int
    slug: str
    title: str
    live_count: int = 0
    added_count: int = 0  # documents ever added to the type: the last one's type_seq
    created_at: datetime
    updated_at: datetime

    class Settings:
        name = "document_types"
        use_revision = False
        indexes = [
            IndexModel([("owner_id", ASCENDING), ("slug", ASCENDING)], name="unique_type_per_owner", unique=True),
        ]


class UserView(Document):
    model_config = ConfigDict(extra="ignore")

    id: int = Field(alias="_id")  # type: ignore[assignment]  # the Telegram user id
    owner_id: int
    language: str
    first_seen_at: datetime
    last_seen_at: datetime

    class Settings:
        name = "users"
        use_revision = False
        indexes = [IndexModel([("owner_id", ASCENDING)], name="unique_owner", unique=True)]


class AppliedEvent(Document):
    """Every event a processor applied, by ``event_id``: the idempotency ledger, read-your-writes and history."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(alias="_id")  # type: ignore[assignment]  # event_id
    offset: int
    event_type: str
    owner_id: int
    document_id: str | None = None
    occurred_at: datetime
    correlation_id: str
    effect: str

    class Settings:
        name = "applied_events"
        use_revision = False
        indexes = [
            IndexModel(
                [("owner_id", ASCENDING), ("document_id", ASCENDING), ("offset", ASCENDING)], name="document_history"
            ),
        ]


class ProcessorCheckpoint(Document):
    """The last offset a processor committed; ``_id`` is ``<name>@v<version>``."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(alias="_id")  # type: ignore[assignment]
    offset: int
    events_applied: int = 0
    updated_at: datetime
    clock: datetime | None = None  # the latest occurred_at applied: what trash deadlines are measured against

    class Settings:
        name = "processor_checkpoints"
        use_revision = False


ERASURES_COLLECTION = "erasures"
FORGET_JOB = "forget"
PURGE_JOB = "purge"


class ErasureJob(BaseModel):
    """The erasure outbox: what the API's erasure worker (the only holder of S3 credentials) is to delete, written by
    the processors in the transaction of the event that asks for it. ``kind`` "forget": every object under
    ``owners/<owner_id>/`` stored by ``stored_by`` (a person who came back keeps their new uploads), then the data key
    if it was created by then. ``kind`` "purge" (trash retention): the purged document's objects (``object_keys``) that
    no document of the person still names and nobody stored again after the deletion (``stored_by``); its id is
    ``purge:<document id>:<deleting event id>``, the same in every replay. Done when ``<db>_keys.erasure_receipts``
    holds the job's id (service_kit.forgetting)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str = Field(alias="_id")  # the event id asking for it
    kind: str
    owner_id: int
    offset: int
    stored_by: datetime
    object_keys: list[str] = Field(default_factory=list)


class ActiveReadModel(BaseModel):
    """Which read-model version the API serves (stored in the control database)."""

    version: int


READ_MODELS: list[type[Document]] = [
    DocumentView,
    DocumentTypeView,
    UserView,
    AppliedEvent,
    ProcessorCheckpoint,
]


def object_keys_of(raw: dict[str, Any]) -> list[str]:
    """The S3 objects a stored document (as MongoDB holds it) names: what a forget or a purge may delete, and what
    keeps an object another document shares (dedup, duplicates) from being purged with it. Every page: ``file`` and
    ``more_pages`` (an album, pages added later)."""
    return [page["object_key"] for page in [raw["file"], *raw.get("more_pages", [])]]


def copies_key(owner_id: int, base_key: str) -> str:
    return f"{owner_id}|{base_key}"


def content_key(owner_id: int, content: str) -> str:
    """``content``: the keyed content id of a v2 file, the sha256 of a v1 one."""
    return f"{owner_id}|{content}"


def file_content_key(owner_id: int, file: StoredFile) -> str:
    return content_key(owner_id, file.content_id or file.sha256 or "")


def pages_content_key(owner_id: int, pages: Sequence[StoredFile]) -> str:
    """What a document is a duplicate by: its one file's content, or for several pages the keyed ids of all of
    them in order (a hash of keyed hashes, so it tells no more than they do). Fixed when the document is added:
    pages added later do not change it (docs/adr/0017)."""
    if len(pages) == 1:
        return file_content_key(owner_id, pages[0])
    joined = "|".join(page.content_id or page.sha256 or "" for page in pages)
    return content_key(owner_id, "pages:" + hashlib.sha256(joined.encode()).hexdigest()[:32])


def page_prefix(owner_id: int, type_slug: str) -> str:
    return f"{owner_id}|{type_slug}|"


def seq_page_key(owner_id: int, type_slug: str, seq: int) -> str:
    """Fixed width, so text order is number order (``documents_of_type_by_creation``)."""
    return f"{page_prefix(owner_id, type_slug)}{seq:012d}"


def page_key(document: DocumentView) -> str | None:
    """Where a live document sits in its type's pages, in creation order."""
    if document.status != DocumentStatus.live:
        return None
    return seq_page_key(document.owner_id, document.type_slug, document.type_seq)


def expiry_key_of(owner_id: int, day: str) -> str:
    """Fixed-width ISO dates, so text order is date order (``expiring_of_owner``)."""
    return f"{owner_id}|{day}"


def expiry_keys(document: DocumentView) -> dict[str, str | None]:
    """``expiry_key`` and ``expiry_day`` of a document: set while it is live and has a date."""
    if document.status != DocumentStatus.live or document.valid_until is None:
        return {"expiry_key": None, "expiry_day": None}
    return {"expiry_key": expiry_key_of(document.owner_id, document.valid_until), "expiry_day": document.valid_until}


def read_model_database(base: str, version: int) -> str:
    """Each projection version lives in its own database, so a rebuild never touches the served one."""
    return f"{base}_v{version}"


CONTROL_COLLECTION = "read_model_control"
ACTIVE_VERSION_ID = "active"
