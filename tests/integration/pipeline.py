"""Helpers for integration tests: publish events, run a processor until caught up, read the state."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from contracts.events import EventEnvelope
from contracts.read_models import (
    AppliedEvent,
    DocumentTypeView,
    DocumentView,
    ProcessorCheckpoint,
    UserView,
    read_model_database,
)
from service_kit.eventlog import (
    EventPublisher,
    RawPublisher,
    StartAt,
    StreamRecord,
    StreamSubscriber,
    stream_end_offset,
)
from service_kit.keystore import KEYS_COLLECTION, KeyStore, keys_database_name
from service_kit.mongo import mongo_client
from service_kit.settings import MongoSettings, RabbitSettings
from stream_processors.processor import Projection
from stream_processors.projections import apply_event
from stream_processors.projections.naming import NameRules
from stream_processors.runner import ProcessorRunner
from stream_processors.service import open_processor
from stream_processors.settings import ProcessorSettings
from tests.keyrings import TEST_KEYRING, TEST_MASTER_KEYS

RABBIT_MANAGEMENT = "http://127.0.0.1:15672/api"


async def publish(rabbit: RabbitSettings, events: Sequence[EventEnvelope], batch: int = 500) -> None:
    publisher = EventPublisher(rabbit)
    try:
        for start in range(0, len(events), batch):
            await publisher.append(*events[start : start + batch])
    finally:
        await publisher.close()


async def publish_raw(
    rabbit: RabbitSettings, messages: Sequence[bytes], stream: str | None = None, batch: int = 500
) -> None:
    raw = RawPublisher(rabbit, stream or rabbit.events_stream, "test-raw")
    try:
        for start in range(0, len(messages), batch):
            await raw.append(list(messages[start : start + batch]))
    finally:
        await raw.close()


def processor_settings(rabbit: RabbitSettings, mongo: MongoSettings, **overrides: Any) -> ProcessorSettings:
    values: dict[str, Any] = {"master_keys": TEST_MASTER_KEYS, "lag_probe_seconds": 60}
    return ProcessorSettings(rabbitmq=rabbit, mongo=mongo, **(values | overrides))


async def process_all(
    settings: ProcessorSettings,
    version: int | None = None,
    projection: Projection = apply_event,
    rules: NameRules | None = None,
) -> int:
    """Run the processor until it committed the stream's current end; returns that offset."""
    end = await stream_end_offset(settings.rabbitmq, settings.rabbitmq.events_stream)
    async with open_processor(settings, version, projection, rules) as processor:
        runner = ProcessorRunner(processor, settings.rabbitmq, batch_size=settings.batch_size, stop_after=end)
        await runner.run()
    return end


async def snapshot(
    mongo: MongoSettings, version: int = 1, without: tuple[str, ...] = ()
) -> dict[str, list[dict[str, Any]]]:
    """Every read model's documents (less the fields ``without``), sorted by id: equal snapshots, equal state."""
    client = mongo_client(mongo)
    try:
        db = client[read_model_database(mongo.database, version)]
        result: dict[str, list[dict[str, Any]]] = {}
        for model in (DocumentView, DocumentTypeView, UserView):
            name = model.Settings.name
            rows = await db[name].find({}).sort("_id", 1).to_list(None)
            result[name] = [{k: v for k, v in row.items() if k not in without} for row in rows]
        return result
    finally:
        await client.close()


async def readable_snapshot(
    mongo: MongoSettings, version: int = 1, without: tuple[str, ...] = ()
) -> dict[str, list[dict[str, Any]]]:
    """``snapshot`` with every sealed name, type title and file name opened with its person's key (from the key
    store, as the API opens them)."""
    state = await snapshot(mongo, version, without)
    await opened(mongo, state[DocumentView.Settings.name], state[DocumentTypeView.Settings.name])
    return state


async def opened(
    mongo: MongoSettings, documents: list[dict[str, Any]], types: Sequence[dict[str, Any]] = ()
) -> list[dict[str, Any]]:
    """Open, in place, the sealed fields of read-model rows; returns ``documents``."""
    owners = {row["owner_id"] for row in [*documents, *types]}
    client = mongo_client(mongo)
    try:
        keys = await KeyStore(client[keys_database_name(mongo)], TEST_KEYRING).find(owners)
    finally:
        await client.close()
    for document in documents:
        person = keys[document["owner_id"]]
        document["name"] = person.open("name", document["name"])
        document["type_title"] = person.open("type_title", document["type_title"])
        if document["file"].get("file_name") is not None:
            document["file"]["file_name"] = person.open("file_name", document["file"]["file_name"])
    for kind in types:
        kind["title"] = keys[kind["owner_id"]].open("type_title", kind["title"])
    return documents


async def copy_keys(source: MongoSettings, target: MongoSettings) -> None:
    """Give ``target``'s processor the people's keys of ``source``: with the same keys, the same events make
    byte-equal read models (sealing is deterministic)."""
    client = mongo_client(source)
    try:
        rows = await client[keys_database_name(source)][KEYS_COLLECTION].find({}).to_list(None)
        if rows:
            await client[keys_database_name(target)][KEYS_COLLECTION].insert_many(rows)
    finally:
        await client.close()


def live_counts_by_title(state: dict[str, list[dict[str, Any]]]) -> dict[tuple[int, str], int]:
    """(owner, type title) -> live count, from a ``readable_snapshot``."""
    return {(t["owner_id"], t["title"]): t["live_count"] for t in state[DocumentTypeView.Settings.name]}


async def ledger(mongo: MongoSettings, version: int = 1) -> dict[str, dict[str, Any]]:
    """The ``applied_events`` ledger of a version by event id."""
    client = mongo_client(mongo)
    try:
        rows = (
            await client[read_model_database(mongo.database, version)][AppliedEvent.Settings.name]
            .find({})
            .to_list(None)
        )
        return {str(row["_id"]): row for row in rows}
    finally:
        await client.close()


async def checkpoint_of(mongo: MongoSettings, version: int = 1) -> dict[str, Any] | None:
    client = mongo_client(mongo)
    try:
        db = client[read_model_database(mongo.database, version)]
        found: dict[str, Any] | None = await db[ProcessorCheckpoint.Settings.name].find_one({})
        return found
    finally:
        await client.close()


def start_processor_process(
    rabbit: RabbitSettings, mongo: MongoSettings, batch_size: int, http_port: int = 0
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "RABBITMQ_EVENTS_STREAM": rabbit.events_stream,
        "RABBITMQ_DEAD_LETTER_STREAM": rabbit.dead_letter_stream,
        "MONGO_DATABASE": mongo.database,
        "BATCH_SIZE": str(batch_size),
        "HTTP_PORT": str(http_port),
        "LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen([sys.executable, "-m", "stream_processors", "run"], env=env)


async def committed_offset(mongo: MongoSettings) -> int:
    """The offset the processor of version 1 committed last (-1 before its first commit)."""
    checkpoint = await checkpoint_of(mongo)
    return -1 if checkpoint is None else int(checkpoint["offset"])


async def wait_for_checkpoint(mongo: MongoSettings, at_least: int, timeout: float = 60) -> int:
    offset = -1
    for _ in range(int(timeout / 0.1)):
        offset = await committed_offset(mongo)
        if offset >= at_least:
            return offset
        await asyncio.sleep(0.1)
    raise AssertionError(f"checkpoint stuck at {offset}, wanted {at_least}")


async def close_connections(match: Callable[[dict[str, Any]], bool]) -> int:
    """Close, through the management API, the broker connections ``match`` picks; returns how many.

    The API lists a new connection a moment after it opened, so a fresh one may not be found yet.
    """
    connections = await broker_connections()
    async with httpx.AsyncClient(auth=("guest", "guest"), timeout=10) as http:
        closed = 0
        for connection in filter(match, connections):
            await http.delete(f"{RABBIT_MANAGEMENT}/connections/{connection['name']}")
            closed += 1
        return closed


async def broker_connections(name_part: str = "") -> list[dict[str, Any]]:
    """The connections the management API lists (those whose name holds ``name_part``)."""
    async with httpx.AsyncClient(auth=("guest", "guest"), timeout=10) as http:
        connections: list[dict[str, Any]] = (await http.get(f"{RABBIT_MANAGEMENT}/connections")).json()
    return [c for c in connections if _named(c, name_part)]


def _named(connection: dict[str, Any], name_part: str) -> bool:
    client_name = (connection.get("client_properties") or {}).get("connection_name", "")
    return name_part in client_name or name_part in connection.get("name", "")


async def close_stream_connections(name_part: str) -> int:
    return await close_connections(lambda connection: _named(connection, name_part))


async def read_stream(rabbit: RabbitSettings, stream: str, start: StartAt, expected: int) -> list[StreamRecord]:
    """The records of ``stream`` from ``start``: waits for ``expected`` of them, then a moment for any more."""
    records: list[StreamRecord] = []

    async def keep(record: StreamRecord) -> None:
        records.append(record)

    reader = StreamSubscriber(rabbit, stream, keep, "test-reader")
    await reader.start(start)
    try:
        for _ in range(100):
            if len(records) >= expected:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
    finally:
        await reader.close()
    return records
