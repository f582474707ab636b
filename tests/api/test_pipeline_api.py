"""The API over the whole read side: events through RabbitMQ and the processor, and a projection rebuild."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from contracts.read_models import ACTIVE_VERSION_ID, CONTROL_COLLECTION
from service_kit.mongo import mongo_client
from service_kit.settings import MongoSettings, RabbitSettings, S3Settings
from tests import factories as f
from tests.api.support import AUTH, Projector, added_from_upload, api_settings_for, running_api, upload
from tests.integration.pipeline import process_all, processor_settings, publish

pytestmark = pytest.mark.integration

OWNER = 412845671
BASE = f"/v1/owners/{OWNER}"


async def test_bot_flow_reads_its_own_write_when_the_event_goes_through_rabbitmq_and_the_processor(
    api: httpx.AsyncClient, rabbit_settings: RabbitSettings, mongo_settings: MongoSettings
) -> None:
    uploaded = await upload(api, OWNER, b"%PDF passport scan", file_name="Паспорт.pdf")
    event = await added_from_upload(api, OWNER, "Паспорт", uploaded, "Passport")
    await publish(rabbit_settings, [f.started(OWNER, "ru"), event])
    fresh = {"after_event": str(event.event_id)}

    not_yet = await api.get(f"{BASE}/types/passport/documents", params=fresh)
    await process_all(processor_settings(rabbit_settings, mongo_settings))
    page = await api.get(f"{BASE}/types/passport/documents", params=fresh)
    file = await api.get(f"{BASE}/documents/{f.document_id_of(event)}/file", params=fresh)

    assert not_yet.status_code == 409
    assert [item["name"] for item in page.json()["items"]] == ["Паспорт"]
    assert file.content == b"%PDF passport scan"
    assert "filename*=UTF-8''%D0%9F%D0%B0%D1%81%D0%BF%D0%BE%D1%80%D1%82.pdf" in file.headers["Content-Disposition"]


async def test_api_serves_the_rebuilt_version_when_the_control_collection_switches_it(
    mongo_settings: MongoSettings, s3_settings: S3Settings
) -> None:
    await Projector(mongo_settings, version=1).apply(f.added(OWNER, "Old world", "Misc"))
    await Projector(mongo_settings, version=2).apply(f.added(OWNER, "New world", "Misc"))
    settings = api_settings_for(mongo_settings, s3_settings, read_model_poll_seconds=0.05)

    async with running_api(settings, AUTH) as api:
        before = (await api.get(f"{BASE}/documents/search", params={"q": "world"})).json()["items"]
        client = mongo_client(mongo_settings)
        await client[mongo_settings.database][CONTROL_COLLECTION].update_one(
            {"_id": ACTIVE_VERSION_ID}, {"$set": {"version": 2}}, upsert=True
        )
        await client.close()
        for _ in range(40):
            after = (await api.get(f"{BASE}/documents/search", params={"q": "world"})).json()["items"]
            if after != before:
                break
            await asyncio.sleep(0.05)

    assert [item["name"] for item in before] == ["Old world"]
    assert [item["name"] for item in after] == ["New world"]
