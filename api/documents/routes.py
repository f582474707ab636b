"""Owner-scoped reads: types, pages of a type, search, one document, its history, and small lookups."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.core.errors import ApiError, not_found
from api.core.openapi_errors import OWNER_READ_ERRORS
from api.core.parameters import OwnerId, State
from api.core.security import require_service_token
from api.documents import queries
from api.documents.cursors import MAX_CURSOR_LENGTH, InvalidCursor, PagePosition, decode_cursor, encode_cursor
from api.documents.dependencies import (
    MAX_SLUG_LENGTH,
    OwnedDocument,
    PersonKeysOrNone,
    TypeSlug,
    page_limit,
    require_fresh,
)
from api.documents.opening import by_name, opened_summaries, opened_types
from api.documents.search import EmptySearch, search_terms
from contracts.api_schemas import (
    OWNER_SCOPE,
    DocumentDetail,
    DocumentList,
    DocumentPage,
    EventStatus,
    HistoryList,
    NameCheck,
    TypeList,
    UserProfile,
)
from contracts.events import StorableDate
from contracts.text import MAX_NAME_LENGTH, InvalidName, clean_display_name
from contracts.vocabulary import SLUG_PATTERN
from service_kit.keyed import keyed_terms, name_keys, type_key

router = APIRouter(
    prefix=OWNER_SCOPE,
    tags=["documents"],
    dependencies=[Depends(require_service_token)],
    responses=OWNER_READ_ERRORS,
)
fresh = [Depends(require_fresh)]
PageLimit = Annotated[int, Depends(page_limit)]
# Room for the spaces and control characters that cleaning removes before the name limit applies.
RAW_NAME_LENGTH = 4 * MAX_NAME_LENGTH


@router.get("/types", dependencies=fresh, summary="The owner's document types with live counts")
async def list_types(
    owner_id: OwnerId,
    state: State,
    keys: PersonKeysOrNone,
    non_empty: Annotated[bool, Query(description="Only types holding live documents.")] = False,
) -> TypeList:
    if keys is None:
        return TypeList(items=[])
    types = await queries.list_types(state.database, owner_id, state.settings.max_types)
    return TypeList(items=[t for t in opened_types(keys, types) if t.live_count > 0 or not non_empty])


def _position(cursor: str | None, slug: str) -> PagePosition | None:
    if cursor is None:
        return None
    try:
        return decode_cursor(cursor, slug)
    except InvalidCursor as error:
        raise ApiError(422, "invalid_cursor", str(error)) from None


@router.get("/types/{slug}/documents", dependencies=fresh, summary="Live documents of a type, oldest first")
async def documents_of_type(
    owner_id: OwnerId,
    slug: TypeSlug,
    state: State,
    limit: PageLimit,
    keys: PersonKeysOrNone,
    cursor: Annotated[
        str | None, Query(max_length=MAX_CURSOR_LENGTH, description="next_cursor of the previous page")
    ] = None,
) -> DocumentPage:
    position = _position(cursor, slug)
    if keys is None:
        return DocumentPage(items=[])
    rows = await queries.documents_page(
        state.database, owner_id, type_key(keys, slug), position.after_seq if position else 0, limit + 1
    )
    next_cursor = encode_cursor(PagePosition(slug, rows[limit - 1][0])) if len(rows) > limit else None
    return DocumentPage(items=opened_summaries(keys, [summary for _, summary in rows[:limit]]), next_cursor=next_cursor)


@router.get("/documents/search", dependencies=fresh, summary="Live documents whose words start with the query's")
async def search_documents(
    owner_id: OwnerId,
    state: State,
    limit: PageLimit,
    keys: PersonKeysOrNone,
    q: Annotated[str, Query(min_length=1, max_length=MAX_NAME_LENGTH, description="Words or word beginnings.")],
) -> DocumentList:
    try:
        terms = search_terms(q)
    except EmptySearch as error:
        raise ApiError(422, "invalid_query", str(error)) from None
    if keys is None:
        return DocumentList(items=[])
    found = await queries.search_documents(state.database, owner_id, keyed_terms(keys, terms), limit)
    return DocumentList(items=by_name(opened_summaries(keys, found)))


MAX_EXPIRY_WINDOW_DAYS = 3660  # ten years: "expiring soon" is weeks, but a person may ask for more


@router.get("/documents/expiring", dependencies=fresh, summary="Live documents valid until a day in a window")
async def expiring_documents(
    owner_id: OwnerId,
    state: State,
    limit: PageLimit,
    keys: PersonKeysOrNone,
    on: Annotated[StorableDate, Query(description="The first day of the window (the person's today).")],
    within_days: Annotated[int, Query(ge=0, le=MAX_EXPIRY_WINDOW_DAYS, description="Days after `on`.")] = 30,
) -> DocumentList:
    """Soonest first; the window's days inclusive."""
    if keys is None:
        return DocumentList(items=[])
    found = await queries.expiring_documents(state.database, owner_id, on, on + timedelta(days=within_days), limit)
    return DocumentList(items=opened_summaries(keys, found))


@router.get("/documents/{document_id}", dependencies=fresh, summary="One document, whatever its status")
async def get_document(document: OwnedDocument) -> DocumentDetail:
    return document.detail


@router.get("/documents/{document_id}/history", dependencies=fresh, summary="Events applied to a document")
async def document_history(owner_id: OwnerId, document: OwnedDocument, state: State, limit: PageLimit) -> HistoryList:
    entries = await queries.document_history(state.database, owner_id, document.detail.document_id, limit)
    return HistoryList(items=entries)


@router.get("/name-check", dependencies=fresh, summary="Whether a live document of the type has this name")
async def name_check(
    owner_id: OwnerId,
    state: State,
    keys: PersonKeysOrNone,
    type_slug: Annotated[str, Query(min_length=1, max_length=MAX_SLUG_LENGTH, pattern=SLUG_PATTERN)],
    name: Annotated[str, Query(min_length=1, max_length=RAW_NAME_LENGTH)],
) -> NameCheck:
    try:
        cleaned = clean_display_name(name)
    except InvalidName as error:
        raise ApiError(422, "invalid_name", f"the name is {error.reason.replace('_', ' ')}") from None
    if keys is None:
        return NameCheck(taken=False)
    key = name_keys(keys, cleaned).name_key
    holder = await queries.find_live_by_name(state.database, owner_id, type_key(keys, type_slug), key)
    return NameCheck(taken=holder is not None, document_id=holder)


@router.get("/profile", dependencies=fresh, summary="The owner's language")
async def profile(owner_id: OwnerId, state: State) -> UserProfile:
    language = await queries.find_language(state.database, owner_id)
    if language is None:
        raise not_found("user")
    return UserProfile(owner_id=owner_id, language=language)


@router.get("/events/{event_id}", summary="Whether an event of this owner has been applied")
async def event_status(owner_id: OwnerId, event_id: uuid.UUID, state: State) -> EventStatus:
    record = await queries.find_applied_event(state.database, str(event_id))
    if record is not None and record.owner_id != owner_id:
        raise not_found("event")
    return EventStatus(event_id=str(event_id), applied=record is not None, effect=record.effect if record else None)
