"""Saving a document: upload the person's file (or every page of an album, each an S3 object of its own) to the API,
have the API seal the typed texts (``POST /seal``), then append the v3 ``document.added`` (the bot holds no key:
every personal text in the event is sealed). Pages added to a saved document are one ``document.page_added``.

``DocumentSaver.save`` returns what happened as a value the add dialog renders; it knows nothing of Telegram
updates or the dialog state. "Saved" only once the broker confirmed the append; every failure leaves the
dialog's answers, the file and the attempt's ids in the caller's hands, so "Try again" resends the same event.
An album's duplicate is decided by the processor, so after its add the bot reads the effect back
(``bot.services.read_back``) and says "already kept" as for a single file the upload named a duplicate.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Awaitable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from bot.clients.api_client import ApiRejected, ApiUnavailable, DocumentsApi, QuotaExceeded
from bot.clients.telegram_files import FileTooBig, TelegramDownloadFailed
from bot.services.event_recorder import EventRecorder
from bot.services.limits import EventBudgetSpent
from bot.services.read_back import document_after, document_or_none
from contracts.api_schemas import SealedTexts, SealRequest, StorageUsage, UploadedFile
from contracts.effects import Effect
from contracts.events import DocumentAddedV3, DocumentPageAdded, StoredFile
from service_kit.eventlog import EventLogUnavailable

log = logging.getLogger(__name__)
INVALID_FILE_NAME = "invalid_file_name"  # the API's code for a name that is empty once cleaned
# The API's codes for a typed text that is empty or too long once cleaned (the bot checks the same rules first).
INVALID_TEXTS = {"invalid_name": "name", "invalid_type_title": "type"}


@dataclass(frozen=True)
class IncomingFile:
    """A file a person sent, as the dialog keeps it in its state between steps."""

    file_id: str
    file_unique_id: str
    file_name: str | None
    mime_type: str
    size: int | None
    is_photo: bool = False

    def to_state(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_state(cls, data: dict[str, Any] | None) -> IncomingFile | None:
        return cls(**data) if data else None


@dataclass(frozen=True)
class SaveAttempt:
    """The ids of one "add document": made at the first attempt and kept in the dialog state for retries.

    An append that failed may have been stored anyway (its confirm was lost); the retry sends the same event
    id and document id, so the processor applies it once and the person gets one document.
    """

    document_id: uuid.UUID
    event_id: uuid.UUID

    @classmethod
    def from_state(cls, raw: Any) -> SaveAttempt:
        try:
            return cls(uuid.UUID(raw["document_id"]), uuid.UUID(raw["event_id"]))
        except (TypeError, KeyError, ValueError):
            return cls(uuid.uuid4(), uuid.uuid4())

    def to_state(self) -> dict[str, str]:
        return {"document_id": str(self.document_id), "event_id": str(self.event_id)}


@dataclass(frozen=True)
class Draft:
    """What the add dialog collected: the document to save."""

    type_slug: str
    type_title: str
    name: str
    file: IncomingFile
    attempt: SaveAttempt
    more: tuple[IncomingFile, ...] = ()  # the album's other pages, in order


@dataclass(frozen=True)
class PagesAdded:
    """``document.page_added`` was confirmed: ``count`` pages were sent to be added."""

    count: int


@dataclass(frozen=True)
class Saved:
    document_id: str
    name: str
    type_title: str


@dataclass(frozen=True)
class Duplicate:
    """The same bytes are already this live document of the person's: nothing was appended (a single file, told by
    the upload), or the processor kept the album as a duplicate of it (the same pages in order, told by the
    event's effect)."""

    document_id: str
    name: str
    type_title: str
    album: bool = False


@dataclass(frozen=True)
class Rejected:
    """The file could not be taken from Telegram (too big for the download limit, or the download failed)."""

    too_big: bool


@dataclass(frozen=True)
class Unavailable:
    """The API or the event log did not answer; the attempt may be retried as it is."""

    reason: str


@dataclass(frozen=True)
class QuotaReached:
    usage: StorageUsage | None


@dataclass(frozen=True)
class OverBudget:
    minutes_left: int


@dataclass(frozen=True)
class TextRefused:
    """The API found the typed name or type title empty or too long once cleaned: ``problem`` is the locale key
    the bot's own check would have used (``name.empty``, ``type.too_long``...)."""

    problem: str


def refused_text(error: ApiRejected) -> TextRefused | None:
    """Pure: the typed-text problem a 422 ``invalid_name`` / ``invalid_type_title`` reports, None for any other."""
    kind = INVALID_TEXTS.get(error.code)
    if kind is None:
        return None
    return TextRefused(f"{kind}.too_long" if "too long" in error.message else f"{kind}.empty")


SaveResult = Saved | Duplicate | Rejected | Unavailable | QuotaReached | OverBudget | TextRefused
PagesResult = PagesAdded | Rejected | Unavailable | QuotaReached | OverBudget


class FileSource(Protocol):
    """Where the person's file is read from (``bot.clients.telegram_files.TelegramFiles``)."""

    async def open(self, file_id: str) -> AsyncIterator[bytes]: ...


class DocumentSaver:
    def __init__(self, api: DocumentsApi, recorder: EventRecorder) -> None:
        self._api = api
        self._recorder = recorder

    async def save(self, owner_id: int, draft: Draft, files: FileSource) -> SaveResult:
        """Upload the file (every page), then append ``document.added`` with the attempt's ids."""
        result = await self._guarded(self._upload_and_record(owner_id, draft, files))
        assert not isinstance(result, PagesAdded)
        return result

    async def add_pages(
        self, owner_id: int, document_id: str, pages: list[IncomingFile], files: FileSource
    ) -> PagesResult:
        """Upload ``pages`` as later pages of a saved document, then append one ``document.page_added``."""
        result = await self._guarded(self._upload_pages(owner_id, document_id, pages, files))
        assert not isinstance(result, (Saved, Duplicate, TextRefused))  # uploads of pages seal no typed text
        return result

    async def _upload_pages(
        self, owner_id: int, document_id: str, pages: list[IncomingFile], files: FileSource
    ) -> PagesAdded:
        stored = [stored_file(await self._upload(owner_id, page, files, page=True), page) for page in pages]
        await self._recorder.record(owner_id, DocumentPageAdded(document_id=uuid.UUID(document_id), pages=stored))
        return PagesAdded(len(stored))

    async def _guarded(self, work: Awaitable[SaveResult | PagesAdded]) -> SaveResult | PagesAdded:
        """``work``'s result, or what went wrong as a value the dialog renders."""
        try:
            return await work
        except (FileTooBig, TelegramDownloadFailed) as error:
            return Rejected(too_big=isinstance(error, FileTooBig))
        except QuotaExceeded as error:
            return QuotaReached(error.usage)
        except EventBudgetSpent as error:
            return OverBudget(error.minutes_left)
        except ApiRejected as error:
            refused = refused_text(error)
            if refused is None:
                raise
            return refused
        except (ApiUnavailable, EventLogUnavailable) as error:
            log.warning("saving a document failed", extra={"error": repr(error)})
            return Unavailable(type(error).__name__)

    async def _upload_and_record(self, owner_id: int, draft: Draft, files: FileSource) -> Saved | Duplicate:
        uploaded = await self._upload(owner_id, draft.file, files)
        existing = uploaded.duplicate_of
        # An album is a duplicate only of the same pages in order: the processor decides (pages_content_key).
        if existing is not None and not draft.more and is_other_document(uploaded, draft.attempt):
            return Duplicate(existing.document_id, existing.name, existing.type_title)
        more = [stored_file(await self._upload(owner_id, page, files, page=True), page) for page in draft.more]
        sealed = await self._api.seal(owner_id, SealRequest(name=draft.name, type_title=draft.type_title))
        payload = added_event(draft, sealed, stored_file(uploaded, draft.file), more)
        await self._recorder.record(owner_id, payload, event_id=draft.attempt.event_id)
        assert sealed.name is not None and sealed.type_title is not None  # added_event checked
        saved = Saved(str(payload.document_id), sealed.name.cleaned, sealed.type_title.cleaned)
        return await self._album_outcome(owner_id, draft, saved) if draft.more else saved

    async def _album_outcome(self, owner_id: int, draft: Draft, saved: Saved) -> Saved | Duplicate:
        """What the processor made of an album's add: a duplicate of a live album with the same pages in order is
        named as the single-file save names one; otherwise (or when that is not known in time) it is saved."""
        applied = await document_after(self._api, owner_id, saved.document_id, str(draft.attempt.event_id))
        if applied is None or applied.effect != Effect.created_duplicate or applied.document.duplicate_of is None:
            return saved
        original = await document_or_none(self._api, owner_id, applied.document.duplicate_of)
        if original is None:  # deleted meanwhile: the new one stays a duplicate of nothing live
            return saved
        return Duplicate(original.document_id, original.name, original.type_title, album=True)

    async def _upload(self, owner_id: int, file: IncomingFile, files: FileSource, page: bool = False) -> UploadedFile:
        try:
            return await self._upload_named(owner_id, file, files, file.file_name, page)
        except ApiRejected as error:
            if error.code != INVALID_FILE_NAME or file.file_name is None:
                raise
        # Nothing is left of the name once cleaned (only control characters, say): the file is kept without one.
        log.info("file name refused by the API, uploading without it")
        return await self._upload_named(owner_id, file, files, None, page)

    async def _upload_named(
        self, owner_id: int, file: IncomingFile, files: FileSource, file_name: str | None, page: bool
    ) -> UploadedFile:
        chunks = await files.open(file.file_id)
        return await self._api.upload_file(owner_id, chunks, file.mime_type, file_name, page)


def is_other_document(uploaded: UploadedFile, attempt: SaveAttempt) -> bool:
    """The same bytes are already a live document, and not the one an earlier attempt of this dialog saved."""
    existing = uploaded.duplicate_of
    return existing is not None and existing.document_id != str(attempt.document_id)


def added_event(
    draft: Draft, sealed: SealedTexts, file: StoredFile, more_pages: list[StoredFile] | None = None
) -> DocumentAddedV3:
    """The v3 ``document.added``: the texts and the keyed type slug as the API sealed them, and the pages."""
    if sealed.name is None or sealed.type_title is None or sealed.type_slug is None:
        raise ApiUnavailable("the seal answer lacks the name, the type title or the type slug")
    return DocumentAddedV3(
        document_id=draft.attempt.document_id,
        type_slug=sealed.type_slug,
        type_title=sealed.type_title.sealed,
        name=sealed.name.sealed,
        file=file,
        more_pages=more_pages or [],
    )


_AS_STORED = {"object_key", "size", "mime_type", "file_name", "content_id", "encrypted"}


def stored_file(uploaded: UploadedFile, file: IncomingFile) -> StoredFile:
    """The v2 event's file as the API stored it (its name cleaned and sealed by the API, never Telegram's raw name;
    the keyed content id; never the plain hash, even while the API still sends one), with Telegram's ids."""
    telegram = {"telegram_file_id": file.file_id, "telegram_file_unique_id": file.file_unique_id}
    return StoredFile.model_validate(uploaded.model_dump(include=_AS_STORED, exclude_none=True) | telegram)
