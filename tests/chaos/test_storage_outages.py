"""MongoDB or S3 unreachable for a while under the whole running system (bot, processor and API as processes).

The processor and the API reach the store through a ``ChaosProxy`` that the test cuts and restores; the
test itself reads the stream, MongoDB and S3 directly, so it sees what really was recorded meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from bot.ui.i18n import Texts
from contracts.events import DocumentAddedV2, EventEnvelope
from service_kit.eventlog import stream_end_offset
from service_kit.s3 import s3_client
from service_kit.settings import MongoSettings, S3Settings
from tests import factories as f
from tests.chaos.flows import start_adding
from tests.chaos.observe import applied_event_ids, documents, repeated_ids, stream_events, wait_caught_up
from tests.chaos.proxy import ChaosProxy, chaos_proxy
from tests.chaos.report import FaultRow, fault_row
from tests.e2e.processes import Chat, text_of
from tests.e2e.system import API_TOKEN, RunningSystem, running_system
from tests.integration.pipeline import committed_offset, publish, wait_for_checkpoint

pytestmark = pytest.mark.integration

EN = Texts("en")
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
ANN, BOB, CAROL = 1, 2, 3  # Ann and Bob use the bot; Carol's documents come from another producer
OUTAGE_SECONDS = 8.0
RECOVERY_SECONDS = 30.0
PASSPORT = b"%PDF-1.7\npassport\n" + os.urandom(40_000)
LEASE = b"%PDF-1.7\nlease\n" + os.urandom(30_000)


@dataclass
class Outage:
    system: RunningSystem
    proxy: ChaosProxy


@contextlib.asynccontextmanager
async def system_behind_proxy(
    target: tuple[str, int], overrides_for: Mapping[str, str], log_dir: Path
) -> AsyncIterator[Outage]:
    """The running system whose processor and API reach ``target`` only through a proxy the test cuts.

    ``overrides_for`` values may name ``{port}``, the proxy's port.
    """
    async with chaos_proxy(*target) as proxy:
        overrides = {name: value.format(port=proxy.port) for name, value in overrides_for.items()}
        async with running_system("polling", log_dir, overrides=overrides) as system:
            yield Outage(system, proxy)


def mongo_target() -> tuple[str, int]:
    address = urlsplit(MongoSettings().url.get_secret_value())
    return address.hostname or "127.0.0.1", address.port or 27017


def s3_target() -> tuple[str, int]:
    host, _, port = S3Settings().endpoint.rpartition(":")
    return host, int(port)


@pytest.fixture
async def mongo_outage(tmp_path: Path) -> AsyncIterator[Outage]:
    overrides = {
        "MONGO_URL": "mongodb://127.0.0.1:{port}/?retryWrites=false&directConnection=true",
        "MONGO_TIMEOUT_MS": "1500",
    }
    async with system_behind_proxy(mongo_target(), overrides, tmp_path) as outage:
        yield outage


@pytest.fixture
async def s3_outage(tmp_path: Path) -> AsyncIterator[Outage]:
    async with system_behind_proxy(s3_target(), {"S3_ENDPOINT": "127.0.0.1:{port}"}, tmp_path) as outage:
        yield outage


# --- the API and the processor, asked directly ---------------------------------------------------------


async def owner_get(system: RunningSystem, owner_id: int, path: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=system.api_url, headers=AUTH, timeout=30) as http:
        return await http.get(f"/v1/owners/{owner_id}{path}")


async def owner_upload(system: RunningSystem, owner_id: int, content: bytes) -> httpx.Response:
    async with httpx.AsyncClient(base_url=system.api_url, headers=AUTH, timeout=30) as http:
        return await http.post(
            f"/v1/owners/{owner_id}/files", content=content, headers={"Content-Type": "application/pdf"}
        )


async def readiness(system: RunningSystem, name: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as http:
        return await http.get(system.url(name, "/readyz"))


async def wait_until_ok(answer: Callable[[], Awaitable[httpx.Response]], timeout: float = RECOVERY_SECONDS) -> None:
    """Call ``answer()`` until it is a 200."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    status = 0
    while loop.time() - started < timeout:
        status = (await answer()).status_code
        if status == 200:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"still {status} {timeout} s after the restore")


def assert_unavailable(response: httpx.Response, code: str) -> None:
    assert response.status_code == 503, f"{response.status_code} instead of 503"
    assert (response.json()["code"], response.headers["Retry-After"]) == (code, "5")


# --- what a person does --------------------------------------------------------------------------------


async def add_document(person: Chat, type_title: str, name: str, content: bytes) -> None:
    await start_adding(person, type_title, name)
    saved = await person.sends_document(content, f"{name.lower().replace(' ', '-')}.pdf")
    assert text_of(saved) == EN("add.saved", name=name, type=type_title)


async def with_passport(person: Chat) -> Chat:
    await add_document(person, "Passport", "Main passport", PASSPORT)
    return person


async def open_card(person: Chat, type_title: str, name: str) -> None:
    await person.says("/documents")
    await person.presses(type_title)
    card = await person.presses(name)
    assert text_of(card).startswith(f"📄 <b>{name}</b>")


async def begin_add(person: Chat, type_title: str) -> None:
    """Start the add dialog and choose the type: the bot now waits for the document's name."""
    await person.says("/add")
    asked = await person.says(type_title)
    assert text_of(asked) == EN("add.ask_name", type=type_title)


# --- what was recorded ---------------------------------------------------------------------------------


def added_of(events: Iterable[EventEnvelope], owner_id: int) -> list[DocumentAddedV2]:
    return [
        event.payload for event in events if event.owner_id == owner_id and isinstance(event.payload, DocumentAddedV2)
    ]


def shown(rows: Iterable[dict[str, Any]]) -> set[tuple[int, str, str, str]]:
    return {(row["owner_id"], row["type_title"], row["name"], row["status"]) for row in rows}


async def settled(
    outage: Outage, fault: str, checked: str, expected: set[tuple[int, str, str, str]], owners: Iterable[int]
) -> FaultRow:
    """After the processor caught up: every event in the stream applied once, documents exactly ``expected``."""
    system = outage.system
    await wait_caught_up(system.rabbit, system.mongo, timeout=RECOVERY_SECONDS)
    events = await stream_events(system.rabbit)
    confirmed = {str(event.event_id) for event in events}
    applied = await applied_event_ids(system.mongo) & confirmed
    rows = await documents(system.mongo, owners)
    assert repeated_ids(events) == 0
    assert applied == confirmed
    assert shown(rows) == expected
    return fault_row(fault, checked, confirmed, applied, duplicated=len(rows) - len(expected))


async def stored_keys(system: RunningSystem, owner_id: int) -> list[str]:
    """Object keys S3 holds for ``owner_id``, final or staged, read directly (not through the proxy)."""
    bucket = system.envs["api"]["S3_BUCKET"]

    def keys() -> list[str]:
        client = s3_client(S3Settings(bucket=bucket))
        return [
            str(item.object_name)
            for prefix in (f"owners/{owner_id}/", f"staging/{owner_id}/")
            for item in client.list_objects(bucket, prefix=prefix, recursive=True)
        ]

    return await asyncio.to_thread(keys)


# --- MongoDB unreachable -------------------------------------------------------------------------------

BURST = 1500  # documents another producer adds: the processor is committing batches when MongoDB goes away


async def cut_for(proxy: ChaosProxy, seconds: float, meanwhile: Callable[[], Awaitable[None]]) -> float:
    """Cut ``proxy``, run ``meanwhile``, restore after ``seconds`` (or when it is done); returns the outage."""
    loop = asyncio.get_running_loop()
    await proxy.cut()
    cut_at = loop.time()
    await meanwhile()
    await asyncio.sleep(max(0.0, cut_at + seconds - loop.time()))
    await proxy.restore()
    return loop.time() - cut_at


async def start_burst(system: RunningSystem) -> int:
    """Another producer adds ``BURST`` documents; returns once the processor is applying them (their last offset)."""
    first = await stream_end_offset(system.rabbit, system.rabbit.events_stream) + 1
    await publish(system.rabbit, [f.added(CAROL, f"Policy {number}") for number in range(BURST)])
    await wait_for_checkpoint(system.mongo, first, RECOVERY_SECONDS)  # the processor is applying them
    return first + BURST - 1


async def append_while_cut(system: RunningSystem, ann: Chat) -> None:
    """(c) what needs only the stream goes on: the bot's greeting and language, and other producers."""
    [passport] = added_of(await stream_events(system.rabbit), ann.user_id)
    await publish(system.rabbit, [f.renamed(ann.user_id, passport.document_id, "Old passport")])
    await ann.says("/start")
    await ann.says("/language")
    switched = await ann.presses("English")
    assert text_of(switched) == EN("lang.set")
    assert [event.event_type for event in await stream_events(system.rabbit) if event.owner_id == ann.user_id] == [
        "document.added",
        "document.renamed",
        "user.started",
        "user.language_changed",
    ]


async def mongo_cut_checks(system: RunningSystem, ann: Chat, bob: Chat, burst_end: int) -> None:
    """The cut came while the burst was being applied; (c) first, so the processor fails for longest;
    (a) the API and the processor are not ready; (b) a dialog's name check tells the person to wait."""
    assert await committed_offset(system.mongo) < burst_end
    await append_while_cut(system, ann)
    assert_unavailable(await owner_get(system, ann.user_id, "/types"), "mongo_unavailable")
    assert (await readiness(system, "api")).json()["checks"]["mongo"] is False
    processor = await readiness(system, "processor")
    assert (processor.status_code, processor.json()["checks"]["mongo"]) == (503, False), processor.text
    told = await bob.says("Lease 2026")
    assert text_of(told) == EN("error.api_down")
    assert await committed_offset(system.mongo) < await stream_end_offset(system.rabbit, system.rabbit.events_stream)


async def test_system_answers_busy_keeps_the_dialog_and_applies_every_event_once_when_mongodb_is_unreachable(
    mongo_outage: Outage, fault_report: list[FaultRow]
) -> None:
    system = mongo_outage.system
    ann, bob = await with_passport(system.person(ANN)), system.person(BOB)
    await begin_add(bob, "Contract")  # Bob is asked for the name next
    burst_end = await start_burst(system)

    outage = await cut_for(mongo_outage.proxy, OUTAGE_SECONDS, lambda: mongo_cut_checks(system, ann, bob, burst_end))
    await wait_until_ok(lambda: owner_get(system, ann.user_id, "/types"))
    await wait_until_ok(lambda: readiness(system, "processor"))
    asked = await bob.says("Lease 2026")  # the type chosen before the outage is still known
    assert text_of(asked) == EN("add.ask_file", name="Lease 2026")
    saved = await bob.sends_document(LEASE, "lease.pdf")
    assert text_of(saved) == EN("add.saved", name="Lease 2026", type="Contract")

    expected = {
        (ann.user_id, "Passport", "Old passport", "live"),
        (bob.user_id, "Contract", "Lease 2026", "live"),
        *((CAROL, "Passport", f"Policy {number}", "live") for number in range(BURST)),
    }
    fault_report.append(
        await settled(
            mongo_outage,
            f"MongoDB unreachable {outage:.0f} s, cut while batches were being applied",
            "API 503, API and processor readyz 503; bot says busy mid-dialog and keeps it; stream appends go on; "
            "processor catches up; documents = confirmed",
            expected,
            (ann.user_id, bob.user_id, CAROL),
        )
    )


# --- S3 unreachable ------------------------------------------------------------------------------------


async def s3_cut_checks(system: RunningSystem, ann: Chat, bob: Chat, passport: DocumentAddedV2) -> None:
    """Files can be neither read nor written: 503 from the API, a friendly answer from the bot, and the
    failed save left nothing behind: no event, no document, no object."""
    assert_unavailable(
        await owner_get(system, ann.user_id, f"/documents/{passport.document_id}/file"), "s3_unavailable"
    )
    assert_unavailable(await owner_upload(system, bob.user_id, LEASE), "s3_unavailable")
    assert (await readiness(system, "api")).json()["checks"] == {"mongo": True, "s3": False}
    told = await ann.presses("Get file")  # Telegram refuses the file_id, so the bot asks the API for the bytes
    assert text_of(told) == EN.plain("error.api_down")
    failed = await bob.sends_document(LEASE, "lease.pdf")
    assert text_of(failed) == EN("add.save_failed")
    await wait_caught_up(system.rabbit, system.mongo, timeout=RECOVERY_SECONDS)
    assert added_of(await stream_events(system.rabbit), bob.user_id) == []
    assert await documents(system.mongo, [bob.user_id]) == []
    assert await stored_keys(system, bob.user_id) == []


async def test_system_records_nothing_and_saves_once_on_retry_when_s3_is_unreachable(
    s3_outage: Outage, fault_report: list[FaultRow]
) -> None:
    system = s3_outage.system
    ann, bob = await with_passport(system.person(ANN)), system.person(BOB)
    await start_adding(bob, "Contract", "Lease 2026")  # Bob is asked for the file next
    [passport] = added_of(await stream_events(system.rabbit), ann.user_id)
    system.telegram.refused_file_ids.add(str(passport.file.telegram_file_id))
    await open_card(ann, "Passport", "Main passport")

    outage = await cut_for(s3_outage.proxy, OUTAGE_SECONDS, lambda: s3_cut_checks(system, ann, bob, passport))
    await wait_until_ok(lambda: readiness(system, "api"))
    again = await bob.presses("Try again")
    assert text_of(again) == EN("add.saved", name="Lease 2026", type="Contract")
    file = await owner_get(system, ann.user_id, f"/documents/{passport.document_id}/file")
    assert (file.status_code, file.content) == (200, PASSPORT)
    fetched = await ann.presses("Get file")
    assert fetched.uploaded == PASSPORT

    assert len(await stored_keys(system, bob.user_id)) == 1
    expected = {(ann.user_id, "Passport", "Main passport", "live"), (bob.user_id, "Contract", "Lease 2026", "live")}
    fault_report.append(
        await settled(
            s3_outage,
            f"S3 unreachable {outage:.0f} s",
            "API 503 on upload and download; bot: save failed, Get file busy; nothing half-recorded; "
            "Try again saves once; download byte-identical",
            expected,
            (ann.user_id, bob.user_id),
        )
    )
