"""Uploads, downloads and signed links against moto's S3 server and SecantusDB over sockets."""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from minio import Minio
from prometheus_client import REGISTRY

from api.files.links import LinkClaims, sign_link
from api.settings import ApiSettings
from contracts.events import StoredFile
from contracts.read_models import read_model_database
from service_kit.mongo import mongo_client
from service_kit.segments import encrypted_size
from service_kit.settings import MongoSettings, S3Settings
from tests import factories as f
from tests.api.support import (
    AUTH,
    LINK_KEY,
    MIB,
    PUBLIC_BASE_URL,
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


async def chunks(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    """The body as a client streams it: many small chunks, no Content-Length."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


def s3_calls(operation: str, outcome: str) -> float:
    labels = {"target": "s3", "operation": operation, "outcome": outcome}
    return REGISTRY.get_sample_value("docvault_integration_call_seconds_count", labels) or 0.0


async def stored_document(
    api: httpx.AsyncClient, projector: Projector, data: bytes, owner: int = OWNER, **added: Any
) -> str:
    """Upload ``data``, then let the processor apply the bot's document.added; returns the document id."""
    event = await added_from_upload(api, owner, added.pop("name", "Passport"), await upload(api, owner, data, **added))
    await projector.apply(event)
    return str(f.document_id_of(event))


async def test_upload_stores_encrypted_under_owner_and_content_id_when_the_body_is_small(
    api: httpx.AsyncClient, raw_s3: Minio, s3_settings: S3Settings, mongo_settings: MongoSettings
) -> None:
    data = b"%PDF-1.7 small scan"

    uploaded = await upload(api, OWNER, data, media_type="Application/PDF", file_name="../../etc/Паспорт\r\n.pdf")

    keys = await person_keys(mongo_settings, OWNER)
    sealed_name = uploaded.pop("file_name")
    assert uploaded == {
        "object_key": f"owners/{OWNER}/{content_id(keys, data)}",
        "content_id": content_id(keys, data),
        "encrypted": True,
        "sha256": None,  # no plain hash of an encrypted upload is made
        "size": len(data),
        "mime_type": "application/pdf",
        "duplicate_of": None,
    }
    assert keys.open("file_name", sealed_name) == "Паспорт .pdf"
    stored = raw_s3.get_object(s3_settings.bucket, uploaded["object_key"])
    ciphertext = stored.read()
    assert stored.headers["Content-Type"] == "application/pdf"
    assert len(ciphertext) == encrypted_size(len(data)) and b"small scan" not in ciphertext
    assert stored_keys(raw_s3, s3_settings.bucket) == [uploaded["object_key"]]


async def test_upload_returns_no_plain_hash_when_the_upload_is_encrypted(
    mongo_settings: MongoSettings, s3_settings: S3Settings, raw_s3: Minio
) -> None:
    settings = api_settings_for(mongo_settings, s3_settings)
    data = os.urandom(7 * MIB)  # past one part: the multipart path too

    async with running_api(settings, headers=AUTH) as api:
        small, large = await upload(api, OWNER, b"one page"), await upload(api, OWNER, data)

    keys = await person_keys(mongo_settings, OWNER)
    assert (small["sha256"], large["sha256"]) == (None, None)
    assert (small["content_id"], large["content_id"]) == (content_id(keys, b"one page"), content_id(keys, data))
    stored = raw_s3.get_object(s3_settings.bucket, large["object_key"]).read()
    assert len(stored) == encrypted_size(len(data)) and data[:4096] not in stored


async def test_upload_refuses_the_file_name_when_its_sealed_form_does_not_fit_the_event(
    api: httpx.AsyncClient, raw_s3: Minio, s3_settings: S3Settings
) -> None:
    headers = {"Content-Type": "application/pdf", "X-File-Name": quote("Д" * 120 + ".pdf")}

    response = await api.post(f"{BASE}/files", content=b"%PDF", headers=headers)

    if response.status_code == 201:  # the event's bound holds a sealed name this long (v2 events)
        StoredFile(
            object_key="k", sha256="0" * 64, size=4, mime_type="application/pdf", file_name=response.json()["file_name"]
        )
    else:
        assert (response.status_code, response.json()["code"]) == (422, "invalid_file_name")
        assert stored_keys(raw_s3, s3_settings.bucket) == []


async def test_upload_round_trips_30_mb_with_the_same_bytes_when_streamed_in_chunks(
    api: httpx.AsyncClient, projector: Projector, raw_s3: Minio, s3_settings: S3Settings
) -> None:
    data = os.urandom(30 * MIB)

    response = await api.post(f"{BASE}/files", content=chunks(data), headers={"Content-Type": "application/pdf"})
    uploaded = response.json()
    await projector.apply(event := await added_from_upload(api, OWNER, "Big scan", uploaded))
    downloaded = await api.get(f"{BASE}/documents/{f.document_id_of(event)}/file")

    assert response.status_code == 201
    assert uploaded["size"] == len(data)
    assert hashlib.sha256(downloaded.content).hexdigest() == hashlib.sha256(data).hexdigest()
    assert downloaded.headers["Content-Length"] == str(len(data))
    # the staging object of the multipart upload is gone: only the content key remains
    assert stored_keys(raw_s3, s3_settings.bucket) == [uploaded["object_key"]]
    assert open_multipart_uploads(s3_settings) == []


async def test_upload_reports_the_live_document_when_the_owner_uploads_the_same_bytes_again(
    api: httpx.AsyncClient, projector: Projector, raw_s3: Minio, s3_settings: S3Settings
) -> None:
    data = b"the same receipt"
    before = await upload(api, OWNER, data)
    await projector.apply(event := await added_from_upload(api, OWNER, "Receipt", before, "Receipts"))

    again = await upload(api, OWNER, data, file_name="copy.pdf")
    other_owner = await upload(api, OTHER, data)

    assert before["duplicate_of"] is None
    assert again["object_key"] == before["object_key"]
    assert again["duplicate_of"]["document_id"] == str(f.document_id_of(event))
    assert again["duplicate_of"]["name"] == "Receipt"
    assert other_owner["duplicate_of"] is None
    assert other_owner["object_key"] == f"owners/{OTHER}/{other_owner['content_id']}"
    assert other_owner["content_id"] != before["content_id"]  # keyed per person: nobody can match two people's files
    assert len(stored_keys(raw_s3, s3_settings.bucket)) == 2


@pytest.mark.parametrize("streamed", [False, True], ids=["content-length", "chunked"])
async def test_upload_answers_413_and_leaves_nothing_when_the_body_exceeds_the_limit(
    mongo_settings: MongoSettings, s3_settings: S3Settings, raw_s3: Minio, streamed: bool
) -> None:
    settings = api_settings_for(mongo_settings, s3_settings, max_upload_bytes=6 * MIB)
    data = os.urandom(9 * MIB)  # past one part: the multipart path must be aborted too
    aborted_before = s3_calls("put_object_multipart", "error")

    async with running_api(settings, AUTH) as api:
        body = chunks(data) if streamed else data
        response = await api.post(f"{BASE}/files", content=body, headers={"Content-Type": "application/pdf"})

    assert response.status_code == 413
    # with Content-Length it is refused before reading; chunked, a multipart upload was begun and aborted
    assert s3_calls("put_object_multipart", "error") == aborted_before + (1 if streamed else 0)
    assert response.json() == {
        "code": "file_too_large",
        "message": f"the file is larger than the limit of {6 * MIB} bytes",
    }
    assert stored_keys(raw_s3, s3_settings.bucket) == []
    assert open_multipart_uploads(s3_settings) == []


@pytest.mark.parametrize(
    ("headers", "content", "code"),
    [
        ({"Content-Type": "application/pdf"}, b"", "empty_file"),
        ({"Content-Type": "not a type"}, b"x", "invalid_media_type"),
        ({"X-File-Name": "%FF%FE.pdf"}, b"x", "invalid_file_name"),
        ({"X-File-Name": "..%2F..%2F"}, b"x", "invalid_file_name"),
        ({"X-File-Name": "%0D%0A"}, b"x", "invalid_file_name"),
        ({"X-File-Name": "x" * 2000}, b"x", "invalid_request"),
    ],
)
async def test_upload_answers_422_and_stores_nothing_when_the_input_is_bad(
    api: httpx.AsyncClient, raw_s3: Minio, s3_settings: S3Settings, headers: dict[str, str], content: bytes, code: str
) -> None:
    response = await api.post(f"{BASE}/files", content=content, headers=headers)

    assert (response.status_code, response.json()["code"]) == (422, code)
    assert stored_keys(raw_s3, s3_settings.bucket) == []


async def test_download_serves_ranges_with_206_and_content_range_when_asked(
    api: httpx.AsyncClient, projector: Projector
) -> None:
    data = bytes(range(256)) * 40
    document_id = await stored_document(api, projector, data)
    path = f"{BASE}/documents/{document_id}/file"

    async def get(range_header: str) -> httpx.Response:
        return await api.get(path, headers={"Range": range_header})

    first, tail, suffix = await get("bytes=0-99"), await get("bytes=10000-"), await get("bytes=-7")
    several, outside = await get("bytes=0-1,5-6"), await get("bytes=10240-")

    assert (first.status_code, first.content, first.headers["Content-Range"]) == (206, data[:100], "bytes 0-99/10240")
    assert (tail.content, tail.headers["Content-Length"]) == (data[10000:], "240")
    assert suffix.content == data[-7:]
    assert (several.status_code, several.content) == (200, data)
    assert (outside.status_code, outside.headers["Content-Range"]) == (416, "bytes */10240")
    assert outside.json()["code"] == "range_not_satisfiable"


@pytest.mark.parametrize(
    ("file_name", "disposition"),
    [
        (
            "Договор аренды.pdf",
            "inline; filename=\"_______ ______.pdf\"; filename*=UTF-8''%D0%94%D0%BE%D0%B3%D0%BE%D0%B2%D0%BE%D1%80%20"
            "%D0%B0%D1%80%D0%B5%D0%BD%D0%B4%D1%8B.pdf",
        ),
        (
            'say "hi"\nSet-Cookie: x=1.pdf',
            'inline; filename="say _hi_ Set-Cookie: x=1.pdf"; '
            "filename*=UTF-8''say%20%22hi%22%20Set-Cookie%3A%20x%3D1.pdf",
        ),
    ],
)
async def test_download_sends_type_and_rfc5987_disposition_when_the_file_name_is_hostile(
    api: httpx.AsyncClient, projector: Projector, file_name: str, disposition: str
) -> None:
    uploaded = await upload(api, OWNER, b"%PDF", file_name=None)
    # The event's file name comes from the bot: it may hold anything a StoredFile accepts, newlines included.
    await projector.apply(event := await added_from_upload(api, OWNER, "Lease", uploaded, file_name=file_name))

    response = await api.get(f"{BASE}/documents/{f.document_id_of(event)}/file")

    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["ETag"] == f'"{uploaded["content_id"]}"'


async def test_download_forces_attachment_when_the_type_could_run_in_a_browser(
    api: httpx.AsyncClient, projector: Projector
) -> None:
    document_id = await stored_document(
        api, projector, b"<script>alert(1)</script>", media_type="text/html", file_name="page.html"
    )

    response = await api.get(f"{BASE}/documents/{document_id}/file")

    assert response.headers["Content-Type"] == "text/html"
    assert response.headers["Content-Disposition"].startswith("attachment;")


async def test_download_answers_404_for_another_owner_and_410_once_deleted(
    api: httpx.AsyncClient, projector: Projector
) -> None:
    document_id = await stored_document(api, projector, b"mine")

    foreign = await api.get(f"/v1/owners/{OTHER}/documents/{document_id}/file")
    await projector.apply(f.deleted(OWNER, uuid.UUID(document_id), 9))
    deleted = await api.get(f"{BASE}/documents/{document_id}/file")

    assert (foreign.status_code, foreign.json()["code"]) == (404, "document_not_found")
    assert (deleted.status_code, deleted.json()["code"]) == (410, "document_deleted")


async def test_download_answers_404_file_missing_when_the_object_is_not_in_s3(
    api: httpx.AsyncClient, projector: Projector
) -> None:
    await projector.apply(event := f.added(OWNER, "Ghost", content="never uploaded"))

    response = await api.get(f"{BASE}/documents/{f.document_id_of(event)}/file")

    assert (response.status_code, response.json()["code"]) == (404, "file_missing")


async def test_signed_link_serves_the_file_without_a_token_when_fresh(
    api: httpx.AsyncClient, projector: Projector, api_settings: ApiSettings
) -> None:
    data = b"%PDF signed"
    document_id = await stored_document(api, projector, data)

    link = (await api.post(f"{BASE}/documents/{document_id}/link")).json()
    path = link["url"].removeprefix(PUBLIC_BASE_URL)
    whole = await api.get(path, headers={"Authorization": ""})
    part = await api.get(path, headers={"Authorization": "", "Range": "bytes=1-3"})

    assert link["url"].startswith(f"{PUBLIC_BASE_URL}/v1/files/signed/{document_id}.{OWNER}.")
    lifetime = datetime.fromisoformat(link["expires_at"]).timestamp() - time.time()
    assert api_settings.link_ttl_seconds - 5 < lifetime <= api_settings.link_ttl_seconds
    assert (whole.status_code, whole.content) == (200, data)
    assert (part.status_code, part.content) == (206, data[1:4])


def _signed_path(document_id: str, owner_id: int, expires_at: int) -> str:
    token = sign_link(LINK_KEY.encode(), LinkClaims(uuid.UUID(document_id), owner_id, 0, expires_at))
    return f"/v1/files/signed/{token}"


async def test_signed_link_fails_when_tampered_expired_or_retargeted(
    api: httpx.AsyncClient, projector: Projector
) -> None:
    mine = await stored_document(api, projector, b"mine")
    theirs = await stored_document(api, projector, b"theirs", owner=OTHER)
    genuine = _signed_path(mine, OWNER, int(time.time()) + 60)

    retargeted_path = genuine.replace(mine, theirs)  # another document, same signature
    tampered = await api.get(retargeted_path)
    expired = await api.get(_signed_path(mine, OWNER, int(time.time()) - 1))
    # a genuine signature naming a document that is not the named owner's
    foreign = await api.get(_signed_path(theirs, OWNER, int(time.time()) + 60))
    garbage = await api.get("/v1/files/signed/..%2F..%2Fetc%2Fpasswd")  # decoded slashes match no route
    not_a_token = await api.get("/v1/files/signed/..%5C..%5Cpasswd")

    assert (tampered.status_code, tampered.json()["code"]) == (403, "invalid_link")
    assert (expired.status_code, expired.json()["code"]) == (403, "link_expired")
    assert (foreign.status_code, foreign.json()["code"]) == (404, "document_not_found")
    assert (garbage.status_code, garbage.json()["code"]) == (404, "not_found")
    assert (not_a_token.status_code, not_a_token.json()["code"]) == (403, "invalid_link")
    assert (await api.get(genuine)).status_code == 200


async def test_link_is_refused_when_the_document_is_foreign_deleted_or_links_are_off(
    api: httpx.AsyncClient, projector: Projector, mongo_settings: MongoSettings, s3_settings: S3Settings
) -> None:
    document_id = await stored_document(api, projector, b"to delete")
    foreign = await api.post(f"/v1/owners/{OTHER}/documents/{document_id}/link")
    await projector.apply(f.deleted(OWNER, uuid.UUID(document_id), 9))
    deleted = await api.post(f"{BASE}/documents/{document_id}/link")
    settings = api_settings_for(mongo_settings, s3_settings, link_signing_key=None, public_base_url=None)
    async with running_api(settings, AUTH) as without_links:
        disabled = await without_links.post(f"{BASE}/documents/{document_id}/link")
        unverifiable = await without_links.get(_signed_path(document_id, OWNER, int(time.time()) + 60))

    assert (foreign.status_code, deleted.status_code) == (404, 410)
    assert (disabled.status_code, disabled.json()["code"]) == (503, "links_disabled")
    assert (unverifiable.status_code, unverifiable.json()["code"]) == (403, "invalid_link")


async def test_upload_and_link_answer_401_when_the_token_is_missing(api: httpx.AsyncClient) -> None:
    api.headers.pop("Authorization")

    uploaded = await api.post(f"{BASE}/files", content=b"x")
    linked = await api.post(f"{BASE}/documents/{uuid.uuid4()}/link")

    assert uploaded.status_code == linked.status_code == 401


async def _bump_link_generation(mongo: MongoSettings, document_id: str) -> None:
    """What the processors do on a rename, delete or forget (their projections bump the field)."""
    client = mongo_client(mongo)
    try:
        documents = client[read_model_database(mongo.database, 1)]["documents"]
        await documents.update_one({"_id": document_id}, {"$inc": {"link_generation": 1}})
    finally:
        await client.close()


async def test_signed_link_answers_410_link_revoked_when_the_documents_link_generation_moved_on(
    api: httpx.AsyncClient, projector: Projector, mongo_settings: MongoSettings
) -> None:
    document_id = await stored_document(api, projector, b"%PDF renamed later")
    old = (await api.post(f"{BASE}/documents/{document_id}/link")).json()["url"].removeprefix(PUBLIC_BASE_URL)
    assert (await api.get(old, headers={"Authorization": ""})).status_code == 200

    await _bump_link_generation(mongo_settings, document_id)
    revoked = await api.get(old, headers={"Authorization": ""})
    new = (await api.post(f"{BASE}/documents/{document_id}/link")).json()["url"].removeprefix(PUBLIC_BASE_URL)

    assert (revoked.status_code, revoked.json()["code"]) == (410, "link_revoked")
    assert b"%PDF" not in revoked.content
    assert f".{OWNER}.1." in new  # signed for the generation the document is at now
    assert (await api.get(new, headers={"Authorization": ""})).content == b"%PDF renamed later"


async def test_signed_link_answers_410_when_the_document_was_deleted_after_the_link_was_made(
    api: httpx.AsyncClient, projector: Projector
) -> None:
    document_id = await stored_document(api, projector, b"%PDF deleted later")
    link = (await api.post(f"{BASE}/documents/{document_id}/link")).json()["url"].removeprefix(PUBLIC_BASE_URL)

    await projector.apply(f.deleted(OWNER, uuid.UUID(document_id), 9))
    response = await api.get(link, headers={"Authorization": ""})

    assert response.status_code == 410 and b"%PDF" not in response.content


async def test_signed_link_answers_no_store_no_referrer_and_a_sandbox_csp_when_serving_or_refusing(
    api: httpx.AsyncClient, projector: Projector, mongo_settings: MongoSettings
) -> None:
    document_id = await stored_document(api, projector, b"<html><script>alert(1)</script>", media_type="text/html")
    fresh = _signed_path(document_id, OWNER, int(time.time()) + 60)
    answers = [
        await api.get(fresh),
        await api.get(fresh, headers={"Range": "bytes=0-3"}),
        await api.get(_signed_path(document_id, OWNER, int(time.time()) - 1)),  # expired
        await api.get(fresh[:-2] + "AA"),  # tampered
        await api.get("/v1/files/signed/" + "a" * 200),  # refused by validation
        await api.get(_signed_path(str(uuid.uuid4()), OWNER, int(time.time()) + 60)),  # no such document
    ]
    await _bump_link_generation(mongo_settings, document_id)
    answers.append(await api.get(fresh))  # revoked

    assert [answer.status_code for answer in answers] == [200, 206, 403, 403, 422, 404, 410]
    for answer in answers:
        assert answer.headers["Cache-Control"] == "no-store"
        assert answer.headers["Referrer-Policy"] == "no-referrer"
        assert answer.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
    owner_route = await api.get(f"{BASE}/documents/{document_id}/file")
    assert "Content-Security-Policy" not in owner_route.headers  # only link answers are changed


async def test_upload_reports_the_live_document_by_content_id_when_no_plain_hash_is_computed(
    mongo_settings: MongoSettings, s3_settings: S3Settings, projector: Projector
) -> None:
    settings = api_settings_for(mongo_settings, s3_settings)
    async with running_api(settings, headers=AUTH) as api:
        first = await upload(api, OWNER, b"the same contract")
        await projector.apply(event := await added_from_upload(api, OWNER, "Contract", first))
        again = await upload(api, OWNER, b"the same contract")
        other = await upload(api, OWNER, b"another contract")
        await projector.apply(f.deleted(OWNER, f.document_id_of(event), 9))
        after_delete = await upload(api, OWNER, b"the same contract")

    assert again["duplicate_of"]["document_id"] == str(f.document_id_of(event))
    assert again["content_id"] == first["content_id"] and again["object_key"] == first["object_key"]
    assert other["duplicate_of"] is None and after_delete["duplicate_of"] is None
