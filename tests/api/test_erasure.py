"""The erasure worker against moto's S3 and SecantusDB: a forget's objects deleted and key destroyed once, resumed
after a half-done pass, and never run again for a forget a rebuild queues again; a purge (trash retention) deletes
only the objects no other document of the person names."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from minio import Minio

from api.core.clients import ApiState, build_state
from api.files.erasure import doomed_objects, erase_pending, pending_jobs, purged_objects
from api.settings import ApiSettings
from contracts.events import DocumentDeleted, EventEnvelope, UserForgotten, UserStarted, new_event
from contracts.read_models import ERASURES_COLLECTION, ErasureJob
from service_kit.keystore import KeyStore, keys_database_name
from service_kit.mongo import mongo_client
from service_kit.settings import MongoSettings, S3Settings
from tests.api.support import (
    Projector,
    added_from_upload,
    api_settings_for,
    running_api,
    stored_keys,
    upload,
)
from tests.keyrings import TEST_KEYRING

pytestmark = pytest.mark.integration

OWNER, OTHER = 412845671, 900000001
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def forgotten_now(owner_id: int) -> EventEnvelope:
    return new_event(UserForgotten(), owner_id=owner_id, correlation_id="forget", occurred_at=datetime.now(UTC))


def job(owner_id: int = OWNER, object_keys: tuple[str, ...] = (), stored_by: datetime = NOW) -> ErasureJob:
    return ErasureJob(
        id="j", kind="forget", owner_id=owner_id, offset=3, stored_by=stored_by, object_keys=list(object_keys)
    )


@pytest.fixture
async def state(api_settings: ApiSettings) -> AsyncIterator[ApiState]:
    built = build_state(api_settings)
    try:
        yield built
    finally:
        await built.mongo.close()


async def live_key_ids(mongo: MongoSettings, *owners: int) -> dict[int, str]:
    client = mongo_client(mongo)
    try:
        found = await KeyStore(client[keys_database_name(mongo)], TEST_KEYRING, cache_seconds=0).find(owners)
        return {owner: keys.key_id for owner, keys in found.items()}
    finally:
        await client.close()


async def store_documents(api: httpx.AsyncClient, projector: Projector, owner_id: int, count: int) -> list[str]:
    keys = []
    for i in range(count):
        uploaded = await upload(api, owner_id, f"{owner_id} document {i}".encode())
        await projector.apply(await added_from_upload(api, owner_id, f"Scan {i}", uploaded, step=i))
        keys.append(uploaded["object_key"])
    return keys


def test_doomed_objects_keeps_uploads_stored_after_forget_when_person_came_back() -> None:
    stored = [(f"owners/{OWNER}/old", NOW - timedelta(seconds=1)), (f"owners/{OWNER}/new", NOW + timedelta(seconds=1))]

    assert doomed_objects(job(), stored) == [f"owners/{OWNER}/old"]


def test_doomed_objects_deletes_listed_objects_whatever_their_time_when_documents_named_them() -> None:
    listed = f"owners/{OWNER}/named"

    assert doomed_objects(job(object_keys=(listed,)), [(listed, NOW + timedelta(days=1))]) == [listed]


def test_doomed_objects_refuses_another_persons_object_when_job_names_it() -> None:
    assert doomed_objects(job(object_keys=(f"owners/{OTHER}/x", "owners/4128456710/y")), []) == []


async def test_erase_pending_deletes_objects_and_key_when_person_forgotten(
    api: httpx.AsyncClient,
    projector: Projector,
    state: ApiState,
    raw_s3: Minio,
    s3_settings: S3Settings,
    mongo_settings: MongoSettings,
) -> None:
    mine = await store_documents(api, projector, OWNER, 3)
    theirs = await store_documents(api, projector, OTHER, 1)
    orphan = await upload(api, OWNER, b"uploaded, never saved as a document")
    await projector.apply(forgotten_now(OWNER))

    assert await erase_pending(state) == 1

    assert stored_keys(raw_s3, s3_settings.bucket) == theirs
    assert orphan["object_key"] not in stored_keys(raw_s3, s3_settings.bucket) and mine
    assert set(await live_key_ids(mongo_settings, OWNER, OTHER)) == {OTHER}
    assert (await pending_jobs(state), await erase_pending(state)) == ([], 0)


async def test_erase_pending_finishes_job_when_earlier_pass_stopped_half_way(
    api: httpx.AsyncClient,
    projector: Projector,
    state: ApiState,
    raw_s3: Minio,
    s3_settings: S3Settings,
    mongo_settings: MongoSettings,
) -> None:
    mine = await store_documents(api, projector, OWNER, 3)
    await projector.apply(forgotten_now(OWNER))
    raw_s3.remove_object(s3_settings.bucket, mine[0])  # what a pass killed after its first delete left

    assert await erase_pending(state) == 1

    assert stored_keys(raw_s3, s3_settings.bucket) == []
    assert await live_key_ids(mongo_settings, OWNER) == {}


async def test_erase_pending_keeps_new_life_when_rebuild_queues_receipted_forget_again(
    api: httpx.AsyncClient,
    projector: Projector,
    api_settings: ApiSettings,
    raw_s3: Minio,
    s3_settings: S3Settings,
    mongo_settings: MongoSettings,
) -> None:
    first = await upload(api, OWNER, b"first life")
    history = [await added_from_upload(api, OWNER, "Scan", first, step=1), forgotten_now(OWNER)]
    await projector.apply(*history)
    served = build_state(api_settings)
    try:
        await erase_pending(served)
    finally:
        await served.mongo.close()
    # The person came back later (another API process, or once the erased key left this one's 30 s cache):
    # a new key, a new object.
    async with running_api(api_settings, headers=dict(api.headers)) as later_api:
        second = await upload(later_api, OWNER, b"second life")
        history.append(await added_from_upload(later_api, OWNER, "Scan", second, step=3))
    await projector.apply(history[-1])
    new_key = await live_key_ids(mongo_settings, OWNER)

    await Projector(mongo_settings, version=2).apply(*history)  # a rebuild queues the forget again
    rebuilt = build_state(api_settings.model_copy(update={"read_model_version": 2}))
    try:
        queued = await rebuilt.database[ERASURES_COLLECTION].find({}).to_list(None)
        assert [raw["owner_id"] for raw in queued] == [OWNER]
        assert await erase_pending(rebuilt) == 0
    finally:
        await rebuilt.mongo.close()

    assert stored_keys(raw_s3, s3_settings.bucket) == [second["object_key"]]
    assert await live_key_ids(mongo_settings, OWNER) == new_key != {}


async def test_api_erases_forgotten_person_when_its_worker_polls(
    mongo_settings: MongoSettings, s3_settings: S3Settings, projector: Projector, raw_s3: Minio
) -> None:
    settings = api_settings_for(mongo_settings, s3_settings, erasure_poll_seconds=0.05)
    async with running_api(settings, headers={"Authorization": "Bearer test-service-token-0123456789"}) as api:
        await store_documents(api, projector, OWNER, 2)
        await projector.apply(forgotten_now(OWNER))
        for _ in range(200):
            if not stored_keys(raw_s3, s3_settings.bucket):
                break
            await asyncio.sleep(0.05)

    assert stored_keys(raw_s3, s3_settings.bucket) == []
    assert await live_key_ids(mongo_settings, OWNER) == {}


def purge(object_keys: tuple[str, ...], deleted_at: datetime = NOW) -> ErasureJob:
    return ErasureJob(
        id="purge:d:e", kind="purge", owner_id=OWNER, offset=3, stored_by=deleted_at, object_keys=list(object_keys)
    )


def test_purged_objects_keeps_object_when_another_document_names_it() -> None:
    shared, alone = f"owners/{OWNER}/shared", f"owners/{OWNER}/alone"
    stored = [(shared, NOW - timedelta(days=30)), (alone, NOW - timedelta(days=30))]

    assert purged_objects(purge((shared, alone)), stored, referenced={shared}) == [alone]


def test_purged_objects_keeps_object_when_stored_again_after_the_deletion() -> None:
    again = f"owners/{OWNER}/again"

    assert purged_objects(purge((again,)), [(again, NOW + timedelta(seconds=1))], referenced=set()) == []


def test_purged_objects_refuses_another_persons_object_and_skips_gone_ones_when_job_names_them() -> None:
    theirs, gone = f"owners/{OTHER}/x", f"owners/{OWNER}/gone"

    assert purged_objects(purge((theirs, gone)), [(theirs, NOW - timedelta(days=1))], referenced=set()) == []


def deleted_now(owner_id: int, added: EventEnvelope) -> EventEnvelope:
    document_id = getattr(added.payload, "document_id")
    return new_event(
        DocumentDeleted(document_id=document_id), owner_id=owner_id, correlation_id="d", occurred_at=datetime.now(UTC)
    )


async def test_erase_pending_deletes_purged_documents_unshared_objects_only_when_trash_time_ended(
    api: httpx.AsyncClient,
    projector: Projector,
    state: ApiState,
    raw_s3: Minio,
    s3_settings: S3Settings,
    mongo_settings: MongoSettings,
) -> None:
    scan, lease_scan = await upload(api, OWNER, b"passport scan"), await upload(api, OWNER, b"lease scan")
    passport = await added_from_upload(api, OWNER, "Passport", scan, step=1)
    lease = await added_from_upload(api, OWNER, "Lease", lease_scan)
    copy = await added_from_upload(api, OWNER, "Passport copy", scan, step=2)  # the same file: shares its object
    await projector.apply(passport, copy, lease, deleted_now(OWNER, passport), deleted_now(OWNER, lease))
    month_later = datetime.now(UTC) + timedelta(days=31)
    await projector.apply(
        new_event(UserStarted(language="en"), owner_id=OTHER, correlation_id="s", occurred_at=month_later)
    )
    keys_before = await live_key_ids(mongo_settings, OWNER)

    assert await erase_pending(state) == 2

    assert stored_keys(raw_s3, s3_settings.bucket) == [scan["object_key"]]
    assert await live_key_ids(mongo_settings, OWNER) == keys_before != {}
    assert (await pending_jobs(state), await erase_pending(state)) == ([], 0)
