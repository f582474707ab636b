"""The key service: POST /seal seals what a person typed; a v2 event made of its answer applies and reads back."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from api.core.rate_limit import RateLimiter
from api.settings import ApiSettings
from contracts.events import DocumentAddedV2, DocumentRenamedV2, StoredFile, new_event
from service_kit.settings import MongoSettings, S3Settings
from tests.api.support import AUTH, Projector, api_settings_for, running_api
from tests.factories import at

pytestmark = pytest.mark.integration

OWNER = 412845671
SEAL = f"/v1/owners/{OWNER}/seal"


async def _seal(api: httpx.AsyncClient, **texts: str) -> dict[str, Any]:
    response = await api.post(SEAL, json=texts)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def test_seal_answers_sealed_values_and_keyed_slug_when_a_person_typed_them(api: httpx.AsyncClient) -> None:
    answer = await _seal(api, name="  Паспорт \t РФ ", type_title="Паспорта", file_name="C:\\scans\\скан.pdf")

    assert answer["name"]["cleaned"] == "Паспорт РФ" and answer["file_name"]["cleaned"] == "скан.pdf"
    assert all(
        answer[field]["sealed"].startswith(f"s1.{answer['key_id']}.") for field in ("name", "type_title", "file_name")
    )
    assert len(answer["type_slug"]) == 32 and "Паспорт" not in str(answer["type_slug"])
    assert await _seal(api, name="Паспорт РФ") == {**answer, "type_title": None, "type_slug": None, "file_name": None}


async def test_seal_keeps_one_key_per_person_when_called_again_and_concurrently(api: httpx.AsyncClient) -> None:
    first = await _seal(api, name="a")
    other = (await api.post("/v1/owners/900000001/seal", json={"name": "a"})).json()

    assert (await _seal(api, name="b"))["key_id"] == first["key_id"] != other["key_id"]
    assert first["name"]["sealed"] != other["name"]["sealed"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": None},
        {"name": ""},
        {"name": "   "},
        {"name": "\u200b\x00"},
        {"name": "x" * 129},
        {"name": "x" * 513},
        {"type_title": "y" * 65},
        {"file_name": "../"},
        {"file_name": "a/" + "z" * 257},
        {"name": "ok", "extra": "field"},
        {"name": 5},
        ["name"],
        "name",
    ],
)
async def test_seal_answers_422_when_the_body_is_malformed_or_nothing_usable_is_left(
    api: httpx.AsyncClient, body: Any
) -> None:
    response = await api.post(SEAL, json=body)

    assert response.status_code == 422, response.text
    assert set(response.json()) == {"code", "message"}


async def test_seal_answers_400_error_body_when_the_body_is_not_json(api: httpx.AsyncClient) -> None:
    response = await api.post(SEAL, content=b"\xff{", headers={"Content-Type": "application/json"})

    assert (response.status_code, set(response.json())) == (400, {"code", "message"})


def test_rate_limiter_refuses_the_call_over_the_limit_and_allows_again_when_the_window_passed() -> None:
    now = [0.0]
    limiter = RateLimiter(2, clock=lambda: now[0])

    answers = [limiter.allow(1), limiter.allow(1), limiter.allow(1), limiter.allow(2)]
    now[0] = 60.5

    assert answers == [True, True, False, True]
    assert limiter.allow(1)


async def test_seal_answers_429_with_retry_after_when_a_person_calls_too_often(
    mongo_settings: MongoSettings, s3_settings: S3Settings
) -> None:
    settings: ApiSettings = api_settings_for(mongo_settings, s3_settings, seal_rate_per_minute=2)
    async with running_api(settings, AUTH) as api:
        codes = [(await api.post(SEAL, json={"name": "x"})).status_code for _ in range(3)]
        someone_else = await api.post("/v1/owners/900000001/seal", json={"name": "x"})
        refused = await api.post(SEAL, json={"name": "x"})

    assert codes == [200, 200, 429] and someone_else.status_code == 200
    assert (refused.json()["code"], refused.headers["Retry-After"]) == ("too_many_requests", "60")


async def test_sealed_event_reads_back_opened_when_made_of_the_seal_answer(
    api: httpx.AsyncClient, projector: Projector
) -> None:
    added = await _seal(api, name="Полис ОСАГО", type_title="Страховки", file_name="полис.pdf")
    renamed = await _seal(api, name="Полис КАСКО")
    document_id = uuid.uuid4()
    content_id = "ab" * 16
    file = StoredFile(
        object_key=f"owners/{OWNER}/{content_id}",
        size=3,
        mime_type="application/pdf",
        file_name=added["file_name"]["sealed"],
        content_id=content_id,
        encrypted=True,
    )
    await projector.apply(
        new_event(
            DocumentAddedV2(
                document_id=document_id,
                type_slug=added["type_slug"],
                type_title=added["type_title"]["sealed"],
                name=added["name"]["sealed"],
                file=file,
            ),
            owner_id=OWNER,
            correlation_id="c",
            occurred_at=at(1),
        ),
        new_event(
            DocumentRenamedV2(document_id=document_id, name=renamed["name"]["sealed"]),
            owner_id=OWNER,
            correlation_id="c",
            occurred_at=at(2),
        ),
    )

    detail = (await api.get(f"/v1/owners/{OWNER}/documents/{document_id}")).json()
    [kind] = (await api.get(f"/v1/owners/{OWNER}/types")).json()["items"]
    found = (await api.get(f"/v1/owners/{OWNER}/documents/search", params={"q": "каско"})).json()["items"]
    taken = (
        await api.get(f"/v1/owners/{OWNER}/name-check", params={"type_slug": kind["slug"], "name": "полис  каско"})
    ).json()

    assert (detail["name"], detail["type_title"], detail["file_name"], detail["sha256"]) == (
        "Полис КАСКО",
        "Страховки",
        "полис.pdf",
        None,
    )
    assert (kind["slug"], kind["title"]) == (added["type_slug"], "Страховки")
    assert [item["name"] for item in found] == ["Полис КАСКО"]
    assert taken == {"taken": True, "document_id": str(document_id)}
