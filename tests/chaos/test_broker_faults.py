"""RabbitMQ connections dropped under the whole running system, while people add documents.

The management API closes the stream connections of the bot (appending) and of the processor (consuming)
again and again. Every document the bot called saved must be in the read models once, every confirmed
event applied once, and the bot must ask for a retry only when an append really failed (a dropped
connection alone is absorbed by the publisher's one resend).
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import psutil
import pytest

from contracts.events import DocumentAdded
from service_kit.eventlog import EventLogUnavailable, EventPublisher
from service_kit.settings import MongoSettings, RabbitSettings
from tests import factories as f
from tests.chaos.flows import SAVE_FAILED, SAVED, send_until_saved, start_adding
from tests.chaos.observe import (
    added_rows,
    applied_event_ids,
    counted_documents,
    documents,
    repeated_ids,
    stream_events,
    wait_caught_up,
)
from tests.chaos.proxy import ChaosProxy, chaos_proxy
from tests.chaos.report import FaultRow, fault_row
from tests.e2e.processes import text_of
from tests.e2e.system import RunningSystem, running_system
from tests.integration.pipeline import (
    broker_connections,
    close_connections,
    close_stream_connections,
    process_all,
    processor_settings,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]
PEOPLE = 6
DROPS_WANTED = 3  # of each service's connection
FAULT_SECONDS = 60.0
WRITERS = 5  # the people stop adding once the drops happened, or after this long


@pytest.fixture
async def system(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningSystem]:
    # These people add documents without pause for up to a minute: far over the flood limit a human meets.
    unthrottled = {"FLOOD_LIMIT": "100000"}
    async with running_system("webhook", tmp_path_factory.mktemp("broker-drops"), bot_overrides=unthrottled) as running:
        yield running


def local_ports(pid: int) -> set[int]:
    return {c.laddr.port for c in psutil.Process(pid).net_connections(kind="tcp") if c.laddr}


async def drop_connections_of(pid: int) -> int:
    """Close the broker's stream connections whose client end belongs to process ``pid``."""
    ports = local_ports(pid)

    def owned(connection: dict[str, Any]) -> bool:
        return connection.get("protocol") == "stream" and connection.get("peer_port") in ports

    return await close_connections(owned)


@dataclass
class Drops:
    counts: Counter[str] = field(default_factory=Counter)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    async def keep_dropping(self, system: RunningSystem) -> None:
        """Drop the bot's and the processor's connections until each was dropped ``DROPS_WANTED`` times."""
        while min(self.counts[name] for name in ("bot", "processor")) < DROPS_WANTED:
            for name in ("bot", "processor"):
                self.counts[name] += await drop_connections_of(system.services[name].process.pid)
            await asyncio.sleep(1.0)
        self.done.set()


async def person_keeps_adding(system: RunningSystem, number: int, drops: Drops) -> tuple[int, list[str], int]:
    """Add documents until the drops are done; returns (owner id, names saved, retry prompts seen)."""
    chat = system.person(number)
    names: list[str] = []
    prompts = 0
    while not drops.done.is_set():
        name = f"Contract {number}-{len(names)}"
        await start_adding(chat, "Contracts", name)
        prompts += await send_until_saved(chat, os.urandom(2048), f"{name}.pdf")
        names.append(name)
    return chat.user_id, names, prompts


async def test_pipeline_loses_and_doubles_nothing_when_broker_connections_drop_during_adds(
    system: RunningSystem, fault_report: list[FaultRow]
) -> None:
    drops = Drops()
    dropping = asyncio.create_task(drops.keep_dropping(system))
    people = await asyncio.wait_for(
        asyncio.gather(*(person_keeps_adding(system, n, drops) for n in range(1, PEOPLE + 1))), FAULT_SECONDS
    )
    await dropping

    await wait_caught_up(system.rabbit, system.mongo)
    saved = {owner: names for owner, names, _ in people}
    docs = await documents(system.mongo, saved)
    events = [e for e in await stream_events(system.rabbit) if isinstance(e.payload, DocumentAdded)]
    confirmed = {str(e.event_id) for e in events}
    checked = f"every saved document listed once; no retry prompt; resent records: {repeated_ids(events)}"
    row = fault_row(
        f"stream connections of bot and processor closed {DROPS_WANTED}+ times each",
        checked,
        confirmed,
        await applied_event_ids(system.mongo),
        duplicated=len(docs) - len(confirmed),
    )

    assert {(d["owner_id"], d["name"], d["status"]) for d in docs} == {
        (owner, name, "live") for owner, names in saved.items() for name in names
    }
    assert len(docs) == sum(map(len, saved.values())) == len(confirmed)
    assert row.lost == 0 and row.duplicated == 0
    assert sum(prompts for _, _, prompts in people) == 0, "a dropped connection alone must not fail a save"
    fault_report.append(row)


async def append_while(
    publisher: EventPublisher, owner: int, burst: asyncio.Event, stop: asyncio.Event
) -> tuple[list[str], int]:
    """Append one event at a time whenever ``burst`` is set, until ``stop``; returns (ids confirmed, failures)."""
    confirmed: list[str] = []
    failed = 0
    while not stop.is_set():
        await burst.wait()
        event = f.added(owner, f"Receipt {len(confirmed)}", content=f"{owner}-{len(confirmed)}-{failed}")
        try:
            await publisher.append(event)
            confirmed.append(str(event.event_id))
        except EventLogUnavailable:
            failed += 1
    return confirmed, failed


async def drop_mid_burst(name: str, burst: asyncio.Event) -> int:
    """Wait until the management API lists the connection, start a burst of appends, close it in the middle."""
    for _ in range(100):
        if await broker_connections(name):
            break
        await asyncio.sleep(0.2)
    burst.set()
    await asyncio.sleep(0.1)
    closed = await close_stream_connections(name)
    await asyncio.sleep(0.3)
    burst.clear()
    return closed


async def test_event_publisher_confirms_every_append_when_its_connection_drops_mid_append(
    rabbit_settings: RabbitSettings, mongo_settings: MongoSettings, unique_name: str, fault_report: list[FaultRow]
) -> None:
    name = f"chaos-{unique_name}"
    publisher = EventPublisher(rabbit_settings, name=name)
    await publisher.append(f.started(1))  # connected, so the management API will list it
    burst, stop = asyncio.Event(), asyncio.Event()
    writers = [asyncio.create_task(append_while(publisher, owner, burst, stop)) for owner in range(1, WRITERS + 1)]
    drops = [await drop_mid_burst(name, burst) for _ in range(DROPS_WANTED)]
    stop.set()
    burst.set()
    outcomes = await asyncio.gather(*writers)
    await publisher.close()

    await process_all(processor_settings(rabbit_settings, mongo_settings))
    events = await stream_events(rabbit_settings)
    confirmed = [event_id for ids, _ in outcomes for event_id in ids]
    failed = sum(count for _, count in outcomes)
    owners = range(1, WRITERS + 1)
    docs, counted = await documents(mongo_settings, owners), await counted_documents(mongo_settings, owners)
    checked = (
        f"{WRITERS} writers appending, none told to retry; resent records: {repeated_ids(events)}, each applied once"
    )
    row = fault_row(
        f"publisher connection closed {sum(drops)} times mid-append",
        checked,
        confirmed,
        await applied_event_ids(mongo_settings),
        duplicated=counted - len(confirmed),
    )
    # The management API may still list a closed connection beside its successor: a drop closes one or more.
    assert min(drops) >= 1 and failed == 0
    assert row.lost == 0 and row.duplicated == 0 and len(docs) == len(confirmed)
    assert {str(e.event_id) for e in events[1:]} == set(confirmed)
    fault_report.append(row)


@pytest.fixture
async def bot_behind_proxy(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[ChaosProxy, RunningSystem]]:
    """The running system whose bot reaches the broker's stream port only through a proxy the test cuts."""
    async with chaos_proxy(RabbitSettings().host, RabbitSettings().stream_port) as proxy:
        log_dir = tmp_path_factory.mktemp("broker-down")
        bot_overrides = {"RABBITMQ_STREAM_PORT": str(proxy.port)}
        async with running_system("webhook", log_dir, bot_overrides=bot_overrides) as system:
            yield proxy, system


async def test_bot_asks_to_retry_and_saves_once_when_the_broker_is_really_unreachable(
    bot_behind_proxy: tuple[ChaosProxy, RunningSystem], fault_report: list[FaultRow]
) -> None:
    proxy, system = bot_behind_proxy
    ann = system.person(1)
    await start_adding(ann, "Contracts", "Lease")

    await proxy.cut()
    failed = await ann.sends_document(b"%PDF-1.7 lease", "lease.pdf")
    nothing_yet = [e for e in await stream_events(system.rabbit) if isinstance(e.payload, DocumentAdded)]
    await proxy.restore()
    assert SAVE_FAILED in text_of(failed) and nothing_yet == []

    retried = await ann.presses("Try again")
    assert text_of(retried).startswith(SAVED)
    row = await added_rows(
        system,
        [ann],
        "retry asked only after the append failed; one document after Try again",
        "broker unreachable for the bot during a save",
    )
    assert (row.events_in, row.lost, row.duplicated) == (1, 0, 0)
    fault_report.append(row)
