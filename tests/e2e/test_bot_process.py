"""``python -m bot`` as a real process, in polling and webhook mode, against the fake Telegram server, a stub
of the query API, the real event stream and Redis: the wiring, the entry point and graceful shutdown.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest

from bot.ui.i18n import Texts
from contracts.api_schemas import StorageUsage
from contracts.events import DocumentAddedV2, UserStarted
from service_kit.correlation import CORRELATION_HEADER
from service_kit.settings import RabbitSettings
from tests.bot.api_stub import TOKEN as API_TOKEN
from tests.bot.api_stub import StubState, start_stub
from tests.chaos.observe import stream_events
from tests.e2e.processes import (
    BOT_TOKEN,
    WEBHOOK_SECRET,
    Chat,
    Service,
    bot_env,
    forget_keys,
    rabbit_env,
    read_events,
    redis_url,
    start_service,
    text_of,
    wait_http_ok,
)
from tests.fake_telegram.server import SECRET_HEADER, FakeTelegram
from tests.keyrings import TEST_PEOPLE
from tests.ports import free_port
from tests.streams import fresh_streams

pytestmark = pytest.mark.integration
EN = Texts("en")
PDF = b"%PDF-1.4 e2e document " + bytes(range(256))


@dataclass
class Running:
    telegram: FakeTelegram
    stub: StubState
    bot: Service
    ops_url: str
    mode: str

    def person(self, number: int) -> Chat:
        """A person of this mode's run (the two runs share the streams, so their people differ)."""
        return Chat(self.telegram, number + (10_000 if self.mode == "webhook" else 0))


@pytest.fixture(scope="module")
async def rabbit() -> AsyncIterator[RabbitSettings]:
    """Streams of this module only (one bot process per mode shares them; tests use distinct people)."""
    async with fresh_streams(f"e2e-process-{uuid.uuid4().hex[:8]}") as settings:
        yield settings


@pytest.fixture(scope="module", params=["polling", "webhook"])
async def running(
    request: pytest.FixtureRequest, rabbit: RabbitSettings, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Running]:
    telegram = FakeTelegram(BOT_TOKEN)
    telegram_runner, telegram_url = await telegram.start()
    stub = StubState()
    stub_runner, stub_url = await start_stub(stub)
    port, prefix = free_port(), f"e2e-{uuid.uuid4().hex[:8]}"
    env = bot_env(request.param, telegram_url, stub_url, API_TOKEN, port, prefix, PAGE_SIZE="5", **rabbit_env(rabbit))
    bot = await start_service("bot", "bot", env, tmp_path_factory.mktemp(f"bot-{request.param}"))
    try:
        await wait_http_ok(f"http://127.0.0.1:{port}/healthz", bot)
        yield Running(telegram, stub, bot, f"http://127.0.0.1:{port}", request.param)
    finally:
        exit_code = await bot.stop()
        await telegram_runner.cleanup()
        await stub_runner.cleanup()
        await forget_keys(redis_url(database=11), prefix)
    assert exit_code == 0, bot.output()


async def test_bot_process_greets_browses_and_pages_when_driven_through_telegram(running: Running) -> None:
    ann = running.person(501)
    greeting = await ann.says("/start")
    assert text_of(greeting).startswith(f"Hi, User{ann.user_id}!")
    await ann.presses("My documents")
    assert [text for text, _ in ann.buttons()][:3] == ["Type 0 (20)", "Type 1 (20)", "Type 2 (20)"]
    page = await ann.presses("Type 1")
    assert text_of(page) == EN("browse.type_page", title="Type 1", page=1, pages=4)
    page = await ann.presses(EN.plain("browse.next"))
    assert text_of(page) == EN("browse.type_page", title="Type 1", page=2, pages=4) and ann.buttons()[0][0] == "type1 5"
    card = await ann.presses("type1 5")
    assert text_of(card).startswith("📄 <b>type0 1</b>\nType: Type 0")  # the stub's one document detail
    sent = await ann.presses("Get file")
    assert sent.method == "sendDocument" and sent.uploaded == running.stub.file_bytes
    ann.keyboard_message = card.result
    back = await ann.presses(EN.plain("card.back"))  # from the card to the page it was opened from, not to page 1
    assert text_of(back) == EN("browse.type_page", title="Type 1", page=2, pages=4) and ann.buttons()[0][0] == "type1 5"


async def test_bot_process_pages_search_results_and_returns_to_them_from_a_card_when_many_match(
    running: Running,
) -> None:
    ann = running.person(502)
    found = await ann.says("type2 1")  # a word typed at the menu is searched for: type2 1, 10 ... 19, 5 per page
    assert text_of(found) == EN("search.results_page", query="type2 1", page=1, pages=3)
    found = await ann.presses(EN.plain("browse.next"))
    assert text_of(found) == EN("search.results_page", query="type2 1", page=2, pages=3)
    assert ann.buttons()[0][0] == "type2 14 · Type 2"
    await ann.presses("type2 15")
    back = await ann.presses(EN.plain("card.back"))
    assert text_of(back) == EN("search.results_page", query="type2 1", page=2, pages=3)
    last = await ann.presses(EN.plain("browse.next"))
    assert text_of(last) == EN("search.results_page", query="type2 1", page=3, pages=3)
    assert EN.plain("browse.next") not in [text for text, _ in ann.buttons()]


async def test_bot_process_publishes_its_commands_in_both_languages_when_it_starts(running: Running) -> None:
    commands = running.telegram.commands
    assert set(commands) == {None, "ru"}  # the default list (English) and the Russian one
    assert [name for name, _ in commands[None]] == [name for name, _ in commands["ru"]]
    assert ("documents", "My documents") in commands[None] and ("documents", "Мои документы") in commands["ru"]


async def _names_a_new_document(ann: Chat, name: str) -> None:
    """Start, Add document, the stub's first type, the name: the file is what comes next."""
    await ann.says("/start")
    await ann.presses("Add document")
    await ann.presses("Type 0")
    await ann.says(name)


async def test_bot_process_appends_the_event_with_its_correlation_id_when_a_document_is_added(
    running: Running, rabbit: RabbitSettings
) -> None:
    ann = running.person(502)
    await _names_a_new_document(ann, "Lease 2026")
    saved = await ann.sends_document(PDF, "lease.pdf")
    assert text_of(saved) == EN("add.saved", name="Lease 2026", type="Type 0")
    started, added = await read_events(rabbit, 2, owner_id=ann.user_id)
    assert isinstance(started.payload, UserStarted)
    assert isinstance(added.payload, DocumentAddedV2) and not added.payload.plaintext  # sealed through the stub
    keys = TEST_PEOPLE[ann.user_id]
    assert keys.open("name", added.payload.name) == "Lease 2026" and added.payload.file.size == len(PDF)
    assert keys.open("file_name", added.payload.file.file_name or "") == "lease.pdf" and added.payload.file.encrypted
    assert running.stub.bodies[-1] == PDF
    for call in ("/files", "/seal"):
        request = [r for r in running.stub.requests if r.method == "POST" and r.path.endswith(call)][-1]
        assert request.headers[CORRELATION_HEADER] == added.correlation_id


async def test_bot_process_tells_the_usage_and_appends_nothing_when_the_api_refuses_past_the_quota(
    running: Running, rabbit: RabbitSettings
) -> None:
    ann = running.person(504)
    await _names_a_new_document(ann, "Lease 2027")
    running.stub.quota = StorageUsage(documents=50, documents_limit=50, bytes=3 * 1024**2, bytes_limit=1024**3)
    try:
        refused = await ann.sends_document(PDF, "lease.pdf")
    finally:
        running.stub.quota = None
    [started] = await read_events(rabbit, 1, owner_id=ann.user_id)

    told = EN("quota.documents", name="Lease 2027", documents=50, documents_limit=50, used="|", limit="|")
    assert text_of(refused).startswith(told.partition("|")[0])
    assert "(storage used: 3 MB of 1 GB)" in text_of(refused)
    assert [text for text, _ in ann.buttons()] == [EN.plain("menu.browse"), EN.plain("common.menu")]
    mine = [event for event in await stream_events(rabbit) if event.owner_id == ann.user_id]
    assert [event.event_id for event in mine] == [started.event_id]  # user.started only: no document.added
    await ann.presses("My documents")  # the way on works
    assert ann.buttons()[0][0] == "Type 0 (20)"


async def test_bot_process_serves_ops_routes_and_checks_the_secret_when_running(running: Running) -> None:
    ann = running.person(503)
    await ann.says("/menu")
    counted = 'docvault_requests_total{endpoint="message:start.menu",service="bot",status="ok"}'
    async with aiohttp.ClientSession() as http:
        for _ in range(50):  # the update is counted once handled, a moment after its reply went out
            async with http.get(running.ops_url + "/metrics") as response:
                metrics = await response.text()
            if counted in metrics:
                break
            await asyncio.sleep(0.1)
        async with http.get(running.ops_url + "/readyz") as response:
            assert response.status == 200
        async with http.post(
            running.ops_url + "/telegram/webhook", json={"update_id": 1}, headers={SECRET_HEADER: "forged"}
        ) as response:
            forged_status = response.status
    assert counted in metrics
    assert 'operation="sendMessage"' in metrics
    if running.mode == "webhook":
        assert forged_status == 401 and set(running.telegram.deliveries) == {200}
        [webhook_call] = [c for c in running.telegram.calls if c.method == "setWebhook"]
        assert webhook_call.params["secret_token"] == WEBHOOK_SECRET and "max_connections" in webhook_call.params
    else:
        assert forged_status == 404  # no webhook endpoint in polling mode
