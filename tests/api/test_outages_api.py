"""MongoDB or S3 down (settings pointing at a closed port): 503 with a clear body, /readyz names which."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from minio import Minio

from service_kit.settings import MongoSettings, S3Settings
from tests import factories as f
from tests.api.support import AUTH, Projector, added_from_upload, api_settings_for, running_api, upload
from tests.ports import closed_port

pytestmark = pytest.mark.integration

OWNER = 412845671
BASE = f"/v1/owners/{OWNER}"


def mongo_down(mongo: MongoSettings) -> MongoSettings:
    url = f"mongodb://127.0.0.1:{closed_port()}/?retryWrites=false&directConnection=true"
    return MongoSettings.model_validate({"url": url, "database": mongo.database, "timeout_ms": 300})


def s3_down(s3: S3Settings) -> S3Settings:
    return S3Settings(endpoint=f"127.0.0.1:{closed_port()}", bucket=s3.bucket)


@pytest.mark.parametrize(("mongo_up", "s3_up"), [(False, True), (True, False), (False, False), (True, True)])
async def test_readyz_names_each_unreachable_dependency_when_probed(
    mongo_settings: MongoSettings, s3_settings: S3Settings, mongo_up: bool, s3_up: bool
) -> None:
    mongo = mongo_settings if mongo_up else mongo_down(mongo_settings)
    s3 = s3_settings if s3_up else s3_down(s3_settings)

    async with running_api(api_settings_for(mongo, s3)) as api:
        ready = await api.get("/readyz")
        alive = await api.get("/healthz")

    assert ready.status_code == (200 if mongo_up and s3_up else 503)
    assert ready.json() == {"ready": mongo_up and s3_up, "checks": {"mongo": mongo_up, "s3": s3_up}}
    assert (alive.status_code, alive.json()) == (200, {"status": "ok"})


@pytest.mark.parametrize(
    "path",
    [
        "/types",
        "/types/passport/documents",
        "/documents/search?q=pass",
        "/profile",
        "/documents/8f5e6a4c-1d2b-4c3a-9e8f-7a6b5c4d3e2f",
    ],
)
async def test_reads_answer_503_mongo_unavailable_when_mongodb_is_down(
    mongo_settings: MongoSettings, s3_settings: S3Settings, path: str
) -> None:
    async with running_api(api_settings_for(mongo_down(mongo_settings), s3_settings), AUTH) as api:
        response = await api.get(f"{BASE}{path}")

    assert response.status_code == 503
    assert response.json() == {
        "code": "mongo_unavailable",
        "message": "the document database is unavailable, try again shortly",
    }
    assert response.headers["Retry-After"] == "5"


async def test_upload_answers_503_and_writes_nothing_when_s3_is_down(
    mongo_settings: MongoSettings, s3_settings: S3Settings, raw_s3: Minio
) -> None:
    async with running_api(api_settings_for(mongo_settings, s3_down(s3_settings)), AUTH) as api:
        small = await api.post(f"{BASE}/files", content=b"x" * 1000)
        large = await api.post(f"{BASE}/files", content=b"x" * (6 * 1024 * 1024))

    assert small.status_code == large.status_code == 503
    assert small.json()["code"] == large.json()["code"] == "s3_unavailable"
    assert not raw_s3.bucket_exists(s3_settings.bucket)


async def test_download_answers_503_when_s3_goes_down_after_the_upload(
    api: httpx.AsyncClient, projector: Projector, mongo_settings: MongoSettings, s3_settings: S3Settings
) -> None:
    await projector.apply(event := await added_from_upload(api, OWNER, "Scan", await upload(api, OWNER, b"%PDF bytes")))

    async with running_api(api_settings_for(mongo_settings, s3_down(s3_settings)), AUTH) as broken:
        response = await broken.get(f"{BASE}/documents/{f.document_id_of(event)}/file")

    assert (response.status_code, response.json()["code"]) == (503, "s3_unavailable")


async def test_upload_answers_503_and_stores_nothing_when_mongodb_is_down(
    mongo_settings: MongoSettings, s3_settings: S3Settings, raw_s3: Minio
) -> None:
    async def chunked(data: bytes) -> AsyncIterator[bytes]:
        yield data

    async with running_api(api_settings_for(mongo_down(mongo_settings), s3_settings), AUTH) as api:
        declared = await api.post(f"{BASE}/files", content=b"refused before the body is read")
        staged = await api.post(f"{BASE}/files", content=chunked(b"x" * (6 * 1024 * 1024)))

    assert (declared.status_code, declared.json()["code"]) == (503, "mongo_unavailable")
    assert (staged.status_code, staged.json()["code"]) == (503, "mongo_unavailable")
    # the storage limits are checked before an object is put under owners/: nothing is left, staging included
    assert list(raw_s3.list_objects(s3_settings.bucket, recursive=True)) == []
