"""Upload: the request body goes to S3 as it arrives, while its sha256 and size are computed.

The object key is ``owners/<owner_id>/<sha256>`` (content-addressed per owner, never from user text),
but the hash is known only at the end. So:

* a body that fits in one part (``UPLOAD_PART_BYTES``) is hashed in memory first and written once,
  straight to its final key, or not at all when that key already holds the same bytes;
* a larger body streams as a multipart upload to a staging key (``staging/<owner_id>/<random>``) and
  is then copied server-side to its final key and the staging object removed.

Memory stays bounded by a few parts whatever the file size. If the body is too large, the client
goes away or S3 fails, the multipart upload is aborted and the staging object removed: nothing is
left half-written under ``owners/``. Once the hash and size are known, and before anything is put
under ``owners/``, the caller's admission check runs (the storage limits, ``api.files.quota``): what it
raises leaves nothing new there either.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import anyio
import anyio.from_thread
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from service_kit.s3 import ObjectStore, StorageUnavailable

log = logging.getLogger(__name__)
BATCH_BYTES = 1024 * 1024  # what the event loop hands to the uploading thread at a time
Admitted = TypeVar("Admitted")


class UploadTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"the file is larger than the limit of {limit} bytes")
        self.limit = limit


class EmptyUpload(Exception):
    pass


class UploadAborted(Exception):
    """Raised inside the S3 SDK's read loop so that it aborts the multipart upload."""


@dataclass(frozen=True)
class UploadLimits:
    max_bytes: int
    part_bytes: int
    parallel_parts: int


@dataclass(frozen=True)
class StoredObject:
    object_key: str
    sha256: str
    size: int
    mime_type: str


def object_key(owner_id: int, sha256: str) -> str:
    return f"owners/{owner_id}/{sha256}"


def staging_key(owner_id: int) -> str:
    return f"staging/{owner_id}/{uuid.uuid4().hex}"


class Digest:
    """Running sha256 and size of the body, enforcing the size limit as bytes arrive."""

    def __init__(self, max_bytes: int) -> None:
        self._hash = hashlib.sha256()
        self._max_bytes = max_bytes
        self.size = 0

    def add(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self._max_bytes:
            raise UploadTooLarge(self._max_bytes)
        self._hash.update(chunk)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


async def read_batch(body: AsyncIterator[bytes], digest: Digest, at_least: int) -> bytes:
    """At least ``at_least`` bytes of the body (fewer only at its end), hashed and counted."""
    batch = bytearray()
    while len(batch) < at_least:
        chunk = await anext(body, None)
        if chunk is None:
            break
        digest.add(chunk)
        batch += chunk
    return bytes(batch)


class ChannelReader:
    """The file-like object the SDK reads in its worker thread, fed batch by batch from the event loop."""

    def __init__(self, receive: MemoryObjectReceiveStream[bytes]) -> None:
        self._receive = receive
        self._buffer = memoryview(b"")
        self.complete = False  # set by the feeder before it closes the channel after the last batch

    def _refill(self) -> bool:
        """Wait for the next batch; ``False`` at the end of a complete body."""
        try:
            self._buffer = memoryview(anyio.from_thread.run(self._receive.receive))
        except anyio.EndOfStream:
            if self.complete:
                return False
            raise UploadAborted("the request body did not arrive completely") from None
        return True

    def read(self, size: int = -1) -> bytes:
        """Exactly ``size`` bytes (fewer only at the end). The SDK asks for a whole part and appends what
        it gets to what it has: answering in one piece spares it a quadratic series of copies."""
        pieces: list[memoryview] = []
        wanted = size if size >= 0 else 1 << 62
        while wanted > 0 and (self._buffer or self._refill()):
            piece, self._buffer = self._buffer[:wanted], self._buffer[wanted:]
            pieces.append(piece)
            wanted -= len(piece)
        return b"".join(pieces)


@dataclass(frozen=True)
class Incoming:
    """One upload on its way: where it goes, the rest of its body, its running digest, how to store it."""

    store: ObjectStore
    owner_id: int
    body: AsyncIterator[bytes]
    digest: Digest
    media_type: str
    limits: UploadLimits


async def _feed(send: MemoryObjectSendStream[bytes], first: bytes, upload: Incoming) -> None:
    await send.send(first)
    while batch := await read_batch(upload.body, upload.digest, BATCH_BYTES):
        await send.send(batch)


async def _stream_to(key: str, first: bytes, upload: Incoming) -> None:
    """Multipart-upload ``first`` and the rest of the body to ``key``; aborted on any failure."""
    send, receive = anyio.create_memory_object_stream[bytes](max_buffer_size=1)
    reader = ChannelReader(receive)
    limits = upload.limits

    async def put() -> None:
        try:
            await upload.store.put_stream(key, reader, upload.media_type, limits.part_bytes, limits.parallel_parts)
        finally:
            receive.close()  # wakes a feeder blocked on a full channel once the uploader has stopped

    uploading = asyncio.create_task(put())
    try:
        await _feed(send, first, upload)
        reader.complete = True
    except anyio.BrokenResourceError:
        pass  # the uploader stopped reading: awaiting it below raises its own error
    except BaseException:
        send.close()
        await asyncio.gather(uploading, return_exceptions=True)  # let the SDK abort the multipart upload
        raise
    send.close()
    await uploading


async def _remove_quietly(store: ObjectStore, key: str) -> None:
    try:
        await store.remove(key)
    except StorageUnavailable:
        # Only a staging object is ever removed here; a bucket lifecycle rule on staging/ collects it.
        log.warning("staging object not removed", extra={"key": key})


async def _publish_staged(store: ObjectStore, staged: str, final: str) -> None:
    """Move the staged object to its content key unless that already holds the same bytes."""
    try:
        if await store.stat(final) is None:
            await store.copy(staged, final)
    finally:
        await _remove_quietly(store, staged)


async def _store_small(store: ObjectStore, key: str, data: bytes, media_type: str) -> None:
    if await store.stat(key) is None:
        await store.put_bytes(key, data, media_type)


async def _store_large(upload: Incoming, first: bytes, admit: Callable[[str, int], Awaitable[Admitted]]) -> Admitted:
    staged, digest = staging_key(upload.owner_id), upload.digest
    try:
        await _stream_to(staged, first, upload)
        admitted = await admit(digest.hexdigest(), digest.size)
    except BaseException:
        await _remove_quietly(upload.store, staged)  # a single-part put may have completed before the failure
        raise
    await _publish_staged(upload.store, staged, object_key(upload.owner_id, digest.hexdigest()))
    return admitted


async def store_upload(
    store: ObjectStore,
    owner_id: int,
    body: AsyncIterator[bytes],
    media_type: str,
    limits: UploadLimits,
    admit: Callable[[str, int], Awaitable[Admitted]],
) -> tuple[StoredObject, Admitted]:
    """Store the body under its owner and content hash once ``admit(sha256, size)`` returned; raises
    ``UploadTooLarge``, ``EmptyUpload`` or what ``admit`` raises, with nothing new under ``owners/``."""
    digest = Digest(limits.max_bytes)
    first = await read_batch(body, digest, limits.part_bytes + 1)
    if not first:
        raise EmptyUpload("the file is empty")
    if len(first) <= limits.part_bytes:
        admitted = await admit(digest.hexdigest(), digest.size)
        await _store_small(store, object_key(owner_id, digest.hexdigest()), first, media_type)
    else:
        admitted = await _store_large(Incoming(store, owner_id, body, digest, media_type, limits), first, admit)
    return StoredObject(object_key(owner_id, digest.hexdigest()), digest.hexdigest(), digest.size, media_type), admitted
