"""Download: a document's bytes streamed from S3 to the client, whole or as one ``Range``, decrypted by segment.

Chunks are read from S3 in a worker thread and written as the client takes them (uvicorn applies
backpressure), so memory does not grow with the file. The S3 response is closed however the
transfer ends, including a client that goes away mid-file.

An encrypted object (``file.encrypted``, ``service_kit.segments``) is read from its header and only the
segments the range touches; each segment is authenticated before any of its bytes leave. The first chunk is
decrypted before the status line is sent, so an object that is tampered with, truncated or another person's
is answered ``502 broken_ciphertext``; a segment further on that fails ends the transfer short of its
``Content-Length`` (the client sees a broken download, never bytes that did not authenticate). Both are
logged with ids only and counted (``docvault_broken_ciphertext_total{store="s3"}``). v1 objects (stored
in the clear before encryption) are served as they are.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace

from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from api.core.errors import ApiError, error_response, not_found
from api.documents.queries import StoredDocument
from api.files.headers import content_disposition, download_file_name, is_inline, opened_text, response_media_type
from api.files.ranges import ByteRange, RangeNotSatisfiable, parse_range, unsatisfied_range
from service_kit.crypto import BrokenCiphertext, PersonKeys
from service_kit.keystore import KeyStore
from service_kit.metrics import BROKEN_CIPHERTEXT_TOTAL
from service_kit.s3 import ObjectMissing, ObjectReader, ObjectStore
from service_kit.segments import (
    HEADER_BYTES,
    SEALED_SEGMENT_BYTES,
    CipherRange,
    Header,
    SegmentOpener,
    cipher_range,
    whole_file,
)

log = logging.getLogger(__name__)
Chunk = bytes | memoryview  # a decrypted chunk is a view of the buffer its segments were opened into
# Per-chunk costs (a thread hop, an ASGI message, h11 framing) dominate at small chunks: 4 MiB measured
# 73-85 % of a direct S3 GET against 68-76 % at 1 MiB (before encryption). With one chunk read ahead a download
# holds about 5 chunk-sized buffers (20 MiB): the one sent, h11's copy and the socket's rest, the sealed and the
# opened bytes of the next.
CHUNK_BYTES = 4 * 1024 * 1024
SEALED_CHUNK_BYTES = CHUNK_BYTES // SEALED_SEGMENT_BYTES * SEALED_SEGMENT_BYTES  # whole segments, about as much


class ClosingStreamResponse(StreamingResponse):
    """Streams ``body`` and calls ``close`` however the transfer ends (a client gone mid-way included)."""

    def __init__(
        self,
        body: AsyncIterator[Chunk],
        status_code: int,
        headers: dict[str, str],
        close: Callable[[], Awaitable[None]],
    ) -> None:
        super().__init__(body, status_code=status_code, headers=headers)
        self._close = close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._close()


class ObjectStreamResponse(ClosingStreamResponse):
    """Streams ``body`` (read from ``reader``) and closes the S3 response however the transfer ends."""

    def __init__(
        self, reader: ObjectReader, body: AsyncIterator[Chunk], status_code: int, headers: dict[str, str]
    ) -> None:
        super().__init__(body, status_code, headers, reader.close)


def _as_read(data: bytes) -> bytes:
    return data


async def _chunks(reader: ObjectReader) -> AsyncIterator[Chunk]:
    async for chunk in reader.read_ahead(CHUNK_BYTES, _as_read):
        yield chunk


async def _decrypted(reader: ObjectReader, opener: SegmentOpener) -> AsyncIterator[Chunk]:
    """The plaintext of the range, a chunk per read of whole segments (the reads start at a segment boundary),
    each decrypted in the thread that read it, the next chunk read and decrypted while this one is sent."""
    async for plain in reader.read_ahead(SEALED_CHUNK_BYTES, opener.open):
        if plain:
            yield plain
    opener.finish()


def _refused(document: StoredDocument, error: BrokenCiphertext) -> None:
    """Log (ids only: the message names a segment and an object id) and count a refused object."""
    BROKEN_CIPHERTEXT_TOTAL.labels(store="s3").inc()
    log.error(
        "a stored file does not authenticate; not served",
        extra={
            "owner_id": document.owner_id,
            "document_id": document.detail.document_id,
            "key": document.file.object_key,
            "reason": str(error),
        },
    )


def _broken(document: StoredDocument, error: BrokenCiphertext) -> ApiError:
    _refused(document, error)
    return ApiError(502, "broken_ciphertext", "the stored file is damaged and cannot be served")


def page_of(document: StoredDocument, page: int) -> StoredDocument:
    """The document as it serves its page ``page`` (1: the first): that page's file, named as the API opened it;
    404 ``page_not_found`` past its last page."""
    if page == 1:
        return document
    if page > document.detail.page_count:
        raise not_found("page")
    opened_name = document.detail.more_pages[page - 2].file_name
    return replace(document, file=document.more_pages[page - 2].model_copy(update={"file_name": opened_name}))


def file_name_for(document: StoredDocument, keys: PersonKeys | None) -> str:
    """The download's file name: the opened original file name, else the (opened) document name."""
    media_type = response_media_type(document.file.mime_type)
    file_name = opened_text(keys, "file_name", document.file.file_name)
    return download_file_name(file_name, opened_text(keys, "name", document.detail.name) or "", media_type)


def file_headers(document: StoredDocument, byte_range: ByteRange | None, file_name: str) -> dict[str, str]:
    """Headers of a 200 or 206 answer; every value built from stored data passes a sanitizer."""
    media_type = response_media_type(document.file.mime_type)
    headers = {
        "Content-Type": media_type,
        "Content-Disposition": content_disposition(file_name, inline=is_inline(media_type)),
        "Content-Length": str(byte_range.length if byte_range else document.file.size),
        "Accept-Ranges": "bytes",
        "ETag": f'"{document.file.content_id or document.file.sha256}"',
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-cache",
    }
    if byte_range is not None:
        headers["Content-Range"] = byte_range.content_range(document.file.size)
    return headers


def _checked_range(document: StoredDocument, range_header: str | None) -> ByteRange | None:
    if not document.downloadable:
        raise ApiError(410, "document_deleted", "the document was deleted; restore it to get the file")
    try:
        return parse_range(range_header, document.file.size)
    except RangeNotSatisfiable as error:
        raise ApiError(416, "range_not_satisfiable", str(error), {"Content-Range": unsatisfied_range(error.size)})


async def _open(files: ObjectStore, document: StoredDocument, start: int = 0, length: int = 0) -> ObjectReader:
    """A GET of ``length`` stored bytes from ``start`` (0 and 0: the whole object)."""
    try:
        return await files.open(document.file.object_key, start, length)
    except ObjectMissing:
        log.error("a document's file is missing from S3", extra={"key": document.file.object_key})
        raise ApiError(404, "file_missing", "the document's file is not in storage") from None


async def _serve_plain(
    files: ObjectStore, document: StoredDocument, byte_range: ByteRange | None, headers: dict[str, str]
) -> Response:
    """A v1 object: the stored bytes are the file."""
    if byte_range is None:
        reader = await _open(files, document)
    else:
        reader = await _open(files, document, byte_range.start, byte_range.length)
    if reader.length != int(headers["Content-Length"]):
        # The read model and the bytes disagree: sending would break Content-Length mid-transfer.
        await reader.close()
        log.error("stored object size differs from the read model", extra={"key": document.file.object_key})
        return error_response(500, "file_size_mismatch", "the stored file does not match its record")
    return ObjectStreamResponse(reader, _chunks(reader), 206 if byte_range else 200, headers)


async def _stored_header(files: ObjectStore, document: StoredDocument) -> Header:
    reader = await _open(files, document, 0, HEADER_BYTES)
    try:
        return Header.parse(await reader.read(HEADER_BYTES + 1))
    finally:
        await reader.close()


def _expect_length(reader: ObjectReader, expected: int) -> None:
    if reader.length != expected:
        raise BrokenCiphertext(f"the object holds {reader.length} of the {expected} bytes expected here")


async def _opened_from(
    files: ObjectStore, document: StoredDocument, wanted: CipherRange, whole: bool
) -> tuple[ObjectReader, Header]:
    """The GET of the stored bytes of ``wanted`` (length checked), positioned at its first segment, and the
    object's header. From the first segment the header comes with them (one GET); further on it is read first."""
    from_start = wanted.first_segment == 0
    header = None if from_start else await _stored_header(files, document)
    expected = wanted.stored_end + 1 if from_start else wanted.stored_end - wanted.stored_start + 1
    reader = await _open(files, document, 0 if from_start else wanted.stored_start, 0 if whole else expected)
    try:
        _expect_length(reader, expected)
        return reader, header or Header.parse(await reader.read(HEADER_BYTES))
    except BaseException:
        await reader.close()
        raise


@dataclass
class Decrypting:
    """An encrypted download under way: the S3 response, and the plaintext (its first chunk already opened)."""

    reader: ObjectReader
    first: Chunk
    rest: AsyncIterator[Chunk]

    async def body(self, document: StoredDocument) -> AsyncIterator[Chunk]:
        yield self.first
        try:
            async for chunk in self.rest:
                yield chunk
        except BrokenCiphertext as error:
            _refused(document, error)
            raise  # the server ends the response short of its Content-Length


async def _decrypting(
    files: ObjectStore, keys: PersonKeys, document: StoredDocument, wanted: CipherRange, whole: bool
) -> Decrypting:
    size = document.file.size
    try:
        reader, header = await _opened_from(files, document, wanted, whole)
    except BrokenCiphertext as error:
        raise _broken(document, error) from None
    plain = _decrypted(reader, SegmentOpener(keys.file_key, header, wanted, size))
    try:
        return Decrypting(reader, await anext(plain, b""), plain)
    except BaseException as error:
        await reader.close()
        if isinstance(error, BrokenCiphertext):
            raise _broken(document, error) from None
        raise


async def _serve_encrypted(
    files: ObjectStore,
    keys: PersonKeys | None,
    document: StoredDocument,
    byte_range: ByteRange | None,
    headers: dict[str, str],
) -> Response:
    if keys is None:  # the person was forgotten: nothing can open the object any more
        raise ApiError(404, "file_missing", "the document's file can no longer be read")
    size = document.file.size
    if byte_range is None:
        decrypting = await _decrypting(files, keys, document, whole_file(size), whole=True)
    else:
        wanted = cipher_range(byte_range.start, byte_range.end, size)
        decrypting = await _decrypting(files, keys, document, wanted, whole=False)
    return ObjectStreamResponse(decrypting.reader, decrypting.body(document), 206 if byte_range else 200, headers)


@dataclass
class FileBytes:
    """A document's whole plaintext under way: the S3 response (to close) and the chunks."""

    reader: ObjectReader
    chunks: AsyncIterator[Chunk]


async def file_bytes(files: ObjectStore, keys: PersonKeys | None, document: StoredDocument) -> FileBytes:
    """The document's whole file, decrypted by segment; ``ApiError`` (logged, counted) when it is missing, has
    another size than its record or does not authenticate, before any byte of it is given."""
    if not document.file.encrypted:
        reader = await _open(files, document)
        if reader.length != document.file.size:
            await reader.close()
            log.error("stored object size differs from the read model", extra={"key": document.file.object_key})
            raise ApiError(500, "file_size_mismatch", "the stored file does not match its record")
        return FileBytes(reader, _chunks(reader))
    if keys is None:
        raise ApiError(404, "file_missing", "the document's file can no longer be read")
    decrypting = await _decrypting(files, keys, document, whole_file(document.file.size), whole=True)
    return FileBytes(decrypting.reader, decrypting.body(document))


async def serve_file(
    files: ObjectStore, keys: KeyStore, document: StoredDocument, range_header: str | None
) -> Response:
    byte_range = _checked_range(document, range_header)
    person = await keys.get(document.owner_id) if _needs_key(document) else None
    headers = file_headers(document, byte_range, file_name_for(document, person))
    if document.file.encrypted:
        return await _serve_encrypted(files, person, document, byte_range, headers)
    return await _serve_plain(files, document, byte_range, headers)


def _needs_key(document: StoredDocument) -> bool:
    """Encrypted bytes or a sealed name (v1 documents in the clear are served without a key lookup)."""
    return document.file.encrypted or any(
        value is not None and value.startswith("s1.") for value in (document.file.file_name, document.detail.name)
    )
