"""Parameters of the owner reads, and the checks that run before a route's own code: read-your-writes, page
size, the owned document."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Annotated

from fastapi import Depends, Path, Query, Request

from api.core.clients import state_of
from api.core.errors import ApiError, not_found
from api.core.parameters import DocumentId, OwnerId
from api.documents.freshness import Freshness, wait_until_applied
from api.documents.opening import opened_detail
from api.documents.queries import StoredDocument, find_document
from contracts.text import MAX_TYPE_TITLE_LENGTH
from contracts.vocabulary import SLUG_PATTERN
from service_kit.crypto import PersonKeys

RETRY_AFTER_PENDING_SECONDS = 1
MAX_SLUG_LENGTH = MAX_TYPE_TITLE_LENGTH  # contracts.events.Slug
TypeSlug = Annotated[
    str, Path(min_length=1, max_length=MAX_SLUG_LENGTH, pattern=SLUG_PATTERN, description="Type slug.")
]
AfterEvent = Annotated[
    uuid.UUID | None,
    Query(description="Answer only once this event (of this owner) is applied; 409 with Retry-After if not in time."),
]


async def require_fresh(owner_id: OwnerId, request: Request, after_event: AfterEvent = None) -> None:
    """Read-your-writes gate for every owner read (see ``api.documents.freshness``)."""
    if after_event is None:
        return
    state = state_of(request)
    outcome = await wait_until_applied(
        state.database, str(after_event), owner_id, state.settings.read_your_writes_timeout_seconds
    )
    if outcome is Freshness.FOREIGN:
        raise not_found("event")
    if outcome is Freshness.PENDING:
        raise ApiError(
            409,
            "not_yet_applied",
            f"event {after_event} is not reflected yet, retry shortly",
            {"Retry-After": str(RETRY_AFTER_PENDING_SECONDS)},
        )


async def page_limit(
    request: Request, limit: Annotated[int | None, Query(ge=1, description="Page size.")] = None
) -> int:
    """The page size asked for, within ``MAX_PAGE_SIZE`` (a runtime setting, so checked here; ``async`` so that
    FastAPI does not run it in its thread pool)."""
    state = state_of(request)
    if limit is None:
        return state.settings.default_page_size
    if limit > state.settings.max_page_size:
        raise ApiError(422, "invalid_request", f"query.limit: must be at most {state.settings.max_page_size}")
    return limit


async def person_keys(owner_id: OwnerId, request: Request) -> PersonKeys | None:
    """The owner's data key (None: they never stored anything, or were forgotten)."""
    return await state_of(request).keys.get(owner_id)


PersonKeysOrNone = Annotated[PersonKeys | None, Depends(person_keys)]


async def owned_document(
    owner_id: OwnerId, document_id: DocumentId, request: Request, keys: PersonKeysOrNone
) -> StoredDocument:
    """The document named in the path, if it is the owner's (404 for another owner's, like a missing one), its
    answer opened (a document whose person has no key any more is as good as gone)."""
    document = await find_document(state_of(request).database, owner_id, str(document_id))
    if document is None or keys is None:
        raise not_found("document")
    detail = opened_detail(keys, document.detail)
    # The file as stored but for its name, opened: downloads name the file with it.
    return replace(document, detail=detail, file=document.file.model_copy(update={"file_name": detail.file_name}))


OwnedDocument = Annotated[StoredDocument, Depends(owned_document)]
