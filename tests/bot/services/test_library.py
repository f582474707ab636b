"""``Library`` and ``Shelves`` without Telegram: the contract-shaped fake API and the person store on real Redis."""

from __future__ import annotations

import uuid

import pytest

from bot.clients.person_store import ListRef, UserStore
from bot.services.library import MAX_QUERY_LENGTH, SEARCH_RESULTS, Library, page_count, search_words
from bot.services.shelves import Shelves
from bot.settings import BotConfig
from tests.bot.fakes import FakeApi, StoredDoc

OWNER = 7001


def _doc(api: FakeApi, name: str, owner: int = OWNER, status: str = "live", slug: str = "receipts") -> StoredDoc:
    return api.add(
        StoredDoc(
            owner,
            str(uuid.uuid4()),
            slug,
            slug.title(),
            name,
            uuid.uuid4().hex * 2,
            1,
            "application/pdf",
            None,
            None,
            status=status,
        )
    )


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


@pytest.fixture
def library(api: FakeApi, store: UserStore) -> Library:
    return Library(api, store, BotConfig(page_size=2))


@pytest.mark.parametrize(
    ("status", "allow_deleted", "found"),
    [
        ("live", False, True),
        ("deleted", False, False),
        ("deleted", True, True),
        ("duplicate", True, False),
    ],
)
async def test_document_offers_only_live_or_allowed_deleted_documents_when_asked_by_their_owner(
    api: FakeApi, library: Library, status: str, allow_deleted: bool, found: bool
) -> None:
    doc = _doc(api, "Lease", status=status)

    document = await library.document(OWNER, doc.document_id, "last-write", allow_deleted)

    assert (document is not None) is found and api.after_events == ["last-write"]


@pytest.mark.parametrize("document_id", [None, "someone else's", "missing"])
async def test_document_is_none_when_the_button_names_no_document_of_this_owner(
    api: FakeApi, library: Library, document_id: str | None
) -> None:
    foreign = _doc(api, "Their lease", owner=OWNER + 1)
    wanted = {"someone else's": foreign.document_id, "missing": str(uuid.uuid4())}.get(document_id or "")

    assert await library.document(OWNER, wanted, None) is None


async def test_page_stores_a_token_for_the_next_page_with_this_page_as_back_when_more_follow(
    api: FakeApi, library: Library, store: UserStore
) -> None:
    for name in ("a", "b", "c"):
        _doc(api, name)

    first = await library.page(OWNER, ListRef("receipts", "receipts"), "y:receipts", None)

    assert [d.name for d in first.documents] == ["a", "b"] and first.title == "Receipts"
    assert first.next_token is not None
    following = await store.load_list(OWNER, first.next_token)
    assert following == ListRef("receipts", "Receipts", "2", 2, prev="y:receipts")
    last = await library.page(OWNER, following, "t:x", None)
    assert [d.name for d in last.documents] == ["c"] and last.next_token is None
    assert (first.pages, last.pages) == (2, 2)


async def test_page_counts_at_least_the_pages_reached_when_the_type_count_is_behind(
    api: FakeApi, library: Library
) -> None:
    for name in ("a", "b", "c"):
        _doc(api, name)
    following = ListRef("receipts", "Receipts", "2", page=3)  # reached before two documents were deleted
    api.docs = {key: doc for key, doc in api.docs.items() if doc.name == "c"}

    found = await library.page(OWNER, following, "t:x", None)

    assert found.pages == 3  # never "page 3 of 1"


@pytest.mark.parametrize(("items", "size", "pages"), [(0, 8, 1), (1, 8, 1), (8, 8, 1), (9, 8, 2), (100, 1, 100)])
def test_page_count_rounds_up_and_counts_an_empty_page_when_asked(items: int, size: int, pages: int) -> None:
    assert page_count(items, size) == pages


async def test_search_pages_through_the_results_and_clamps_the_page_when_fewer_are_left(
    api: FakeApi, library: Library
) -> None:
    for name in ("tax 1", "tax 2", "tax 3", "other"):
        _doc(api, name)

    first = await library.search(OWNER, "tax", None)
    second = await library.search_page(OWNER, first.token, 2, None)
    beyond = await library.search_page(OWNER, first.token, 9, None)  # results vanished since the button was shown

    assert ([d.name for d in first.documents], first.page, first.pages) == (["tax 1", "tax 2"], 1, 2)
    assert second is not None and [d.name for d in second.documents] == ["tax 3"] and second.query == "tax"
    assert beyond is not None and beyond.page == 2
    assert not first.capped
    assert await library.search_page(OWNER + 1, first.token, 1, None) is None  # the token is the owner's


async def test_search_says_capped_when_the_api_returns_as_many_results_as_asked(api: FakeApi, library: Library) -> None:
    for index in range(SEARCH_RESULTS + 1):
        _doc(api, f"tax {index:03d}")

    found = await library.search(OWNER, "tax", None)

    assert found.capped and found.pages == SEARCH_RESULTS // 2


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("  tax   2025 ", "tax 2025"),
        ("\n\t", ""),
        ("x" * (MAX_QUERY_LENGTH + 5), "x" * MAX_QUERY_LENGTH),
        ("?!", ""),
        ("👍 🎉", ""),
        ("№ 5", "№ 5"),
    ],
)
def test_search_words_are_single_spaced_and_bounded_when_typed_loosely(raw: str, words: str) -> None:
    assert search_words(raw) == words


async def test_shelves_choice_gives_each_type_a_token_that_recalls_it_when_adding(
    api: FakeApi, store: UserStore
) -> None:
    _doc(api, "a", slug="receipts")
    _doc(api, "b", slug="taxes")
    shelves = Shelves(api, store)

    choice = await shelves.choice(OWNER, None)

    assert [t.slug for t in choice.types] == ["receipts", "taxes"]
    assert [await shelves.recall(OWNER, token) for token in choice.tokens] == [
        ListRef("receipts", "Receipts"),
        ListRef("taxes", "Taxes"),
    ]
    assert await shelves.recall(OWNER + 1, choice.tokens[0]) is None  # tokens are the owner's


async def test_page_reads_the_type_count_only_when_there_is_more_than_one_page(api: FakeApi, library: Library) -> None:
    _doc(api, "alone", slug="visas")
    for name in ("a", "b", "c"):
        _doc(api, name)

    single = await library.page(OWNER, ListRef("visas", "visas"), "y:visas", None)
    calls_for_one_page = len(api.after_events)
    first = await library.page(OWNER, ListRef("receipts", "receipts"), "y:receipts", None)

    assert single.pages == 1 and calls_for_one_page == 1  # the page alone: it has no next page
    assert first.pages == 2 and len(api.after_events) - calls_for_one_page == 2  # the page, then the count
