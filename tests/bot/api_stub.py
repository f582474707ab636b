"""A small aiohttp server speaking ``contracts.api_schemas``: for the API client's tests and the benchmark. It seals
as the API does, with the person's test key (``tests.keyrings.TEST_PEOPLE``), so the bot's v2 events validate."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from api.core.errors import ApiError
from api.documents.sealing import sealed_texts
from api.files.headers import decode_file_name_header
from contracts.api_schemas import (
    QUOTA_EXCEEDED,
    DocumentDetail,
    DocumentList,
    DocumentPage,
    DocumentSummary,
    DueReminders,
    ErrorBody,
    EventStatus,
    NameCheck,
    SealRequest,
    StorageUsage,
    TypeList,
    TypeSummary,
    UploadedFile,
)
from contracts.text import InvalidFileName
from tests.bot.fakes import content_id_of
from tests.keyrings import TEST_PEOPLE

TOKEN = "stub-service-token"
CREATED = datetime(2026, 3, 1, tzinfo=UTC)
MISSING_DOCUMENT = "00000000-0000-4000-8000-999999999999"


@dataclass
class StubState:
    requests: list[web.Request] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    conflicts_left: int = 0
    fail_status: int | None = None
    types: int = 3
    documents_per_type: int = 20
    file_bytes: bytes = b"stub file bytes" * 10
    quota: StorageUsage | None = None  # uploads are refused with 403 quota_exceeded and this usage when set
    document_status: str = "live"  # what a document read answers
    # What a read that waits for an event (after_event) answers: the document as the event left it.
    status_after_event: str = "live"
    name_after_event: str | None = None
    duplicate_of: str | None = None
    event_effect: str | None = None  # GET .../events/{id}: applied with this effect, or not applied (None)
    delay_seconds: float = 0.0  # every answer waits this long first (a slow, overloaded API)
    seals_left: int | None = None  # POST /seal answers 429 too_many_requests once this many were served


def _json(model: BaseModel, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(text=model.model_dump_json(), status=status, headers=headers)


def _summary(slug: str, index: int) -> DocumentSummary:
    title = f"Type {slug.removeprefix('type')}"
    return DocumentSummary(
        document_id=f"00000000-0000-4000-8000-{index:012d}",
        type_slug=slug,
        type_title=title,
        name=f"{slug} {index}",
        size=1234,
        mime_type="application/pdf",
        created_at=CREATED,
    )


STATE = web.AppKey("state", StubState)


def _state(request: web.Request) -> StubState:
    return request.app[STATE]


@web.middleware
async def _gate(request: web.Request, handler: Any) -> web.StreamResponse:
    """Check the token, then play the failure the test asked for (5xx, or 409 for reads after an event)."""
    state = _state(request)
    state.requests.append(request)
    if state.delay_seconds:
        await asyncio.sleep(state.delay_seconds)
    if request.headers.get("Authorization") != f"Bearer {TOKEN}":
        return _json(ErrorBody(code="unauthorized", message="bad token"), 401)
    if state.fail_status:
        return web.Response(status=state.fail_status, text="boom")
    if request.query.get("after_event") and state.conflicts_left > 0:
        state.conflicts_left -= 1
        return _json(ErrorBody(code="not_applied", message="wait"), 409, {"Retry-After": "0.01"})
    response: web.StreamResponse = await handler(request)
    return response


async def _types(request: web.Request) -> web.Response:
    state = _state(request)
    items = [
        TypeSummary(slug=f"type{i}", title=f"Type {i}", live_count=state.documents_per_type) for i in range(state.types)
    ]
    return _json(TypeList(items=items))


async def _documents(request: web.Request) -> web.Response:
    state, slug = _state(request), request.match_info["slug"]
    limit, start = int(request.query["limit"]), int(request.query.get("cursor", "0"))
    end = min(start + limit, state.documents_per_type)
    page = [_summary(slug, i) for i in range(start, end)]
    return _json(DocumentPage(items=page, next_cursor=str(end) if end < state.documents_per_type else None))


async def _search(request: web.Request) -> web.Response:
    """Documents of every type whose name holds the query ("type1 1" finds type1 1, type1 10 ... type1 19)."""
    state, query, limit = _state(request), request.query["q"].casefold(), int(request.query["limit"])
    found = [
        _summary(f"type{t}", i)
        for t in range(state.types)
        for i in range(state.documents_per_type)
        if query in f"type{t} {i}"
    ]
    return _json(DocumentList(items=found[:limit]))


async def _expiring(request: web.Request) -> web.Response:
    """The first documents of type0, dated from ``on`` a day apart (the stub keeps no dates of its own)."""
    first, limit = date.fromisoformat(request.query["on"]), int(request.query["limit"])
    found = [
        _summary("type0", i).model_copy(update={"valid_until": first + timedelta(days=i)})
        for i in range(min(limit, int(request.query["within_days"]) + 1, 3))
    ]
    return _json(DocumentList(items=found))


async def _due(request: web.Request) -> web.Response:
    """No reminder is ever due here (the stub's documents have no dates)."""
    return _json(DueReminders(items=[]))


async def _document(request: web.Request) -> web.Response:
    state = _state(request)
    if request.match_info["document_id"] == MISSING_DOCUMENT:
        return _json(ErrorBody(code="not_found", message="no such document"), 404)
    summary = _summary("type0", 1).model_dump()
    summary["document_id"] = request.match_info["document_id"]
    status, duplicate_of = state.document_status, None
    if request.query.get("after_event"):
        status, duplicate_of = state.status_after_event, state.duplicate_of
        summary["name"] = state.name_after_event or summary["name"]
    return _json(
        DocumentDetail(**summary, status=status, duplicate_of=duplicate_of, sha256="0" * 64, updated_at=CREATED)
    )


async def _event(request: web.Request) -> web.Response:
    effect = _state(request).event_effect
    return _json(EventStatus(event_id=request.match_info["event_id"], applied=effect is not None, effect=effect))


async def _name_check(request: web.Request) -> web.Response:
    return _json(NameCheck(taken=request.query["name"] == "taken"))


async def _upload(request: web.Request) -> web.Response:
    """Like the API: the name of ``X-File-Name`` cleaned, and 403 ``quota_exceeded`` past the person's limits."""
    state = _state(request)
    body = await request.read()
    state.bodies.append(body)
    if state.quota is not None:
        refusal = ErrorBody(code=QUOTA_EXCEEDED, message="storage limit reached", usage=state.quota)
        return _json(refusal, 403)
    try:
        header = request.headers.get("X-File-Name")
        file_name = decode_file_name_header(header) if header is not None else None
    except InvalidFileName as error:
        return _json(ErrorBody(code="invalid_file_name", message=str(error)), 422)
    owner_id = int(request.match_info["owner_id"])
    content_id, keys = content_id_of(owner_id, body), TEST_PEOPLE[owner_id]
    return _json(
        UploadedFile(
            object_key=f"owners/{owner_id}/{content_id}",
            size=len(body),
            mime_type=request.content_type,
            file_name=keys.seal("file_name", file_name) if file_name is not None else None,
            content_id=content_id,
            encrypted=True,
        )
    )


async def _seal(request: web.Request) -> web.Response:
    """The API's own sealing (``api.documents.sealing.sealed_texts``) under the person's test key, and its
    per-person limit (429 with ``Retry-After``)."""
    state = _state(request)
    if state.seals_left is not None:
        if state.seals_left <= 0:
            return _json(ErrorBody(code="too_many_requests", message="retry in a minute"), 429, {"Retry-After": "60"})
        state.seals_left -= 1
    try:
        keys = TEST_PEOPLE[int(request.match_info["owner_id"])]
        sealed = sealed_texts(keys, SealRequest.model_validate_json(await request.read()))
    except ApiError as error:
        return _json(ErrorBody(code=error.code, message=error.message), error.status)
    return _json(sealed)


async def _download(request: web.Request) -> web.Response:
    return web.Response(body=_state(request).file_bytes, content_type="application/octet-stream")


async def _health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def stub_app(state: StubState) -> web.Application:
    app = web.Application(middlewares=[_gate])
    app[STATE] = state
    owner = "/v1/owners/{owner_id}"
    app.router.add_get(owner + "/types", _types)
    app.router.add_get(owner + "/types/{slug}/documents", _documents)
    app.router.add_get(owner + "/documents/search", _search)
    app.router.add_get(owner + "/documents/expiring", _expiring)
    app.router.add_get("/v1/reminders/due", _due)
    app.router.add_get(owner + "/documents/{document_id}", _document)
    app.router.add_get(owner + "/documents/{document_id}/file", _download)
    app.router.add_get(owner + "/name-check", _name_check)
    app.router.add_get(owner + "/events/{event_id}", _event)
    app.router.add_post(owner + "/files", _upload)
    app.router.add_post(owner + "/seal", _seal)
    app.router.add_get("/healthz", _health)
    return app


async def start_stub(state: StubState, host: str = "127.0.0.1", port: int = 0) -> tuple[web.AppRunner, str]:
    """Serve the stub on ``host`` (port 0: any free port); returns the runner and the base URL."""
    runner = web.AppRunner(stub_app(state), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    bound_host, bound_port = runner.addresses[0][:2]
    return runner, f"http://{bound_host}:{bound_port}"
