"""The query API as the bot sees it: ``contracts.api_schemas`` over HTTP, with typed failures.

Every call carries the service token and the update's correlation id (``X-Request-ID``) and is timed
under ``docvault_integration_call_seconds{target="api"}``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from contracts.api_schemas import (
    OWNER_SCOPE,
    QUOTA_EXCEEDED,
    DocumentDetail,
    DocumentList,
    DocumentPage,
    ErrorBody,
    EventStatus,
    NameCheck,
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


class ApiRejected(ApiError):
    """The API refused the request (4xx other than 404/409): a bug on the bot's side or bad input."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code


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

    async def get_document(self, owner_id: int, document_id: str, after_event: str | None = None) -> DocumentDetail: ...

    async def name_check(self, owner_id: int, slug: str, name: str, after_event: str | None = None) -> NameCheck: ...

    async def upload_file(
        self, owner_id: int, content: AsyncIterable[bytes], mime_type: str, file_name: str | None
    ) -> UploadedFile: ...

    def file_chunks(self, owner_id: int, document_id: str) -> AsyncIterator[bytes]: ...

    async def create_link(self, owner_id: int, document_id: str) -> SignedLink: ...

    async def event_status(self, owner_id: int, event_id: str) -> EventStatus: ...


def _owner_path(owner_id: int, tail: str = "") -> str:
    return OWNER_SCOPE.format(owner_id=owner_id) + tail


def _error_for(response: httpx.Response) -> ApiError:
    status = response.status_code
    if status == 404:
        return ApiNotFound(response.text[:200])
    if status == 409:
        return ApiNotYetApplied(_retry_after(response))
    if status >= 500:
        return ApiUnavailable(f"{status} from the API")
    try:
        body = ErrorBody.model_validate_json(response.content)
    except ValidationError:
        return ApiRejected(status, "unknown", response.text[:200])
    if status == 403 and body.code == QUOTA_EXCEEDED:
        return QuotaExceeded(body.message, body.usage)
    return ApiRejected(status, body.code, body.message)


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(max(float(response.headers.get("Retry-After", "0.2")), 0.05), MAX_RETRY_WAIT_SECONDS)
    except ValueError:
        return 0.2


def _params(**values: str | int | None) -> dict[str, str | int]:
    return {name: value for name, value in values.items() if value is not None}


class ApiClient:
    """HTTP client of the query API; one per process, closed on shutdown."""

    def __init__(
        self,
        base_url: str,
        token: str,
        timeout_seconds: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 3.0)),
            # httpcore scans its whole pool for every request; a small pool is faster than a wide one.
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=16),
            transport=transport,
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {CORRELATION_HEADER: current_correlation_id(), **kwargs.pop("headers", {})}
        try:
            response = await self._http.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as error:
            raise ApiUnavailable(f"{type(error).__name__}: {error}") from error
        if response.is_success:
            return response
        raise _error_for(response)

    async def _read(self, model: type[Model], path: str, params: Mapping[str, str | int]) -> Model:
        """GET with retries while the API reports the named event as not yet applied (409)."""
        for attempt in range(NOT_APPLIED_RETRIES + 1):
            try:
                response = await self._send("GET", path, params=params)
                break
            except ApiNotYetApplied as error:
                if attempt == NOT_APPLIED_RETRIES:
                    raise
                await asyncio.sleep(error.retry_after)
        return _parse(model, response)

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
        self, owner_id: int, content: AsyncIterable[bytes], mime_type: str, file_name: str | None
    ) -> UploadedFile:
        headers = {"Content-Type": mime_type}
        if file_name:
            # Header values are Latin-1 on the wire; a percent-encoded UTF-8 name survives any proxy.
            headers["X-File-Name"] = quote(file_name, safe="")
        response = await self._send("POST", _owner_path(owner_id, "/files"), content=content, headers=headers)
        return _parse(UploadedFile, response)

    @timed("api", "create_link")
    async def create_link(self, owner_id: int, document_id: str) -> SignedLink:
        path = _owner_path(owner_id, f"/documents/{quote(document_id, safe='')}/link")
        return _parse(SignedLink, await self._send("POST", path))

    @timed("api", "event_status")
    async def event_status(self, owner_id: int, event_id: str) -> EventStatus:
        """Whether an event of the owner was applied, and what it did (``contracts.effects.Effect``)."""
        path = _owner_path(owner_id, f"/events/{quote(event_id, safe='')}")
        return _parse(EventStatus, await self._send("GET", path))

    async def file_chunks(self, owner_id: int, document_id: str) -> AsyncIterator[bytes]:
        """The document's bytes as they arrive (timed by hand: a decorator cannot see a generator's end)."""
        path = _owner_path(owner_id, f"/documents/{quote(document_id, safe='')}/file")
        started, outcome = time.perf_counter(), "error"
        headers = {CORRELATION_HEADER: current_correlation_id()}
        try:
            async with self._http.stream("GET", path, headers=headers) as response:
                if not response.is_success:
                    await response.aread()
                    raise _error_for(response)
                async for chunk in response.aiter_bytes():
                    yield chunk
            outcome = "ok"
        except httpx.HTTPError as error:
            raise ApiUnavailable(f"{type(error).__name__}: {error}") from error
        finally:
            observe_call("api", "download_file", outcome, started)

    @timed("api", "health")
    async def healthy(self) -> bool:
        try:
            response = await self._http.get("/healthz", timeout=2.0)
        except httpx.HTTPError:
            return False
        return response.is_success


def _parse(model: type[Model], response: httpx.Response) -> Model:
    try:
        return model.model_validate_json(response.content)
    except ValidationError as error:
        raise ApiUnavailable(f"unreadable {model.__name__}: {error.error_count()} errors") from error
