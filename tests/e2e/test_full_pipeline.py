"""The whole system as real processes: fake Telegram -> ``python -m bot`` -> RabbitMQ stream ->
``python -m stream_processors run`` -> MongoDB -> ``python -m api`` (+ S3) -> back to the bot.

A person adds a document, lists it, fetches it back byte-identical (by Telegram file_id, and uploaded from
the API's file endpoint when Telegram refuses the id), renames it, searches it, deletes it and undoes that,
in polling and in webhook mode.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from service_kit.settings import MongoSettings, RabbitSettings
from tests.e2e.processes import (
    BOT_TOKEN,
    Chat,
    Service,
    bot_env,
    forget_keys,
    rabbit_env,
    redis_url,
    start_service,
    text_of,
    wait_http_ok,
)
from tests.streams import fresh_streams
from tests.fake_telegram.server import FakeTelegram
from tests.mongo_cleanup import drop_databases
from tests.infra.infra_files import alert_rules, dashboard_exprs, dashboard_files, load_json, metric_names
from tests.ports import free_port

pytestmark = pytest.mark.integration
API_TOKEN = "e2e-service-token"
CONTENT = b"%PDF-1.7\n" + os.urandom(300_000)


@dataclass
class System:
    telegram: FakeTelegram
    mode: str
    services: list[Service]
    metrics_urls: list[str]

    def person(self, number: int) -> Chat:
        return Chat(self.telegram, number + (10_000 if self.mode == "webhook" else 0))


async def _start_backend(
    rabbit: RabbitSettings, mongo: MongoSettings, log_dir: Path
) -> tuple[list[Service], str, list[str]]:
    common = {**rabbit_env(rabbit), "MONGO_DATABASE": mongo.database, "HTTP_HOST": "127.0.0.1"}
    processor_port, api_port = free_port(), free_port()
    processor = await start_service("processor", "stream_processors", {**common, "HTTP_PORT": str(processor_port)},
                                    log_dir, "run")
    api = await start_service("api", "api", {**common, "HTTP_PORT": str(api_port), "API_SERVICE_TOKEN": API_TOKEN,
                                             "S3_BUCKET": f"e2e-{uuid.uuid4().hex[:8]}", "READ_MODEL_VERSION": "1"},
                              log_dir)
    api_url = f"http://127.0.0.1:{api_port}"
    await wait_http_ok(f"http://127.0.0.1:{processor_port}/healthz", processor)
    await wait_http_ok(api_url + "/healthz", api)
    return [processor, api], api_url, [f"http://127.0.0.1:{processor_port}/metrics", api_url + "/metrics"]


@pytest.fixture(scope="module", params=["polling", "webhook"])
async def system(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[System]:
    log_dir = tmp_path_factory.mktemp(f"full-{request.param}")
    mongo = MongoSettings(database=f"e2e{uuid.uuid4().hex[:10]}")
    async with fresh_streams(f"e2e-full-{uuid.uuid4().hex[:8]}") as rabbit:
        services, api_url, metrics_urls = await _start_backend(rabbit, mongo, log_dir)
        telegram = FakeTelegram(BOT_TOKEN)
        telegram_runner, telegram_url = await telegram.start()
        port, prefix = free_port(), f"e2e-full-{uuid.uuid4().hex[:8]}"
        env = bot_env(request.param, telegram_url, api_url, API_TOKEN, port, prefix, **rabbit_env(rabbit))
        bot = await start_service("bot", "bot", env, log_dir)
        services.append(bot)
        try:
            await wait_http_ok(f"http://127.0.0.1:{port}/healthz", bot)
            yield System(telegram, request.param, services, metrics_urls + [f"http://127.0.0.1:{port}/metrics"])
        finally:
            codes = {service.name: await service.stop() for service in reversed(services)}
            await telegram_runner.cleanup()
            await drop_databases(mongo)
            await forget_keys(redis_url(database=11), prefix)
    assert codes["bot"] == 0, bot.output()


async def test_person_adds_lists_fetches_renames_searches_deletes_and_undoes_when_using_the_bot(
    system: System
) -> None:
    ann = system.person(801)
    await ann.says("/start")
    await ann.presses("Add document")
    await ann.says("Passport")
    await ann.says("Main passport")
    saved = await ann.sends_document(CONTENT, "passport.pdf")
    assert text_of(saved) == "✅ Saved “Main passport” under Passport."

    await ann.says("/documents")
    assert ann.buttons()[0][0] == "Passport (1)"
    await ann.presses("Passport")
    opened = await ann.presses("Main passport")
    assert text_of(opened).startswith("📄 <b>Main passport</b>\nType: Passport\nSize: 293 KB")

    by_id = await ann.presses("Get file")
    assert by_id.method == "sendDocument" and by_id.uploaded is None  # Telegram knew the file_id
    system.telegram.refused_file_ids.add(str(by_id.params["document"]))
    uploaded = await ann.presses("Get file")
    assert uploaded.uploaded == CONTENT  # fetched from the API's file endpoint, byte-identical

    await ann.presses("Rename")
    renamed = await ann.says("Old passport")
    assert text_of(renamed) == "✅ Renamed to “Old passport”."
    found = await ann.says("/search old pass")
    assert text_of(found) == "Found for “old pass”:" and ann.buttons()[0][0] == "Old passport · Passport"

    await ann.presses("Old passport")
    await ann.presses("Delete")
    deleted = await ann.presses("Yes, delete")
    assert text_of(deleted) == "Deleted “Old passport”."
    with_undo = ann.keyboard_message
    gone = await ann.says("/search old pass")
    assert text_of(gone) == "Nothing found for “old pass”."

    ann.keyboard_message = with_undo  # the person scrolls back up to the "Undo" button
    restored = await ann.presses("Undo")
    assert text_of(restored) == "✅ Restored “Old passport”."
    back = await ann.says("/search old pass")
    assert text_of(back) == "Found for “old pass”:"


def exported_names(exposition: str) -> set[str]:
    """Every sample name a /metrics page can carry, including families not observed yet."""
    suffixes = {"counter": ("_total", "_created"), "gauge": ("",), "info": ("_info",), "unknown": ("",),
                "histogram": ("_bucket", "_count", "_sum", "_created"), "summary": ("", "_count", "_sum", "_created")}
    return {family.name + suffix for family in text_string_to_metric_families(exposition)
            for suffix in suffixes.get(family.type, ("",))}


async def test_services_export_every_metric_the_dashboards_and_alerts_read_when_running(system: System) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        pages = [(await http.get(url)).text for url in system.metrics_urls]
    exported = set().union(*(exported_names(page) for page in pages))
    exprs = [rule["expr"] for rule in alert_rules()]
    exprs += [expr for path in dashboard_files() for expr in dashboard_exprs(load_json(path))]
    used = set().union(*(metric_names(expr) for expr in exprs))

    ours = {name for name in used if not name.startswith("rabbitmq_") and name != "up"}
    assert ours, "the dashboards and alerts read no DocVault metric at all"
    assert ours - exported == set()
