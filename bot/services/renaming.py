"""Renaming a document: the API seals the typed name (``POST /seal``), then the v2 ``document.renamed`` is
appended with the sealed name (the bot holds no key)."""

from __future__ import annotations

import uuid

from bot.clients.api_client import ApiRejected, ApiUnavailable, DocumentsApi
from bot.services.event_recorder import EventRecorder
from bot.services.saving import TextRefused, refused_text
from contracts.api_schemas import SealRequest
from contracts.events import DocumentRenamedV2


class DocumentRenamer:
    def __init__(self, api: DocumentsApi, recorder: EventRecorder) -> None:
        self._api = api
        self._recorder = recorder

    async def rename(self, owner_id: int, document_id: str, name: str) -> str | TextRefused:
        """Append the rename; the name as the person will see it (cleaned by the API), or why it was refused.
        An API that is busy or down raises (``ApiBusy``, ``ApiUnavailable``), as every other call does."""
        try:
            sealed = await self._api.seal(owner_id, SealRequest(name=name))
        except ApiRejected as error:
            refused = refused_text(error)
            if refused is None:
                raise
            return refused
        if sealed.name is None:
            raise ApiUnavailable("the seal answer lacks the name")
        payload = DocumentRenamedV2(document_id=uuid.UUID(document_id), name=sealed.name.sealed)
        await self._recorder.record(owner_id, payload)
        return sealed.name.cleaned
