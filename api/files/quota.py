"""Storage limits per person: what counts, when an upload is checked, and what the check cannot see.

**What counts** is what the person has in "My documents": their *live* documents (``status: "live"`` in the
read model) and the sum of the sizes of those documents' pages (every page: ``file`` and ``more_pages``). An
upload with ``page=true`` is a later page of a document already counted: only its bytes must fit. Not counted:

* duplicates (``status: "duplicate"``): they hold no bytes of their own, the original's S3 object serves
  them (live documents of one person never share content: ``unique_live_content_per_owner``);
* deleted documents: nothing can remove them for good yet (there is no purge), so counting them would
  keep a person at the limit there forever, whatever they delete. Their objects stay in S3 for a restore,
  uncounted: only a purge of deleted documents can bound those;
* uploads that never became a document (the dialog was left after the upload): no event, no read model.

An upload is admitted when one more document and its size stay within both limits, or when the person
already stores that content live: a duplicate adds nothing (the bot then shows the existing document).

**Duplicates** are found by the keyed content id (``file.content_id`` of the person's live documents, the
same key for the same bytes of one person); while the API also computes the plain sha256 (v1 events), a live
v1 document with that sha256 is the same content too.

**When.** Before the body is read, with the declared ``Content-Length``: refused at once unless it fits or
the person has a live file of exactly that size (only then could it turn out a duplicate). Again once the
content id and the real size are known, before the object is put under ``owners/``: a refused upload leaves
nothing new in S3, whatever ``Content-Length`` claimed.

**The race.** The read models show a document only once the bot appended its ``document.added`` and the
processor applied it; the API only reads them and cannot reserve room. Two uploads checked before either
event is applied both see the same usage: at 999 of 1,000 both pass. The bot handles one person's updates
in order and each document is a dialog of its own, so a person can end one document (and its bytes) over
a limit, not more in practice; every later upload is refused until they delete something. Restoring a
deleted document does not pass through the API and is not checked here.
"""

from __future__ import annotations

from dataclasses import dataclass

from api.core.served_projection import Database
from api.documents import queries
from api.files.uploads import Content
from contracts.api_schemas import DocumentSummary, StorageUsage
from contracts.read_models import content_key
from contracts.vocabulary import DocumentStatus
from service_kit.metrics import timed


@dataclass(frozen=True)
class StorageLimits:
    documents: int
    bytes: int


class QuotaExceeded(Exception):
    def __init__(self, usage: StorageUsage, size: int) -> None:
        super().__init__(refusal_message(usage, size))
        self.usage = usage


def usage_of(totals: queries.LiveTotals, limits: StorageLimits) -> StorageUsage:
    return StorageUsage(
        documents=totals.documents, documents_limit=limits.documents, bytes=totals.bytes, bytes_limit=limits.bytes
    )


def admits_new_document(usage: StorageUsage, size: int, page: bool = False) -> bool:
    """One more document of ``size`` bytes stays within both limits; a ``page`` (the second or a later page of a
    document, counted as a document already) only needs its bytes to fit."""
    return (page or usage.documents < usage.documents_limit) and usage.bytes + size <= usage.bytes_limit


def refusal_message(usage: StorageUsage, size: int) -> str:
    return (
        f"a new document of {size} bytes would pass the storage limits: {usage.documents} of "
        f"{usage.documents_limit} documents and {usage.bytes} of {usage.bytes_limit} bytes are used"
    )


async def storage_usage(db: Database, owner_id: int, limits: StorageLimits) -> StorageUsage:
    return usage_of(await queries.live_totals(db, owner_id), limits)


async def check_declared_size(
    db: Database, owner_id: int, size: int, limits: StorageLimits, page: bool = False
) -> None:
    """Before the body: raise ``QuotaExceeded`` when an upload of ``size`` bytes can only be refused."""
    usage = await storage_usage(db, owner_id, limits)
    if admits_new_document(usage, size, page) or (not page and await queries.has_live_file_of_size(db, owner_id, size)):
        return
    raise QuotaExceeded(usage, size)


@timed("mongo", "find_live_by_content_id")
async def find_live_by_content_id(db: Database, owner_id: int, content_id: str) -> DocumentSummary | None:
    """The owner's live document whose file has this keyed content id (an encrypted upload's identity).

    Filtered on exactly (owner, content id), the keys of the read models' dedup lookup index, which the test
    server serves from that index too; the few documents sharing them (a live one, its duplicates, deleted
    ones) are told apart here, as ``queries.find_live_by_content`` does."""
    query = {"owner_id": owner_id, "file.content_id": content_id}
    fields = queries.SUMMARY_FIELDS | {"status": 1, "content_key": 1}
    rows = await db[queries.DOCUMENTS].find(query, fields).to_list(None)
    # A document of several pages whose first page this is holds other content (its pages: pages_content_key).
    single = content_key(owner_id, content_id)
    live = next((raw for raw in rows if raw["status"] == DocumentStatus.live and raw["content_key"] == single), None)
    return None if live is None else queries.summary_of(live)


async def find_duplicate(db: Database, owner_id: int, content: Content) -> DocumentSummary | None:
    """The owner's live document with the same bytes: by content id, then (v1 documents) by sha256."""
    if content.content_id is not None:
        found = await find_live_by_content_id(db, owner_id, content.content_id)
        if found is not None:
            return found
    return None if content.sha256 is None else await queries.find_live_by_content(db, owner_id, content.sha256)


async def admit_content(
    db: Database, owner_id: int, content: Content, limits: StorageLimits, page: bool = False
) -> DocumentSummary | None:
    """Once the content is known, before it is stored: the live document it duplicates, or ``None`` when a
    new document (or a ``page``: never a duplicate, its document decides) fits; raises ``QuotaExceeded`` otherwise."""
    duplicate = None if page else await find_duplicate(db, owner_id, content)
    if duplicate is not None:
        return duplicate
    usage = await storage_usage(db, owner_id, limits)
    if not admits_new_document(usage, content.size, page):
        raise QuotaExceeded(usage, content.size)
    return None
