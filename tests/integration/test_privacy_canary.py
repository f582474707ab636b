"""The privacy canary: a marker in every name, type title, file name and file of a person, through the real
pipeline (uploads and ``POST /seal`` on the API, the v2 events the bot writes appended to the real stream, the real
processor, reads and the export from the API), then every store scanned as bytes (``privacy_scan``).

docs/privacy.md says where the marker may be read: nowhere in the clear. Only the API's answers to the person (the
names it opens, the file, the export) carry it, and the test checks that they do, so the flow did carry it.
"""

from __future__ import annotations

import io
import logging
import uuid
import zipfile
from collections.abc import Iterator

import httpx
import pytest
from redis.asyncio import Redis

from contracts.events import EventEnvelope
from service_kit.eventlog import StartAt
from service_kit.logging import quiet_libraries
from service_kit.mongo import mongo_client
from service_kit.s3 import s3_client
from service_kit.settings import MongoSettings, RabbitSettings, S3Settings
from tests import factories as f
from tests.api.support import AUTH, added_from_upload, api_settings_for, running_api, upload
from tests.e2e.processes import redis_url
from tests.integration.pipeline import process_all, processor_settings, publish, read_stream
from tests.integration.privacy_scan import (
    log_hits,
    mongo_hits,
    readable_everywhere,
    redis_hits,
    s3_hits,
    stream_hits,
)
from tests.s3_cleanup import remove_bucket

pytestmark = pytest.mark.integration

OWNER = 412845671
BASE = f"/v1/owners/{OWNER}"


@pytest.fixture
def s3_settings(unique_name: str) -> Iterator[S3Settings]:
    settings = S3Settings(bucket=f"canary-{unique_name}")
    yield settings
    remove_bucket(settings)


async def _added_with_marker(api: httpx.AsyncClient, marker: str, number: int) -> tuple[EventEnvelope, bytes]:
    """A document whose name, type title, file name and bytes all carry ``marker``, as the bot adds it."""
    data = f"%PDF-1.7 {marker} page {number} ".encode() * 200
    uploaded = await upload(api, OWNER, data, file_name=f"{marker}-scan-{number}.pdf")
    event = await added_from_upload(api, OWNER, f"Паспорт {marker} {number}", uploaded, f"Раздел {marker}", number)
    return event, data


async def test_marker_is_readable_in_no_store_but_the_persons_answers_when_documents_carry_it_everywhere(
    mongo_settings: MongoSettings,
    s3_settings: S3Settings,
    rabbit_settings: RabbitSettings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    quiet_libraries(logging.DEBUG)
    marker = f"canary{uuid.uuid4().hex[:12]}"
    async with running_api(api_settings_for(mongo_settings, s3_settings), AUTH) as api:
        added = [await _added_with_marker(api, marker, number) for number in (1, 2)]
        events = [f.started(OWNER, "ru"), *(event for event, _ in added)]
        await publish(rabbit_settings, events)
        await process_all(processor_settings(rabbit_settings, mongo_settings))
        first = f.document_id_of(added[0][0])
        answers = {
            "search": await api.get(f"{BASE}/documents/search", params={"q": marker}),
            "detail": await api.get(f"{BASE}/documents/{first}"),
            "file": await api.get(f"{BASE}/documents/{first}/file"),
            "export": await api.get(f"{BASE}/export"),
        }
    records = await read_stream(rabbit_settings, rabbit_settings.events_stream, StartAt.first(), len(events))

    # The person's answers carry the marker: the flow did carry it through every store.
    assert all(answer.status_code == 200 for answer in answers.values()), {k: a.text[:200] for k, a in answers.items()}
    assert marker in answers["search"].text and marker in answers["detail"].text
    assert answers["file"].content == added[0][1]
    archive = zipfile.ZipFile(io.BytesIO(answers["export"].content))
    assert [archive.read(name) for name in archive.namelist()[:2]] == [data for _, data in added]
    assert marker in archive.read("index.json").decode()
    assert len(records) == len(events) and caplog.records
    # ...and no store holds it in the clear.
    assert (
        readable_everywhere(
            stream=stream_hits(records, marker),
            mongo=await mongo_hits(mongo_settings, marker),
            s3=s3_hits(s3_settings, marker),
            redis=await redis_hits(redis_url(0), marker),
            logs=log_hits(caplog.records, marker),
        )
        == {}
    )


async def test_scanners_find_the_marker_when_each_store_holds_it_in_the_clear(
    mongo_settings: MongoSettings,
    s3_settings: S3Settings,
    rabbit_settings: RabbitSettings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    marker = f"Canary{uuid.uuid4().hex[:12]}"
    plain = f.added(OWNER, f"{marker} in a v1 event")  # plain text, as v1 events are in the stream for ever
    await publish(rabbit_settings, [f.started(OWNER, "ru"), plain])
    client = mongo_client(mongo_settings)
    await client[f"{mongo_settings.database}_v1"]["documents"].insert_one({"_id": "x", "note": {"deep": [marker]}})
    await client.close()
    async with running_api(api_settings_for(mongo_settings, s3_settings), AUTH):  # creates the bucket
        s3_client(s3_settings).put_object(s3_settings.bucket, "owners/1/x", io.BytesIO(marker.encode()), len(marker))
    redis = Redis.from_url(redis_url(12))
    await redis.hset(f"canary-test:{marker[-6:]}", "title", marker.lower())
    logging.getLogger("canary").warning("named %s", marker)

    try:
        records = await read_stream(rabbit_settings, rabbit_settings.events_stream, StartAt.first(), 2)
        hits = readable_everywhere(
            stream=stream_hits(records, marker),
            mongo=await mongo_hits(mongo_settings, marker),
            s3=s3_hits(s3_settings, marker),
            redis=await redis_hits(redis_url(0), marker),
            logs=log_hits(caplog.records, marker),
        )
    finally:
        await redis.delete(f"canary-test:{marker[-6:]}")
        await redis.aclose()

    assert hits == {
        "stream": ["offset 1"],
        "mongo": [f"{mongo_settings.database}_v1.documents x"],
        "s3": ["owners/1/x"],
        "redis": [f"db12 {f'canary-test:{marker[-6:]}'.encode()!r}"],
        "logs": ["canary: named %s"],
    }
