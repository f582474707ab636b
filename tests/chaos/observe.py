"""What a chaos test reads after the fault: the stream's events, the ledger, the documents, the lag."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable
from typing import Any

from contracts.codec import decode_event
from contracts.events import DocumentAdded, EventEnvelope
from contracts.read_models import AppliedEvent, DocumentTypeView, DocumentView, read_model_database
from service_kit.eventlog import StartAt, StreamRecord, StreamSubscriber, stream_end_offset
from service_kit.mongo import mongo_client
from service_kit.settings import MongoSettings, RabbitSettings
from tests.chaos.report import FaultRow, fault_row
from tests.e2e.processes import Chat
from tests.e2e.system import RunningSystem
from tests.integration.pipeline import wait_for_checkpoint


async def stream_events(rabbit: RabbitSettings, timeout: float = 30.0) -> list[EventEnvelope]:
    """Every event in the test's stream, in offset order (redelivered copies included)."""
    end = await stream_end_offset(rabbit, rabbit.events_stream)
    records: list[StreamRecord] = []
    complete = asyncio.Event()

    async def keep(record: StreamRecord) -> None:
        records.append(record)
        if record.offset >= end:
            complete.set()

    if end < 0:
        return []
    reader = StreamSubscriber(rabbit, rabbit.events_stream, keep, "chaos-reader")
    await reader.start(StartAt.first())
    try:
        await asyncio.wait_for(complete.wait(), timeout)
    finally:
        await reader.close()
    return [decode_event(record.data) for record in records if record.offset <= end]


def repeated_ids(events: Iterable[EventEnvelope]) -> int:
    """How many records carry an event id seen before (resends after a lost confirm)."""
    counts = Counter(str(event.event_id) for event in events)
    return sum(count - 1 for count in counts.values())


async def _rows(mongo: MongoSettings, collection: str, query: dict[str, Any]) -> list[dict[str, Any]]:
    client = mongo_client(mongo)
    try:
        rows: list[dict[str, Any]] = (
            await client[read_model_database(mongo.database, 1)][collection].find(query).to_list(None)
        )
        return rows
    finally:
        await client.close()


async def applied_event_ids(mongo: MongoSettings) -> set[str]:
    return {str(row["_id"]) for row in await _rows(mongo, AppliedEvent.Settings.name, {})}


async def documents(mongo: MongoSettings, owner_ids: Iterable[int]) -> list[dict[str, Any]]:
    return await _rows(mongo, DocumentView.Settings.name, {"owner_id": {"$in": list(owner_ids)}})


async def counted_documents(mongo: MongoSettings, owner_ids: Iterable[int]) -> int:
    """The live documents the type counts add up to: an event applied twice would count its document twice."""
    rows = await _rows(mongo, DocumentTypeView.Settings.name, {"owner_id": {"$in": list(owner_ids)}})
    return sum(int(row["live_count"]) for row in rows)


async def wait_caught_up(rabbit: RabbitSettings, mongo: MongoSettings, timeout: float = 90.0) -> int:
    """Wait until the processor committed the stream's end; returns that offset."""
    return await wait_for_checkpoint(mongo, await stream_end_offset(rabbit, rabbit.events_stream), timeout)


async def added_rows(system: RunningSystem, chats: list[Chat], checked: str, fault: str) -> FaultRow:
    """The fault row once the processor caught up: one live document per saved add, nothing else."""
    await wait_caught_up(system.rabbit, system.mongo)
    owners = {chat.user_id for chat in chats}
    events = [
        e for e in await stream_events(system.rabbit) if isinstance(e.payload, DocumentAdded) and e.owner_id in owners
    ]
    docs = await documents(system.mongo, owners)
    confirmed = {str(e.event_id) for e in events}
    return fault_row(
        fault, checked, confirmed, await applied_event_ids(system.mongo), duplicated=len(docs) - len(confirmed)
    )
