"""Issue 12 through the real stream and processor: moves, a type rename, a type deletion and its Undo; a rebuild
from offset 0 (in other batches, so the loader must find every document a type event needs) equals the first run."""

from __future__ import annotations

import pytest

from contracts.events import EventEnvelope
from service_kit.crypto import PersonKeys
from service_kit.keystore import KeyStore, keys_database_name
from service_kit.mongo import mongo_client
from service_kit.settings import MongoSettings, RabbitSettings
from tests import factories as f
from tests.integration.pipeline import (
    ledger,
    live_counts_by_title,
    process_all,
    processor_settings,
    publish,
    readable_snapshot,
    snapshot,
)
from tests.keyrings import TEST_KEYRING

pytestmark = pytest.mark.integration

OWNER = 6_200_000_001


async def _person_keys(mongo: MongoSettings) -> PersonKeys:
    client = mongo_client(mongo)
    try:
        return await KeyStore(client[keys_database_name(mongo)], TEST_KEYRING).get_or_create(OWNER)
    finally:
        await client.close()


def _history(keys: PersonKeys) -> list[EventEnvelope]:
    """Two types; a move into a new type, one with a copy name, a rename of a type, its deletion (after one of its
    documents was deleted alone) and the Undo, which must leave that one deleted."""
    polis, kasko = (
        f.sealed_added(keys, "Полис", "Страховки", step=1),
        f.sealed_added(keys, "Каско", "Страховки", step=2),
    )
    visa, other_polis = f.sealed_added(keys, "Виза", "Визы", step=3), f.sealed_added(keys, "Полис", "Визы", step=4)
    deletion = f.type_deleted(keys, "Полисы", step=9)
    return [
        polis,
        kasko,
        visa,
        other_polis,
        f.moved(keys, f.document_id_of(visa), "Путешествия", step=5),
        f.moved(keys, f.document_id_of(other_polis), "Страховки", step=6),
        f.type_renamed(keys, "Страховки", "Полисы", step=7),
        f.deleted(OWNER, f.document_id_of(kasko), step=8),
        deletion,
        f.type_restored(OWNER, deletion, step=10),
        f.type_renamed(keys, "Путешествия", "Полисы", step=11),  # refused: "Полисы" holds documents again
    ]


async def test_processor_applies_moves_and_type_changes_and_rebuilds_equal_state_when_replayed(
    rabbit_settings: RabbitSettings, mongo_settings: MongoSettings
) -> None:
    keys = await _person_keys(mongo_settings)
    await publish(rabbit_settings, _history(keys))

    await process_all(processor_settings(rabbit_settings, mongo_settings, batch_size=500), version=1)
    await process_all(processor_settings(rabbit_settings, mongo_settings, batch_size=2), version=2)

    assert await snapshot(mongo_settings, 1) == await snapshot(mongo_settings, 2)
    effects = sorted(entry["effect"] for entry in (await ledger(mongo_settings)).values())
    assert effects == sorted(
        ["created"] * 4
        + ["moved", "moved_renamed", "type_renamed", "deleted", "type_deleted", "type_restored", "type_rename_conflict"]
    )
    state = await readable_snapshot(mongo_settings)
    documents = {(d["type_title"], d["name"]): d["status"] for d in state["documents"]}
    assert documents == {
        ("Полисы", "Полис"): "live",
        ("Полисы", "Полис (2)"): "live",
        ("Полисы", "Каско"): "deleted",
        ("Путешествия", "Виза"): "live",
    }
    counts = live_counts_by_title(state)
    assert (counts[(OWNER, "Полисы")], counts[(OWNER, "Путешествия")], counts[(OWNER, "Страховки")]) == (2, 1, 0)
