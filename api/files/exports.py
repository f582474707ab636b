"""A person's export: every live document in one zip, streamed with bounded memory, with an index.

The standard library's ``zipfile`` writes into a sink that is emptied after every chunk (it sees no ``seek``, so it
streams: sizes and CRCs follow each entry in a data descriptor); a file is read from S3 and decrypted by segment
(``api.files.downloads.file_bytes``) a chunk at a time, so memory holds about one chunk whatever the archive's size.
Every page of a document is its own entry (``api.files.archive``: one file, or a folder of numbered pages). A page
that cannot be read before its first byte (missing, another size than its record, not authenticating) is
left out and its row in the index says so (no ``file``); one that fails further on ends the transfer short (the
client sees a broken download, never bytes that did not authenticate). The index comes last, listing what is in.

Exports are limited per person in each API process (``api.core.rate_limit.PersonGate``): one at a time, and
``EXPORT_RATE_PER_MINUTE`` a minute, so neither a double tap nor a loop of a broken client makes the API read a
whole vault over and over.
"""

from __future__ import annotations

import zipfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from api.core.errors import ApiError
from api.core.rate_limit import WINDOW_SECONDS, PersonGate, Refusal
from api.core.served_projection import Database
from api.documents.opening import opened_detail
from api.documents.queries import StoredDocument, live_documents
from api.files.archive import (
    INDEX_CSV,
    INDEX_JSON,
    ExportedDocument,
    ExportedPage,
    archive_paths,
    archive_size_bound,
    index_csv,
    index_json,
    index_rows,
)
from api.files.downloads import FileBytes, file_bytes, page_of
from api.files.headers import content_disposition, response_media_type
from contracts.api_schemas import EXPORT_LIMITED, NOTHING_TO_EXPORT, ExportSummary
from service_kit.crypto import PersonKeys
from service_kit.s3 import ObjectStore

ARCHIVE_MEDIA_TYPE = "application/zip"
Paths = tuple[str | None, ...]  # of a document's pages in the archive, None: not in it


_REFUSALS = {
    Refusal.BUSY: "an export of this person is already under way; wait for it to finish",
    Refusal.RATE: "too many exports of this person, retry in a minute",
}


def claim_export(gate: PersonGate, owner_id: int) -> None:
    """Hold the person's export slot (``gate.release`` it when done), or 429 ``export_limited``."""
    refusal = gate.claim(owner_id)
    if refusal is not None:
        raise ApiError(429, EXPORT_LIMITED, _REFUSALS[refusal], {"Retry-After": str(int(WINDOW_SECONDS))})


@dataclass(frozen=True)
class Vault:
    """A person's live documents as stored (to read their files) and as the archive lists them (opened)."""

    keys: PersonKeys
    stored: Sequence[StoredDocument]
    listed: Sequence[ExportedDocument]


def exported(keys: PersonKeys, document: StoredDocument) -> ExportedDocument:
    detail = opened_detail(keys, document.detail)
    first = ExportedPage(detail.size, response_media_type(detail.mime_type), detail.file_name)
    more = (ExportedPage(page.size, response_media_type(page.mime_type), page.file_name) for page in detail.more_pages)
    return ExportedDocument(
        document_id=detail.document_id,
        type_title=detail.type_title,
        name=detail.name,
        created_at=detail.created_at,
        pages=(first, *more),
    )


async def load_vault(db: Database, keys: PersonKeys | None, owner_id: int) -> Vault | None:
    """The person's live documents, opened; None when there are none (or no key: never stored, or forgotten)."""
    if keys is None:
        return None
    stored = await live_documents(db, owner_id)
    if not stored:
        return None
    return Vault(keys, stored, [exported(keys, document) for document in stored])


async def required_vault(db: Database, keys: PersonKeys | None, owner_id: int) -> Vault:
    vault = await load_vault(db, keys, owner_id)
    if vault is None:
        raise ApiError(404, NOTHING_TO_EXPORT, "the person has no live documents to export")
    return vault


def summary(vault: Vault | None) -> ExportSummary:
    if vault is None:
        return ExportSummary(documents=0, bytes=0, archive_bytes_max=0)
    return ExportSummary(
        documents=len(vault.listed),
        bytes=sum(document.size for document in vault.listed),  # every page's
        archive_bytes_max=archive_size_bound(vault.listed),
    )


def archive_headers(now: datetime) -> dict[str, str]:
    name = f"docvault-export-{now:%Y-%m-%d}.zip"
    return {
        "Content-Type": ARCHIVE_MEDIA_TYPE,
        "Content-Disposition": content_disposition(name, inline=False),
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }


class _Sink:
    """What ``zipfile`` writes, kept until drained (no ``seek`` or ``tell``: zipfile streams)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def drain(self) -> bytes:
        out = b"".join(self._parts)
        self._parts.clear()
        return out


def _entry(path: str, size: int, when: datetime) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(path, date_time=when.astimezone(UTC).timetuple()[:6])
    info.compress_type = zipfile.ZIP_STORED
    info.file_size = size  # zipfile decides on zip64 from it
    info.external_attr = 0o644 << 16
    return info


async def _entry_chunks(
    archive: zipfile.ZipFile, sink: _Sink, source: FileBytes, path: str, page: StoredDocument
) -> AsyncIterator[bytes]:
    """One page's file as the entry ``path``, as it is read and decrypted, a chunk at a time."""
    try:
        with archive.open(_entry(path, page.file.size, page.detail.created_at), "w") as entry:
            async for chunk in source.chunks:
                entry.write(chunk)
                yield sink.drain()
    finally:
        await source.reader.close()


async def _document_chunks(
    files: ObjectStore,
    archive: zipfile.ZipFile,
    sink: _Sink,
    vault: Vault,
    stored: StoredDocument,
    paths: tuple[str, ...],
    included: list[str | None],
) -> AsyncIterator[bytes]:
    """Every page of ``stored`` as its entry, a chunk at a time, each page's path in the archive appended to
    ``included`` once it is in, None for a page that cannot be read before its first byte (left out; logged and
    counted where it was found)."""
    for number, path in enumerate(paths, 1):
        page = page_of(stored, number)
        try:
            source = await file_bytes(files, vault.keys, page)
        except ApiError:
            included.append(None)
            continue
        async for chunk in _entry_chunks(archive, sink, source, path, page):
            yield chunk
        included.append(path)


async def archive_chunks(files: ObjectStore, vault: Vault, now: datetime) -> AsyncIterator[bytes]:
    """The zip of ``vault``, every page of every document, a chunk at a time (each about one file chunk), the index
    last, saying which pages are in."""
    sink = _Sink()
    archive = zipfile.ZipFile(sink, "w", zipfile.ZIP_STORED, allowZip64=True)
    included: list[Paths] = []
    for stored, paths in zip(vault.stored, archive_paths(vault.listed), strict=True):
        pages: list[str | None] = []
        async for chunk in _document_chunks(files, archive, sink, vault, stored, paths, pages):
            yield chunk
        included.append(tuple(pages))
    rows = index_rows(vault.listed, included)
    for name, data in ((INDEX_JSON, index_json(rows)), (INDEX_CSV, index_csv(rows))):
        archive.writestr(_entry(name, len(data), now), data)
    archive.close()
    yield sink.drain()
