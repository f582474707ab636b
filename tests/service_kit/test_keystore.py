"""Data keys in MongoDB (service_kit.keystore) against the test MongoDB server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from service_kit.crypto import BrokenCiphertext, MasterKeyring, new_master_key_entry
from service_kit.keystore import KEYS_COLLECTION, KeyStore, keys_database_name
from service_kit.mongo import mongo_client
from service_kit.settings import MongoSettings

pytestmark = pytest.mark.integration
MASTER = new_master_key_entry("m1")


Database = AsyncDatabase[dict[str, Any]]


@pytest.fixture
async def database(mongo_settings: MongoSettings) -> AsyncIterator[Database]:
    client = mongo_client(mongo_settings)
    yield client.get_database(keys_database_name(mongo_settings))
    await client.drop_database(keys_database_name(mongo_settings))
    await client.close()


def store(database: Database, keyring: str = MASTER, cache_seconds: float = 0.0) -> KeyStore:
    return KeyStore(database, MasterKeyring.parse(keyring), cache_seconds)


async def test_key_store_get_or_create_returns_one_key_when_many_callers_ask_at_once(database: Database) -> None:
    keys = await asyncio.gather(*(store(database).get_or_create(7) for _ in range(8)))

    assert len({k.key_id for k in keys}) == 1
    assert keys[0].open("name", keys[-1].seal("name", "Passport")) == "Passport"


async def test_key_store_get_or_create_many_creates_only_the_missing_keys_when_some_people_have_one(
    database: Database,
) -> None:
    keys = store(database)
    existing = await keys.get_or_create(7)
    await keys.get_or_create(8)
    await keys.destroy(8)  # a tombstone becomes a new key
    owners = [7, 8, *range(100, 350)]  # more than one $in chunk

    many = await keys.get_or_create_many(owners)

    assert sorted(many) == sorted(owners)
    assert many[7].key_id == existing.key_id
    assert {owner: k.key_id for owner, k in (await keys.find(owners)).items()} == {o: k.key_id for o, k in many.items()}
    assert await database[KEYS_COLLECTION].count_documents({}) == len(owners)


async def test_key_store_get_or_create_many_gives_everyone_one_key_when_many_callers_create_at_once(
    database: Database,
) -> None:
    owners = list(range(1, 40))

    results = await asyncio.gather(
        *(store(database).get_or_create_many(owners) for _ in range(4)),
        *(store(database).get_or_create(owner) for owner in owners[:5]),
    )

    by_owner = [result for result in results if isinstance(result, dict)]
    assert all({o: k.key_id for o, k in r.items()} == {o: k.key_id for o, k in by_owner[0].items()} for r in by_owner)
    assert await database[KEYS_COLLECTION].count_documents({}) == len(owners)


async def test_key_store_get_or_create_many_asks_nothing_when_no_people_are_given(database: Database) -> None:
    assert await store(database).get_or_create_many([]) == {}


async def test_key_store_keeps_only_wrapped_bytes_when_the_collection_is_read(database: Database) -> None:
    keys = await store(database).get_or_create(7)
    raw = await database[KEYS_COLLECTION].find_one({"_id": 7})
    assert raw is not None

    assert set(raw) == {"_id", "key_id", "master_id", "wrapped", "created_at"}
    assert raw["master_id"] == "m1" and len(bytes(raw["wrapped"])) == 12 + 32 + 16
    assert raw["key_id"] == keys.key_id


async def test_key_store_destroy_makes_old_values_unreadable_and_a_return_gets_a_new_key(database: Database) -> None:
    keys = store(database)
    old = await keys.get_or_create(7)
    sealed = old.seal("name", "canary")

    await keys.destroy(7)
    await keys.destroy(7)  # idempotent

    assert await keys.get(7) is None
    assert 7 in await keys.forgotten_at([7, 8])
    new = await keys.get_or_create(7)
    assert new.key_id != old.key_id
    with pytest.raises(BrokenCiphertext):
        new.open("name", sealed)


async def test_key_store_rotate_rewraps_every_live_key_and_old_master_can_then_be_dropped(database: Database) -> None:
    await asyncio.gather(*(store(database).get_or_create(owner) for owner in range(1, 6)))
    before = {owner: (await store(database).get(owner)) for owner in range(1, 6)}
    rotated = f"{new_master_key_entry('m2')}\n{MASTER}"

    assert await store(database, rotated).rotate() == 5
    assert await store(database, rotated).rotate() == 0
    status = await store(database, rotated).status()
    assert status.live == 5 and status.by_master == {"m2": 5}
    only_new = store(database, rotated.split("\n")[0])
    for owner, keys in before.items():
        again = await only_new.get(owner)
        assert again is not None and keys is not None
        assert again.open("name", keys.seal("name", "x")) == "x"


async def test_key_store_find_skips_people_without_a_key_when_several_are_asked(database: Database) -> None:
    keys = store(database)
    await keys.get_or_create(1)
    await keys.get_or_create(2)
    await keys.destroy(2)

    assert set(await keys.find([1, 2, 3])) == {1}
