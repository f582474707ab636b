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
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import UTC, datetime

import httpx
import pytest
from redis.asyncio import Redis

from api.core.clients import build_state
from api.files.erasure import erase_pending
from api.settings import ApiSettings
from contracts.events import EventEnvelope, UserForgotten, new_event
from service_kit.eventlog import StartAt, StreamRecord
from service_kit.logging import quiet_libraries
from service_kit.mongo import mongo_client
from service_kit.s3 import s3_client
from service_kit.settings import MongoSettings, RabbitSettings, S3Settings
from stream_processors import commands
from tests import factories as f
from tests.api.support import AUTH, added_from_upload, api_settings_for, running_api, upload
from tests.e2e.processes import redis_url
from tests.integration.pipeline import copy_keys, process_all, processor_settings, publish, read_stream, snapshot
from tests.integration.privacy_scan import (
    live_keys,
    log_hits,
    mongo_hits,
    mongo_sealed,
    opened_to_marker,
    readable_everywhere,
    redis_hits,
    s3_hits,
    sealed_in,
    stored_objects,
    stream_hits,
)
from tests.mongo_cleanup import drop_databases
from tests.s3_cleanup import remove_bucket
from tests.streams import delete_streams, fresh_streams

pytestmark = pytest.mark.integration

OWNER = 412845671
BASE = f"/v1/owners/{OWNER}"


@pytest.fixture
def s3_settings(unique_name: str) -> Iterator[S3Settings]:
    settings = S3Settings(bucket=f"canary-{unique_name}")
    yield settings
    remove_bucket(settings)


async def _added_with_marker(
    api: httpx.AsyncClient, marker: str, number: int, owner_id: int = OWNER
) -> tuple[EventEnvelope, bytes]:
    """A document whose name, type title, file name and bytes all carry ``marker``, as the bot adds it."""
    data = f"%PDF-1.7 {marker} page {number} ".encode() * 200
    uploaded = await upload(api, owner_id, data, file_name=f"{marker}-scan-{number}.pdf")
    event = await added_from_upload(api, owner_id, f"Паспорт {marker} {number}", uploaded, f"Раздел {marker}", number)
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


KEPT = 900000002  # the control person: never forgotten


@pytest.fixture
async def history_without_the_person(unique_name: str) -> AsyncIterator[tuple[RabbitSettings, MongoSettings]]:
    """A stream and databases of their own, for the control person's events alone."""
    mongo = MongoSettings(database=f"{unique_name}w")
    async with fresh_streams(f"{unique_name}w") as rabbit:
        yield rabbit, mongo
    await drop_databases(mongo)


def _forgotten_by_the_bot(owner_id: int) -> EventEnvelope:
    """``user.forgotten`` as ``bot/services/forgetting.py`` appends it: no payload field, on the bot's clock."""
    return new_event(UserForgotten(), owner_id=owner_id, correlation_id="forget", occurred_at=datetime.now(UTC))


async def _erased(settings: ApiSettings) -> int:
    """One pass of the API's erasure worker (``api/files/erasure.py``): how many forgets it erased."""
    state = build_state(settings)
    try:
        return await erase_pending(state)
    finally:
        await state.mongo.close()


async def _opened_anywhere(mongo: MongoSettings, records: Sequence[StreamRecord], marker: str) -> list[str]:
    """The sealed values of the stream and of every MongoDB document that a live key opens to the marker."""
    sealed = sealed_in(record.data for record in records) | await mongo_sealed(mongo)
    assert sealed, "no sealed value anywhere: the check would prove nothing"
    return opened_to_marker(sealed, await live_keys(mongo), marker)


async def _key_ids(mongo: MongoSettings) -> dict[int, str]:
    return {keys.owner_id: keys.key_id for keys in await live_keys(mongo)}


async def test_marker_is_readable_nowhere_and_a_rebuild_equals_a_history_without_the_person_when_forgotten(
    mongo_settings: MongoSettings,
    s3_settings: S3Settings,
    rabbit_settings: RabbitSettings,
    caplog: pytest.LogCaptureFixture,
    history_without_the_person: tuple[RabbitSettings, MongoSettings],
) -> None:
    """Readable means: the marker's bytes in the clear in a store, or a sealed value that some key still in the key
    store opens to a text holding it. Sealed values under the destroyed key stay in the stream, unreadable."""
    caplog.set_level(logging.DEBUG)
    quiet_libraries(logging.DEBUG)
    marker, kept_marker = f"canary{uuid.uuid4().hex[:12]}", f"control{uuid.uuid4().hex[:12]}"
    settings = api_settings_for(mongo_settings, s3_settings)
    processor = processor_settings(rabbit_settings, mongo_settings)
    async with running_api(settings, AUTH) as api:
        gone = [await _added_with_marker(api, marker, number) for number in (1, 2)]
        kept, kept_data = await _added_with_marker(api, kept_marker, 3, owner_id=KEPT)
        # A v1 rename, as the bot wrote before it sealed: docs/privacy.md says its name stays in the stream for ever.
        plain = f.renamed(OWNER, f.document_id_of(gone[0][0]), f"Old {marker}", 9)
        control = [f.started(KEPT, "en", 0), kept]
        events = [control[0], f.started(OWNER, "ru"), *(event for event, _ in gone), plain, control[1]]
        await publish(rabbit_settings, events)
        await process_all(processor)
        records = await read_stream(rabbit_settings, rabbit_settings.events_stream, StartAt.first(), len(events))
        opened_before = await _opened_anywhere(mongo_settings, records, marker)
        keys_before = await _key_ids(mongo_settings)

        await publish(rabbit_settings, [_forgotten_by_the_bot(OWNER)])
        await process_all(processor)
        erased = await _erased(settings)
        answers = {
            "gone": await api.get(f"{BASE}/documents/search", params={"q": marker}),
            "kept": await api.get(f"/v1/owners/{KEPT}/documents/search", params={"q": kept_marker}),
            "kept file": await api.get(f"/v1/owners/{KEPT}/documents/{f.document_id_of(kept)}/file"),
        }
    await process_all(processor, version=2)  # a rebuild from the first offset into a new read-model version
    records = await read_stream(rabbit_settings, rabbit_settings.events_stream, StartAt.first(), len(events) + 1)
    history_rabbit, history_mongo = history_without_the_person
    await copy_keys(mongo_settings, history_mongo)  # the control's key: sealing is deterministic, rows byte-equal
    await publish(history_rabbit, control)
    await process_all(processor_settings(history_rabbit, history_mongo))

    # Before the forget the person's key opened their sealed values to the marker: the check can see it.
    assert opened_before and set(keys_before) == {OWNER, KEPT} and erased == 1
    assert readable_everywhere(
        stream=stream_hits(records, marker),
        mongo=await mongo_hits(mongo_settings, marker),
        s3=s3_hits(s3_settings, marker),
        redis=await redis_hits(redis_url(0), marker),
        logs=log_hits(caplog.records, marker),
    ) == {"stream": [f"offset {events.index(plain)}"]}
    assert await _opened_anywhere(mongo_settings, records, marker) == []
    assert stored_objects(s3_settings, OWNER) == [] and len(stored_objects(s3_settings, KEPT)) == 1
    first, rebuilt = await snapshot(mongo_settings), await snapshot(mongo_settings, version=2)
    assert {row["owner_id"] if "owner_id" in row else row["_id"] for rows in first.values() for row in rows} == {KEPT}
    assert first == rebuilt
    # Offsets are the stream's: in a history without the person the control's events sit at other ones.
    offsets = ("last_offset",)
    assert await snapshot(mongo_settings, 2, without=offsets) == await snapshot(history_mongo, without=offsets)
    # The control person is untouched: same key, their document found by its name and served byte-equal.
    assert await _key_ids(mongo_settings) == {KEPT: keys_before[KEPT]}
    assert answers["gone"].status_code == 200 and marker not in answers["gone"].text
    assert kept_marker in answers["kept"].text and answers["kept file"].content == kept_data


async def test_marker_is_readable_nowhere_when_a_forgotten_persons_v1_history_was_sealed(
    mongo_settings: MongoSettings,
    s3_settings: S3Settings,
    rabbit_settings: RabbitSettings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The one exception above (a forgotten person's v1 events, in the clear in the stream) is gone once
    ``seal-history`` copied the stream and the read models were rebuilt from the copy (docs/privacy.md)."""
    caplog.set_level(logging.DEBUG)
    quiet_libraries(logging.DEBUG)
    marker = f"canary{uuid.uuid4().hex[:12]}"
    plain = f.added(OWNER, f"Паспорт {marker}", f"Раздел {marker}", step=1)
    v1 = [f.started(OWNER, "ru"), plain, f.renamed(OWNER, f.document_id_of(plain), f"Old {marker}", 2)]
    kept = f.added(KEPT, "Lease", "Contracts", step=3)
    settings = api_settings_for(mongo_settings, s3_settings)
    processor = processor_settings(rabbit_settings, mongo_settings)
    sealed = RabbitSettings(
        events_stream=f"{rabbit_settings.events_stream}.sealed",
        dead_letter_stream=f"{rabbit_settings.dead_letter_stream}.sealed",
    )
    async with running_api(settings, AUTH):
        await publish(rabbit_settings, [*v1, kept])
        await process_all(processor)  # the person's key is made for their v1 events
        await publish(rabbit_settings, [_forgotten_by_the_bot(OWNER)])
        await process_all(processor)
        assert await _erased(settings) == 1
    try:
        assert await commands.seal_history(processor, sealed.events_stream, False, io.StringIO()) == 0
        await process_all(processor_settings(sealed, mongo_settings), version=2)
        old = await read_stream(rabbit_settings, rabbit_settings.events_stream, StartAt.first(), len(v1) + 2)
        new = await read_stream(rabbit_settings, sealed.events_stream, StartAt.first(), len(v1) + 2)
        databases = await mongo_hits(mongo_settings, marker)
        opened = await _opened_anywhere(mongo_settings, new, marker)
    finally:
        await delete_streams(sealed, sealed.events_stream, sealed.dead_letter_stream)

    assert stream_hits(old, marker) == ["offset 1", "offset 2"]  # the exception, before
    assert (
        readable_everywhere(stream=stream_hits(new, marker), mongo=databases, logs=log_hits(caplog.records, marker))
        == {}
    )
    assert opened == [] and len(new) == len(old) == len(v1) + 2
    # The control's v1 file is named by its keyed sha256 now (test_processor_seal_history checks how), the rest equal.
    content = ("file", "content_key")
    rebuilt = await snapshot(mongo_settings, version=2, without=content)
    assert rebuilt == await snapshot(mongo_settings, without=content) and len(rebuilt["documents"]) == 1
