"""The page query's shape against read models the real processor made in SecantusDB: how many commands a page
costs, and when the server is asked to order a window (issue 14: a page of a large type)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymongo import AsyncMongoClient
from pymongo.monitoring import CommandFailedEvent, CommandListener, CommandStartedEvent, CommandSucceededEvent

from api.core.served_projection import Database
from api.documents import queries
from api.documents.opening import opened_summaries
from api.documents.queries import PageWindow
from contracts.read_models import read_model_database
from service_kit.crypto import PersonKeys
from service_kit.keyed import type_key
from service_kit.settings import MongoSettings
from tests import factories as f
from tests.api.support import Projector, person_keys

pytestmark = pytest.mark.integration

OWNER = 412845671


class Commands(CommandListener):
    """pymongo's command monitoring: the names of the commands a client sent, in order."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def started(self, event: CommandStartedEvent) -> None:
        self.names.append(event.command_name)

    def succeeded(self, event: CommandSucceededEvent) -> None:
        pass

    def failed(self, event: CommandFailedEvent) -> None:
        pass


@pytest.fixture
def commands() -> Commands:
    return Commands()


@pytest.fixture
async def database(mongo_settings: MongoSettings, commands: Commands) -> AsyncIterator[Database]:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        mongo_settings.url.get_secret_value(), tz_aware=True, event_listeners=[commands]
    )
    try:
        yield client[read_model_database(mongo_settings.database, 1)]
    finally:
        await client.close()


async def _receipts(projector: Projector, mongo_settings: MongoSettings, deleted: set[int]) -> tuple[PersonKeys, str]:
    """Ten receipts of the owner, those numbered in ``deleted`` (0-based) deleted; the owner's keys and keyed slug."""
    adds = [f.added(OWNER, f"Receipt {i:02d}", "Receipts", step=i) for i in range(10)]
    await projector.apply(*adds, *[f.deleted(OWNER, f.document_id_of(adds[i]), 100 + i) for i in sorted(deleted)])
    keys = await person_keys(mongo_settings, OWNER)
    return keys, type_key(keys, "receipts")


@pytest.mark.parametrize(
    ("deleted", "after", "limit", "sent", "numbers"),
    [
        # a full first window: no look-up of the type's last number
        (set(), 0, 9, ["find"], list(range(1, 10))),
        # short by deletions: the window of 8, the type's last number, the next window
        ({1, 2, 3}, 0, 6, ["find", "find", "find"], [1, 5, 6, 7, 8, 9]),
        # past the type's end: the empty window, then the last number says stop
        (set(), 10, 21, ["find", "find"], []),
    ],
    ids=["full", "widened", "past-the-end"],
)
async def test_documents_page_sends_one_find_only_when_the_first_window_is_full(
    projector: Projector,
    mongo_settings: MongoSettings,
    database: Database,
    commands: Commands,
    deleted: set[int],
    after: int,
    limit: int,
    sent: list[str],
    numbers: list[int],
) -> None:
    keys, slug = await _receipts(projector, mongo_settings, deleted)
    commands.names.clear()

    rows = await queries.documents_page(database, OWNER, slug, after, limit)

    assert commands.names == sent
    assert [number for number, _ in rows] == numbers
    assert [s.name for s in opened_summaries(keys, [s for _, s in rows])] == [f"Receipt {n - 1:02d}" for n in numbers]
    assert all(summary.type_slug == slug for _, summary in rows)


@pytest.mark.parametrize(("width", "want", "ordered_by_server"), [(21, 21, False), (8, 21, False), (8, 2, True)])
def test_page_window_asks_the_server_to_order_only_when_the_limit_cuts_the_window(
    width: int, want: int, ordered_by_server: bool
) -> None:
    window = PageWindow(OWNER, "slug", 1, width, want)

    assert (window.sort is not None) is ordered_by_server


async def test_opened_summaries_opens_each_title_under_its_own_type_when_a_list_mixes_types(
    projector: Projector, mongo_settings: MongoSettings, database: Database
) -> None:
    await projector.apply(
        f.added(OWNER, "Lease", "Contracts", step=1),
        f.added(OWNER, "Coffee", "Receipts", step=2),
        f.added(OWNER, "Tea", "Receipts", step=3),
    )
    keys = await person_keys(mongo_settings, OWNER)
    pages = [await queries.documents_page(database, OWNER, type_key(keys, t), 0, 10) for t in ("contracts", "receipts")]

    opened = opened_summaries(keys, [summary for page in pages for _, summary in page])

    assert sorted((s.name, s.type_title) for s in opened) == [
        ("Coffee", "Receipts"),
        ("Lease", "Contracts"),
        ("Tea", "Receipts"),
    ]


_owners = itertools.count(500_000_001)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    size=st.integers(1, 40),  # the processor is given at least one record
    page=st.integers(1, 12),
    data=st.data(),
)
async def test_documents_page_walks_every_live_document_once_in_order_when_any_of_them_are_deleted(
    mongo_settings: MongoSettings, database: Database, size: int, page: int, data: st.DataObject
) -> None:
    owner = next(_owners)  # one person per example: the database is the test's
    gone = data.draw(st.sets(st.integers(0, size - 1), max_size=size))
    adds = [f.added(owner, f"Doc {i:02d}", "Receipts", step=i) for i in range(size)]
    await Projector(mongo_settings).apply(
        *adds, *[f.deleted(owner, f.document_id_of(adds[i]), 100 + i) for i in sorted(gone)]
    )
    keys = await person_keys(mongo_settings, owner)
    slug, after, pages = type_key(keys, "receipts"), 0, []
    for _ in range(size + 1):  # as the route pages: one more than the page, the cursor at the page's last number
        rows = await queries.documents_page(database, owner, slug, after, page + 1)
        pages.append([summary.name for summary in opened_summaries(keys, [s for _, s in rows[:page]])])
        if len(rows) <= page:
            break
        after = rows[page - 1][0]

    assert [name for names in pages for name in names] == [f"Doc {i:02d}" for i in range(size) if i not in gone]
    assert all(0 < len(names) <= page for names in pages[:-1]) and len(pages[-1]) <= page
