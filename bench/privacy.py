"""The price of encrypted payloads in the processor: the same event mix as v1 (plain text, which the projection
seals with the person's key) and as v2 (sealed by the key service; the processor opens every value, checks it,
and seals what it stores), each replayed by ``python -m stream_processors replay`` in its own process.

Run (test services up): ``python -m bench.privacy [--events N] [--runs 3]``. Both sides use the same people, whose
keys exist before the replay (creating a key happens once per person, not per event), fresh streams and databases,
deleted afterwards; the side that goes first alternates between runs. Prints a Markdown table: medians of the
runs, and the ratio of the medians.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import uuid
from collections.abc import Iterable

from bench.common import median, table
from bench.streaming import event_mix, processor_run
from contracts.events import (
    DocumentAdded,
    DocumentAddedV2,
    DocumentRenamed,
    DocumentRenamedV2,
    EventEnvelope,
    StoredFile,
    new_event,
)
from service_kit.crypto import PersonKeys
from service_kit.eventlog import ensure_streams
from service_kit.keyed import TYPE
from service_kit.keystore import KeyStore, keys_database_name
from service_kit.mongo import mongo_client
from service_kit.settings import MongoSettings, RabbitSettings
from tests.integration.pipeline import publish
from tests.keyrings import TEST_KEYRING
from tests.mongo_cleanup import drop_databases
from tests.streams import delete_streams

OWNERS = 500


def _content_id(keys: PersonKeys, sha256: str | None) -> str:
    hasher = keys.content_hasher()
    hasher.update((sha256 or "").encode())
    return hasher.hexdigest()[:32]


def sealed_file(keys: PersonKeys, file: StoredFile) -> StoredFile:
    content_id = _content_id(keys, file.sha256)
    return StoredFile(
        object_key=f"owners/{keys.owner_id}/{content_id}",
        size=file.size,
        mime_type=file.mime_type,
        file_name=keys.seal("file_name", file.file_name) if file.file_name else None,
        content_id=content_id,
        encrypted=True,
    )


def sealed_event(event: EventEnvelope, keys: PersonKeys) -> EventEnvelope:
    """The v2 event a bot sealing through the API would have written instead of ``event`` (same ids and time)."""
    payload = event.payload
    if isinstance(payload, DocumentAdded):
        sealed: DocumentAddedV2 | DocumentRenamedV2 = DocumentAddedV2(
            document_id=payload.document_id,
            type_slug=keys.keyed(TYPE, payload.type_slug),
            type_title=keys.seal("type_title", payload.type_title),
            name=keys.seal("name", payload.name),
            file=sealed_file(keys, payload.file),
        )
    elif isinstance(payload, DocumentRenamed):
        sealed = DocumentRenamedV2(document_id=payload.document_id, name=keys.seal("name", payload.name))
    else:
        return event
    return new_event(
        sealed,
        owner_id=event.owner_id,
        correlation_id=event.correlation_id,
        occurred_at=event.occurred_at,
        event_id=event.event_id,
    )


async def keys_of(mongo: MongoSettings, owners: Iterable[int]) -> dict[int, PersonKeys]:
    client = mongo_client(mongo)
    try:
        store = KeyStore(client[keys_database_name(mongo)], TEST_KEYRING)
        return {owner: await store.get_or_create(owner) for owner in sorted(set(owners))}
    finally:
        await client.close()


async def one_side(tag: str, events: list[EventEnvelope], sealed: bool) -> float:
    """Events/s of one replay of ``events`` (sealed or not) into a fresh stream and database."""
    rabbit = RabbitSettings(events_stream=f"{tag}.events", dead_letter_stream=f"{tag}.dlq", confirm_timeout_seconds=30)
    mongo = MongoSettings(database=tag)
    await ensure_streams(rabbit)
    try:
        keys = await keys_of(mongo, (event.owner_id for event in events))
        await publish(rabbit, [sealed_event(e, keys[e.owner_id]) for e in events] if sealed else events)
        return (await processor_run(rabbit, mongo, len(events))).rate
    finally:
        await delete_streams(rabbit, rabbit.events_stream, rabbit.dead_letter_stream)
        await drop_databases(mongo)


async def main(total: int, runs: int) -> None:
    events = event_mix(total, owners=OWNERS)
    plain_rates: list[float] = []
    sealed_rates: list[float] = []
    for run in range(runs):
        tag = f"benchpriv{uuid.uuid4().hex[:8]}"
        # Alternate which side goes first: a shared machine's load and the test server's state drift over a run.
        for sealed in (False, True) if run % 2 == 0 else (True, False):
            rate = await one_side(f"{tag}{'s' if sealed else 'p'}", events, sealed=sealed)
            (sealed_rates if sealed else plain_rates).append(rate)
        print(f"  run {run + 1}: v1 {plain_rates[-1]:,.0f}/s, v2 {sealed_rates[-1]:,.0f}/s", flush=True)
    plain, encrypted = median(plain_rates), median(sealed_rates)
    print(
        f"\n{total:,} events (80% adds) of {OWNERS} people, median of {runs} runs, {os.cpu_count()} cores; "
        "MongoDB: SecantusDB\n"
    )
    print(
        table(
            ["processor replay", "events/s", "vs v1 (plain payloads) in this run"],
            [
                ["v1: plain payloads (the projection seals what it stores)", plain, "100%"],
                ["v2: sealed payloads (opened, checked, stored sealed)", encrypted, f"{encrypted / plain:.0%}"],
            ],
        )
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        prog="python -m bench.privacy", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.events, arguments.runs))
