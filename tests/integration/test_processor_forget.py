"""'Forget me' through the real stream and processor: a person adds, deletes, is forgotten and comes back; the first
run and a rebuild from offset 0 end equal, with no trace of the first life and no key made for it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from contracts.effects import Effect
from contracts.read_models import ERASURES_COLLECTION, read_model_database
from service_kit.keystore import KeyStore, keys_database_name
from service_kit.mongo import mongo_client
from service_kit.settings import MongoSettings, RabbitSettings
from tests import factories as f
from tests.integration.pipeline import ledger, process_all, processor_settings, publish, readable_snapshot, snapshot
from tests.keyrings import TEST_KEYRING

pytestmark = pytest.mark.integration

BACK, GONE, OTHER = 11, 12, 13
MARKER = "FIRSTLIFE7Q"


async def destroy_key(mongo: MongoSettings, owner_id: int) -> None:
    """What the API's erasure worker does last (tests/api/test_erasure.py runs the worker itself)."""
    client = mongo_client(mongo)
    try:
        await KeyStore(client[keys_database_name(mongo)], TEST_KEYRING, cache_seconds=0).destroy(owner_id)
    finally:
        await client.close()


async def live_keys(mongo: MongoSettings) -> dict[int, str]:
    client = mongo_client(mongo)
    try:
        found = await KeyStore(client[keys_database_name(mongo)], TEST_KEYRING, cache_seconds=0).find(
            [BACK, GONE, OTHER]
        )
        return {owner: keys.key_id for owner, keys in found.items()}
    finally:
        await client.close()


async def erasure_owners(mongo: MongoSettings, version: int) -> list[int]:
    client = mongo_client(mongo)
    try:
        database = client[read_model_database(mongo.database, version)]
        rows: list[dict[str, Any]] = await database[ERASURES_COLLECTION].find({}).to_list(None)
        return sorted(int(row["owner_id"]) for row in rows)
    finally:
        await client.close()


def first_life(owner_id: int, step: int) -> list[Any]:
    passport = f.added(owner_id, f"Passport {MARKER}", f"Identity {MARKER}", step=step + 1)
    lease = f.added(owner_id, f"Lease {MARKER}", "Contracts", step=step + 2)
    return [
        f.started(owner_id, "ru", step),
        passport,
        lease,
        f.renamed(owner_id, f.document_id_of(lease), f"Lease 2026 {MARKER}", step + 3),
        f.deleted(owner_id, f.document_id_of(passport), step + 4),
        f.forgotten(owner_id, step + 5),
    ]


async def test_rebuild_from_first_offset_equals_first_run_without_first_life_when_person_forgotten_and_came_back(
    rabbit_settings: RabbitSettings, mongo_settings: MongoSettings
) -> None:
    settings = processor_settings(rabbit_settings, mongo_settings)
    other = [f.started(OTHER, "en", 0), f.added(OTHER, "Passport", "Passport", step=1)]
    await publish(rabbit_settings, [*other, *first_life(BACK, 10), *first_life(GONE, 20)])
    await process_all(settings)
    for owner in (BACK, GONE):  # the erasure worker ran
        await destroy_key(mongo_settings, owner)
    visa = f.added(BACK, "Visa", "Identity", step=40)
    await publish(rabbit_settings, [f.started(BACK, "en", 39), visa])
    await process_all(settings)
    keys_after_first_run = await live_keys(mongo_settings)

    await process_all(settings, version=2)

    first, rebuilt = await snapshot(mongo_settings), await snapshot(mongo_settings, version=2)
    assert first == rebuilt
    assert {row["_id"]: row["effect"] for row in (await ledger(mongo_settings)).values()} == {
        row["_id"]: row["effect"] for row in (await ledger(mongo_settings, version=2)).values()
    }
    assert await live_keys(mongo_settings) == keys_after_first_run and set(keys_after_first_run) == {BACK, OTHER}
    readable = await readable_snapshot(mongo_settings)
    assert MARKER not in json.dumps(readable, default=str)
    assert sorted((d["owner_id"], d["name"]) for d in readable["documents"]) == [(BACK, "Visa"), (OTHER, "Passport")]
    assert [u["_id"] for u in readable["users"]] == [BACK, OTHER]
    assert (await erasure_owners(mongo_settings, 1), await erasure_owners(mongo_settings, 2)) == ([BACK, GONE],) * 2


async def test_processor_records_first_life_as_ignored_forgotten_when_forget_applied_live(
    rabbit_settings: RabbitSettings, mongo_settings: MongoSettings
) -> None:
    life = first_life(BACK, 0)
    await publish(rabbit_settings, life[:-1])
    settings = processor_settings(rabbit_settings, mongo_settings)
    await process_all(settings)
    await publish(rabbit_settings, [life[-1], *life[:2]])  # the forget, then a resend of two first-life events

    await process_all(settings)

    effects = {row["_id"]: row["effect"] for row in (await ledger(mongo_settings)).values()}
    assert [effects[str(event.event_id)] for event in life] == [Effect.ignored_forgotten] * 5 + [Effect.forgotten]
    assert await snapshot(mongo_settings) == {"documents": [], "document_types": [], "users": []}
