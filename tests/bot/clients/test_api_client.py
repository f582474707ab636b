"""``bot.clients.api_client`` against a stub of the contract over real HTTP: paths, headers, typed failures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date

import pytest
from prometheus_client import REGISTRY

from bot.clients.api_client import (
    ApiBusy,
    ApiClient,
    ApiNotFound,
    ApiNotYetApplied,
    ApiRejected,
    ApiUnavailable,
    QuotaExceeded,
)
from bot.clients.telegram_files import FileTooBig
from contracts.api_schemas import SealRequest, StorageUsage
from contracts.effects import Effect
from service_kit.correlation import CORRELATION_HEADER, correlation_id_var
from tests.bot.api_stub import MISSING_DOCUMENT as MISSING
from tests.bot.api_stub import TOKEN, StubState, start_stub
from tests.keyrings import TEST_PEOPLE


@pytest.fixture
async def stub() -> AsyncIterator[tuple[StubState, str]]:
    state = StubState()
    runner, url = await start_stub(state)
    yield state, url
    await runner.cleanup()


@pytest.fixture
async def client(stub: tuple[StubState, str]) -> AsyncIterator[ApiClient]:
    api = ApiClient(stub[1], TOKEN, timeout_seconds=5)
    yield api
    await api.close()


async def test_client_sends_token_and_request_id_when_reading(stub: tuple[StubState, str], client: ApiClient) -> None:
    correlation_id_var.set("corr-123")
    page = await client.list_documents(5, "type 1/x", limit=2, cursor="4", after_event="ev-1")
    request = stub[0].requests[-1]
    assert request.raw_path.startswith("/v1/owners/5/types/type%201%2Fx/documents?")
    assert request.headers[CORRELATION_HEADER] == "corr-123"
    assert dict(request.query) == {"limit": "2", "cursor": "4", "after_event": "ev-1"}
    assert [d.name for d in page.items] == ["type 1/x 4", "type 1/x 5"] and page.next_cursor == "6"


async def test_client_retries_then_reads_when_the_event_is_applied_late(
    stub: tuple[StubState, str], client: ApiClient
) -> None:
    stub[0].conflicts_left = 2
    types = await client.list_types(5, after_event="ev-1")
    assert len(types.items) == 3 and len(stub[0].requests) == 3


async def test_client_raises_not_yet_applied_when_409_persists(stub: tuple[StubState, str], client: ApiClient) -> None:
    stub[0].conflicts_left = 100
    with pytest.raises(ApiNotYetApplied):
        await client.list_types(5, after_event="ev-1")


async def test_client_raises_not_found_when_the_document_is_missing(client: ApiClient) -> None:
    with pytest.raises(ApiNotFound):
        await client.get_document(5, MISSING)


async def test_client_raises_unavailable_when_the_api_fails(stub: tuple[StubState, str], client: ApiClient) -> None:
    stub[0].fail_status = 503
    with pytest.raises(ApiUnavailable):
        await client.search(5, "x", 10)


async def test_client_seal_answers_the_cleaned_and_sealed_texts_when_the_api_seals(client: ApiClient) -> None:
    sealed = await client.seal(5, SealRequest(name="  Main   passport ", type_title="Passport"))
    keys = TEST_PEOPLE[5]
    assert sealed.name is not None and sealed.type_title is not None and sealed.file_name is None
    assert (sealed.name.cleaned, keys.open("name", sealed.name.sealed)) == ("Main passport", "Main passport")
    assert keys.open("type_title", sealed.type_title.sealed) == "Passport" and sealed.type_slug == keys.keyed(
        "type", "passport"
    )


async def test_client_seal_raises_busy_when_the_api_answers_429(stub: tuple[StubState, str], client: ApiClient) -> None:
    stub[0].seals_left = 0
    with pytest.raises(ApiBusy):
        await client.seal(5, SealRequest(name="Lease"))


async def test_client_seal_raises_rejected_with_the_code_when_a_name_is_empty_once_cleaned(client: ApiClient) -> None:
    with pytest.raises(ApiRejected) as refused:
        await client.seal(5, SealRequest(name="\u200b\u202e"))
    assert (refused.value.status, refused.value.code) == (422, "invalid_name")


async def test_client_raises_unavailable_when_nothing_listens() -> None:
    api = ApiClient("http://127.0.0.1:9", TOKEN, timeout_seconds=1)
    try:
        with pytest.raises(ApiUnavailable):
            await api.list_types(5)
    finally:
        await api.close()


async def test_client_raises_busy_not_unavailable_when_the_api_answers_later_than_the_timeout(
    stub: tuple[StubState, str],
) -> None:
    stub[0].delay_seconds = 0.5
    api = ApiClient(stub[1], TOKEN, timeout_seconds=0.1)
    try:
        with pytest.raises(ApiBusy):
            await api.list_types(5)
    finally:
        await api.close()


async def test_client_queues_then_raises_busy_when_every_connection_stays_taken(stub: tuple[StubState, str]) -> None:
    stub[0].delay_seconds = 0.2
    api = ApiClient(stub[1], TOKEN, timeout_seconds=0.5, max_connections=1)
    try:
        first = asyncio.create_task(api.list_types(5))
        queued = asyncio.create_task(api.list_types(6))  # waits ~0.2 s for the one connection, then is served
        assert len((await first).items) == 3 and len((await queued).items) == 3
        stub[0].delay_seconds = 0
        download = api.file_chunks(5, "00000000-0000-4000-8000-000000000001")
        await anext(download)  # a download being read holds its connection until it ends
        with pytest.raises(ApiBusy, match="no free connection"):
            await api.list_types(6)
        await download.aclose()
        assert len((await api.list_types(6)).items) == 3
    finally:
        await api.close()


async def test_client_raises_rejected_when_the_token_is_wrong(stub: tuple[StubState, str]) -> None:
    api = ApiClient(stub[1], "wrong", timeout_seconds=5)
    try:
        with pytest.raises(ApiRejected) as raised:
            await api.list_types(5)
        assert raised.value.status == 401 and raised.value.code == "unauthorized"
    finally:
        await api.close()


async def _chunks() -> AsyncIterator[bytes]:
    for part in (b"first ", b"second ", b"third"):
        yield part


async def test_client_streams_an_upload_with_name_and_type_when_uploading(
    stub: tuple[StubState, str], client: ApiClient
) -> None:
    uploaded = await client.upload_file(5, _chunks(), "application/pdf", "Договор №1.pdf")
    request = stub[0].requests[-1]
    assert stub[0].bodies == [b"first second third"] and uploaded.size == 18
    assert request.headers["X-File-Name"] == "%D0%94%D0%BE%D0%B3%D0%BE%D0%B2%D0%BE%D1%80%20%E2%84%961.pdf"
    assert request.content_type == "application/pdf"


async def _chunks_then_too_big() -> AsyncIterator[bytes]:
    yield b"first "
    raise FileTooBig("more than 6 bytes")


async def test_client_raises_the_sources_own_error_when_the_upload_source_fails(client: ApiClient) -> None:
    with pytest.raises(FileTooBig):
        await client.upload_file(5, _chunks_then_too_big(), "application/pdf", "a.pdf")


async def test_client_raises_quota_exceeded_with_the_usage_when_an_upload_is_past_the_limits(
    stub: tuple[StubState, str], client: ApiClient
) -> None:
    usage = StorageUsage(documents=3, documents_limit=100, bytes=990, bytes_limit=1000)
    stub[0].quota = usage
    with pytest.raises(QuotaExceeded) as raised:
        await client.upload_file(5, _chunks(), "application/pdf", "a.pdf")
    assert raised.value.usage == usage and (raised.value.status, raised.value.code) == (403, "quota_exceeded")


async def test_client_reads_what_an_event_did_when_asked_for_its_status(
    stub: tuple[StubState, str], client: ApiClient
) -> None:
    stub[0].event_effect = Effect.restored_renamed
    status = await client.event_status(5, "00000000-0000-4000-8000-00000000000e")
    assert stub[0].requests[-1].path == "/v1/owners/5/events/00000000-0000-4000-8000-00000000000e"
    assert status.applied and status.effect == "restored_renamed"


async def test_client_yields_file_bytes_and_times_the_download_when_streaming(
    stub: tuple[StubState, str], client: ApiClient
) -> None:
    labels = {"target": "api", "operation": "download_file", "outcome": "ok"}
    before = REGISTRY.get_sample_value("docvault_integration_call_seconds_count", labels) or 0
    data = b"".join([chunk async for chunk in client.file_chunks(5, "00000000-0000-4000-8000-000000000001")])
    assert data == stub[0].file_bytes
    assert REGISTRY.get_sample_value("docvault_integration_call_seconds_count", labels) == before + 1


async def test_client_raises_before_any_bytes_when_the_file_is_missing(
    stub: tuple[StubState, str], client: ApiClient
) -> None:
    stub[0].fail_status = 404
    with pytest.raises(ApiNotFound):
        await anext(client.file_chunks(5, MISSING))


async def test_client_reports_health_when_the_api_answers(client: ApiClient) -> None:
    assert await client.healthy()


async def test_client_reads_expiring_documents_with_their_dates_when_asked_for_a_window(
    stub: tuple[StubState, str], client: ApiClient
) -> None:
    found = await client.expiring(5, date(2031, 3, 1), 30, 2, after_event="e1")

    assert [doc.valid_until for doc in found.items] == [date(2031, 3, 1), date(2031, 3, 2)]
    request = stub[0].requests[-1]
    assert request.path == f"/v1/owners/{5}/documents/expiring"
    assert dict(request.query) == {"on": "2031-03-01", "within_days": "30", "limit": "2", "after_event": "e1"}


async def test_client_asks_for_due_reminders_with_the_days_when_the_sender_checks(
    stub: tuple[StubState, str], client: ApiClient
) -> None:
    due = await client.due_reminders(date(2031, 3, 1), (30, 7), 100)

    assert due.items == []
    request = stub[0].requests[-1]
    assert (request.path, dict(request.query)) == (
        "/v1/reminders/due",
        {"on": "2031-03-01", "days": "30,7", "limit": "100"},
    )
