"""In-memory stand-ins for the query API and the event log, shaped like the real contract."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from bot.clients.api_client import ApiNotFound, ApiRejected, ApiUnavailable, QuotaExceeded
from contracts.api_schemas import (
    DocumentDetail,
    DocumentList,
    DocumentPage,
    DocumentSummary,
    EventStatus,
    NameCheck,
    SignedLink,
    StorageUsage,
    TypeList,
    TypeSummary,
    UploadedFile,
)
from contracts.effects import Effect
from contracts.events import (
    DocumentAdded,
    DocumentDeleted,
    DocumentRenamed,
    DocumentRestored,
    EventEnvelope,
)
from contracts.text import InvalidFileName, clean_file_name, name_key
from service_kit.eventlog import EventLogUnavailable

CREATED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class StoredDoc:
    owner_id: int
    document_id: str
    type_slug: str
    type_title: str
    name: str
    sha256: str
    size: int
    mime_type: str
    file_name: str | None
    telegram_file_id: str | None
    status: str = "live"

    def summary(self) -> DocumentSummary:
        return DocumentSummary(
            document_id=self.document_id,
            type_slug=self.type_slug,
            type_title=self.type_title,
            name=self.name,
            size=self.size,
            mime_type=self.mime_type,
            created_at=CREATED,
        )

    def detail(self) -> DocumentDetail:
        return DocumentDetail(
            **self.summary().model_dump(),
            status=self.status,
            sha256=self.sha256,
            file_name=self.file_name,
            telegram_file_id=self.telegram_file_id,
            updated_at=CREATED,
        )


@dataclass
class FakeApi:
    """The query API over a dict; ``down`` makes every call fail like an unreachable server."""

    docs: dict[str, StoredDoc] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)
    down: bool = False
    after_events: list[str | None] = field(default_factory=list)
    uploads: list[tuple[int, bytes, str, str | None]] = field(default_factory=list)
    effects: dict[str, str] = field(default_factory=dict)  # event id -> what applying it did
    quota: StorageUsage | None = None  # uploads are refused as over this quota when set

    def _check(self, after_event: str | None = None) -> None:
        if self.down:
            raise ApiUnavailable("fake API is down")
        self.after_events.append(after_event)

    def _live(self, owner_id: int) -> list[StoredDoc]:
        return sorted(
            (d for d in self.docs.values() if d.owner_id == owner_id and d.status == "live"),
            key=lambda d: (name_key(d.name), d.document_id),
        )

    def add(self, doc: StoredDoc, content: bytes = b"") -> StoredDoc:
        self.docs[doc.document_id] = doc
        self.blobs[doc.sha256] = content
        return doc

    async def list_types(self, owner_id: int, after_event: str | None = None) -> TypeList:
        self._check(after_event)
        counts: dict[str, TypeSummary] = {}
        for d in self._live(owner_id):
            seen = counts.get(d.type_slug)
            counts[d.type_slug] = TypeSummary(
                slug=d.type_slug, title=d.type_title, live_count=(seen.live_count if seen else 0) + 1
            )
        return TypeList(items=sorted(counts.values(), key=lambda t: t.title))

    async def list_documents(
        self, owner_id: int, slug: str, limit: int, cursor: str | None = None, after_event: str | None = None
    ) -> DocumentPage:
        self._check(after_event)
        of_type = [d for d in self._live(owner_id) if d.type_slug == slug]
        start = int(cursor or 0)
        page = of_type[start : start + limit]
        more = start + limit < len(of_type)
        return DocumentPage(items=[d.summary() for d in page], next_cursor=str(start + limit) if more else None)

    async def search(self, owner_id: int, query: str, limit: int, after_event: str | None = None) -> DocumentList:
        self._check(after_event)
        found = [d.summary() for d in self._live(owner_id) if name_key(query) in name_key(d.name)]
        return DocumentList(items=found[:limit])

    async def get_document(self, owner_id: int, document_id: str, after_event: str | None = None) -> DocumentDetail:
        self._check(after_event)
        doc = self.docs.get(document_id)
        if doc is None or doc.owner_id != owner_id:
            raise ApiNotFound(document_id)
        return doc.detail()

    async def name_check(self, owner_id: int, slug: str, name: str, after_event: str | None = None) -> NameCheck:
        self._check(after_event)
        for d in self._live(owner_id):
            if d.type_slug == slug and name_key(d.name) == name_key(name):
                return NameCheck(taken=True, document_id=d.document_id)
        return NameCheck(taken=False)

    async def upload_file(
        self, owner_id: int, content: AsyncIterable[bytes], mime_type: str, file_name: str | None
    ) -> UploadedFile:
        self._check()
        data = b"".join([chunk async for chunk in content])
        digest = hashlib.sha256(data).hexdigest()
        self.uploads.append((owner_id, data, mime_type, file_name))
        if self.quota is not None:
            raise QuotaExceeded("over the quota", self.quota)
        self.blobs[digest] = data
        duplicate = next((d for d in self._live(owner_id) if d.sha256 == digest), None)
        return UploadedFile(
            object_key=f"owners/{owner_id}/{digest}",
            sha256=digest,
            size=len(data),
            mime_type=mime_type,
            duplicate_of=duplicate.summary() if duplicate else None,
            file_name=_cleaned(file_name),
        )

    async def file_chunks(self, owner_id: int, document_id: str) -> AsyncIterator[bytes]:
        detail = await self.get_document(owner_id, document_id)
        data = self.blobs[detail.sha256]
        for start in range(0, len(data), 4):
            yield data[start : start + 4]

    async def create_link(self, owner_id: int, document_id: str) -> SignedLink:
        await self.get_document(owner_id, document_id)
        return SignedLink(url=f"https://files.example/{document_id}?sig=x", expires_at=CREATED + timedelta(minutes=15))

    async def event_status(self, owner_id: int, event_id: str) -> EventStatus:
        self._check()
        effect = self.effects.get(event_id)
        return EventStatus(event_id=event_id, applied=effect is not None, effect=effect)

    def apply(self, event: EventEnvelope) -> None:
        """What the processors would make of an event (enough for the bot's flows)."""
        payload = event.payload
        self.effects[str(event.event_id)] = Effect.restored if isinstance(payload, DocumentRestored) else "done"
        if isinstance(payload, DocumentAdded):
            file = payload.file
            self.docs[str(payload.document_id)] = StoredDoc(
                event.owner_id,
                str(payload.document_id),
                payload.type_slug,
                payload.type_title,
                payload.name,
                file.sha256,
                file.size,
                file.mime_type,
                file.file_name,
                file.telegram_file_id,
            )
            return
        if not isinstance(payload, (DocumentRenamed, DocumentDeleted, DocumentRestored)):
            return
        doc = self.docs.get(str(payload.document_id))
        if doc is None:  # a document this fake never saw (another API served it): ignored, as the processor does
            self.effects[str(event.event_id)] = Effect.ignored_unknown
        elif isinstance(payload, DocumentRenamed):
            doc.name = payload.name
        else:
            self.docs[doc.document_id] = replace(
                doc, status="deleted" if isinstance(payload, DocumentDeleted) else "live"
            )


def _cleaned(file_name: str | None) -> str | None:
    """The name as the API answers it (``api.file_headers``: no directories, no control characters)."""
    if file_name is None:
        return None
    try:
        return clean_file_name(file_name)
    except InvalidFileName as error:
        raise ApiRejected(422, "invalid_file_name", str(error)) from None


@dataclass
class FakePublisher:
    """The event log: records appends and hands them to the fake API; ``down`` refuses them and
    ``loses_confirms`` stores them but reports a failure (the broker's confirm was lost on the way)."""

    api: FakeApi
    events: list[EventEnvelope] = field(default_factory=list)
    down: bool = False
    loses_confirms: bool = False

    async def append(self, *events: EventEnvelope) -> None:
        if self.down:
            raise EventLogUnavailable("fake broker is down")
        for event in events:
            self.events.append(event)
            self.api.apply(event)
        if self.loses_confirms:
            raise EventLogUnavailable("fake confirm lost")

    def payloads(self) -> list[object]:
        return [event.payload for event in self.events]
