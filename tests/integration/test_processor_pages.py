"""Documents of several pages through the real stream and processor: v1, v2 and v3 adds and added pages, replayed
from the first offset into a second projection version, reach the same read models."""

from __future__ import annotations

import pytest

from service_kit.crypto import PersonKeys
from service_kit.keystore import KeyStore, keys_database_name
from service_kit.mongo import mongo_client
from service_kit.settings import MongoSettings, RabbitSettings
from tests import factories as f
from tests.integration.pipeline import ledger, process_all, processor_settings, publish, readable_snapshot
from tests.keyrings import TEST_KEYRING

pytestmark = pytest.mark.integration

OWNER = 6_200_000_001


async def _person_keys(mongo: MongoSettings) -> PersonKeys:
    client = mongo_client(mongo)
    try:
        return await KeyStore(client[keys_database_name(mongo)], TEST_KEYRING).get_or_create(OWNER)
    finally:
        await client.close()


async def test_replay_reaches_the_same_pages_when_old_and_new_adds_and_added_pages_are_in_the_stream(
    rabbit_settings: RabbitSettings, mongo_settings: MongoSettings
) -> None:
    keys = await _person_keys(mongo_settings)
    plain = f.added(OWNER, "Old passport", content="v1 bytes", step=1)
    sealed = f.sealed_added(keys, "Visa", content="v2 bytes", step=2)
    album = f.sealed_album(keys, "Lease", ["lease 1", "lease 2", "lease 3"], step=3)
    events = [
        plain,
        sealed,
        album,
        f.sealed_album(keys, "Lease copy", ["lease 1", "lease 2", "lease 3"], step=4),
        f.pages_added(keys, f.document_id_of(sealed), ["visa back"], step=5),
        f.pages_added(keys, f.document_id_of(plain), ["old page 2", "old page 3"], step=6),
        f.pages_added(keys, f.document_id_of(album), ["lease 2"], step=7),
    ]
    await publish(rabbit_settings, events)
    settings = processor_settings(rabbit_settings, mongo_settings)

    await process_all(settings, version=1)
    await process_all(settings, version=2)

    first, replayed = await readable_snapshot(mongo_settings, 1), await readable_snapshot(mongo_settings, 2)
    assert replayed == first
    pages = {doc["name"]: 1 + len(doc.get("more_pages", [])) for doc in first["documents"]}
    assert pages == {"Old passport": 3, "Visa": 2, "Lease": 3, "Lease copy": 3}
    assert sorted(entry["effect"] for entry in (await ledger(mongo_settings)).values()) == sorted(
        ["created"] * 3 + ["created_duplicate", "pages_added", "pages_added", "ignored_same_pages"]
    )
