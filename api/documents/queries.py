"""The read side's MongoDB queries, one timed function each.

Queries use the read models' collections directly (pymongo) rather than beanie, whose documents are
bound to one database per process: the API switches databases when a rebuilt projection becomes
current. Every filter is shaped for an index of ``contracts.read_models``; ownership is part of every
filter, or checked on the one document fetched by id, so another owner's data is never returned.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from pymongo import ASCENDING, DESCENDING

from api.core.served_projection import Database
from contracts.api_schemas import DocumentDetail, DocumentSummary, HistoryEntry, PageDetail, TypeSummary
from contracts.events import StoredFile
from contracts.read_models import (
    AppliedEvent,
    DocumentTypeView,
    DocumentView,
    UserView,
    content_key,
    expiry_key_of,
    seq_page_key,
)
from contracts.vocabulary import DocumentStatus
from service_kit.metrics import timed

Raw = Mapping[str, Any]
DOCUMENTS = DocumentView.Settings.name
TYPES = DocumentTypeView.Settings.name
USERS = UserView.Settings.name
APPLIED = AppliedEvent.Settings.name
SUMMARY_FIELDS = {
    "type_slug": 1,
    "type_title": 1,
    "name": 1,
    "page_key": 1,
    "file.size": 1,
    "file.mime_type": 1,
    "created_at": 1,
    "valid_until": 1,
}


@dataclass(frozen=True)
class StoredDocument:
    """One document as the API needs it: the answer, plus where its bytes are (``file`` as stored: its file name
    sealed; ``detail`` is opened by ``api.documents.opening``) and the generation signed links name."""

    detail: DocumentDetail
    owner_id: int
    file: StoredFile
    link_generation: int = 0
    more_pages: tuple[StoredFile, ...] = ()  # the second and later pages, as stored

    @property
    def downloadable(self) -> bool:
        return self.detail.status != DocumentStatus.deleted


def summary_of(raw: Raw) -> DocumentSummary:
    return DocumentSummary(
        document_id=raw["_id"],
        type_slug=raw["type_slug"],
        type_title=raw["type_title"],
        name=raw["name"],
        size=raw["file"]["size"],
        mime_type=raw["file"]["mime_type"],
        created_at=raw["created_at"],
        valid_until=raw.get("valid_until"),
    )


def page_detail(page: StoredFile) -> PageDetail:
    return PageDetail(
        size=page.size, mime_type=page.mime_type, file_name=page.file_name, telegram_file_id=page.telegram_file_id
    )


def stored_document_of(raw: Raw) -> StoredDocument:
    file = StoredFile.model_validate(raw["file"])
    more_pages = tuple(StoredFile.model_validate(page) for page in raw.get("more_pages", ()))
    detail = DocumentDetail(
        **summary_of(raw).model_dump(),
        status=raw["status"],
        duplicate_of=raw.get("duplicate_of"),
        sha256=file.sha256,
        file_name=file.file_name,
        telegram_file_id=file.telegram_file_id,
        updated_at=raw["updated_at"],
        deleted_at=raw.get("deleted_at"),
        restorable_until=raw.get("restorable_until"),
        more_pages=[page_detail(page) for page in more_pages],
    )
    return StoredDocument(
        detail=detail,
        owner_id=raw["owner_id"],
        file=file,
        link_generation=raw.get("link_generation", 0),
        more_pages=more_pages,
    )


@timed("mongo", "list_types")
async def list_types(db: Database, owner_id: int, limit: int) -> list[TypeSummary]:
    cursor = db[TYPES].find({"owner_id": owner_id}, {"slug": 1, "title": 1, "live_count": 1}, limit=limit)
    rows = await cursor.sort("slug", ASCENDING).to_list(None)  # a stable cut; the API orders them by title
    return [TypeSummary(slug=r["slug"], title=r["title"], live_count=r["live_count"]) for r in rows]


# What a page renders: ``type_slug`` is the page's own (its window is of one type) and ``page_key`` its position.
PAGE_FIELDS = {key: 1 for key in SUMMARY_FIELDS if key not in ("type_slug", "page_key")} | {"type_seq": 1}


@dataclass(frozen=True)
class PageWindow:
    """One ``find`` of a page: documents numbered ``start`` to ``start + width - 1`` in their type, ``want`` of them."""

    owner_id: int
    type_slug: str
    start: int
    width: int
    want: int

    @property
    def filter(self) -> dict[str, Any]:
        return {
            "page_key": {
                "$gte": seq_page_key(self.owner_id, self.type_slug, self.start),
                "$lt": seq_page_key(self.owner_id, self.type_slug, self.start + self.width),
            }
        }

    @property
    def sort(self) -> list[tuple[str, int]] | None:
        """The server orders the window only where the limit cuts it (more numbers than documents wanted): a
        window that fits whole is ordered here, which spares SecantusDB its sort planning (a fifth of the page's
        cost in its profile) and asks mongod for the same index scan without a sort stage."""
        return [("page_key", ASCENDING)] if self.width > self.want else None


async def _window(db: Database, window: PageWindow) -> list[dict[str, Any]]:
    cursor = db[DOCUMENTS].find(window.filter, PAGE_FIELDS, limit=window.want)
    if window.sort is not None:
        cursor = cursor.sort(window.sort)
    rows: list[dict[str, Any]] = await cursor.to_list(None)
    return sorted(rows, key=lambda row: int(row["type_seq"]))


async def _last_number(db: Database, owner_id: int, type_slug: str) -> int:
    """The type's last creation number: where widening windows stop."""
    kind = await db[TYPES].find_one({"_id": f"{owner_id}:{type_slug}"}, {"added_count": 1})
    return int(kind.get("added_count", 0)) if kind is not None else 0


def first_window(owner_id: int, type_slug: str, after_seq: int, limit: int) -> PageWindow:
    return PageWindow(owner_id, type_slug, after_seq + 1, max(limit, 8), limit)


@timed("mongo", "documents_page")
async def documents_page(
    db: Database, owner_id: int, type_slug: str, after_seq: int, limit: int
) -> list[tuple[int, DocumentSummary]]:
    """Up to ``limit`` live documents of a type (keyed slug) in creation order, numbered after ``after_seq``; each
    with its number (for cursors).

    Live documents carry ``page_key`` "<owner>|<type>|<number>" (``documents_of_type_by_creation``). A range
    over the whole rest of a type would make SecantusDB collect every entry of it before the limit (a page of a
    10,000-document type took seconds), so the numbers are asked in windows: one page wide first (SecantusDB
    reads every entry of the window), twice as wide each time deleted documents leave it short, until the page
    is full or the type's last number is passed. The type's last number is looked up only when the first
    window comes back short: a full first window (no deletions in it) is the page in one query.
    """
    window = first_window(owner_id, type_slug, after_seq, limit)
    rows = await _window(db, window)
    if len(rows) < limit:
        last = await _last_number(db, owner_id, type_slug)
        start, width = window.start + window.width, window.width * 2
        while len(rows) < limit and start <= last:
            rows += await _window(db, PageWindow(owner_id, type_slug, start, width, limit - len(rows)))
            start, width = start + width, width * 2
    return [(int(r["type_seq"]), summary_of(r | {"type_slug": type_slug})) for r in rows]


@timed("mongo", "search_documents")
async def search_documents(db: Database, owner_id: int, prefixes: list[str], limit: int) -> list[DocumentSummary]:
    """Live documents whose words start with every one of ``prefixes`` (keyed, ``service_kit.keyed``).

    ``search_prefixes`` holds every prefix of every word of the name key, keyed, indexed with the owner
    (``search_prefix``), so this is an index lookup on the first prefix plus a filter on the others. The
    order is the creation order; the API orders the opened names.
    """
    query = {"owner_id": owner_id, "search_prefixes": {"$all": prefixes}, "status": DocumentStatus.live}
    cursor = db[DOCUMENTS].find(query, SUMMARY_FIELDS, limit=limit)
    rows = await cursor.sort("created_at", ASCENDING).to_list(None)
    return [summary_of(r) for r in rows]


@timed("mongo", "expiring_documents")
async def expiring_documents(db: Database, owner_id: int, first: date, last: date, limit: int) -> list[DocumentSummary]:
    """The owner's live documents valid until a day from ``first`` to ``last``, soonest first: one range over
    ``expiry_key`` "<owner>|<date>" (``expiring_of_owner``), set only on live dated documents."""
    window = {"$gte": expiry_key_of(owner_id, first.isoformat()), "$lte": expiry_key_of(owner_id, last.isoformat())}
    cursor = db[DOCUMENTS].find({"expiry_key": window}, SUMMARY_FIELDS | {"expiry_key": 1}, limit=limit)
    rows = await cursor.sort("expiry_key", ASCENDING).to_list(None)
    return [summary_of(r) for r in rows]


@dataclass(frozen=True)
class DatedDocument:
    """A live dated document as the reminder sender needs it: its summary (sealed) and the reminders sent."""

    owner_id: int
    summary: DocumentSummary
    reminders_sent: frozenset[int]


@timed("mongo", "dated_documents")
async def dated_documents(db: Database, day: date, limit: int) -> list[DatedDocument]:
    """Every person's live documents valid until ``day`` (``expiring_on_day``: an equality on one field, which
    every engine serves from the index); which of them are due is the caller's pure decision."""
    fields = SUMMARY_FIELDS | {"owner_id": 1, "reminders_sent": 1}
    rows = await db[DOCUMENTS].find({"expiry_day": day.isoformat()}, fields, limit=limit).to_list(None)
    return [DatedDocument(r["owner_id"], summary_of(r), frozenset(r.get("reminders_sent", []))) for r in rows]


@timed("mongo", "find_languages")
async def find_languages(db: Database, owner_ids: list[int]) -> dict[int, str]:
    rows = await db[USERS].find({"_id": {"$in": owner_ids}}, {"language": 1}).to_list(None)
    return {int(r["_id"]): str(r["language"]) for r in rows}


@timed("mongo", "find_document")
async def find_document(db: Database, owner_id: int, document_id: str) -> StoredDocument | None:
    """The document with this id if it belongs to ``owner_id`` (looked up by ``_id``, owner checked here)."""
    raw = await db[DOCUMENTS].find_one({"_id": document_id})
    if raw is None or raw.get("owner_id") != owner_id:
        return None
    return stored_document_of(raw)


@timed("mongo", "find_live_by_name")
async def find_live_by_name(db: Database, owner_id: int, type_slug: str, key: str) -> str | None:
    """The live document of the type holding this keyed name key (``unique_live_name_per_type``)."""
    raw = await db[DOCUMENTS].find_one(
        {"owner_id": owner_id, "type_slug": type_slug, "name_key": key, "status": DocumentStatus.live}, {"_id": 1}
    )
    return None if raw is None else str(raw["_id"])


@timed("mongo", "find_live_by_content")
async def find_live_by_content(db: Database, owner_id: int, sha256: str) -> DocumentSummary | None:
    """The owner's live document with these bytes.

    Looked up by the single-field ``content_key`` (index ``content_of_owner``), which both mongod and
    the test server serve from an index; the few documents sharing it (a live one, its duplicates,
    deleted ones) are told apart here.
    """
    fields = SUMMARY_FIELDS | {"status": 1, "owner_id": 1}
    cursor = db[DOCUMENTS].find({"content_key": content_key(owner_id, sha256)}, fields)
    for raw in await cursor.to_list(None):
        if raw["status"] == DocumentStatus.live and raw["owner_id"] == owner_id:
            return summary_of(raw)
    return None


@dataclass(frozen=True)
class LiveTotals:
    documents: int
    bytes: int


def _live_documents_of(owner_id: int) -> dict[str, Any]:
    """The owner's live documents, as ``unique_live_content_per_owner`` (owner, sha256; partial on live
    documents) serves them: ``owner_id`` is its first key and the filter implies the index's partial
    filter, so SecantusDB walks only the owner's live entries, never the collection (its plan is checked in
    tests/api/test_quota_api.py); mongod can use the index for the same reason."""
    return {"owner_id": owner_id, "status": DocumentStatus.live}


def live_totals_pipeline(owner_id: int) -> list[dict[str, Any]]:
    return [
        {"$match": _live_documents_of(owner_id)},
        {"$group": {"_id": None, "documents": {"$sum": 1}, "bytes": {"$sum": "$file.size"}}},
    ]


def live_pages_pipeline(owner_id: int) -> list[dict[str, Any]]:
    """The bytes of the live documents' later pages (``$unwind``: the test server sums no array inside a group)."""
    return [
        {"$match": _live_documents_of(owner_id)},
        {"$unwind": "$more_pages"},
        {"$group": {"_id": None, "bytes": {"$sum": "$more_pages.size"}}},
    ]


@timed("mongo", "live_totals")
async def live_totals(db: Database, owner_id: int) -> LiveTotals:
    """How many live documents the owner has, and the sum of the sizes of all their pages (a row back each)."""
    rows = await (await db[DOCUMENTS].aggregate(live_totals_pipeline(owner_id))).to_list(None)
    if not rows:
        return LiveTotals(0, 0)
    pages = await (await db[DOCUMENTS].aggregate(live_pages_pipeline(owner_id))).to_list(None)
    return LiveTotals(rows[0]["documents"], rows[0]["bytes"] + (pages[0]["bytes"] if pages else 0))


@timed("mongo", "live_documents")
async def live_documents(db: Database, owner_id: int) -> list[StoredDocument]:
    """Every live document of the owner (at most ``MAX_DOCUMENTS_PER_PERSON``), oldest first, as stored (sealed)."""
    rows = await db[DOCUMENTS].find(_live_documents_of(owner_id)).to_list(None)
    documents = [stored_document_of(raw) for raw in rows]
    return sorted(documents, key=lambda document: (document.detail.created_at, document.detail.document_id))


@timed("mongo", "has_live_file_of_size")
async def has_live_file_of_size(db: Database, owner_id: int, size: int) -> bool:
    """Does a live document of the owner hold a file of exactly ``size`` bytes?

    Compared here rather than in the filter: a filter on ``file.size`` too would go beyond the index's
    keys, which SecantusDB answers with a collection scan.
    """
    rows = await db[DOCUMENTS].find(_live_documents_of(owner_id), {"_id": 0, "file.size": 1}).to_list(None)
    return any(row["file"]["size"] == size for row in rows)


@timed("mongo", "document_history")
async def document_history(db: Database, owner_id: int, document_id: str, limit: int) -> list[HistoryEntry]:
    """The newest ``limit`` events applied to the document, oldest first (``document_history`` index)."""
    cursor = db[APPLIED].find({"owner_id": owner_id, "document_id": document_id}, limit=limit)
    rows = await cursor.sort("offset", DESCENDING).to_list(None)
    return [
        HistoryEntry(event_id=r["_id"], event_type=r["event_type"], occurred_at=r["occurred_at"], effect=r["effect"])
        for r in reversed(rows)
    ]


@timed("mongo", "find_user")
async def find_language(db: Database, owner_id: int) -> str | None:
    raw = await db[USERS].find_one({"_id": owner_id}, {"language": 1})
    return None if raw is None else str(raw["language"])


@dataclass(frozen=True)
class AppliedRecord:
    owner_id: int
    effect: str


@timed("mongo", "find_applied_event")
async def find_applied_event(db: Database, event_id: str) -> AppliedRecord | None:
    """The ledger entry of an applied event (by ``_id``); the caller checks the owner."""
    raw = await db[APPLIED].find_one({"_id": event_id}, {"owner_id": 1, "effect": 1})
    return None if raw is None else AppliedRecord(owner_id=raw["owner_id"], effect=raw["effect"])
