"""S3 (MinIO-compatible) object storage through the ``minio`` SDK: client construction and timed calls.

The SDK is blocking (urllib3), so every call runs in a worker thread from anyio's pool (the one
Starlette uses too) and never on the event loop. Failures are translated into two exceptions a
service can act on: ``ObjectMissing`` (the key is not there) and ``StorageUnavailable`` (S3 cannot
be reached, answers 5xx, or refuses: missing bucket, wrong credentials).
"""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, BinaryIO, ParamSpec, Protocol, TypeVar, cast

import anyio.to_thread
import certifi
import urllib3
from minio import Minio
from minio.commonconfig import CopySource
from minio.error import MinioException, S3Error
from urllib3.util import Retry, Timeout

from service_kit.metrics import timed
from service_kit.settings import S3Settings

P = ParamSpec("P")
R = TypeVar("R")

_MISSING_OBJECT_CODES = frozenset({"NoSuchKey", "NoSuchObject"})


class Readable(Protocol):
    """What a streamed upload reads from (in a worker thread): ``b""`` at the end."""

    def read(self, size: int = -1, /) -> bytes: ...


class StorageUnavailable(Exception):
    """S3 did not do what was asked for a reason the caller cannot fix by changing the request."""


class ObjectMissing(Exception):
    """The object key does not exist in the bucket."""


@dataclass(frozen=True)
class ClientTuning:
    """Network limits of the S3 client; minio's own defaults (5 min timeouts, 5 retries) would make an
    outage look like a hang instead of a quick 503."""

    connect_timeout_seconds: float = 3.0
    read_timeout_seconds: float = 30.0
    retries: int = 2
    pool_size: int = 32


def s3_client(settings: S3Settings, tuning: ClientTuning = ClientTuning()) -> Minio:
    """A client that connects lazily (nothing happens on the network here)."""
    http = urllib3.PoolManager(
        timeout=Timeout(connect=tuning.connect_timeout_seconds, read=tuning.read_timeout_seconds),
        maxsize=tuning.pool_size,
        cert_reqs="CERT_REQUIRED",
        ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
        retries=Retry(total=tuning.retries, backoff_factor=0.1, status_forcelist=[500, 502, 503, 504]),
    )
    return Minio(
        settings.endpoint,
        access_key=settings.access_key.get_secret_value(),
        secret_key=settings.secret_key.get_secret_value(),
        secure=settings.secure,
        region=settings.region,
        http_client=http,
    )


def _translated(error: Exception) -> Exception:
    """The exception a service sees for an error raised inside the SDK or urllib3."""
    if isinstance(error, S3Error):
        if error.code in _MISSING_OBJECT_CODES:
            return ObjectMissing(error.object_name or "object")
        return StorageUnavailable(f"S3 refused the request: {error.code}")
    if isinstance(error, (MinioException, urllib3.exceptions.HTTPError, OSError)):
        return StorageUnavailable(f"S3 is unreachable or failing: {type(error).__name__}")
    return error


async def _in_thread(func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run a blocking SDK call in a worker thread and translate what it raises."""

    def call() -> R:
        try:
            return func(*args, **kwargs)
        except Exception as error:
            translated = _translated(error)
            if translated is error:
                raise
            raise translated from error

    return await anyio.to_thread.run_sync(call)


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    content_type: str | None


class ObjectReader:
    """The body of one GET, read chunk by chunk in worker threads; ``close`` releases the connection."""

    def __init__(self, response: Any) -> None:
        self._response = response
        self.length = int(response.headers.get("content-length", -1))
        self._reading: asyncio.Task[Any] | None = None  # the read ``read_ahead`` started and nobody awaited yet

    async def read(self, size: int) -> bytes:
        """Up to ``size`` bytes; ``b""`` at the end."""
        data: bytes = await _in_thread(self._response.read, size)
        return data

    async def read_into(self, size: int, then: Callable[[bytes], R]) -> tuple[bool, R]:
        """Read up to ``size`` bytes and pass them to ``then`` in the same worker thread (work that releases the
        GIL, such as decryption, then overlaps the event loop's sending); ``False`` with ``then(b"")`` at the end."""

        def read_then() -> tuple[bool, R]:
            data = self._response.read(size)
            return bool(data), then(data)

        return await _in_thread(read_then)

    async def read_ahead(self, size: int, then: Callable[[bytes], R]) -> AsyncIterator[R]:
        """``then`` of every read of up to ``size`` bytes, in order, to the end (``then(b"")`` left out).

        While the caller handles one result (sends it to a client), the next read and its ``then`` already run
        in a worker thread: without that, S3 waits while the client is sent a chunk and the client waits while
        S3 is read. One read at a time (``then`` sees the bytes in order) and one result ahead at most, so the
        memory held stays about two chunks."""
        reading = self._read_ahead(size, then)
        while True:
            more, result = await reading
            if not more:
                return
            reading = self._read_ahead(size, then)
            yield result

    def _read_ahead(self, size: int, then: Callable[[bytes], R]) -> asyncio.Task[tuple[bool, R]]:
        self._reading = asyncio.ensure_future(self.read_into(size, then))
        return self._reading

    async def close(self) -> None:
        """Wait for a read still under way (a caller that stopped mid-way: the response is not thread-safe, so it
        must not be closed under that read), then close the response. Shielded: a cancelled caller still frees
        the connection."""
        reading, self._reading = self._reading, None
        response, self._response = self._response, None
        with anyio.CancelScope(shield=True):
            if reading is not None:
                await asyncio.wait([reading])
                if not reading.cancelled():
                    reading.exception()  # retrieved: what failed after the caller stopped reading is no news
            if response is not None:
                # Closing (not releasing) drops a connection whose body was not read to the end.
                await anyio.to_thread.run_sync(response.close)


def _utc(value: datetime | None) -> datetime:
    if value is None:
        return datetime.min.replace(tzinfo=UTC)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class ObjectStore:
    """One bucket. Keys are chosen by the caller; nothing here derives them from user input."""

    def __init__(self, client: Minio, bucket: str) -> None:
        self._client = client
        self.bucket = bucket

    @timed("s3", "ensure_bucket")
    async def ensure_bucket(self) -> None:
        """Create the bucket when it does not exist yet (idempotent)."""
        if not await _in_thread(self._client.bucket_exists, self.bucket):
            try:
                await _in_thread(self._client.make_bucket, self.bucket)
            except StorageUnavailable:
                # Another instance may have created it between the check and the call.
                if not await _in_thread(self._client.bucket_exists, self.bucket):
                    raise

    @timed("s3", "bucket_exists")
    async def bucket_exists(self) -> bool:
        exists: bool = await _in_thread(self._client.bucket_exists, self.bucket)
        return exists

    @timed("s3", "stat_object")
    async def stat(self, key: str) -> ObjectInfo | None:
        """The object's size and type, or ``None`` when the key does not exist."""
        try:
            found = await _in_thread(self._client.stat_object, self.bucket, key)
        except ObjectMissing:
            return None
        return ObjectInfo(key, int(found.size or 0), found.content_type)

    @timed("s3", "put_object")
    async def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        await _in_thread(self._client.put_object, self.bucket, key, io.BytesIO(data), len(data), content_type)

    @timed("s3", "put_object_multipart")
    async def put_stream(
        self, key: str, source: Readable, content_type: str, part_size: int, parallel_parts: int
    ) -> None:
        """Upload ``source`` (read in a worker thread until it returns ``b""``) as a multipart upload.

        The SDK aborts the multipart upload when ``source.read`` raises, so no partial object remains.
        """
        await _in_thread(
            self._client.put_object,
            self.bucket,
            key,
            cast(BinaryIO, source),  # the SDK only ever calls read(size)
            -1,
            content_type,
            part_size=part_size,
            num_parallel_uploads=parallel_parts,
        )

    @timed("s3", "copy_object")
    async def copy(self, source_key: str, target_key: str) -> None:
        """Server-side copy (no bytes pass through this process)."""
        await _in_thread(self._client.copy_object, self.bucket, target_key, CopySource(self.bucket, source_key))

    @timed("s3", "remove_object")
    async def remove(self, key: str) -> None:
        await _in_thread(self._client.remove_object, self.bucket, key)

    @timed("s3", "list_objects")
    async def list_stored(self, prefix: str) -> list[tuple[str, datetime]]:
        """Every object under ``prefix`` with the time it was stored (UTC)."""

        def listed() -> list[tuple[str, datetime]]:
            return [
                (str(found.object_name), _utc(found.last_modified))
                for found in self._client.list_objects(self.bucket, prefix=prefix, recursive=True)
            ]

        return await _in_thread(listed)

    @timed("s3", "get_object")
    async def open(self, key: str, offset: int = 0, length: int = 0) -> ObjectReader:
        """Start a GET of ``length`` bytes from ``offset`` (0 and 0: the whole object)."""
        response = await _in_thread(self._client.get_object, self.bucket, key, offset, length)
        return ObjectReader(response)
