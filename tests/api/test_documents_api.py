"""Owner reads against read models the real processor made in SecantusDB: events -> processor -> MongoDB -> API."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from tests import factories as f
from tests.api.support import Projector

pytestmark = pytest.mark.integration

OWNER, OTHER = 412845671, 900000001
BASE = f"/v1/owners/{OWNER}"
KEYED = re.compile(r"^[0-9a-f]{32}$")


async def test_types_lists_live_counts_by_slug_when_documents_were_added_and_deleted(
    api: httpx.AsyncClient, projector: Projector
) -> None:
    receipt = f.added(OWNER, "Coffee", "Receipts", step=3)
    await projector.apply(
        f.added(OWNER, "Main", "Passport", step=1),
        f.added(OWNER, "Lease", "Contracts", step=2),
        receipt,
        f.deleted(OWNER, f.document_id_of(receipt), 4),
        f.added(OTHER, "X", "Visas", step=5),
    )

    everything = (await api.get(f"{BASE}/types")).json()
    non_empty = (await api.get(f"{BASE}/types", params={"non_empty": "true"})).json()

    assert [(t["title"], t["live_count"]) for t in everything["items"]] == [
        ("Contracts", 1),
        ("Passport", 1),
        ("Receipts", 0),
    ]
    assert all(KEYED.match(t["slug"]) for t in everything["items"])  # keyed slugs: the titles stay sealed
    assert [t["title"] for t in non_empty["items"]] == ["Contracts", "Passport"]


async def _pages(api: httpx.AsyncClient, slug: str, limit: int) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        page = (await api.get(f"{BASE}/types/{slug}/documents", params=params)).json()
        pages.append([item["name"] for item in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            return pages


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        (3, [["zebra", "Жук", "alpha"], ["Яблоко", "Beta", "Ёж"], ["éclair"]]),
        (7, [["zebra", "Жук", "alpha", "Яблоко", "Beta", "Ёж", "éclair"]]),
        (2, [["zebra", "Жук"], ["alpha", "Яблоко"], ["Beta", "Ёж"], ["éclair"]]),
    ],
)
async def test_documents_page_walks_every_live_document_once_in_creation_order_when_following_cursors(
    api: httpx.AsyncClient, projector: Projector, limit: int, expected: list[list[str]]
) -> None:
    names = ["zebra", "Жук", "alpha", "Яблоко", "Beta", "Ёж", "éclair"]
    gone = f.added(OWNER, "Deleted one", "Receipts", step=50)
    await projector.apply(
        *[f.added(OWNER, name, "Receipts", step=i) for i, name in enumerate(names)],
        gone,
        f.deleted(OWNER, f.document_id_of(gone), 51),
        f.added(OTHER, "alien", "Receipts", step=52),
    )

    pages = await _pages(api, "receipts", limit)

    # creation order: names are sealed, so the database cannot order by them
    assert pages == expected


async def test_documents_page_skips_deleted_documents_when_they_leave_whole_windows_empty(
    api: httpx.AsyncClient, projector: Projector
) -> None:
    adds = [f.added(OWNER, f"Doc {i:02d}", "Receipts", step=i) for i in range(60)]
    kept = {3, 40, 41, 59}
    await projector.apply(
        *adds, *[f.deleted(OWNER, f.document_id_of(add), 100 + i) for i, add in enumerate(adds) if i not in kept]
    )

    pages = await _pages(api, "receipts", 2)

    assert pages == [["Doc 03", "Doc 40"], ["Doc 41", "Doc 59"]]


async def test_documents_page_lists_the_type_when_named_by_its_plain_or_its_keyed_slug(
    api: httpx.AsyncClient, projector: Projector
) -> None:
    await projector.apply(f.added(OWNER, "Lease", "Contracts", step=1))
    [listed] = (await api.get(f"{BASE}/types")).json()["items"]

    by_plain = (await api.get(f"{BASE}/types/contracts/documents")).json()
    by_keyed = (await api.get(f"{BASE}/types/{listed['slug']}/documents")).json()

    assert [d["name"] for d in by_plain["items"]] == [d["name"] for d in by_keyed["items"]] == ["Lease"]


async def test_documents_page_is_empty_without_cursor_when_the_type_is_unknown(api: httpx.AsyncClient) -> None:
    response = await api.get(f"{BASE}/types/nothing-here/documents")

    assert response.json() == {"items": [], "next_cursor": None}


@pytest.mark.parametrize("params", [{"cursor": "forged"}, {"cursor": "eyJ2IjoxLCJ0IjoicmVjZWlwdHMiLCJrIjoiYSJ9"}])
async def test_documents_page_answers_422_when_the_cursor_is_forged_or_of_another_type(
    api: httpx.AsyncClient, params: dict[str, str]
) -> None:
    response = await api.get(f"{BASE}/types/passport/documents", params=params)

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_cursor"


@pytest.mark.parametrize(
    "path",
    [
        f"{BASE}/types/passport/documents?limit=0",
        f"{BASE}/types/passport/documents?limit=101",
        f"{BASE}/types/passport/documents?limit=ten",
        f"{BASE}/types/pass port/documents",
        f"{BASE}/documents/search?q=",
        f"{BASE}/documents/search?q=" + "x" * 129,
        f"{BASE}/documents/not-a-uuid",
        f"{BASE}/types?after_event=not-a-uuid",
        "/v1/owners/0/types",
        "/v1/owners/-5/types",
        f"/v1/owners/{2**63}/types",
        "/v1/owners/abc/types",
    ],
)
async def test_reads_answer_422_error_body_when_the_request_is_malformed(api: httpx.AsyncClient, path: str) -> None:
    response = await api.get(path)

    assert response.status_code == 422
    assert set(response.json()) == {"code", "message"} and response.json()["message"]


async def test_search_matches_word_prefixes_in_russian_and_english_when_case_and_accents_differ(
    api: httpx.AsyncClient, projector: Projector
) -> None:
    names = ["Паспорт РФ", "Загранпаспорт", "Passport scan", "Café receipt", "Ёлочные игрушки", "Old passport"]
    events = [f.added(OWNER, name, "Misc", step=i) for i, name in enumerate(names)]
    await projector.apply(
        *events, f.deleted(OWNER, f.document_id_of(events[-1]), 10), f.added(OTHER, "Паспорт чужой", "Misc", step=11)
    )

    async def found(query: str) -> list[str]:
        response = await api.get(f"{BASE}/documents/search", params={"q": query})
        assert response.status_code == 200, response.text
        return [item["name"] for item in response.json()["items"]]

    assert await found("пасп") == ["Паспорт РФ"]  # a word prefix, not the middle of "Загранпаспорт"
    assert await found("ПАСПОРТ рф") == ["Паспорт РФ"]
    assert await found("загран") == ["Загранпаспорт"]
    assert await found("PASS") == ["Passport scan"]  # "Old passport" is deleted
    assert await found("cafe REC") == ["Café receipt"]
    assert await found("елочн") == ["Ёлочные игрушки"]
    assert await found("чужой") == []
    assert await found("scan passport") == ["Passport scan"]


async def test_search_answers_422_when_the_query_has_no_letter_or_digit(api: httpx.AsyncClient) -> None:
    response = await api.get(f"{BASE}/documents/search", params={"q": "?!"})

    assert (response.status_code, response.json()["code"]) == (422, "invalid_query")


async def test_document_returns_detail_when_owned_and_404_when_another_owner_asks(
    api: httpx.AsyncClient, projector: Projector
) -> None:
    event = f.added(OWNER, "Паспорт", "Passport", content="bytes-1", step=1)
    await projector.apply(event)
    document_id = f.document_id_of(event)

    mine = await api.get(f"{BASE}/documents/{document_id}")
    theirs = await api.get(f"/v1/owners/{OTHER}/documents/{document_id}")
    missing = await api.get(f"{BASE}/documents/{uuid.uuid4()}")

    assert mine.status_code == 200
    assert KEYED.match(mine.json()["type_slug"])
    assert mine.json() | {"document_id": "-", "type_slug": "-"} == {
        "document_id": "-",
        "type_slug": "-",
        "type_title": "Passport",
        "name": "Паспорт",
        "size": len("bytes-1"),
        "mime_type": "application/pdf",
        "created_at": "2026-01-01T00:00:01Z",
        "valid_until": None,
        "status": "live",
        "duplicate_of": None,
        "sha256": f.stored_file("bytes-1", OWNER).sha256,
        "file_name": "scan.pdf",
        "telegram_file_id": None,
        "updated_at": "2026-01-01T00:00:01Z",
        "deleted_at": None,
        "restorable_until": None,
        "more_pages": [],
    }
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json() == {"code": "document_not_found", "message": "no such document"}


async def test_document_reports_deleted_and_duplicate_status_when_the_projection_says_so(
    api: httpx.AsyncClient, projector: Projector
) -> None:
    original = f.added(OWNER, "Original", content="same", step=1)
    copy = f.added(OWNER, "Copy", content="same", step=2)
    await projector.apply(original, copy, f.deleted(OWNER, f.document_id_of(original), 3))

    deleted = (await api.get(f"{BASE}/documents/{f.document_id_of(original)}")).json()
    duplicate = (await api.get(f"{BASE}/documents/{f.document_id_of(copy)}")).json()

    assert (deleted["status"], deleted["deleted_at"]) == ("deleted", "2026-01-01T00:00:03Z")
    assert (duplicate["status"], duplicate["duplicate_of"]) == ("duplicate", str(f.document_id_of(original)))


async def test_history_lists_applied_events_oldest_first_when_a_document_was_renamed_and_deleted(
    api: httpx.AsyncClient, projector: Projector
) -> None:
    event = f.added(OWNER, "Lease", "Contracts", step=1)
    document_id = f.document_id_of(event)
    later = [
        f.renamed(OWNER, document_id, "Lease 2026", 2),
        f.deleted(OWNER, document_id, 3),
        f.deleted(OWNER, document_id, 4),
    ]
    await projector.apply(event, *later)

    history = (await api.get(f"{BASE}/documents/{document_id}/history")).json()["items"]
    newest_two = (await api.get(f"{BASE}/documents/{document_id}/history", params={"limit": 2})).json()["items"]
    foreign = await api.get(f"/v1/owners/{OTHER}/documents/{document_id}/history")

    assert [(h["event_type"], h["effect"]) for h in history] == [
        ("document.added", "created"),
        ("document.renamed", "renamed"),
        ("document.deleted", "deleted"),
        ("document.deleted", "ignored_already_deleted"),
    ]
    assert [h["event_id"] for h in history] == [str(e.event_id) for e in (event, *later)]
    assert newest_two == history[2:]
    assert foreign.status_code == 404


@pytest.mark.parametrize(
    ("name", "taken"), [("passport", True), ("  PASSPÖRT ", True), ("Passports", False), ("Visa", False)]
)
async def test_name_check_ignores_case_accents_and_spaces_when_a_live_document_holds_the_name(
    api: httpx.AsyncClient, projector: Projector, name: str, taken: bool
) -> None:
    event = f.added(OWNER, "Passport", "Passport", step=1)
    await projector.apply(event, f.added(OTHER, "Visa", "Passport", step=2))

    answer = (await api.get(f"{BASE}/name-check", params={"type_slug": "passport", "name": name})).json()

    assert answer == {"taken": taken, "document_id": str(f.document_id_of(event)) if taken else None}


@pytest.mark.parametrize("name", ["   ", "\n\t", "x" * 129])
async def test_name_check_answers_422_when_the_name_is_empty_or_too_long_once_cleaned(
    api: httpx.AsyncClient, name: str
) -> None:
    response = await api.get(f"{BASE}/name-check", params={"type_slug": "passport", "name": name})

    assert (response.status_code, response.json()["code"]) == (422, "invalid_name")


async def test_profile_returns_language_when_the_user_started_and_404_when_unknown(
    api: httpx.AsyncClient, projector: Projector
) -> None:
    await projector.apply(f.started(OWNER, "ru"))

    assert (await api.get(f"{BASE}/profile")).json() == {"owner_id": OWNER, "language": "ru"}
    assert (await api.get(f"/v1/owners/{OTHER}/profile")).status_code == 404


async def test_event_status_reports_applied_effect_pending_and_foreign_when_asked(
    api: httpx.AsyncClient, projector: Projector
) -> None:
    event = f.added(OWNER, "Lease", step=1)
    await projector.apply(event)

    applied = (await api.get(f"{BASE}/events/{event.event_id}")).json()
    pending = (await api.get(f"{BASE}/events/{uuid.uuid4()}")).json()
    foreign = await api.get(f"/v1/owners/{OTHER}/events/{event.event_id}")

    assert applied == {"event_id": str(event.event_id), "applied": True, "effect": "created"}
    assert pending["applied"] is False and pending["effect"] is None
    assert foreign.status_code == 404


async def test_after_event_answers_409_with_retry_after_until_applied_then_the_fresh_read(
    api: httpx.AsyncClient, projector: Projector
) -> None:
    event = f.added(OWNER, "Fresh", "Receipts", step=1)
    path = f"{BASE}/types/receipts/documents"

    before = await api.get(path, params={"after_event": str(event.event_id)})
    await projector.apply(event)
    after = await api.get(path, params={"after_event": str(event.event_id)})
    foreign = await api.get(f"/v1/owners/{OTHER}/types", params={"after_event": str(event.event_id)})

    assert (before.status_code, before.headers["Retry-After"], before.json()["code"]) == (409, "1", "not_yet_applied")
    assert [item["name"] for item in after.json()["items"]] == ["Fresh"]
    assert foreign.status_code == 404


OWNER_READS = [
    "/types",
    "/types/passport/documents",
    "/documents/search?q=a",
    f"/documents/{uuid.uuid4()}",
    f"/documents/{uuid.uuid4()}/history",
    "/name-check?type_slug=a&name=b",
    "/profile",
    f"/events/{uuid.uuid4()}",
    f"/documents/{uuid.uuid4()}/file",
]


@pytest.mark.parametrize("path", OWNER_READS)
@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token-0123456789", "Basic dXNlcjpwYXNz", "Bearer "])
async def test_owner_routes_answer_401_before_anything_else_when_the_token_is_missing_or_wrong(
    api: httpx.AsyncClient, path: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    api.headers.pop("Authorization", None)

    response = await api.get(f"{BASE}{path}", headers=headers)
    invalid_too = await api.get(f"/v1/owners/0{path}", headers=headers)

    assert response.status_code == invalid_too.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json()["code"] == "unauthorized"
