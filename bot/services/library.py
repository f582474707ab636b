"""Reading a person's documents through the owner-scoped API: the types, a page of a type, one document, search.

Every read names the person's last write (``after_event``), so what they just did is visible. A document behind
a button is re-read here and offered only if it is theirs and live (or deleted, for Undo): nothing leaks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from bot.clients.api_client import ApiNotFound, DocumentsApi
from bot.clients.person_store import ListRef, UserStore
from bot.services.restores import RestoreOutcome, restore_outcome
from bot.settings import BotConfig
from contracts.api_schemas import DocumentDetail, DocumentSummary, NameCheck, SignedLink, TypeSummary
from contracts.vocabulary import DocumentStatus

MAX_QUERY_LENGTH = 100


@dataclass(frozen=True)
class Page:
    """One page of a type: its documents, the type's title, and the token of the following page (if any)."""

    documents: list[DocumentSummary]
    title: str
    next_token: str | None


def search_words(raw: str) -> str:
    """What is searched for: the words typed, single-spaced, at most ``MAX_QUERY_LENGTH`` characters."""
    return " ".join(raw.split())[:MAX_QUERY_LENGTH]


class Library:
    def __init__(self, api: DocumentsApi, store: UserStore, config: BotConfig) -> None:
        self._api = api
        self._store = store
        self._config = config

    async def types(self, owner_id: int, after_event: str | None) -> list[TypeSummary]:
        return (await self._api.list_types(owner_id, after_event=after_event)).items

    async def page(self, owner_id: int, ref: ListRef, back: str, after_event: str | None) -> Page:
        """The page ``ref`` stands for; ``back`` (packed callback data of this page) becomes the next one's Back."""
        result = await self._api.list_documents(
            owner_id, ref.slug, self._config.page_size, ref.cursor, after_event=after_event
        )
        title = result.items[0].type_title if result.items else ref.title
        next_token = None
        if result.next_cursor and result.items:
            following = ListRef(ref.slug, title, result.next_cursor, ref.page + 1, prev=back)
            [next_token] = await self._store.save_lists(owner_id, [following])
        return Page(result.items, title, next_token)

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

    async def restore_outcome(self, owner_id: int, before: DocumentDetail, event_id: str) -> RestoreOutcome:
        """How the restore ``event_id`` of ``before`` ended, once applied (``bot.services.restores``)."""
        return await restore_outcome(self._api, owner_id, before, event_id)

    async def search(self, owner_id: int, words: str, after_event: str | None) -> list[DocumentSummary]:
        return (await self._api.search(owner_id, words, self._config.search_limit, after_event=after_event)).items

    def file_chunks(self, owner_id: int, document_id: str) -> AsyncIterator[bytes]:
        return self._api.file_chunks(owner_id, document_id)

    async def link(self, owner_id: int, document_id: str) -> SignedLink:
        return await self._api.create_link(owner_id, document_id)
