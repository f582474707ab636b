"""Files: upload (streamed to S3), download (streamed, ``Range``), signed links for browsers."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from pydantic import TypeAdapter, ValidationError
from starlette.responses import Response

from api.core.clients import ApiState
from api.core.errors import ApiError, not_found
from api.core.openapi_errors import OWNER_READ_ERRORS, described_error, error_responses
from api.core.parameters import OwnerId, State
from api.core.security import require_service_token
from api.documents.dependencies import OwnedDocument, require_fresh
from api.documents.opening import opened_duplicate
from api.documents.queries import StoredDocument
from api.files.downloads import page_of, serve_file
from api.files.headers import InvalidMediaType, decode_file_name_header, upload_media_type
from api.files.linked import find_linked_document
from api.files.links import (
    MAX_TOKEN_LENGTH,
    SIGNED_PATH,
    ExpiredLink,
    InvalidLink,
    LinkClaims,
    RevokedLink,
    check_generation,
    sign_link,
    verify_link,
)
from api.files.quota import QuotaExceeded, StorageLimits, admit_content, check_declared_size, storage_usage
from api.files.uploads import EmptyUpload, Sealing, StoredObject, UploadLimits, UploadTooLarge, store_upload
from contracts.api_schemas import (
    API_PREFIX,
    OWNER_SCOPE,
    QUOTA_EXCEEDED,
    DocumentSummary,
    SignedLink,
    StorageUsage,
    UploadedFile,
)
from contracts.events import MAX_PAGES, StoredFile
from contracts.text import InvalidFileName

router = APIRouter(prefix=OWNER_SCOPE, tags=["files"], dependencies=[Depends(require_service_token)])
signed_router = APIRouter(prefix=API_PREFIX, tags=["files"])

_BINARY = {"content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}}
FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The whole file.", **_BINARY},
    206: {"description": "The requested byte range.", **_BINARY},
    410: described_error("The document was deleted."),
    416: described_error("The range lies outside the file (Content-Range: bytes */size)."),
}
RangeHeader = Annotated[
    str | None, Header(alias="Range", max_length=200, description="One byte range, e.g. bytes=0-1023.")
]
_EVENT_FILE_NAME: TypeAdapter[str | None] = TypeAdapter(StoredFile.model_fields["file_name"].annotation)
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "description": "The file's bytes; Content-Type is stored as its media type.",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


def _media_type(content_type: str | None) -> str:
    try:
        return upload_media_type(content_type)
    except InvalidMediaType as error:
        raise ApiError(422, "invalid_media_type", str(error)) from None


def _file_name(header: str | None) -> str | None:
    if header is None:
        return None
    try:
        return decode_file_name_header(header)
    except InvalidFileName as error:
        raise ApiError(422, "invalid_file_name", str(error)) from None


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "file_too_large", f"the file is larger than the limit of {limit} bytes")


def _limits(state: ApiState) -> UploadLimits:
    settings = state.settings
    return UploadLimits(settings.max_upload_bytes, settings.upload_part_bytes, settings.upload_parallel_parts)


async def _sealing(state: ApiState, owner_id: int) -> Sealing:
    """The person's key (created on their first upload) unless encryption is off for a benchmark."""
    if not state.settings.encrypt_uploads:
        return Sealing(keys=None)
    return Sealing(await state.keys.get_or_create(owner_id))


def _sealed_file_name(sealing: Sealing, file_name: str | None) -> str | None:
    """The file name as the event carries it: sealed under the person's key. A name whose sealed form the event
    cannot hold is refused like any unusable name (the bot then uploads the file without one)."""
    if file_name is None or sealing.keys is None:
        return file_name
    sealed = sealing.keys.seal("file_name", file_name)
    try:
        _EVENT_FILE_NAME.validate_python(sealed)
    except ValidationError:
        raise ApiError(422, "invalid_file_name", "the file name is too long to store") from None
    return sealed


def _uploaded(stored: StoredObject, file_name: str | None, duplicate: DocumentSummary | None) -> UploadedFile:
    content = stored.content
    return UploadedFile(
        object_key=stored.object_key,
        sha256=content.sha256,
        size=content.size,
        mime_type=stored.mime_type,
        duplicate_of=duplicate,
        file_name=file_name,
        content_id=content.content_id,
        encrypted=stored.encrypted,
    )


def _storage_limits(state: ApiState) -> StorageLimits:
    return StorageLimits(state.settings.max_documents_per_person, state.settings.max_bytes_per_person)


async def _check_declared_length(
    state: ApiState, owner_id: int, request: Request, limits: StorageLimits, page: bool
) -> None:
    """Refuse before a byte of the body is read what its declared size already rules out. Content-Length is
    the HTTP server's (it checked the syntax); a client that declares more than it sends is held to it."""
    declared = request.headers.get("content-length", "")
    if not declared.isdigit() or int(declared) == 0:
        return  # chunked: checked at the end; empty: refused as such
    if int(declared) > state.settings.max_upload_bytes:
        raise _too_large(state.settings.max_upload_bytes)
    await check_declared_size(state.database, owner_id, int(declared), limits, page)


@router.post(
    "/files",
    status_code=201,
    summary="Store a file (streamed to S3); reports a live document with the same bytes",
    openapi_extra=UPLOAD_BODY,
    responses=error_responses(401, 403, 413, 422, 503),
)
async def upload_file(
    owner_id: OwnerId,
    request: Request,
    state: State,
    content_type: Annotated[str | None, Header(max_length=255)] = None,
    x_file_name: Annotated[
        str | None, Header(alias="X-File-Name", max_length=1024, description="The original file name, %-encoded UTF-8.")
    ] = None,
    page: Annotated[bool, Query(description="A second or later page of a document: only its bytes count")] = False,
) -> UploadedFile:
    media_type, file_name = _media_type(content_type), _file_name(x_file_name)
    limits = _storage_limits(state)
    try:
        await _check_declared_length(state, owner_id, request, limits, page)
        sealing = await _sealing(state, owner_id)
        sealed_name = _sealed_file_name(sealing, file_name)
        stored, duplicate = await store_upload(
            state.files,
            owner_id,
            request.stream(),
            media_type,
            _limits(state),
            sealing,
            lambda content: admit_content(state.database, owner_id, content, limits, page),
        )
    except UploadTooLarge as error:
        raise _too_large(error.limit) from None
    except EmptyUpload as error:
        raise ApiError(422, "empty_file", str(error)) from None
    except QuotaExceeded as error:
        raise ApiError(403, QUOTA_EXCEEDED, str(error), usage=error.usage) from None
    return _uploaded(stored, sealed_name, await opened_duplicate(state.keys, owner_id, duplicate))


@router.get(
    "/usage",
    dependencies=[Depends(require_fresh)],
    responses=OWNER_READ_ERRORS,
    summary="What the owner stores (live documents and their bytes) against their storage limits",
)
async def usage(owner_id: OwnerId, state: State) -> StorageUsage:
    return await storage_usage(state.database, owner_id, _storage_limits(state))


@router.get(
    "/documents/{document_id}/file",
    dependencies=[Depends(require_fresh)],
    response_class=Response,
    summary="The document's bytes (Range supported)",
    responses=FILE_RESPONSES | error_responses(401, 404, 409, 422, 503),
)
async def download_file(
    document: OwnedDocument,
    state: State,
    range_header: RangeHeader = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGES, description="Which page (1: the first)")] = 1,
) -> Response:
    return await serve_file(state.files, state.keys, page_of(document, page), range_header)


@router.post(
    "/documents/{document_id}/link",
    summary="A short-lived link to the file that works without the token",
    responses=error_responses(401, 404, 422, 503) | {410: FILE_RESPONSES[410]},
)
async def create_link(owner_id: OwnerId, document: OwnedDocument, state: State) -> SignedLink:
    settings = state.settings
    if settings.link_signing_key is None or settings.public_base_url is None:
        raise ApiError(503, "links_disabled", "signed links need LINK_SIGNING_KEY and PUBLIC_BASE_URL")
    if not document.downloadable:
        raise ApiError(410, "document_deleted", "the document was deleted; restore it to get the file")
    linked = await find_linked_document(state.database, owner_id, document.detail.document_id)
    if linked is None:
        raise not_found("document")
    expires_at = int(time.time()) + settings.link_ttl_seconds
    claims = LinkClaims(uuid.UUID(document.detail.document_id), owner_id, linked.link_generation, expires_at)
    token = sign_link(settings.link_signing_key.get_secret_value().encode(), claims)
    return SignedLink(
        url=f"{settings.public_base_url}{SIGNED_PATH}{token}",
        expires_at=datetime.fromtimestamp(claims.expires_at, UTC),
    )


Claims = TypeVar("Claims")


def verified(state: ApiState, token: str, verify: Callable[[bytes, str, float], Claims]) -> Claims:
    """The claims of a genuine, unexpired token (``verify_link`` or ``verify_export_link``); 403 otherwise."""
    key = state.settings.link_signing_key
    try:
        if key is None:
            raise InvalidLink("signed links are disabled")
        return verify(key.get_secret_value().encode(), token, time.time())
    except InvalidLink:
        raise ApiError(403, "invalid_link", "this is not a valid link; ask the bot for a new one") from None
    except ExpiredLink:
        raise ApiError(403, "link_expired", "this link has expired; ask the bot for a new one") from None


async def _linked(state: ApiState, claims: LinkClaims) -> StoredDocument:
    """The document the link names, while it is still what the link was made for."""
    linked = await find_linked_document(state.database, claims.owner_id, str(claims.document_id))
    if linked is None:
        raise not_found("document")
    try:
        check_generation(claims, linked.link_generation)
    except RevokedLink:
        raise ApiError(
            410, "link_revoked", "the document changed since this link was made; ask the bot for a new one"
        ) from None
    return linked.document


@signed_router.get(
    "/files/signed/{token}",
    response_class=Response,
    summary="The file behind a signed link (no token needed)",
    responses=FILE_RESPONSES
    | error_responses(404, 422, 503)
    | {
        403: described_error("Tampered or expired link."),
        410: described_error("The document was deleted, or renamed or deleted since the link was made."),
    },
)
async def signed_download(
    token: Annotated[str, Path(max_length=MAX_TOKEN_LENGTH)], state: State, range_header: RangeHeader = None
) -> Response:
    document = await _linked(state, verified(state, token, verify_link))
    return await serve_file(state.files, state.keys, document, range_header)
