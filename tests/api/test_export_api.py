"""The export against SecantusDB and moto's S3: the zip opened and checked (paths, bytes, index), the size bound,
an empty vault, a missing object, the per-person limits (two at once, too many), and the signed export link."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import time
import uuid
import zipfile
from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from minio import Minio

from api.app import create_app
from api.files.links import ExportClaims, LinkClaims, sign_export_link, sign_link
from api.settings import ApiSettings
from contracts.events import DocumentPageAdded, EventEnvelope, new_event
from service_kit.settings import MongoSettings, S3Settings
from tests import factories as f
from tests.api.support import (
    AUTH,
    LINK_KEY,
    MIB,
    PUBLIC_BASE_URL,
    Projector,
    added_from_upload,
    album_added,
    api_settings_for,
    page_upload,
    person_keys,
    running_api,
    stored_file,
    upload,
)

pytestmark = pytest.mark.integration

OWNER, OTHER = 412845671, 900000001
BASE = f"/v1/owners/{OWNER}"


_steps = iter(range(1, 1_000_000))


async def _add(
    api: httpx.AsyncClient, projector: Projector, name: str, data: bytes, title: str = "Passport", **upload_args: Any
) -> EventEnvelope:
    """Upload ``data`` and apply the bot's event for it, a step (a minute) after the one before."""
    uploaded = await upload(api, OWNER, data, **upload_args)
    event = await added_from_upload(api, OWNER, name, uploaded, title, step=next(_steps))
    await projector.apply(event)
    return event


def _opened(response: httpx.Response) -> zipfile.ZipFile:
    assert response.status_code == 200, response.text[:300]
    assert response.headers["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.testzip() is None  # every CRC checks
    return archive


def _index(archive: zipfile.ZipFile) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(archive.read("index.json"))["documents"]
    return rows


async def test_export_answers_a_zip_of_every_live_document_with_its_index_when_the_person_has_documents(
    api: httpx.AsyncClient, projector: Projector
) -> None:
    await projector.apply(f.started(OWNER, "en"))
    first = await _add(api, projector, "Scan", b"%PDF first", file_name="scan.pdf")
    await _add(api, projector, "scan?", b"%PDF second", file_name="other.pdf")  # "scan_" once cleaned: no clash
    await _add(api, projector, "Scan*", b"%PDF third", file_name="third.pdf")  # "Scan_" too: numbered
    await _add(api, projector, "../../etc/passwd", os.urandom(70_000), "Con", media_type="image/jpeg", file_name=None)
    gone = await _add(api, projector, "Gone", b"%PDF gone")
    await projector.apply(f.deleted(OWNER, f.document_id_of(gone), 9))

    archive = _opened(await api.get(f"{BASE}/export", params={"after_event": str(first.event_id)}))

    names = archive.namelist()
    assert names == [
        "Passport/Scan.pdf",
        "Passport/scan_.pdf",
        "Passport/Scan_ (2).pdf",
        "_Con/_.._etc_passwd.jpg",
        "index.json",
        "index.csv",
    ]
    assert archive.read("Passport/Scan.pdf") == b"%PDF first" and archive.read("Passport/scan_.pdf") == b"%PDF second"
    assert archive.read("Passport/Scan_ (2).pdf") == b"%PDF third"
    assert len(archive.read("_Con/_.._etc_passwd.jpg")) == 70_000
    rows = _index(archive)
    assert [(row["type"], row["name"], row["files"][0]["file"]) for row in rows] == [
        ("Passport", "Scan", "Passport/Scan.pdf"),
        ("Passport", "scan?", "Passport/scan_.pdf"),
        ("Passport", "Scan*", "Passport/Scan_ (2).pdf"),
        ("Con", "../../etc/passwd", "_Con/_.._etc_passwd.jpg"),
    ]
    assert rows[0] | {"date": None} == {
        "type": "Passport",
        "name": "Scan",
        "date": None,
        "pages": 1,
        "size": 10,
        "files": [
            {
                "page": 1,
                "size": 10,
                "media_type": "application/pdf",
                "original_file_name": "scan.pdf",
                "file": "Passport/Scan.pdf",
            }
        ],
    }
    table = list(csv.DictReader(io.StringIO(archive.read("index.csv").decode("utf-8-sig"))))
    assert [row["name"] for row in table] == ["Scan", "scan?", "Scan*", "../../etc/passwd"]
    assert table[3]["original_file_name"] == "" and table[3]["size"] == "70000"


async def test_export_summary_bounds_the_archive_it_answers_when_names_are_long_and_unicode(
    api: httpx.AsyncClient, projector: Projector
) -> None:
    for number in range(3):
        await _add(
            api, projector, f"Договор аренды «{number}» " + "ж" * 100, os.urandom(1000 * (number + 1)), "Договоры"
        )

    summary = (await api.get(f"{BASE}/export/summary")).json()
    response = await api.get(f"{BASE}/export")

    _opened(response)
    assert summary["documents"] == 3 and summary["bytes"] == 6000
    assert len(response.content) <= summary["archive_bytes_max"] < len(response.content) + 3 * 300


async def test_export_says_there_is_nothing_to_export_when_the_vault_is_empty_or_all_deleted(
    api: httpx.AsyncClient, projector: Projector
) -> None:
    never = await api.get(f"/v1/owners/{OTHER}/export")
    gone = await _add(api, projector, "Gone", b"%PDF gone")
    await projector.apply(f.deleted(OWNER, f.document_id_of(gone), 9))

    emptied = await api.get(f"{BASE}/export")
    link = await api.post(f"{BASE}/export/link")
    summary = await api.get(f"{BASE}/export/summary")

    for answer in (never, emptied, link):
        assert (answer.status_code, answer.json()["code"]) == (404, "nothing_to_export")
    assert summary.json() == {"documents": 0, "bytes": 0, "archive_bytes_max": 0}


async def test_export_leaves_out_a_file_and_says_so_in_the_index_when_its_object_is_missing(
    api: httpx.AsyncClient, projector: Projector, raw_s3: Minio, s3_settings: S3Settings
) -> None:
    await _add(api, projector, "Kept", b"%PDF kept")
    lost = await upload(api, OWNER, b"%PDF lost")
    await projector.apply(await added_from_upload(api, OWNER, "Lost", lost, step=999))
    raw_s3.remove_object(s3_settings.bucket, lost["object_key"])

    archive = _opened(await api.get(f"{BASE}/export"))

    assert archive.namelist() == ["Passport/Kept.pdf", "index.json", "index.csv"]
    assert [(row["name"], row["files"][0]["file"]) for row in _index(archive)] == [
        ("Kept", "Passport/Kept.pdf"),
        ("Lost", None),
    ]


async def test_export_refuses_a_further_export_of_the_person_when_the_minute_allows_no_more(
    mongo_settings: MongoSettings, s3_settings: S3Settings, projector: Projector
) -> None:
    async with running_api(api_settings_for(mongo_settings, s3_settings, export_rate_per_minute=2), AUTH) as api:
        await _add(api, projector, "Scan", b"%PDF scan")
        answers = [await api.get(f"{BASE}/export") for _ in range(3)]
        someone_else = await api.get(f"/v1/owners/{OTHER}/export")

    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert answers[2].json()["code"] == "export_limited" and answers[2].headers["Retry-After"] == "60"
    assert (someone_else.status_code, someone_else.json()["code"]) == (404, "nothing_to_export")  # not limited


@asynccontextmanager
async def _held_export(settings: ApiSettings, path: str) -> AsyncIterator[httpx.AsyncClient]:
    """An export of ``path`` under way (its first body chunk sent, the client not reading on), and a client of the
    same app for calls meanwhile; the held export then runs to its end."""
    app = create_app(settings)
    started, go_on = asyncio.Event(), asyncio.Event()
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        await go_on.wait()
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])
        elif message["type"] == "http.response.body" and not started.is_set():
            started.set()
            await go_on.wait()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"api.test"), (b"authorization", AUTH["Authorization"].encode())],
        "client": ("127.0.0.1", 1),
        "server": ("api.test", 80),
    }
    async with app.router.lifespan_context(app):
        held = asyncio.create_task(app(scope, receive, send))
        await asyncio.wait_for(started.wait(), 30)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://api.test", headers=AUTH) as c:
            try:
                yield c
            finally:
                go_on.set()
                await held
    assert statuses == [200]


async def test_export_refuses_a_second_export_of_the_person_when_one_is_under_way(
    mongo_settings: MongoSettings, s3_settings: S3Settings, projector: Projector
) -> None:
    settings = api_settings_for(mongo_settings, s3_settings, export_rate_per_minute=10)
    async with running_api(settings, AUTH) as api:
        await _add(api, projector, "Scan", os.urandom(5 * MIB))
    async with _held_export(settings, f"{BASE}/export") as api:
        second = await api.get(f"{BASE}/export")
        token = sign_export_link(LINK_KEY.encode(), ExportClaims(OWNER, int(time.time()) + 60))
        by_link = await api.get(f"/v1/files/signed/export/{token}")
    async with running_api(settings, AUTH) as api:
        after = await api.get(f"{BASE}/export")

    for answer in (second, by_link):
        assert (answer.status_code, answer.json()["code"]) == (429, "export_limited")
        assert "under way" in answer.json()["message"]
    _opened(after)


async def test_export_answers_each_of_two_exports_at_once_with_a_whole_archive_or_a_refusal_when_doubled(
    api: httpx.AsyncClient, projector: Projector
) -> None:
    await _add(api, projector, "Scan", os.urandom(2 * MIB))

    answers = await asyncio.gather(api.get(f"{BASE}/export"), api.get(f"{BASE}/export"))

    assert sorted(answer.status_code for answer in answers) in ([200, 200], [200, 429])
    for answer in answers:
        if answer.status_code == 200:
            assert len(_opened(answer).read("Passport/Scan.pdf")) == 2 * MIB
    assert (await api.get(f"{BASE}/export")).status_code == 200  # the slot is free again


async def test_export_link_serves_the_whole_archive_without_the_token_when_the_export_is_large(
    mongo_settings: MongoSettings, s3_settings: S3Settings, projector: Projector
) -> None:
    big = os.urandom(12 * MIB)  # multipart upload, many segments, several chunks per file
    async with running_api(api_settings_for(mongo_settings, s3_settings), AUTH) as api:
        await _add(api, projector, "Archive", big, "Backups", media_type="application/octet-stream", file_name="a.tar")
        await _add(api, projector, "Archive two", big[::-1], "Backups", file_name="b.tar")
        link = (await api.post(f"{BASE}/export/link")).json()
    assert link["url"].startswith(f"{PUBLIC_BASE_URL}/v1/files/signed/export/{OWNER}.")
    async with running_api(api_settings_for(mongo_settings, s3_settings)) as browser:  # no service token
        response = await browser.get(link["url"].removeprefix(PUBLIC_BASE_URL))

    archive = _opened(response)
    assert archive.read("Backups/Archive.tar") == big and archive.read("Backups/Archive two.tar") == big[::-1]
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert 'filename="docvault-export-' in response.headers["Content-Disposition"]


async def _album(
    api: httpx.AsyncClient, projector: Projector, mongo: MongoSettings, pages: list[tuple[bytes, str]]
) -> tuple[uuid.UUID, list[dict[str, Any]]]:
    """An album "Lease" of ``pages`` (bytes, file name) in "Contracts", stored as the bot stores one; its id and
    its pages' uploads."""
    (first, first_name), *more = pages
    uploads = [await upload(api, OWNER, first, file_name=first_name)]
    for data, name in more:
        media_type = "image/jpeg" if name.endswith(".jpg") else "application/pdf"
        uploads.append((await page_upload(api, OWNER, data, name, media_type)).json())
    event = album_added(await person_keys(mongo, OWNER), uploads, step=next(_steps))
    await projector.apply(event)
    return f.document_id_of(event), uploads


async def test_export_answers_every_page_of_a_document_in_its_own_folder_when_it_has_several_pages(
    api: httpx.AsyncClient, projector: Projector, mongo_settings: MongoSettings
) -> None:
    big = os.urandom(5 * MIB + 3)  # many segments, two chunks: decrypted by segment, whole
    pages = [(b"%PDF page one", "p1.pdf"), (big, "photo.jpg"), (b"%PDF page three", "p3.pdf")]
    document_id, _ = await _album(api, projector, mongo_settings, pages[:2])
    await _add(api, projector, "Receipt", b"%PDF alone", "Contracts", file_name="r.pdf")
    later = (await page_upload(api, OWNER, *pages[2])).json()  # a page added to the album afterwards
    added = DocumentPageAdded(document_id=document_id, pages=[stored_file(later, "tg-later")])
    await projector.apply(new_event(added, owner_id=OWNER, correlation_id="page"))

    summary = (await api.get(f"{BASE}/export/summary")).json()
    response = await api.get(f"{BASE}/export")

    archive = _opened(response)
    assert archive.namelist() == [
        "Contracts/Lease/page 01.pdf",
        "Contracts/Lease/page 02.jpg",
        "Contracts/Lease/page 03.pdf",
        "Contracts/Receipt.pdf",
        "index.json",
        "index.csv",
    ]
    assert [archive.read(name) for name in archive.namelist()[:4]] == [*(data for data, _ in pages), b"%PDF alone"]
    [album, alone] = _index(archive)
    assert (album["name"], album["pages"], album["size"]) == ("Lease", 3, sum(len(data) for data, _ in pages))
    assert [(p["page"], p["original_file_name"], p["media_type"], p["file"]) for p in album["files"]] == [
        (1, "p1.pdf", "application/pdf", "Contracts/Lease/page 01.pdf"),
        (2, "photo.jpg", "image/jpeg", "Contracts/Lease/page 02.jpg"),
        (3, "p3.pdf", "application/pdf", "Contracts/Lease/page 03.pdf"),
    ]
    assert (alone["pages"], alone["files"][0]["file"]) == (1, "Contracts/Receipt.pdf")
    table = list(csv.DictReader(io.StringIO(archive.read("index.csv").decode("utf-8-sig"))))
    assert [(row["name"], row["page"], row["pages"], row["file"]) for row in table] == [
        ("Lease", "1", "3", "Contracts/Lease/page 01.pdf"),
        ("Lease", "2", "3", "Contracts/Lease/page 02.jpg"),
        ("Lease", "3", "3", "Contracts/Lease/page 03.pdf"),
        ("Receipt", "1", "1", "Contracts/Receipt.pdf"),
    ]
    assert (summary["documents"], summary["bytes"]) == (2, album["size"] + len(b"%PDF alone"))
    assert len(response.content) <= summary["archive_bytes_max"] < len(response.content) + 4 * 300


async def test_export_leaves_out_one_page_and_says_so_in_the_index_when_its_object_is_missing(
    api: httpx.AsyncClient, projector: Projector, mongo_settings: MongoSettings, raw_s3: Minio, s3_settings: S3Settings
) -> None:
    pages = [(b"%PDF one", "1.pdf"), (b"%PDF two", "2.pdf"), (b"%PDF 3", "3.pdf")]
    _, uploads = await _album(api, projector, mongo_settings, pages)
    raw_s3.remove_object(s3_settings.bucket, uploads[1]["object_key"])

    archive = _opened(await api.get(f"{BASE}/export"))

    assert archive.namelist() == [
        "Contracts/Lease/page 01.pdf",
        "Contracts/Lease/page 03.pdf",
        "index.json",
        "index.csv",
    ]
    assert archive.read("Contracts/Lease/page 03.pdf") == b"%PDF 3"
    assert [page["file"] for page in _index(archive)[0]["files"]] == [
        "Contracts/Lease/page 01.pdf",
        None,
        "Contracts/Lease/page 03.pdf",
    ]


def _with_part(token: str, index: int, value: str) -> str:
    parts = token.split(".")
    parts[index] = value
    return ".".join(parts)


@pytest.mark.parametrize(
    ("forge", "expected"),
    [
        (lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"), (403, "invalid_link")),
        (lambda t: _with_part(t, 0, str(OTHER)), (403, "invalid_link")),
        (lambda t: _with_part(t, 1, str(int(t.split(".")[1]) + 3600)), (403, "invalid_link")),
        (
            lambda t: sign_export_link(LINK_KEY.encode(), ExportClaims(OWNER, int(time.time()) - 1)),
            (403, "link_expired"),
        ),
        (
            lambda t: sign_export_link(b"another-key-" + b"x" * 20, ExportClaims(OWNER, int(time.time()) + 60)),
            (403, "invalid_link"),
        ),
        (
            lambda t: sign_link(LINK_KEY.encode(), LinkClaims(uuid.uuid4(), OWNER, 0, int(time.time()) + 60)),
            (403, "invalid_link"),
        ),
        (lambda t: t + "x" * 128, (422, "invalid_request")),
        (lambda t: "..%2F" + t, (404, "not_found")),
    ],
    ids=["signature", "owner", "expiry", "expired", "other-key", "document-token", "too-long", "slashes"],
)
async def test_export_link_refuses_the_request_when_the_token_is_forged(
    api: httpx.AsyncClient, projector: Projector, forge: Any, expected: tuple[int, str]
) -> None:
    await _add(api, projector, "Scan", b"%PDF scan")
    await projector.apply(await added_from_upload(api, OTHER, "Theirs", await upload(api, OTHER, b"%PDF theirs")))
    token = (await api.post(f"{BASE}/export/link")).json()["url"].rsplit("/", 1)[1]

    answer = await api.get(f"/v1/files/signed/export/{forge(token)}", headers={"Authorization": ""})

    assert (answer.status_code, answer.json()["code"]) == expected
    assert b"theirs" not in answer.content.lower()
