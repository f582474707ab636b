"""Reading a person's documents through the owner-scoped API: the types, a page of a type, one document, search.

Every read names the person's last write (``after_event``), so what they just did is visible. A document behind
a button is re-read here and offered only if it is theirs and live (or deleted, for Undo): nothing leaks.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from bot.clients.api_client import ApiNotFound, DocumentsApi
from bot.clients.person_store import ListRef, UserStore
from bot.services.restores import RestoreOutcome, restorable_until, restore_outcome
from bot.settings import BotConfig
from contracts.api_schemas import DocumentDetail, DocumentSummary, NameCheck, SignedLink, TypeSummary
from contracts.text import name_key, search_tokens
from contracts.vocabulary import DocumentStatus

MAX_QUERY_LENGTH = 100
# The API's search has a limit but no cursor: the bot asks for this many results and pages through them itself.
SEARCH_RESULTS = 100


@dataclass(frozen=True)
class Page:
    """One page of a type: its documents, the type's title, the token of the following page (if any), and how
    many pages the type has now (from its live count; at least this page's number)."""

    documents: list[DocumentSummary]
    title: str
    next_token: str | None
    pages: int = 1


@dataclass(frozen=True)
class SearchPage:
    """One page of the results for ``query`` (``token`` names it for the buttons); ``capped``: there may be more
    results than the ``SEARCH_RESULTS`` paged through."""

    query: str
    token: str
    documents: list[DocumentSummary]
    page: int
    pages: int
    capped: bool


def page_count(items: int, page_size: int) -> int:
    """Pages needed for ``items`` (one for none: an empty page is still shown)."""
    return max(1, -(-items // page_size))


def search_words(raw: str) -> str:
    """What is searched for: the words typed, single-spaced, at most ``MAX_QUERY_LENGTH`` characters; empty when
    they hold no letter or digit (nothing a name could match: the API refuses such a query)."""
    words = " ".join(raw.split())[:MAX_QUERY_LENGTH]
    return words if search_tokens(name_key(words)) else ""


class Library:
    def __init__(self, api: DocumentsApi, store: UserStore, config: BotConfig) -> None:
        self._api = api
        self._store = store
        self._config = config

    async def types(self, owner_id: int, after_event: str | None) -> list[TypeSummary]:
        return (await self._api.list_types(owner_id, after_event=after_event)).items

    async def page(self, owner_id: int, ref: ListRef, back: str, after_event: str | None) -> Page:
        """The page ``ref`` stands for; ``back`` (packed callback data of this page) becomes the next one's Back."""
        size = self._config.page_size
        documents = self._api.list_documents(owner_id, ref.slug, size, ref.cursor, after_event=after_event)
        if ref.page == 1:  # most types fit on one page: their count is read only when a next page shows it is needed
            result, count = await documents, None
        else:
            result, count = await asyncio.gather(documents, self._live_count(owner_id, ref.slug, after_event))
        title = result.items[0].type_title if result.items else ref.title
        next_token = None
        if result.next_cursor and result.items:
            following = ListRef(ref.slug, title, result.next_cursor, ref.page + 1, prev=back)
            [next_token] = await self._store.save_lists(owner_id, [following])
            if count is None:
                count = await self._live_count(owner_id, ref.slug, after_event)
        # The page carries no total; the type's live count does. They are read apart, so a document added or deleted
        # in between must not show "page 3 of 2": never fewer pages than this one (and the next, if there is one).
        pages = max(page_count(count or 0, size), ref.page + (1 if next_token else 0))
        return Page(result.items, title, next_token, pages)

    async def _live_count(self, owner_id: int, slug: str, after_event: str | None) -> int:
        types = (await self._api.list_types(owner_id, after_event=after_event)).items
        return next((t.live_count for t in types if t.slug == slug), 0)

    async def document(
        self, owner_id: int, document_id: str | None, after_event: str | None, allow_deleted: bool = False
    ) -> DocumentDetail | None:
        """The document if it is this owner's and live (or deleted, when allowed); None otherwise."""
        if document_id is None:
            return None
        try:
            document = await self._api.get_document(owner_id, document_id, after_event=after_event)
        except ApiNotFound:
            return None
        allowed = (DocumentStatus.live, DocumentStatus.deleted) if allow_deleted else (DocumentStatus.live,)
        return document if document.status in allowed else None

    async def name_check(self, owner_id: int, type_slug: str, name: str, after_event: str | None) -> NameCheck:
        """Whether a live document of that type already has that name, and which."""
        return await self._api.name_check(owner_id, type_slug, name, after_event=after_event)

    async def restorable_until(self, owner_id: int, document_id: str, event_id: str) -> datetime | None:
        """Until when the document deleted by ``event_id`` can be restored, once applied (None: not known in time)."""
        return await restorable_until(self._api, owner_id, document_id, event_id)

    async def restore_outcome(self, owner_id: int, before: DocumentDetail, event_id: str) -> RestoreOutcome:
        """How the restore ``event_id`` of ``before`` ended, once applied (``bot.services.restores``)."""
        return await restore_outcome(self._api, owner_id, before, event_id)

    async def search(self, owner_id: int, words: str, after_event: str | None) -> SearchPage:
        """The first page of results for ``words`` (already ``search_words``); the query is kept for the others."""
        token = await self._store.save_search(owner_id, words)
        return await self._search_page(owner_id, words, token, 1, after_event)

    async def search_page(self, owner_id: int, token: str, page: int, after_event: str | None) -> SearchPage | None:
        """Page ``page`` of the search ``token`` names (the last page when fewer are left); None once forgotten."""
        words = await self._store.load_search(owner_id, token)
        if words is None:
            return None
        return await self._search_page(owner_id, words, token, page, after_event)

    async def _search_page(
        self, owner_id: int, words: str, token: str, page: int, after_event: str | None
    ) -> SearchPage:
        found = (await self._api.search(owner_id, words, SEARCH_RESULTS, after_event=after_event)).items
        size = self._config.page_size
        pages = page_count(len(found), size)
        page = min(page, pages)
        return SearchPage(
            words, token, found[(page - 1) * size : page * size], page, pages, capped=len(found) >= SEARCH_RESULTS
        )

    def file_chunks(self, owner_id: int, document_id: str, page: int = 1) -> AsyncIterator[bytes]:
        return self._api.file_chunks(owner_id, document_id, page)

    async def link(self, owner_id: int, document_id: str) -> SignedLink:
        return await self._api.create_link(owner_id, document_id)
