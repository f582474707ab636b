"""Organising a person's documents (issue 12): move a document to another type, rename a type, delete a type with
its documents and undo that. The API seals every title (``POST /seal``, which also gives the keyed slug the events
name types by); the processor decides how each ended (``contracts.effects``) and the bot reads that back, as an
Undo of a single document does (``bot.services.restores``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from bot.clients.api_client import ApiError, ApiRejected, ApiUnavailable, DocumentsApi
from bot.services.event_recorder import EventRecorder
from bot.services.saving import TextRefused, refused_text
from contracts.api_schemas import SealedTexts, SealRequest, TypeSummary
from contracts.events import DocumentMoved, DocumentTypeDeleted, DocumentTypeRenamed, DocumentTypeRestored, EventPayload
from contracts.text import name_key


@dataclass(frozen=True)
class Outcome:
    """How an action ended: ``effect`` None when it was not applied in time (the event is in the log);
    ``title`` the type's title as sealed (cleaned) by the API; ``name`` the document's name now (moves)."""

    effect: str | None
    title: str
    name: str = ""
    slug: str = ""


def same_title(types: list[TypeSummary], title: str, but: str | None = None) -> TypeSummary | None:
    """Pure: the type (other than slug ``but``) whose title reads as ``title`` (case and marks aside)."""
    return next((t for t in types if t.slug != but and name_key(t.title) == name_key(title)), None)


class Organiser:
    def __init__(self, api: DocumentsApi, recorder: EventRecorder) -> None:
        self._api = api
        self._recorder = recorder

    async def _sealed_title(self, owner_id: int, title: str) -> SealedTexts | TextRefused:
        try:
            sealed = await self._api.seal(owner_id, SealRequest(type_title=title))
        except ApiRejected as error:
            refused = refused_text(error)
            if refused is None:
                raise
            return refused
        if sealed.type_title is None or sealed.type_slug is None:
            raise ApiUnavailable("the seal answer lacks the type title or its slug")
        return sealed

    async def _slug_of(self, owner_id: int, kind: TypeSummary) -> str:
        """The keyed slug events name ``kind`` by: its title's, as the API keys it (a type's slug is its title's)."""
        sealed = await self._sealed_title(owner_id, kind.title)
        if isinstance(sealed, TextRefused) or sealed.type_slug is None:
            raise ApiUnavailable("the API refused a type title it listed")
        return sealed.type_slug

    async def _effect(self, owner_id: int, payload: EventPayload) -> str | None:
        """Append ``payload`` and wait (through read-your-writes) for what applying it did."""
        event = await self._recorder.record(owner_id, payload)
        try:
            await self._api.list_types(owner_id, after_event=str(event.event_id))
            status = await self._api.event_status(owner_id, str(event.event_id))
        except ApiError:  # not applied within the waits, or the API briefly away: the event is in the log
            return None
        return status.effect if status.applied else None

    async def move(self, owner_id: int, document_id: str, title: str) -> Outcome | TextRefused:
        """Move the document into the type called ``title`` (created when the person has none of that title)."""
        sealed = await self._sealed_title(owner_id, title)
        if isinstance(sealed, TextRefused):
            return sealed
        assert sealed.type_title is not None and sealed.type_slug is not None
        payload = DocumentMoved(
            document_id=uuid.UUID(document_id), type_slug=sealed.type_slug, type_title=sealed.type_title.sealed
        )
        effect = await self._effect(owner_id, payload)
        name = ""
        if effect is not None:
            name = (await self._api.get_document(owner_id, document_id)).name
        return Outcome(effect, sealed.type_title.cleaned, name)

    async def rename_type(self, owner_id: int, kind: TypeSummary, title: str) -> Outcome | TextRefused:
        new = await self._sealed_title(owner_id, title)
        if isinstance(new, TextRefused):
            return new
        assert new.type_title is not None
        payload = DocumentTypeRenamed(type_slug=await self._slug_of(owner_id, kind), type_title=new.type_title.sealed)
        return Outcome(await self._effect(owner_id, payload), new.type_title.cleaned)

    async def delete_type(self, owner_id: int, kind: TypeSummary) -> str:
        """Append the deletion; its event id (what the Undo names)."""
        event = await self._recorder.record(
            owner_id, DocumentTypeDeleted(type_slug=await self._slug_of(owner_id, kind))
        )
        return event.event_id.hex

    async def restore_type(self, owner_id: int, deletion_event_id: str) -> str | None:
        return await self._effect(owner_id, DocumentTypeRestored(deletion_event_id=uuid.UUID(deletion_event_id)))
