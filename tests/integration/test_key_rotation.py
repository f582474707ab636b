"""``keys rotate`` while a processor applies events and the API seals and reads: nothing fails, every key ends up
wrapped by the new master key, and every document reads back."""

from __future__ import annotations

import asyncio
import base64
import io
from collections.abc import Iterator

import httpx
import pytest

from service_kit.crypto import MasterKeyring
from service_kit.keystore import KeyStore, keys_database_name
from service_kit.mongo import mongo_client
from service_kit.settings import MongoSettings, RabbitSettings, S3Settings
from stream_processors.commands import keys_rotate, keys_status
from tests import factories as f
from tests.api.support import AUTH, api_settings_for, running_api
from tests.integration.pipeline import ledger, process_all, processor_settings, publish
from tests.s3_cleanup import remove_bucket

pytestmark = pytest.mark.integration

OLD = "old:" + base64.urlsafe_b64encode(bytes(range(1, 33))).decode().rstrip("=")
NEW = "new:" + base64.urlsafe_b64encode(bytes(range(2, 34))).decode().rstrip("=")
PEOPLE = [5_000_000 + number for number in range(120)]


@pytest.fixture
def s3_settings(unique_name: str) -> Iterator[S3Settings]:
    settings = S3Settings(bucket=f"rot-{unique_name}")
    yield settings
    remove_bucket(settings)


async def _keys_under_old_master(mongo: MongoSettings) -> None:
    client = mongo_client(mongo)
    try:
        store = KeyStore(client[keys_database_name(mongo)], MasterKeyring.parse(OLD))
        for owner_id in PEOPLE:
            await store.get_or_create(owner_id)
    finally:
        await client.close()


async def _api_load(api: httpx.AsyncClient, stop: asyncio.Event) -> list[int]:
    """Seal and read for every person, round after round, until ``stop``: the status of every answer."""
    statuses: list[int] = []
    while not stop.is_set():
        for owner_id in PEOPLE:
            sealed = await api.post(f"/v1/owners/{owner_id}/seal", json={"name": f"Doc {owner_id}"})
            listed = await api.get(f"/v1/owners/{owner_id}/types")
            statuses += [sealed.status_code, listed.status_code]
    return statuses


async def test_keys_rotate_rewraps_every_key_while_processor_and_api_use_them_when_run_under_load(
    rabbit_settings: RabbitSettings, mongo_settings: MongoSettings, s3_settings: S3Settings
) -> None:
    await _keys_under_old_master(mongo_settings)
    events = [f.added(owner_id, f"Doc {owner_id}", "Passport", step=index) for index, owner_id in enumerate(PEOPLE)]
    await publish(rabbit_settings, events)
    settings = processor_settings(rabbit_settings, mongo_settings, master_keys=f"{NEW},{OLD}")
    out = io.StringIO()
    stop = asyncio.Event()

    async with running_api(
        api_settings_for(mongo_settings, s3_settings, master_keys=f"{NEW},{OLD}", seal_rate_per_minute=100_000), AUTH
    ) as api:
        load = asyncio.create_task(_api_load(api, stop))
        processed = asyncio.create_task(process_all(settings))
        rotated = await keys_rotate(settings, out)
        await processed
        stop.set()
        statuses = await load
        [kind] = (await api.get(f"/v1/owners/{PEOPLE[-1]}/types")).json()["items"]
        page = (await api.get(f"/v1/owners/{PEOPLE[-1]}/types/{kind['slug']}/documents")).json()

    status = io.StringIO()
    await keys_status(settings, status)
    assert rotated == 0, out.getvalue()
    assert f"re-wrapped {len(PEOPLE)} keys under new" in out.getvalue()
    assert (
        status.getvalue() == f"live keys {len(PEOPLE)}\n  wrapped by new (current): {len(PEOPLE)}\nforgotten keys 0\n"
    )
    assert statuses and set(statuses) == {200}
    assert len(await ledger(mongo_settings)) == len(PEOPLE)
    assert [item["name"] for item in page["items"]] == [f"Doc {PEOPLE[-1]}"]
