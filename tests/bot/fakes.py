"""In-memory stand-ins for the query API and the event log, shaped like the real contract: the fake API seals and
opens with the person's test key (``tests.keyrings.TEST_PEOPLE``) as the real one does, so the bot's v2 events
validate and apply."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

from api.core.errors import ApiError
from api.documents.sealing import sealed_texts
from bot.clients.api_client import ApiNotFound, ApiRejected, ApiUnavailable, ExportLimited, QuotaExceeded
from contracts.api_schemas import (
    DocumentDetail,
    DocumentList,
    DocumentPage,
    DocumentSummary,
    EventStatus,
    ExportSummary,
    NameCheck,
    PageDetail,
    SealedTexts,
    SealRequest,
    SignedLink,
    StorageUsage,
    TypeList,
    TypeSummary,
    UploadedFile,
)
from contracts.effects import Effect
from contracts.events import (
    DocumentAddedV2,
    DocumentAddedV3,
    DocumentDeleted,
    DocumentMoved,
    DocumentPageAdded,
    DocumentRenamedV2,
    DocumentRestored,
    DocumentTypeDeleted,
    DocumentTypeRenamed,
    DocumentTypeRestored,
    DocumentValidUntilSet,
    EventEnvelope,
    StoredFile,
    UserForgotten,
)
from contracts.text import InvalidFileName, clean_file_name, name_key, type_slug
from service_kit.crypto import KEYED_HASH_HEX
from service_kit.eventlog import EventLogUnavailable
from service_kit.keyed import TYPE
from tests.keyrings import TEST_PEOPLE

CREATED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FAKE_RETENTION = timedelta(days=30)  # the processor's default RETENTION_DAYS


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
    content_id: str | None = None  # v2 documents (saved by the bot): the keyed content hash, and sha256 is ""
    restorable_until: datetime | None = None  # while deleted, as the processor sets it (RETENTION_DAYS after)
    more_pages: list[tuple[PageDetail, str]] = field(default_factory=list)  # later pages and their content ids
    valid_until: date | None = None
    duplicate_of: str | None = None  # a duplicate's live original

    @property
    def content(self) -> str:
        return self.content_id or self.sha256

    @property
    def pages_content(self) -> list[str]:
        """Every page's content id in order: what an album's content key is made of."""
        return [self.content, *(content for _, content in self.more_pages)]

    def summary(self) -> DocumentSummary:
        return DocumentSummary(
            document_id=self.document_id,
            type_slug=self.type_slug,
            type_title=self.type_title,
            name=self.name,
            size=self.size,
            mime_type=self.mime_type,
            created_at=CREATED,
            valid_until=self.valid_until,
        )

    def detail(self) -> DocumentDetail:
        return DocumentDetail(
            **self.summary().model_dump(),
            status=self.status,
            duplicate_of=self.duplicate_of,
            sha256=self.sha256 or None,
            file_name=self.file_name,
            telegram_file_id=self.telegram_file_id,
            updated_at=CREATED,
            restorable_until=self.restorable_until,
            more_pages=[page for page, _ in self.more_pages],
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
    deleted_with: dict[str, list[str]] = field(default_factory=dict)  # type deletion event id -> documents
    page_uploads: list[bool] = field(default_factory=list)  # of each upload: sent as a later page (?page=true)
    export_limited: bool = False  # exports are refused as already under way when set
    export_overhead: int = 100  # the bytes the fake's "archive" adds per document

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
        self.blobs[doc.content] = content
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

    async def expiring(
        self, owner_id: int, on: date, within_days: int, limit: int, after_event: str | None = None
    ) -> DocumentList:
        self._check(after_event)
        last = on + timedelta(days=within_days)
        dated = [d for d in self._live(owner_id) if d.valid_until is not None and on <= d.valid_until <= last]
        return DocumentList(
            items=[d.summary() for d in sorted(dated, key=lambda d: (d.valid_until, d.document_id))][:limit]
        )

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
        self, owner_id: int, content: AsyncIterable[bytes], mime_type: str, file_name: str | None, page: bool = False
    ) -> UploadedFile:
        """Like the API with its defaults: stored encrypted under the keyed content id, the name sealed, no
        plain hash."""
        self._check()
        data = b"".join([chunk async for chunk in content])
        keys = TEST_PEOPLE[owner_id]
        content_id = content_id_of(owner_id, data)
        self.uploads.append((owner_id, data, mime_type, file_name))
        self.page_uploads.append(page)
        if self.quota is not None:
            raise QuotaExceeded("over the quota", self.quota)
        self.blobs[content_id] = data
        single = [d for d in self._live(owner_id) if not d.more_pages and not page]
        duplicate = next((d for d in single if d.content == content_id), None)
        cleaned = _cleaned(file_name)
        return UploadedFile(
            object_key=f"owners/{owner_id}/{content_id}",
            size=len(data),
            mime_type=mime_type,
            duplicate_of=duplicate.summary() if duplicate else None,
            file_name=keys.seal("file_name", cleaned) if cleaned is not None else None,
            content_id=content_id,
            encrypted=True,
        )

    async def seal(self, owner_id: int, request: SealRequest) -> SealedTexts:
        """The API's own sealing (``api.documents.sealing.sealed_texts``): cleaned (422 ``invalid_<field>``),
        sealed, the keyed type slug."""
        self._check()
        try:
            return sealed_texts(TEST_PEOPLE[owner_id], request)
        except ApiError as error:
            raise ApiRejected(error.status, error.code, error.message) from None

    async def file_chunks(self, owner_id: int, document_id: str, page: int = 1) -> AsyncIterator[bytes]:
        await self.get_document(owner_id, document_id)
        doc = self.docs[document_id]
        data = self.blobs[doc.content if page == 1 else doc.more_pages[page - 2][1]]
        for start in range(0, len(data), 4):
            yield data[start : start + 4]

    async def create_link(self, owner_id: int, document_id: str) -> SignedLink:
        await self.get_document(owner_id, document_id)
        return SignedLink(url=f"https://files.example/{document_id}?sig=x", expires_at=CREATED + timedelta(minutes=15))

    async def export_summary(self, owner_id: int, after_event: str | None = None) -> ExportSummary:
        self._check(after_event)
        live = self._live(owner_id)
        total = sum(doc.size for doc in live)
        bound = total + self.export_overhead * len(live) if live else 0
        return ExportSummary(documents=len(live), bytes=total, archive_bytes_max=bound)

    async def export_chunks(self, owner_id: int, after_event: str | None = None) -> AsyncIterator[bytes]:
        """Not a zip: the live documents' bytes one after another, behind a marker (the bot never opens it)."""
        self._check(after_event)
        if self.export_limited:
            raise ExportLimited("429 from the fake API")
        yield b"FAKE-ZIP:"
        for doc in self._live(owner_id):
            yield self.blobs.get(doc.content, b"")

    async def create_export_link(self, owner_id: int) -> SignedLink:
        self._check()
        return SignedLink(url=f"https://files.example/export/{owner_id}.x", expires_at=CREATED + timedelta(minutes=15))

    async def event_status(self, owner_id: int, event_id: str) -> EventStatus:
        self._check()
        effect = self.effects.get(event_id)
        return EventStatus(event_id=event_id, applied=effect is not None, effect=effect)

    def _added(self, event_id: str, added: StoredDoc) -> None:
        """An album with the pages of a live album, in order, is kept as its duplicate (``pages_content_key``)."""
        live = [d for d in self._live(added.owner_id) if d.document_id != added.document_id]
        same = [d for d in live if added.more_pages and d.pages_content == added.pages_content]
        if same:
            added = replace(added, status="duplicate", duplicate_of=same[0].document_id)
            self.effects[event_id] = Effect.created_duplicate
        self.docs[added.document_id] = added

    def apply(self, event: EventEnvelope) -> None:
        """What the processors would make of an event (enough for the bot's flows); an event appended again (a
        lost confirm's retry) is applied once, as the ledger does."""
        if str(event.event_id) not in self.effects:
            self._apply(event)

    def _apply(self, event: EventEnvelope) -> None:
        payload = event.payload
        if isinstance(payload, ORGANISING):
            self.effects[str(event.event_id)] = organised(self, event)
            return
        self.effects[str(event.event_id)] = Effect.restored if isinstance(payload, DocumentRestored) else "done"
        if isinstance(payload, DocumentAddedV2):
            self._added(str(event.event_id), _opened(event.owner_id, payload))
            return
        if isinstance(payload, UserForgotten):
            self.docs = {key: doc for key, doc in self.docs.items() if doc.owner_id != event.owner_id}
        if isinstance(payload, DocumentPageAdded) and str(payload.document_id) in self.docs:
            self.docs[str(payload.document_id)].more_pages += _pages(event.owner_id, payload.pages)
        if isinstance(payload, DocumentValidUntilSet):
            dated = self.docs.get(str(payload.document_id))
            if dated is not None and dated.owner_id == event.owner_id:
                dated.valid_until = payload.valid_until
            return
        if not isinstance(payload, (DocumentRenamedV2, DocumentDeleted, DocumentRestored)):
            return
        doc = self.docs.get(str(payload.document_id))
        if doc is None:  # a document this fake never saw (another API served it): ignored, as the processor does
            self.effects[str(event.event_id)] = Effect.ignored_unknown
        elif isinstance(payload, DocumentRenamedV2):
            doc.name = TEST_PEOPLE[event.owner_id].open("name", payload.name)
        else:
            gone = isinstance(payload, DocumentDeleted)
            self.docs[doc.document_id] = replace(
                doc,
                status="deleted" if gone else "live",
                restorable_until=event.occurred_at + FAKE_RETENTION if gone else None,
            )


def content_id_of(owner_id: int, data: bytes) -> str:
    """The keyed content id the API gives ``data`` of this person (``api.files.uploads``)."""
    hasher = TEST_PEOPLE[owner_id].content_hasher()
    hasher.update(data)
    return hasher.hexdigest()[:KEYED_HASH_HEX]


def _opened(owner_id: int, payload: DocumentAddedV2) -> StoredDoc:
    """The document a v2 ``document.added`` describes, opened with the person's key. The fake lists the plain
    slug of the title (as the documents tests put in it have), once it checked the event's keyed slug is that
    title's."""
    keys, file = TEST_PEOPLE[owner_id], payload.file
    title = keys.open("type_title", payload.type_title)
    assert payload.type_slug == keys.keyed(TYPE, type_slug(title)) and file.content_id is not None
    file_name = keys.open("file_name", file.file_name) if file.file_name is not None else None
    return StoredDoc(
        owner_id,
        str(payload.document_id),
        type_slug(title),
        title,
        keys.open("name", payload.name),
        "",
        file.size,
        file.mime_type,
        file_name,
        file.telegram_file_id,
        content_id=file.content_id,
        more_pages=_pages(owner_id, payload.more_pages if isinstance(payload, DocumentAddedV3) else []),
    )


def _pages(owner_id: int, pages: list[StoredFile]) -> list[tuple[PageDetail, str]]:
    keys = TEST_PEOPLE[owner_id]
    return [
        (
            PageDetail(
                size=page.size,
                mime_type=page.mime_type,
                file_name=keys.open("file_name", page.file_name) if page.file_name is not None else None,
                telegram_file_id=page.telegram_file_id,
            ),
            page.content_id or "",
        )
        for page in pages
    ]


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


ORGANISING = (DocumentMoved, DocumentTypeRenamed, DocumentTypeDeleted, DocumentTypeRestored)


def organised(api: FakeApi, event: EventEnvelope) -> str:
    """Issue 12's events as the projection applies them, on the fake's plain slugs (simplified: one copy name)."""
    payload = event.payload
    if isinstance(payload, DocumentTypeRestored):
        ids = api.deleted_with.pop(str(payload.deletion_event_id), [])
        for document_id in ids:
            api.docs[document_id].status = "live"
        return Effect.type_restored if ids else Effect.ignored_nothing_to_restore
    if isinstance(payload, DocumentMoved):
        return _moved(api, event.owner_id, payload)
    assert isinstance(payload, (DocumentTypeRenamed, DocumentTypeDeleted))
    return _type_changed(api, event, payload)


def _moved(api: FakeApi, owner: int, payload: DocumentMoved) -> str:
    doc = api.docs.get(str(payload.document_id))
    if doc is None or doc.owner_id != owner or doc.status != "live":
        return Effect.ignored_unknown
    title = TEST_PEOPLE[owner].open("type_title", payload.type_title)
    slug = type_slug(title)
    if slug == doc.type_slug:
        return Effect.ignored_same_type
    there = [d for d in api.docs.values() if d.owner_id == owner and d.type_slug == slug]
    taken = any(d.status == "live" and name_key(d.name) == name_key(doc.name) for d in there)
    doc.type_slug, doc.type_title = slug, there[0].type_title if there else title
    doc.name = f"{doc.name} (2)" if taken else doc.name
    return Effect.moved_renamed if taken else Effect.moved


def _type_changed(api: FakeApi, event: EventEnvelope, payload: DocumentTypeRenamed | DocumentTypeDeleted) -> str:
    keys = TEST_PEOPLE[event.owner_id]
    mine = [d for d in api.docs.values() if d.owner_id == event.owner_id]
    plain = {keys.keyed(TYPE, d.type_slug): d.type_slug for d in mine}.get(payload.type_slug)
    if plain is None:
        return Effect.ignored_unknown_type
    of_type = [d for d in mine if d.type_slug == plain]
    if isinstance(payload, DocumentTypeDeleted):
        api.deleted_with[str(event.event_id)] = [d.document_id for d in of_type if d.status == "live"]
        for doc in of_type:
            doc.status = "deleted"
        return Effect.type_deleted
    title = keys.open("type_title", payload.type_title)
    if any(d.type_slug == type_slug(title) != plain and d.status == "live" for d in mine):
        return Effect.type_rename_conflict
    for doc in of_type:
        doc.type_slug, doc.type_title = type_slug(title), title
    return Effect.type_renamed
