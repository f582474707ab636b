"""``bot.services.renaming``: the typed name sealed by the API, then the v2 ``document.renamed``."""

from __future__ import annotations

import uuid
from unittest.mock import AsyncMock

import pytest

from bot.clients.api_client import ApiBusy
from bot.services.event_recorder import EventRecorder
from bot.services.renaming import DocumentRenamer
from bot.services.saving import TextRefused
from contracts.events import DocumentRenamedV2
from tests.bot.fakes import FakeApi
from tests.keyrings import TEST_PEOPLE

OWNER = 7001
DOCUMENT_ID = str(uuid.uuid4())


def _renamer(api: FakeApi) -> tuple[DocumentRenamer, AsyncMock]:
    recorder = AsyncMock(spec=EventRecorder)
    return DocumentRenamer(api, recorder), recorder


async def test_rename_records_the_sealed_name_and_answers_the_cleaned_one_when_the_api_seals() -> None:
    renamer, recorder = _renamer(FakeApi())

    assert await renamer.rename(OWNER, DOCUMENT_ID, "  New   name ") == "New name"

    (owner, payload), _ = recorder.record.await_args
    assert owner == OWNER and isinstance(payload, DocumentRenamedV2) and not payload.plaintext
    assert payload.document_id == uuid.UUID(DOCUMENT_ID) and TEST_PEOPLE[OWNER].open("name", payload.name) == "New name"


async def test_rename_records_nothing_and_names_the_problem_when_the_api_refuses_the_name() -> None:
    renamer, recorder = _renamer(FakeApi())

    assert await renamer.rename(OWNER, DOCUMENT_ID, "\u200b") == TextRefused("name.empty")
    recorder.record.assert_not_awaited()


async def test_rename_raises_busy_and_records_nothing_when_the_seal_limit_is_reached() -> None:
    api = FakeApi()
    api.seal = AsyncMock(side_effect=ApiBusy("429 from the API"))  # type: ignore[method-assign]
    renamer, recorder = _renamer(api)

    with pytest.raises(ApiBusy):
        await renamer.rename(OWNER, DOCUMENT_ID, "New name")
    recorder.record.assert_not_awaited()
