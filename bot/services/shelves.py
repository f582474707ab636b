"""A person's document types as buttons stand for them: short tokens in Redis for what does not fit in 64 bytes."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clients.api_client import DocumentsApi
from bot.clients.person_store import ListRef, UserStore
from contracts.api_schemas import TypeSummary


@dataclass(frozen=True)
class TypeChoice:
    """The person's types, each with the token its button carries (in the same order)."""

    types: list[TypeSummary]
    tokens: list[str]


class Shelves:
    def __init__(self, api: DocumentsApi, store: UserStore) -> None:
        self._api = api
        self._store = store

    async def choice(self, owner_id: int, after_event: str | None) -> TypeChoice:
        """The types to choose from when adding a document."""
        types = (await self._api.list_types(owner_id, after_event=after_event)).items
        return TypeChoice(types, await self._store.save_lists(owner_id, [ListRef(t.slug, t.title) for t in types]))

    async def remember(self, owner_id: int, refs: list[ListRef]) -> list[str]:
        """Tokens for ``refs`` (a type's pages), in order."""
        return await self._store.save_lists(owner_id, refs)

    async def recall(self, owner_id: int, token: str) -> ListRef | None:
        """What a token stands for; None when it expired or was never this owner's."""
        return await self._store.load_list(owner_id, token)
