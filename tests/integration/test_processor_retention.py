"""Trash retention through the real stream and processor: documents whose time in the trash ended are purged (read
model gone, a purge job queued), and a rebuild from offset 0 in one big batch ends equal to a first run of small
batches that purged mid-way (read models, ledger effects, erasure jobs)."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.effects import Effect
from contracts.read_models import ERASURES_COLLECTION, read_model_database
from service_kit.mongo import mongo_client
from service_kit.settings import MongoSettings, RabbitSettings
from tests import factories as f
from tests.integration.pipeline import ledger, process_all, processor_settings, publish, readable_snapshot, snapshot

pytestmark = pytest.mark.integration

OWNER, OTHER = 21, 22
DAY = 24 * 3600


async def erasure_jobs(mongo: MongoSettings, version: int = 1) -> list[dict[str, Any]]:
    client = mongo_client(mongo)
    try:
        database = client[read_model_database(mongo.database, version)]
        rows: list[dict[str, Any]] = await database[ERASURES_COLLECTION].find({}).sort("_id", 1).to_list(None)
        return rows
    finally:
        await client.close()


def trash_story() -> tuple[list[Any], dict[str, Any]]:
    """A passport and a copy sharing its file, a lease; both originals deleted, the lease brought back in time, the
    passport asked back after its 30 days (another person's event moved the stream's clock past them meanwhile)."""
    passport = f.added(OWNER, "Passport", content="passport scan", step=1)
    copy = f.added(OWNER, "Passport copy", content="passport scan", step=2)
    lease = f.added(OWNER, "Lease", "Contracts", step=3)
    late_restore = f.restored(OWNER, f.document_id_of(passport), step=10 + 32 * DAY)
    events = [
        f.started(OWNER, "en", 0),
        passport,
        copy,
        lease,
        f.deleted(OWNER, f.document_id_of(passport), step=10),
        f.deleted(OWNER, f.document_id_of(lease), step=11),
        f.restored(OWNER, f.document_id_of(lease), step=11 + 29 * DAY),
        f.started(OTHER, "ru", 10 + 31 * DAY),
        late_restore,
        f.added(OTHER, "Visa", step=10 + 31 * DAY + 1),
    ]
    return events, {"passport": passport, "copy": copy, "lease": lease, "late_restore": late_restore}


async def test_processor_purges_expired_document_and_queues_its_object_when_the_stream_clock_passes_its_deadline(
    rabbit_settings: RabbitSettings, mongo_settings: MongoSettings
) -> None:
    events, named = trash_story()
    await publish(rabbit_settings, events)

    await process_all(processor_settings(rabbit_settings, mongo_settings, batch_size=2))

    readable = await readable_snapshot(mongo_settings)
    assert sorted(d["name"] for d in readable["documents"]) == ["Lease", "Passport copy", "Visa"]
    effects = {row["_id"]: row["effect"] for row in (await ledger(mongo_settings)).values()}
    assert effects[str(named["late_restore"].event_id)] == Effect.ignored_unknown
    passport = named["passport"]
    assert [(job["kind"], job["owner_id"], job["object_keys"]) for job in await erasure_jobs(mongo_settings)] == [
        ("purge", OWNER, [passport.payload.file.object_key])
    ]


async def test_rebuild_from_first_offset_equals_first_run_when_documents_were_purged_mid_way(
    rabbit_settings: RabbitSettings, mongo_settings: MongoSettings
) -> None:
    events, _ = trash_story()
    await publish(rabbit_settings, events)
    await process_all(processor_settings(rabbit_settings, mongo_settings, batch_size=2))

    await process_all(processor_settings(rabbit_settings, mongo_settings, batch_size=500), version=2)

    assert await snapshot(mongo_settings) == await snapshot(mongo_settings, version=2)
    assert {row["_id"]: row["effect"] for row in (await ledger(mongo_settings)).values()} == {
        row["_id"]: row["effect"] for row in (await ledger(mongo_settings, version=2)).values()
    }
    assert await erasure_jobs(mongo_settings) == await erasure_jobs(mongo_settings, version=2) != []


async def test_processor_keeps_deleted_document_restorable_when_only_its_own_old_events_follow(
    rabbit_settings: RabbitSettings, mongo_settings: MongoSettings
) -> None:
    passport = f.added(OWNER, "Passport", step=1)
    await publish(rabbit_settings, [passport, f.deleted(OWNER, f.document_id_of(passport), step=2)])
    settings = processor_settings(rabbit_settings, mongo_settings, retention_days=1)
    await process_all(settings)
    await publish(rabbit_settings, [f.restored(OWNER, f.document_id_of(passport), step=2 + DAY - 1)])

    await process_all(settings)

    readable = await readable_snapshot(mongo_settings)
    assert [(d["name"], d["status"], d["restorable_until"]) for d in readable["documents"]] == [
        ("Passport", "live", None)
    ]
    assert await erasure_jobs(mongo_settings) == []
