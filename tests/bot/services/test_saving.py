"""``DocumentSaver`` without Telegram or a dispatcher: the contract-shaped fake API, the event recorder as an
AsyncMock (no Redis), and a file source that hands out bytes or fails like Telegram does."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from unittest.mock import AsyncMock

import pytest

from bot.clients.api_client import ApiBusy
from bot.clients.telegram_files import FileTooBig, TelegramDownloadFailed
from bot.services.event_recorder import EventRecorder
from bot.services.limits import EventBudgetSpent
from bot.services.saving import (
    DocumentSaver,
    Draft,
    Duplicate,
    IncomingFile,
    OverBudget,
    QuotaReached,
    Rejected,
    SaveAttempt,
    Saved,
    TextRefused,
    Unavailable,
)
from contracts.api_schemas import StorageUsage
from contracts.events import DocumentAddedV2
from contracts.text import MAX_NAME_LENGTH
from service_kit.eventlog import EventLogUnavailable
from service_kit.keyed import TYPE
from tests.bot.fakes import FakeApi, StoredDoc, content_id_of
from tests.keyrings import TEST_PEOPLE

OWNER = 7001
CONTENT = b"%PDF-1.7 tax return"


class Files:
    """A file source: ``fail_open`` is raised by ``getFile``; ``fail_midway`` after the first chunk."""

    def __init__(self, fail_open: Exception | None = None, fail_midway: Exception | None = None) -> None:
        self.fail_open = fail_open
        self.fail_midway = fail_midway
        self.opened: list[str] = []

    async def open(self, file_id: str) -> AsyncIterator[bytes]:
        self.opened.append(file_id)
        if self.fail_open is not None:
            raise self.fail_open
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        yield CONTENT[:4]
        if self.fail_midway is not None:
            raise self.fail_midway
        yield CONTENT[4:]


def _draft(file_name: str | None = "tax.pdf", attempt: SaveAttempt | None = None) -> Draft:
    file = IncomingFile("tg-file", "tg-unique", file_name, "application/pdf", len(CONTENT))
    return Draft("taxes", "Taxes", "Tax 2025", file, attempt or SaveAttempt(uuid.uuid4(), uuid.uuid4()))


def _saver(api: FakeApi) -> tuple[DocumentSaver, AsyncMock]:
    recorder = AsyncMock(spec=EventRecorder)
    return DocumentSaver(api, recorder), recorder


def _stored(document_id: str, name: str = "Old scan") -> StoredDoc:
    return StoredDoc(
        OWNER,
        document_id,
        "receipts",
        "Receipts",
        name,
        "",
        len(CONTENT),
        "application/pdf",
        None,
        None,
        content_id=content_id_of(OWNER, CONTENT),
    )


async def test_save_uploads_then_records_the_attempts_ids_when_all_answers() -> None:
    api = FakeApi()
    saver, recorder = _saver(api)
    draft = _draft()

    result = await saver.save(OWNER, draft, Files())

    assert result == Saved(str(draft.attempt.document_id), "Tax 2025", "Taxes")
    assert api.uploads == [(OWNER, CONTENT, "application/pdf", "tax.pdf")]
    recorder.record.assert_awaited_once()
    owner, payload = recorder.record.await_args.args
    assert owner == OWNER and recorder.record.await_args.kwargs == {"event_id": draft.attempt.event_id}
    assert isinstance(payload, DocumentAddedV2) and payload.document_id == draft.attempt.document_id
    keys = TEST_PEOPLE[OWNER]
    assert (
        keys.open("file_name", payload.file.file_name or "") == "tax.pdf" and payload.file.telegram_file_id == "tg-file"
    )
    assert keys.open("name", payload.name) == "Tax 2025" and keys.open("type_title", payload.type_title) == "Taxes"
    assert payload.type_slug == keys.keyed(TYPE, "taxes") and payload.file.sha256 is None


async def test_save_records_nothing_and_names_the_kept_document_when_the_bytes_are_another_document() -> None:
    api = FakeApi()
    kept = api.add(_stored(str(uuid.uuid4())), CONTENT)
    saver, recorder = _saver(api)

    result = await saver.save(OWNER, _draft(), Files())

    assert result == Duplicate(kept.document_id, "Old scan", "Receipts")
    recorder.record.assert_not_awaited()


async def test_save_records_again_when_the_duplicate_is_the_document_an_earlier_attempt_saved() -> None:
    attempt = SaveAttempt(uuid.uuid4(), uuid.uuid4())
    api = FakeApi()
    api.add(_stored(str(attempt.document_id), name="Tax 2025"), CONTENT)  # the lost confirm's event was applied
    saver, recorder = _saver(api)

    result = await saver.save(OWNER, _draft(attempt=attempt), Files())

    assert result == Saved(str(attempt.document_id), "Tax 2025", "Taxes")
    assert recorder.record.await_args.kwargs == {"event_id": attempt.event_id}


async def test_save_uploads_without_a_name_when_the_api_refuses_the_file_name() -> None:
    api = FakeApi()
    saver, recorder = _saver(api)

    result = await saver.save(OWNER, _draft(file_name="\u202e\u200b"), Files())

    assert isinstance(result, Saved)
    assert [upload[3] for upload in api.uploads] == ["\u202e\u200b", None]
    assert recorder.record.await_args.args[1].file.file_name is None


@pytest.mark.parametrize(
    ("files", "too_big"),
    [
        (Files(fail_open=FileTooBig("file is too big")), True),
        (Files(fail_midway=FileTooBig("more than 1000 bytes")), True),
        (Files(fail_open=TelegramDownloadFailed("wrong file identifier")), False),
        (Files(fail_midway=TelegramDownloadFailed("ClientError")), False),
    ],
    ids=["refused-by-getFile", "over-the-limit-midway", "getFile-failed", "download-cut"],
)
async def test_save_rejects_the_file_and_records_nothing_when_telegram_will_not_hand_it_out(
    files: Files, too_big: bool
) -> None:
    saver, recorder = _saver(FakeApi())

    assert await saver.save(OWNER, _draft(), files) == Rejected(too_big=too_big)
    recorder.record.assert_not_awaited()


async def test_save_reports_the_usage_and_records_nothing_when_the_quota_is_reached() -> None:
    usage = StorageUsage(documents=100, documents_limit=100, bytes=10, bytes_limit=1000)
    saver, recorder = _saver(FakeApi(quota=usage))

    assert await saver.save(OWNER, _draft(), Files()) == QuotaReached(usage)
    recorder.record.assert_not_awaited()


async def test_save_says_how_long_to_wait_when_the_event_budget_is_spent() -> None:
    saver, recorder = _saver(FakeApi())
    recorder.record.side_effect = EventBudgetSpent(7)

    assert await saver.save(OWNER, _draft(), Files()) == OverBudget(minutes_left=7)


@pytest.mark.parametrize("down", ["api", "event log"])
async def test_save_is_unavailable_and_can_be_retried_when_the_api_or_the_event_log_is_down(down: str) -> None:
    api = FakeApi(down=down == "api")
    saver, recorder = _saver(api)
    recorder.record.side_effect = EventLogUnavailable("broker gone")

    result = await saver.save(OWNER, _draft(), Files())

    assert isinstance(result, Unavailable)
    assert result.reason == ("ApiUnavailable" if down == "api" else "EventLogUnavailable")


@pytest.mark.parametrize(
    ("type_title", "name", "problem"),
    [
        ("Taxes", "\u200b\u202e", "name.empty"),
        ("Taxes", "x" * (MAX_NAME_LENGTH + 1), "name.too_long"),
        ("\u200b", "Tax 2025", "type.empty"),
    ],
)
async def test_save_records_nothing_and_names_the_problem_when_the_api_refuses_a_typed_text(
    type_title: str, name: str, problem: str
) -> None:
    api = FakeApi()
    saver, recorder = _saver(api)
    draft = replace(_draft(), type_title=type_title, name=name)

    assert await saver.save(OWNER, draft, Files()) == TextRefused(problem)
    recorder.record.assert_not_awaited()


async def test_save_keeps_the_attempt_for_try_again_when_the_seal_limit_is_reached() -> None:
    api = FakeApi()
    saver, recorder = _saver(api)
    api.seal = AsyncMock(side_effect=ApiBusy("429 from the API"))  # type: ignore[method-assign]

    assert await saver.save(OWNER, _draft(), Files()) == Unavailable("ApiBusy")
    recorder.record.assert_not_awaited()


async def test_save_says_saved_when_an_albums_effect_is_not_known_in_time() -> None:
    api = FakeApi()  # the recorder is a mock: the add is never applied, so the read back finds nothing in time
    saver, recorder = _saver(api)
    page = IncomingFile("tg-file-2", "tg-unique-2", "p2.pdf", "application/pdf", len(CONTENT))
    draft = replace(_draft(), more=(page,))

    result = await saver.save(OWNER, draft, Files())

    assert result == Saved(str(draft.attempt.document_id), "Tax 2025", "Taxes")
    assert api.page_uploads == [False, True] and api.after_events[-1] == str(draft.attempt.event_id)
