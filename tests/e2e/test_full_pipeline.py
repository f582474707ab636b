"""The whole system as real processes: fake Telegram -> ``python -m bot`` -> RabbitMQ stream ->
``python -m stream_processors run`` -> MongoDB -> ``python -m api`` (+ S3) -> back to the bot.

A person adds a document, lists it, fetches it back byte-identical (by Telegram file_id, and uploaded from
the API's file endpoint when Telegram refuses the id), renames it, searches it, deletes it and undoes that,
in polling and in webhook mode.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.processes import text_of
from tests.e2e.system import RunningSystem, running_system
from tests.infra.infra_files import alert_rules, dashboard_exprs, dashboard_files, load_json, metric_names

pytestmark = pytest.mark.integration
CONTENT = b"%PDF-1.7\n" + os.urandom(300_000)


@pytest.fixture(scope="module", params=["polling", "webhook"])
async def system(request: pytest.FixtureRequest,
                 tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningSystem]:
    async with running_system(request.param, tmp_path_factory.mktemp(f"full-{request.param}")) as running:
        yield running


async def test_person_adds_lists_fetches_renames_searches_deletes_and_undoes_when_using_the_bot(
    system: RunningSystem
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


async def test_services_export_every_metric_the_dashboards_and_alerts_read_when_running(system: RunningSystem) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        pages = [(await http.get(url)).text for url in system.metrics_urls]
    exported = set().union(*(exported_names(page) for page in pages))
    exprs = [rule["expr"] for rule in alert_rules()]
    exprs += [expr for path in dashboard_files() for expr in dashboard_exprs(load_json(path))]
    used = set().union(*(metric_names(expr) for expr in exprs))

    ours = {name for name in used if not name.startswith("rabbitmq_") and name != "up"}
    assert ours, "the dashboards and alerts read no DocVault metric at all"
    assert ours - exported == set()
