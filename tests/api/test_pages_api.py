"""Documents of several pages through the API: the detail lists the pages, each page downloads by number, usage
counts every page, and a page upload is counted by its bytes and never reported as a duplicate."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from contracts.events import DocumentPageAdded, new_event
from service_kit.crypto import PersonKeys
from service_kit.settings import MongoSettings, S3Settings
from tests.api.support import (
    AUTH,
    Projector,
    album_added,
    api_settings_for,
    page_upload,
    person_keys,
    running_api,
    stored_file,
    upload,
)

pytestmark = pytest.mark.integration

OWNER = 412845672
BASE = f"/v1/owners/{OWNER}"
PAGES = [b"page one " * 100, b"page two " * 200, b"page three " * 50]


async def _page_upload(api: httpx.AsyncClient, data: bytes, name: str = "page.pdf") -> httpx.Response:
    return await page_upload(api, OWNER, data, name)


async def _stored_album(api: httpx.AsyncClient, projector: Projector, mongo: MongoSettings) -> tuple[str, PersonKeys]:
    keys = await person_keys(mongo, OWNER)
    uploads = [await upload(api, OWNER, PAGES[0], file_name="p1.pdf")]
    uploads += [(await _page_upload(api, data, f"p{i}.pdf")).json() for i, data in enumerate(PAGES[1:], 2)]
    await projector.apply(event := album_added(keys, uploads))
    return str(event.payload.document_id), keys  # type: ignore[union-attr]


async def test_document_detail_lists_later_pages_opened_when_the_document_is_an_album(
    api: httpx.AsyncClient, projector: Projector, mongo_settings: MongoSettings
) -> None:
    document_id, _ = await _stored_album(api, projector, mongo_settings)

    detail = (await api.get(f"{BASE}/documents/{document_id}")).json()

    assert detail["file_name"] == "p1.pdf" and detail["telegram_file_id"] == "tg-1"
    assert [(p["file_name"], p["size"], p["telegram_file_id"]) for p in detail["more_pages"]] == [
        ("p2.pdf", len(PAGES[1]), "tg-2"),
        ("p3.pdf", len(PAGES[2]), "tg-3"),
    ]


async def test_download_file_serves_each_page_when_asked_by_number(
    api: httpx.AsyncClient, projector: Projector, mongo_settings: MongoSettings
) -> None:
    document_id, _ = await _stored_album(api, projector, mongo_settings)
    url = f"{BASE}/documents/{document_id}/file"

    answers = [await api.get(url, params={"page": n}) for n in (1, 2, 3)]
    ranged = await api.get(url, params={"page": 2}, headers={"Range": "bytes=0-7"})

    assert [a.content for a in answers] == PAGES
    assert 'filename="p3.pdf"' in answers[2].headers["content-disposition"]
    assert (ranged.status_code, ranged.content) == (206, PAGES[1][:8])
    assert (await api.get(url)).content == PAGES[0]


@pytest.mark.parametrize(("page", "status"), [(4, 404), (0, 422), (-1, 422), (10**6, 422), ("two", 422)])
async def test_download_file_refuses_when_the_page_is_not_one_of_the_document(
    api: httpx.AsyncClient, projector: Projector, mongo_settings: MongoSettings, page: Any, status: int
) -> None:
    document_id, _ = await _stored_album(api, projector, mongo_settings)

    answer = await api.get(f"{BASE}/documents/{document_id}/file", params={"page": page})

    assert answer.status_code == status
    if status == 404:
        assert answer.json()["code"] == "page_not_found"


async def test_usage_counts_every_page_when_pages_were_added_later(
    api: httpx.AsyncClient, projector: Projector, mongo_settings: MongoSettings
) -> None:
    document_id, _ = await _stored_album(api, projector, mongo_settings)
    later = (await _page_upload(api, b"added later" * 10)).json()
    added = DocumentPageAdded(document_id=uuid.UUID(document_id), pages=[stored_file(later, "tg-4")])
    await projector.apply(new_event(added, owner_id=OWNER, correlation_id="page"))

    usage = (await api.get(f"{BASE}/usage")).json()

    assert (usage["documents"], usage["bytes"]) == (1, sum(map(len, PAGES)) + len(b"added later" * 10))


async def test_upload_file_reports_no_duplicate_when_the_bytes_are_a_page_or_an_albums_first_page(
    api: httpx.AsyncClient, projector: Projector, mongo_settings: MongoSettings
) -> None:
    await _stored_album(api, projector, mongo_settings)

    as_page = await _page_upload(api, PAGES[1])
    alone = await upload(api, OWNER, PAGES[0])  # the album's first page on its own is another document

    assert as_page.status_code == 201 and as_page.json()["duplicate_of"] is None
    assert alone["duplicate_of"] is None


async def test_upload_file_admits_a_page_when_the_document_limit_is_reached_but_bytes_fit(
    mongo_settings: MongoSettings, s3_settings: S3Settings, projector: Projector
) -> None:
    settings = api_settings_for(mongo_settings, s3_settings, max_documents_per_person=1, max_bytes_per_person=10_000)
    async with running_api(settings, AUTH) as api:
        await _stored_album(api, projector, mongo_settings)

        page = await _page_upload(api, b"x" * 100)
        document = await api.post(f"{BASE}/files", content=b"y" * 100, headers={"Content-Type": "application/pdf"})
        too_big = await _page_upload(api, b"z" * 9_000)

    assert page.status_code == 201
    assert (document.status_code, document.json()["code"]) == (403, "quota_exceeded")
    assert (too_big.status_code, too_big.json()["code"]) == (403, "quota_exceeded")
