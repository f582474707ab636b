"""Storage limits per person against SecantusDB and moto: what counts, both checks, nothing left in S3 when refused."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from minio import Minio

from api.documents.queries import live_totals_pipeline
from api.settings import MAX_BYTES_PER_PERSON_LIMIT
from contracts.read_models import read_model_database
from service_kit.mongo import mongo_client
from service_kit.settings import MongoSettings, S3Settings
from tests import factories as f
from tests.api.support import (
    AUTH,
    MIB,
    PDF,
    TOKEN,
    Projector,
    added_from_upload,
    api_settings_for,
    content_id,
    open_multipart_uploads,
    person_keys,
    running_api,
    stored_keys,
    upload,
)

pytestmark = pytest.mark.integration

OWNER, OTHER = 412845671, 900000001
BASE = f"/v1/owners/{OWNER}"
REPOSITORY = Path(__file__).resolve().parents[2]


class WatchedBody:
    """A streamed body that records whether the API read any of it."""

    def __init__(self, data: bytes, chunk: int = 64 * 1024) -> None:
        self.data, self.chunk, self.read = data, chunk, False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self.data), self.chunk):
            self.read = True
            yield self.data[start : start + self.chunk]


async def post_file(
    api: httpx.AsyncClient, content: bytes | WatchedBody, owner: int = OWNER, declared: int | None = None
) -> httpx.Response:
    """POST /files; a ``WatchedBody`` goes chunked unless ``declared`` sets Content-Length (true or not)."""
    headers = {"Content-Type": PDF}
    if declared is not None:
        headers["Content-Length"] = str(declared)
    return await api.post(f"/v1/owners/{owner}/files", content=content, headers=headers)


async def stored_documents(api: httpx.AsyncClient, projector: Projector, *contents: bytes, owner: int = OWNER) -> None:
    """Upload each content and let the processor apply the bot's document.added for it."""
    events = [
        await added_from_upload(api, owner, f"Doc {i}", await upload(api, owner, data), step=i)
        for i, data in enumerate(contents)
    ]
    await projector.apply(*events)


def usage(documents: int, documents_limit: int, stored: int, bytes_limit: int) -> dict[str, int]:
    return {"documents": documents, "documents_limit": documents_limit, "bytes": stored, "bytes_limit": bytes_limit}


def assert_quota_exceeded(response: httpx.Response, expected_usage: dict[str, int]) -> None:
    assert response.status_code == 403, response.text
    body: dict[str, Any] = response.json()
    assert (body["code"], body["usage"]) == ("quota_exceeded", expected_usage)
    assert body["message"].startswith("a new document of ") and "storage limits" in body["message"]


@pytest.fixture
async def small_limits(mongo_settings: MongoSettings, s3_settings: S3Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The API with a person allowed 2 documents and 100 bytes."""
    settings = api_settings_for(mongo_settings, s3_settings, max_documents_per_person=2, max_bytes_per_person=100)
    async with running_api(settings, AUTH) as api:
        yield api


@pytest.mark.parametrize("streamed", [False, True], ids=["content-length", "chunked"])
async def test_upload_answers_403_with_the_usage_and_stores_nothing_when_the_documents_limit_is_reached(
    small_limits: httpx.AsyncClient,
    projector: Projector,
    raw_s3: Minio,
    s3_settings: S3Settings,
    streamed: bool,
    mongo_settings: MongoSettings,
) -> None:
    await stored_documents(small_limits, projector, b"first", b"second")  # 2 of 2, 11 of 100 bytes
    keys_before = stored_keys(raw_s3, s3_settings.bucket)
    third = b"third"

    response = await post_file(small_limits, WatchedBody(third) if streamed else third)

    assert_quota_exceeded(response, usage(2, 2, 11, 100))
    assert stored_keys(raw_s3, s3_settings.bucket) == keys_before
    assert f"owners/{OWNER}/{content_id(await person_keys(mongo_settings, OWNER), third)}" not in keys_before


async def test_upload_is_accepted_up_to_the_limits_and_refused_one_past_them_when_limits_are_small(
    small_limits: httpx.AsyncClient, projector: Projector
) -> None:
    await stored_documents(small_limits, projector, b"x" * 60)

    too_big = await post_file(small_limits, b"y" * 41)  # 60 + 41 > 100
    exactly = await post_file(small_limits, b"y" * 40)  # 60 + 40 = 100, the second of 2 documents

    assert_quota_exceeded(too_big, usage(1, 2, 60, 100))
    assert exactly.status_code == 201 and exactly.json()["duplicate_of"] is None


@pytest.mark.parametrize("streamed", [False, True], ids=["content-length", "chunked"])
async def test_upload_accepts_a_duplicate_and_reports_it_when_the_person_is_at_both_limits(
    mongo_settings: MongoSettings, s3_settings: S3Settings, projector: Projector, raw_s3: Minio, streamed: bool
) -> None:
    data = b"the only document"
    settings = api_settings_for(mongo_settings, s3_settings, max_documents_per_person=1, max_bytes_per_person=len(data))
    async with running_api(settings, AUTH) as api:
        await stored_documents(api, projector, data)  # 1 of 1 document, every byte of the limit
        keys_before = stored_keys(raw_s3, s3_settings.bucket)

        again = await post_file(api, WatchedBody(data) if streamed else data)
        other = await post_file(api, b"the only documenT")  # the same size, other bytes: a new document

    assert again.status_code == 201, again.text
    assert again.json()["duplicate_of"]["name"] == "Doc 0"
    assert_quota_exceeded(other, usage(1, 1, len(data), len(data)))
    assert stored_keys(raw_s3, s3_settings.bucket) == keys_before


async def test_upload_refuses_before_reading_the_body_when_the_declared_length_passes_the_bytes_limit(
    small_limits: httpx.AsyncClient,
    projector: Projector,
    raw_s3: Minio,
    s3_settings: S3Settings,
    mongo_settings: MongoSettings,
) -> None:
    await stored_documents(small_limits, projector, b"x" * 60)
    body = WatchedBody(b"z" * 50)

    response = await post_file(small_limits, body, declared=50)

    assert_quota_exceeded(response, usage(1, 2, 60, 100))
    assert not body.read
    first = content_id(await person_keys(mongo_settings, OWNER), b"x" * 60)
    assert stored_keys(raw_s3, s3_settings.bucket) == [f"owners/{OWNER}/{first}"]


async def test_upload_holds_the_client_to_its_declared_length_when_it_claims_more_than_the_limit(
    small_limits: httpx.AsyncClient, raw_s3: Minio, s3_settings: S3Settings
) -> None:
    body = WatchedBody(b"small")  # would fit, but the client says it sends 101 bytes

    response = await post_file(small_limits, body, declared=101)

    assert_quota_exceeded(response, usage(0, 2, 0, 100))
    assert not body.read and stored_keys(raw_s3, s3_settings.bucket) == []


async def test_upload_is_refused_with_its_real_size_and_stores_nothing_when_content_length_understates_it(
    small_limits: httpx.AsyncClient, raw_s3: Minio, s3_settings: S3Settings
) -> None:
    body = WatchedBody(b"w" * 150)  # declared 10: passes the first check; 150 bytes arrive

    response = await post_file(small_limits, body, declared=10)

    assert_quota_exceeded(response, usage(0, 2, 0, 100))
    assert "of 150 bytes" in response.json()["message"]
    assert body.read and stored_keys(raw_s3, s3_settings.bucket) == []


async def test_upload_removes_the_staged_object_when_a_multipart_upload_is_refused_at_the_end(
    mongo_settings: MongoSettings, s3_settings: S3Settings, raw_s3: Minio
) -> None:
    settings = api_settings_for(mongo_settings, s3_settings, max_bytes_per_person=6 * MIB)
    data = os.urandom(7 * MIB)  # past one part: staged as a multipart upload, then refused

    async with running_api(settings, AUTH) as api:
        response = await post_file(api, WatchedBody(data))

    assert_quota_exceeded(response, usage(0, 1000, 0, 6 * MIB))
    assert stored_keys(raw_s3, s3_settings.bucket) == []
    assert open_multipart_uploads(s3_settings) == []


async def test_upload_admits_both_when_two_run_before_either_event_is_applied(
    mongo_settings: MongoSettings, s3_settings: S3Settings
) -> None:
    """The documented race: the read models see an upload only once its event is applied."""
    settings = api_settings_for(mongo_settings, s3_settings, max_documents_per_person=1)
    async with running_api(settings, AUTH) as api:
        first, second = await asyncio.gather(post_file(api, b"one"), post_file(api, b"two"))

    assert (first.status_code, second.status_code) == (201, 201)


async def test_usage_counts_live_documents_and_their_bytes_only_when_some_are_deleted_or_duplicates(
    api: httpx.AsyncClient, projector: Projector
) -> None:
    kept, gone = b"k" * 1000, b"g" * 500
    kept_upload, gone_upload = await upload(api, OWNER, kept), await upload(api, OWNER, gone)
    kept_event = await added_from_upload(api, OWNER, "Kept", kept_upload)
    gone_event = await added_from_upload(api, OWNER, "Gone", gone_upload, step=1)
    duplicate = await added_from_upload(
        api, OWNER, "Kept again", kept_upload, step=2
    )  # the same bytes: status duplicate
    await projector.apply(
        kept_event,
        gone_event,
        duplicate,
        f.deleted(OWNER, f.document_id_of(gone_event), 3),
        f.added(OWNER, "Visa", "Visas", content="v" * 24, step=4),
        f.added(OTHER, "Theirs", content="t" * 7777),
    )

    mine = await api.get(f"{BASE}/usage", params={"after_event": str(duplicate.event_id)})
    theirs = await api.get(f"/v1/owners/{OTHER}/usage")
    nobody = await api.get("/v1/owners/5/usage")

    assert (mine.status_code, mine.json()) == (200, usage(2, 1000, 1024, 1024 * MIB))
    assert theirs.json() == usage(1, 1000, 7777, 1024 * MIB)
    assert nobody.json() == usage(0, 1000, 0, 1024 * MIB)


async def test_live_totals_reads_only_the_owners_live_documents_when_the_collection_holds_many_others(
    mongo_settings: MongoSettings, projector: Projector
) -> None:
    events = [f.added(OTHER, f"Theirs {i}", step=i) for i in range(40)]
    events += [f.added(OWNER, f"Mine {i}", step=100 + i) for i in range(5)]
    events += [f.deleted(OWNER, f.document_id_of(events[-1]), 200)]
    await projector.apply(*events)
    client = mongo_client(mongo_settings)
    try:
        database = client[read_model_database(mongo_settings.database, 1)]
        explained = await database.command(
            {
                "explain": {"aggregate": "documents", "pipeline": live_totals_pipeline(OWNER), "cursor": {}},
                "verbosity": "executionStats",
            }
        )
    finally:
        await client.close()

    # an index walk over the owner's 4 live documents, not a scan of the 45 in the collection
    assert explained["executionStats"]["totalDocsExamined"] == 4
    assert "IXSCAN" in str(explained["queryPlanner"]["winningPlan"])


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("MAX_DOCUMENTS_PER_PERSON", "-1", "greater than or equal to 1"),
        (
            "MAX_BYTES_PER_PERSON",
            str(MAX_BYTES_PER_PERSON_LIMIT + 1),
            f"less than or equal to {MAX_BYTES_PER_PERSON_LIMIT}",
        ),
    ],
)
def test_python_m_api_refuses_to_start_and_names_the_setting_when_a_storage_limit_is_out_of_range(
    variable: str, value: str, problem: str
) -> None:
    env = os.environ | {"API_SERVICE_TOKEN": TOKEN, "HTTP_PORT": "1", variable: value}

    started = subprocess.run(
        [sys.executable, "-m", "api"], cwd=REPOSITORY, env=env, capture_output=True, timeout=60, check=False
    )

    assert started.returncode != 0
    assert variable in started.stderr.decode() and problem in started.stderr.decode()
