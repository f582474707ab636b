"""The query API as the bot sees it: ``contracts.api_schemas`` over HTTP, with typed failures.

Every call carries the service token and the update's correlation id (``X-Request-ID``) and is timed
under ``docvault_integration_call_seconds{target="api"}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Protocol, TypeVar
from urllib.parse import quote

import aiohttp
from pydantic import BaseModel, ValidationError
from yarl import URL

from contracts.api_schemas import (
    API_PREFIX,
    OWNER_SCOPE,
    QUOTA_EXCEEDED,
    DocumentDetail,
    DocumentList,
    DocumentPage,
    DueReminders,
    ErrorBody,
    EventStatus,
    NameCheck,
    SealedTexts,
    SealRequest,
    SignedLink,
    StorageUsage,
    TypeList,
    UploadedFile,
    UserProfile,
)
from service_kit.correlation import CORRELATION_HEADER, current_correlation_id
from service_kit.metrics import observe_call, timed

Model = TypeVar("Model", bound=BaseModel)
# The API waits for a named event itself; the bot tries again a few times before giving up.
NOT_APPLIED_RETRIES = 3
MAX_RETRY_WAIT_SECONDS = 1.0
# Calls to the API in flight at once (one connection each), as many as Telegram may deliver webhook updates at
# once (``WEBHOOK_MAX_CONNECTIONS`` is at most 100), so an update does not wait for another's call; beyond it, a
# call waits for a free one up to the timeout, then ``ApiBusy``.
MAX_CONNECTIONS = 100


class ApiError(Exception):
    """Base of every failure of the query API."""


class ApiNotFound(ApiError):
    """No such document for this owner (gone, never existed or someone else's)."""


class ApiNotYetApplied(ApiError):
    """The API has not applied the event a read asked for (HTTP 409) within the bot's retries."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"not applied yet, retry after {retry_after} s")
        self.retry_after = retry_after


class ApiUnavailable(ApiError):
    """The API is down, overloaded (5xx), unreachable or answered something unreadable."""


class ApiBusy(ApiUnavailable):
    """The API is overloaded, not down: no connection to it came free in time (this bot has as many calls in
    flight as it allows) or it was slower to answer than the timeout. The person is told to try again in a few
    seconds; callers that handle ``ApiUnavailable`` (a save keeps its answers for "Try again") handle this too."""


class ApiRejected(ApiError):
    """The API refused the request (4xx other than 404/409): a bug on the bot's side or bad input."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class QuotaExceeded(ApiRejected):
    """An upload would take the person past their storage limits (HTTP 403 ``quota_exceeded``); ``usage`` says
    where they stand (None if the API did not say)."""

    def __init__(self, message: str, usage: StorageUsage | None) -> None:
        super().__init__(403, QUOTA_EXCEEDED, message)
        self.usage = usage


class DocumentsApi(Protocol):
    """What the handlers need from the query API (the HTTP client here, a fake in unit tests)."""

    async def list_types(self, owner_id: int, after_event: str | None = None) -> TypeList: ...

    async def list_documents(
        self, owner_id: int, slug: str, limit: int, cursor: str | None = None, after_event: str | None = None
    ) -> DocumentPage: ...

    async def search(self, owner_id: int, query: str, limit: int, after_event: str | None = None) -> DocumentList: ...

    async def expiring(
        self, owner_id: int, on: date, within_days: int, limit: int, after_event: str | None = None
    ) -> DocumentList: ...

    async def get_document(self, owner_id: int, document_id: str, after_event: str | None = None) -> DocumentDetail: ...

    async def name_check(self, owner_id: int, slug: str, name: str, after_event: str | None = None) -> NameCheck: ...

    async def upload_file(
        self, owner_id: int, content: AsyncIterable[bytes], mime_type: str, file_name: str | None, page: bool = False
    ) -> UploadedFile: ...

    async def seal(self, owner_id: int, request: SealRequest) -> SealedTexts: ...

    def file_chunks(self, owner_id: int, document_id: str, page: int = 1) -> AsyncIterator[bytes]: ...

    async def create_link(self, owner_id: int, document_id: str) -> SignedLink: ...

    async def event_status(self, owner_id: int, event_id: str) -> EventStatus: ...


def _owner_path(owner_id: int, tail: str = "") -> str:
    return OWNER_SCOPE.format(owner_id=owner_id) + tail


@dataclass(frozen=True)
class Reply:
    """An answer of the API, read in full (the connection is back in the pool)."""

    status: int
    body: bytes
    retry_after: str | None = None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def _error_for(reply: Reply) -> ApiError:
    status = reply.status
    if status == 404:
        return ApiNotFound(reply.text[:200])
    if status == 409:
        return ApiNotYetApplied(_retry_after(reply.retry_after))
    if status == 429:  # a per-person call limit (``POST /seal``): overload, try again shortly
        return ApiBusy(f"429 from the API, retry after {reply.retry_after or '?'} s")
    if status >= 500:
        return ApiUnavailable(f"{status} from the API")
    try:
        body = ErrorBody.model_validate_json(reply.body)
    except ValidationError:
        return ApiRejected(status, "unknown", reply.text[:200])
    if status == 403 and body.code == QUOTA_EXCEEDED:
        return QuotaExceeded(body.message, body.usage)
    return ApiRejected(status, body.code, body.message)


def _retry_after(header: str | None) -> float:
    try:
        return min(max(float(header or "0.2"), 0.05), MAX_RETRY_WAIT_SECONDS)
    except ValueError:
        return 0.2


def _params(**values: str | int | None) -> dict[str, str | int]:
    return {name: value for name, value in values.items() if value is not None}


def _is_success(status: int) -> bool:
    return 200 <= status < 300


class _Source:
    """An upload's bytes, remembering what the source itself raised: aiohttp wraps a failure of the body in a
    ``ClientConnectionError``, and the caller must see the source's own (``FileTooBig``, a failed download)."""

    def __init__(self, chunks: AsyncIterable[bytes]) -> None:
        self._chunks = chunks
        self.failure: BaseException | None = None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._chunks:
                yield chunk
        except Exception as error:
            self.failure = error
            raise


def _failure(error: BaseException) -> ApiUnavailable:
    """A read that timed out is overload (``ApiBusy``); a TCP connect that timed out, a refused or dropped
    connection is an outage."""
    kind = ApiBusy if isinstance(error, aiohttp.SocketTimeoutError) else ApiUnavailable
    return kind(f"{type(error).__name__}: {error}")


class ApiClient:
    """HTTP client of the query API on aiohttp (the stack aiogram already runs on); one per process, closed on
    shutdown. The session is opened on first use, inside the running event loop.

    Timeouts as before on httpx: ``timeout_seconds`` to wait for a free connection and for each read, at most
    3 s to open a TCP connection. Waiting longer for a connection or an answer is overload (``ApiBusy``); a refused
    or failed connection, a 5xx or an unreadable answer is ``ApiUnavailable``.
    """

    def __init__(
        self, base_url: str, token: str, timeout_seconds: float = 10.0, max_connections: int = MAX_CONNECTIONS
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}
        self._timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=min(timeout_seconds, 3.0), sock_read=timeout_seconds
        )
        self._queue_seconds = timeout_seconds
        self._max_connections = max_connections
        self._slots = asyncio.Semaphore(max_connections)
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._max_connections)
            self._session = aiohttp.ClientSession(headers=self._headers, timeout=self._timeout, connector=connector)
        return self._session

    def _url(self, path: str) -> URL:
        # Paths are percent-encoded here (``quote``): yarl must not decode a ``%2F`` in a slug.
        return URL(self._base_url + path, encoded=True)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    @contextlib.asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        """One of the ``max_connections`` calls in flight, waited for up to the timeout (then ``ApiBusy``)."""
        if self._slots.locked():  # all in use: queue, for a bounded time
            try:
                async with asyncio.timeout(self._queue_seconds):
                    await self._slots.acquire()
            except TimeoutError:
                raise ApiBusy(f"no free connection to the API within {self._queue_seconds:g} s") from None
        else:
            await self._slots.acquire()
        try:
            yield
        finally:
            self._slots.release()

    async def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        data: _Source | bytes | None = None,
    ) -> Reply:
        all_headers = {CORRELATION_HEADER: current_correlation_id(), **(headers or {})}
        try:
            async with (
                self._slot(),
                self._http().request(
                    method, self._url(path), params=params, headers=all_headers, data=data
                ) as response,
            ):
                reply = Reply(response.status, await response.read(), response.headers.get("Retry-After"))
        except (aiohttp.ClientError, TimeoutError) as error:
            if isinstance(data, _Source) and data.failure is not None:
                raise data.failure from None
            raise _failure(error) from error
        if _is_success(reply.status):
            return reply
        raise _error_for(reply)

    async def _read(self, model: type[Model], path: str, params: Mapping[str, str | int]) -> Model:
        """GET with retries while the API reports the named event as not yet applied (409)."""
        for attempt in range(NOT_APPLIED_RETRIES + 1):
            try:
                reply = await self._send("GET", path, params=params)
                break
            except ApiNotYetApplied as error:
                if attempt == NOT_APPLIED_RETRIES:
                    raise
                await asyncio.sleep(error.retry_after)
        return _parse(model, reply)

    @timed("api", "list_types")
    async def list_types(self, owner_id: int, after_event: str | None = None) -> TypeList:
        return await self._read(TypeList, _owner_path(owner_id, "/types"), _params(after_event=after_event))

    @timed("api", "list_documents")
    async def list_documents(
        self, owner_id: int, slug: str, limit: int, cursor: str | None = None, after_event: str | None = None
    ) -> DocumentPage:
        path = _owner_path(owner_id, f"/types/{quote(slug, safe='')}/documents")
        return await self._read(DocumentPage, path, _params(limit=limit, cursor=cursor, after_event=after_event))

    @timed("api", "search")
    async def search(self, owner_id: int, query: str, limit: int, after_event: str | None = None) -> DocumentList:
        params = _params(q=query, limit=limit, after_event=after_event)
        return await self._read(DocumentList, _owner_path(owner_id, "/documents/search"), params)

    @timed("api", "expiring")
    async def expiring(
        self, owner_id: int, on: date, within_days: int, limit: int, after_event: str | None = None
    ) -> DocumentList:
        params = _params(on=on.isoformat(), within_days=within_days, limit=limit, after_event=after_event)
        return await self._read(DocumentList, _owner_path(owner_id, "/documents/expiring"), params)

    @timed("api", "due_reminders")
    async def due_reminders(self, on: date, days: tuple[int, ...], limit: int) -> DueReminders:
        """Every person's reminders due ``on`` (the sender's call: not owner-scoped, the service token only)."""
        params = _params(on=on.isoformat(), days=",".join(str(d) for d in days), limit=limit)
        return await self._read(DueReminders, f"{API_PREFIX}/reminders/due", params)

    @timed("api", "get_document")
    async def get_document(self, owner_id: int, document_id: str, after_event: str | None = None) -> DocumentDetail:
        path = _owner_path(owner_id, f"/documents/{quote(document_id, safe='')}")
        return await self._read(DocumentDetail, path, _params(after_event=after_event))

    @timed("api", "name_check")
    async def name_check(self, owner_id: int, slug: str, name: str, after_event: str | None = None) -> NameCheck:
        params = _params(type_slug=slug, name=name, after_event=after_event)
        return await self._read(NameCheck, _owner_path(owner_id, "/name-check"), params)

    @timed("api", "profile")
    async def profile(self, owner_id: int) -> UserProfile:
        return await self._read(UserProfile, _owner_path(owner_id, "/profile"), {})

    @timed("api", "upload_file")
    async def upload_file(
        self, owner_id: int, content: AsyncIterable[bytes], mime_type: str, file_name: str | None, page: bool = False
    ) -> UploadedFile:
        """``page``: a second or later page of a document (the API counts its bytes only, reports no duplicate)."""
        headers = {"Content-Type": mime_type}
        if file_name:
            # Header values are Latin-1 on the wire; a percent-encoded UTF-8 name survives any proxy.
            headers["X-File-Name"] = quote(file_name, safe="")
        path = _owner_path(owner_id, "/files" + ("?page=true" if page else ""))
        reply = await self._send("POST", path, headers=headers, data=_Source(content))
        return _parse(UploadedFile, reply)

    @timed("api", "seal")
    async def seal(self, owner_id: int, request: SealRequest) -> SealedTexts:
        """What the person typed, cleaned and sealed under their key for a v2 event (``POST /seal``)."""
        body = request.model_dump_json(exclude_none=True).encode()
        headers = {"Content-Type": "application/json"}
        reply = await self._send("POST", _owner_path(owner_id, "/seal"), headers=headers, data=body)
        return _parse(SealedTexts, reply)

    @timed("api", "create_link")
    async def create_link(self, owner_id: int, document_id: str) -> SignedLink:
        path = _owner_path(owner_id, f"/documents/{quote(document_id, safe='')}/link")
        return _parse(SignedLink, await self._send("POST", path))

    @timed("api", "event_status")
    async def event_status(self, owner_id: int, event_id: str) -> EventStatus:
        """Whether an event of the owner was applied, and what it did (``contracts.effects.Effect``)."""
        path = _owner_path(owner_id, f"/events/{quote(event_id, safe='')}")
        return _parse(EventStatus, await self._send("GET", path))

    async def file_chunks(self, owner_id: int, document_id: str, page: int = 1) -> AsyncGenerator[bytes, None]:
        """The bytes of the document's page ``page`` as they arrive (timed by hand: a decorator cannot see a
        generator's end)."""
        path = _owner_path(
            owner_id, f"/documents/{quote(document_id, safe='')}/file" + (f"?page={page}" if page > 1 else "")
        )
        started, outcome = time.perf_counter(), "error"
        headers = {CORRELATION_HEADER: current_correlation_id()}
        try:
            async with self._slot(), self._http().get(self._url(path), headers=headers) as response:
                if not _is_success(response.status):
                    raise _error_for(Reply(response.status, await response.read(), response.headers.get("Retry-After")))
                async for chunk in response.content.iter_any():
                    yield chunk
            outcome = "ok"
        except (aiohttp.ClientError, TimeoutError) as error:
            raise _failure(error) from error
        finally:
            observe_call("api", "download_file", outcome, started)

    @timed("api", "health")
    async def healthy(self) -> bool:
        try:
            async with self._http().get(self._url("/healthz"), timeout=aiohttp.ClientTimeout(total=2.0)) as response:
                await response.read()
                return _is_success(response.status)
        except (aiohttp.ClientError, TimeoutError):
            return False


def _parse(model: type[Model], reply: Reply) -> Model:
    try:
        return model.model_validate_json(reply.body)
    except ValidationError as error:
        raise ApiUnavailable(f"unreadable {model.__name__}: {error.error_count()} errors") from error
