"""Encrypted files against moto's S3 and SecantusDB: Range reads by segment, tampered objects refused, v1 objects
served as before."""

from __future__ import annotations

import hashlib
import io
import logging
import os
from typing import Any

import httpx
import pytest
from minio import Minio
from prometheus_client import REGISTRY

from service_kit.crypto import BrokenCiphertext
from service_kit.s3 import ObjectReader, ObjectStore
from service_kit.segments import HEADER_BYTES, SEALED_SEGMENT_BYTES, SEGMENT_BYTES
from service_kit.settings import MongoSettings, S3Settings
from tests import factories as f
from tests.api.support import AUTH, MIB, Projector, added_from_upload, api_settings_for, running_api, upload

pytestmark = pytest.mark.integration

OWNER, OTHER = 412845671, 900000001
BASE = f"/v1/owners/{OWNER}"
SIZE = 3 * SEGMENT_BYTES + 1000  # four segments, the last one short


def broken_count() -> float:
    return REGISTRY.get_sample_value("docvault_broken_ciphertext_total", {"store": "s3"}) or 0.0


async def stored(api: httpx.AsyncClient, projector: Projector, data: bytes, owner: int = OWNER) -> tuple[str, str]:
    """Upload ``data`` and apply the bot's event; the document id and the object key."""
    uploaded = await upload(api, owner, data)
    await projector.apply(event := await added_from_upload(api, owner, "Scan", uploaded))
    return str(f.document_id_of(event)), uploaded["object_key"]


def rewrite(raw_s3: Minio, bucket: str, key: str, change: Any) -> None:
    """Replace the stored object by ``change(its bytes)``, as someone with write access to the bucket could."""
    data = change(raw_s3.get_object(bucket, key).read())
    raw_s3.put_object(bucket, key, io.BytesIO(data), len(data), content_type="application/pdf")


def flipped(offset: int) -> Any:
    def change(data: bytes) -> bytes:
        return data[:offset] + bytes([data[offset] ^ 0x01]) + data[offset + 1 :]

    return change


@pytest.fixture
def gets(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """(offset, length) of every GET the API sends to S3."""
    seen: list[tuple[int, int]] = []
    original = ObjectStore.open

    async def recording(self: ObjectStore, key: str, offset: int = 0, length: int = 0) -> ObjectReader:
        seen.append((offset, length))
        return await original(self, key, offset, length)

    monkeypatch.setattr(ObjectStore, "open", recording)
    return seen


@pytest.mark.parametrize(
    ("first", "last"),
    [
        (0, 0),
        (0, SIZE - 1),
        (SEGMENT_BYTES - 1, SEGMENT_BYTES),
        (2 * SEGMENT_BYTES + 5, SIZE - 1),
        (SIZE - 1, SIZE - 1),
        (100, 3 * SEGMENT_BYTES - 1),
    ],
    ids=["first-byte", "all", "across-a-boundary", "into-the-short-last", "last-byte", "to-a-boundary"],
)
async def test_download_serves_the_exact_plaintext_range_when_the_object_is_encrypted(
    api: httpx.AsyncClient, projector: Projector, first: int, last: int
) -> None:
    data = os.urandom(SIZE)
    document_id, _ = await stored(api, projector, data)

    response = await api.get(f"{BASE}/documents/{document_id}/file", headers={"Range": f"bytes={first}-{last}"})

    assert response.status_code == 206
    assert response.content == data[first : last + 1]
    assert response.headers["Content-Range"] == f"bytes {first}-{last}/{SIZE}"


async def test_download_reads_only_the_segments_of_the_range_when_the_range_is_near_the_end(
    api: httpx.AsyncClient, projector: Projector, gets: list[tuple[int, int]]
) -> None:
    data = os.urandom(40 * SEGMENT_BYTES)
    document_id, _ = await stored(api, projector, data)
    gets.clear()

    response = await api.get(f"{BASE}/documents/{document_id}/file", headers={"Range": "bytes=-10"})

    assert response.content == data[-10:]
    # the header, then the last segment only
    assert gets == [(0, HEADER_BYTES), (HEADER_BYTES + 39 * SEALED_SEGMENT_BYTES, SEGMENT_BYTES + 16)]


async def test_download_answers_broken_ciphertext_and_counts_it_when_a_byte_of_the_object_is_flipped(
    api: httpx.AsyncClient,
    projector: Projector,
    raw_s3: Minio,
    s3_settings: S3Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = b"secret marker " + os.urandom(SIZE)
    document_id, key = await stored(api, projector, data)
    before = broken_count()
    rewrite(raw_s3, s3_settings.bucket, key, flipped(HEADER_BYTES + 7))

    with caplog.at_level(logging.ERROR):
        whole = await api.get(f"{BASE}/documents/{document_id}/file")
        ranged = await api.get(f"{BASE}/documents/{document_id}/file", headers={"Range": "bytes=0-9"})

    for response in (whole, ranged):
        assert (response.status_code, response.json()["code"]) == (502, "broken_ciphertext")
        assert b"secret marker" not in response.content
    assert broken_count() == before + 2
    logged = [record for record in caplog.records if record.getMessage().startswith("a stored file does not")]
    assert logged and all(getattr(record, "document_id") == document_id for record in logged)
    assert "Scan" not in caplog.text and "scan.pdf" not in caplog.text


@pytest.mark.parametrize(
    "change",
    [
        lambda data: data[:-1],  # truncated by a byte
        lambda data: data[: HEADER_BYTES + SEALED_SEGMENT_BYTES],  # truncated at a segment boundary
        lambda data: data + b"\0" * 16,  # runs on
        flipped(5),  # the header's object id: the key is bound to it
        lambda data: data[:HEADER_BYTES] + data[HEADER_BYTES + SEALED_SEGMENT_BYTES :],  # a segment dropped
    ],
    ids=["truncated", "truncated-at-a-segment", "extended", "header", "segment-dropped"],
)
async def test_download_answers_broken_ciphertext_when_the_object_was_cut_extended_or_reframed(
    api: httpx.AsyncClient, projector: Projector, raw_s3: Minio, s3_settings: S3Settings, change: Any
) -> None:
    document_id, key = await stored(api, projector, os.urandom(SIZE))
    rewrite(raw_s3, s3_settings.bucket, key, change)

    response = await api.get(f"{BASE}/documents/{document_id}/file")

    assert (response.status_code, response.json()["code"]) == (502, "broken_ciphertext")


async def test_download_answers_broken_ciphertext_when_another_owners_object_is_swapped_in(
    api: httpx.AsyncClient, projector: Projector, raw_s3: Minio, s3_settings: S3Settings
) -> None:
    mine, my_key = await stored(api, projector, os.urandom(SIZE))
    _, their_key = await stored(api, projector, os.urandom(SIZE), owner=OTHER)  # the same size: only keys differ
    rewrite(raw_s3, s3_settings.bucket, my_key, lambda _: raw_s3.get_object(s3_settings.bucket, their_key).read())

    response = await api.get(f"{BASE}/documents/{mine}/file")

    assert (response.status_code, response.json()["code"]) == (502, "broken_ciphertext")


async def test_download_stops_before_the_segment_that_fails_when_it_lies_past_the_first_chunk(
    api: httpx.AsyncClient, projector: Projector, raw_s3: Minio, s3_settings: S3Settings
) -> None:
    data = os.urandom(6 * MIB)
    document_id, key = await stored(api, projector, data)
    before = broken_count()
    rewrite(raw_s3, s3_settings.bucket, key, flipped(HEADER_BYTES + 80 * SEALED_SEGMENT_BYTES + 3))

    with pytest.raises(BrokenCiphertext):  # the server ends the response short of its Content-Length
        await api.get(f"{BASE}/documents/{document_id}/file")

    assert broken_count() == before + 1


async def test_download_serves_a_v1_object_in_the_clear_with_its_sha256_etag_when_uploaded_unencrypted(
    mongo_settings: MongoSettings, s3_settings: S3Settings, raw_s3: Minio, projector: Projector
) -> None:
    data = os.urandom(SIZE)
    async with running_api(api_settings_for(mongo_settings, s3_settings, encrypt_uploads=False), AUTH) as plain:
        uploaded = await upload(plain, OWNER, data, file_name="old scan.pdf")
    await projector.apply(event := await added_from_upload(plain, OWNER, "Old", uploaded))

    async with running_api(api_settings_for(mongo_settings, s3_settings), AUTH) as api:
        whole = await api.get(f"{BASE}/documents/{f.document_id_of(event)}/file")
        ranged = await api.get(f"{BASE}/documents/{f.document_id_of(event)}/file", headers={"Range": "bytes=5-9"})

    assert uploaded["encrypted"] is False and uploaded["content_id"] is None and uploaded["file_name"] == "old scan.pdf"
    assert uploaded["sha256"] == hashlib.sha256(data).hexdigest()  # a v1 object: named by its plain hash, as before
    assert uploaded["object_key"] == f"owners/{OWNER}/{uploaded['sha256']}"
    assert raw_s3.get_object(s3_settings.bucket, uploaded["object_key"]).read() == data
    assert whole.content == data and ranged.content == data[5:10]
    assert whole.headers["ETag"] == f'"{hashlib.sha256(data).hexdigest()}"'
    assert "old%20scan.pdf" in whole.headers["Content-Disposition"]


async def test_download_names_the_file_after_the_opened_file_name_when_it_was_sealed(
    api: httpx.AsyncClient, projector: Projector
) -> None:
    uploaded = await upload(api, OWNER, b"%PDF-1.7", file_name="Договор аренды.pdf")
    await projector.apply(event := await added_from_upload(api, OWNER, "Lease", uploaded))

    response = await api.get(f"{BASE}/documents/{f.document_id_of(event)}/file")

    assert uploaded["file_name"].startswith("s1.")
    assert response.headers["Content-Disposition"].endswith(
        "UTF-8''%D0%94%D0%BE%D0%B3%D0%BE%D0%B2%D0%BE%D1%80%20%D0%B0%D1%80%D0%B5%D0%BD%D0%B4%D1%8B.pdf"
    )
    assert response.content == b"%PDF-1.7"
