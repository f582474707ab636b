"""Upload: the request body goes to S3 as it arrives, encrypted, while its keyed content id and size are computed.

Every new object is encrypted under its owner's key in segments (``service_kit.segments``: the object's key is
bound to the random object id in its header, so Range reads decrypt only what they touch). Its identity is the
person's keyed content hash (``PersonKeys.content_hasher``), never a plain hash: equal files of one person get
the same content id (per-person deduplication), and nobody without the key can tell what a file is. Only an upload
stored in the clear (``ENCRYPT_UPLOADS`` off: a v1 object, as before issue 11) is named by its plain ``sha256``.

The object key is ``owners/<owner_id>/<content id>`` (never from user text), but the id is known only at the
end. So:

* a body that fits in one part (``UPLOAD_PART_BYTES``) is hashed and sealed in memory first and written once,
  straight to its final key, or not at all when that key already holds the same content (any object under the
  key is a complete encryption of the same bytes under the same person's key: a forgotten key's ids differ);
* a larger body streams as a multipart upload to a staging key (``staging/<owner_id>/<random>``) and
  is then copied server-side to its final key and the staging object removed.

Memory stays bounded by a few parts whatever the file size (the sealer holds one 64 KiB segment). If the body
is too large, the client goes away or S3 fails, the multipart upload is aborted and the staging object
removed: nothing is left half-written under ``owners/``. Once the content id and size are known, and before
anything is put under ``owners/``, the caller's admission check runs (the storage limits, ``api.files.quota``):
what it raises leaves nothing new there either.
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

from service_kit.crypto import KEYED_HASH_HEX, PersonKeys
from service_kit.s3 import ObjectStore, StorageUnavailable
from service_kit.segments import SegmentSealer

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
class Content:
    """What an upload turned out to be: its plaintext size and identities (known once the body has arrived)."""

    size: int
    content_id: str | None  # the keyed content hash (encrypted uploads)
    sha256: str | None  # the plain hash: unencrypted uploads only (v1 objects)

    @property
    def key(self) -> str:
        """What names the object in S3: the keyed content id, or the sha256 of an unencrypted upload."""
        identity = self.content_id or self.sha256
        assert identity is not None, "an upload has a content id or a sha256"
        return identity


@dataclass(frozen=True)
class StoredObject:
    object_key: str
    content: Content
    mime_type: str
    encrypted: bool


def object_key(owner_id: int, content_key: str) -> str:
    return f"owners/{owner_id}/{content_key}"


def staging_key(owner_id: int) -> str:
    return f"staging/{owner_id}/{uuid.uuid4().hex}"


@dataclass(frozen=True)
class Sealing:
    """How an upload is stored: encrypted under ``keys`` (or in the clear, as a v1 object named by its plain
    sha256, when ``keys`` is None: only the price-of-encryption benchmark does that)."""

    keys: PersonKeys | None


class Intake:
    """What the body becomes on its way to S3: counted (enforcing the size limit as bytes arrive), hashed, and
    sealed in segments. ``add`` and ``finish`` return the bytes to store."""

    def __init__(self, max_bytes: int, sealing: Sealing) -> None:
        keys = sealing.keys
        self._max_bytes = max_bytes
        self._keyed = keys.content_hasher() if keys else None
        self._sha256 = hashlib.sha256() if keys is None else None
        self._sealer = SegmentSealer(keys.file_key) if keys else None
        self.size = 0

    @property
    def encrypted(self) -> bool:
        return self._sealer is not None

    def add(self, chunk: bytes) -> bytes:
        self.size += len(chunk)
        if self.size > self._max_bytes:
            raise UploadTooLarge(self._max_bytes)
        for running in (self._keyed, self._sha256):
            if running is not None:
                running.update(chunk)
        return self._sealer.feed(chunk) if self._sealer else chunk

    def finish(self) -> bytes:
        return self._sealer.finish() if self._sealer else b""

    def content(self) -> Content:
        content_id = self._keyed.hexdigest()[:KEYED_HASH_HEX] if self._keyed else None
        return Content(self.size, content_id, self._sha256.hexdigest() if self._sha256 else None)


async def read_batch(body: AsyncIterator[bytes], intake: Intake, at_least: int) -> tuple[bytes, bool]:
    """At least ``at_least`` bytes to store (fewer only at the end of the body), and whether the body ended:
    then the batch includes what the sealer still held (the last segment)."""
    batch = bytearray()
    while len(batch) < at_least:
        chunk = await anext(body, None)
        if chunk is None:
            batch += intake.finish()
            return bytes(batch), True
        batch += intake.add(chunk)
    return bytes(batch), False


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
    """One upload on its way: where it goes, the rest of its body, what it becomes on the way, how to store it."""

    store: ObjectStore
    owner_id: int
    body: AsyncIterator[bytes]
    intake: Intake
    media_type: str
    limits: UploadLimits


async def _feed(send: MemoryObjectSendStream[bytes], first: bytes, upload: Incoming) -> None:
    await send.send(first)
    ended = False
    while not ended:
        batch, ended = await read_batch(upload.body, upload.intake, BATCH_BYTES)
        if batch:
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


async def _store_large(upload: Incoming, first: bytes, admit: Callable[[Content], Awaitable[Admitted]]) -> Admitted:
    staged = staging_key(upload.owner_id)
    try:
        await _stream_to(staged, first, upload)
        admitted = await admit(upload.intake.content())
    except BaseException:
        await _remove_quietly(upload.store, staged)  # a single-part put may have completed before the failure
        raise
    await _publish_staged(upload.store, staged, object_key(upload.owner_id, upload.intake.content().key))
    return admitted


async def store_upload(
    store: ObjectStore,
    owner_id: int,
    body: AsyncIterator[bytes],
    media_type: str,
    limits: UploadLimits,
    sealing: Sealing,
    admit: Callable[[Content], Awaitable[Admitted]],
) -> tuple[StoredObject, Admitted]:
    """Store the body under its owner and content key once ``admit(content)`` returned; raises
    ``UploadTooLarge``, ``EmptyUpload`` or what ``admit`` raises, with nothing new under ``owners/``."""
    intake = Intake(limits.max_bytes, sealing)
    first, ended = await read_batch(body, intake, limits.part_bytes + 1)
    if intake.size == 0:
        raise EmptyUpload("the file is empty")
    if ended:
        admitted = await admit(intake.content())
        await _store_small(store, object_key(owner_id, intake.content().key), first, media_type)
    else:
        admitted = await _store_large(Incoming(store, owner_id, body, intake, media_type, limits), first, admit)
    content = intake.content()
    return StoredObject(object_key(owner_id, content.key), content, media_type, intake.encrypted), admitted
