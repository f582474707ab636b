"""``write_batch`` inside a real MongoDB transaction, with a fixture that rolls the transaction back afterwards.

The processor writes a batch's read models, ledger entries and checkpoint in one transaction (invariant: a
checkpoint never moves without its writes). These tests run that write in a transaction of their own and abort it
at the end: the database is left as it was found, without dropping anything. The rest of the integration tests
cannot clean up this way — the processor commits its own transactions — so they use a database of their own.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import BulkWriteError

from contracts.read_models import AppliedEvent, DocumentView, ProcessorCheckpoint
from service_kit.mongo import MongoClient, mongo_client
from service_kit.settings import MongoSettings
from stream_processors.store import (
    Database,
    Positioned,
    already_applied,
    applied_record,
    load_state,
    write_batch,
)
from tests.factories import added, document_id_of
from tests.keyrings import TEST_PEOPLE
from tests.stream_processors.projection_support import apply_all

pytestmark = pytest.mark.integration

CHECKPOINT = "read-models-v1"


@dataclass(frozen=True)
class RolledBack:
    """A database and a session whose open transaction is aborted when the test ends."""

    db: Database
    session: AsyncClientSession


async def _create_collections(db: Database) -> None:
    # Collections are created outside the transaction: not every server creates them implicitly inside one.
    for model in (DocumentView, AppliedEvent, ProcessorCheckpoint):
        await db.create_collection(model.Settings.name)


@contextlib.asynccontextmanager
async def transaction_rolled_back(client: MongoClient, db: Database) -> AsyncIterator[AsyncClientSession]:
    """A session with a transaction open for the caller's writes, aborted on the way out whatever happened."""
    async with client.start_session() as session:
        await session.start_transaction()
        try:
            yield session
        finally:
            if session.in_transaction:
                await session.abort_transaction()


@pytest.fixture
async def client(mongo_settings: MongoSettings) -> AsyncIterator[MongoClient]:
    mongo = mongo_client(mongo_settings)
    yield mongo
    await mongo.close()


@pytest.fixture
async def session_in_rollback(client: MongoClient, mongo_settings: MongoSettings) -> AsyncIterator[RolledBack]:
    """The transaction-rollback fixture: everything the test writes through ``session`` is undone afterwards."""
    db: Database = client[f"{mongo_settings.database}_v1"]
    await _create_collections(db)
    async with transaction_rolled_back(client, db) as session:
        yield RolledBack(db, session)


def _one_added_batch(owner_id: int) -> tuple[Any, list[dict[str, Any]], str]:
    event = added(owner_id, "Passport scan")
    state, effects = apply_all([event])
    return state, [applied_record(Positioned(0, event), effects[0])], str(document_id_of(event))


async def _write_one_added(rolled: RolledBack, owner_id: int) -> tuple[Any, list[dict[str, Any]], str]:
    """``_one_added_batch`` written through the rolled-back session at offset 0."""
    state, records, document_id = _one_added_batch(owner_id)
    await write_batch(rolled.db, state, records, CHECKPOINT, 0, rolled.session)
    return state, records, document_id


async def test_write_batch_is_read_back_in_its_transaction_when_the_same_session_reads(
    session_in_rollback: RolledBack,
) -> None:
    db, session = session_in_rollback.db, session_in_rollback.session
    _, records, document_id = await _write_one_added(session_in_rollback, owner_id=7)

    assert await db["documents"].find_one({"_id": document_id}, session=session) is not None
    assert await already_applied(db, [records[0]["_id"]], session) == {records[0]["_id"]}
    checkpoint = await db["processor_checkpoints"].find_one({"_id": CHECKPOINT}, session=session)
    assert checkpoint is not None and checkpoint["offset"] == 0


async def test_write_batch_stays_invisible_to_other_readers_when_its_transaction_is_still_open(
    session_in_rollback: RolledBack,
) -> None:
    db = session_in_rollback.db
    _, _, document_id = await _write_one_added(session_in_rollback, owner_id=8)

    assert await db["documents"].find_one({"_id": document_id}) is None
    assert await db["processor_checkpoints"].find_one({"_id": CHECKPOINT}) is None


async def test_transaction_rolled_back_leaves_nothing_behind_when_the_block_ends(
    client: MongoClient, mongo_settings: MongoSettings
) -> None:
    db: Database = client[f"{mongo_settings.database}_v1"]
    await _create_collections(db)
    state, records, document_id = _one_added_batch(owner_id=9)

    async with transaction_rolled_back(client, db) as session:
        await write_batch(db, state, records, CHECKPOINT, 0, session)

    assert await db["documents"].count_documents({}) == 0
    assert await db["applied_events"].count_documents({}) == 0
    assert await db["processor_checkpoints"].count_documents({}) == 0


async def test_write_batch_counts_on_the_type_it_inserted_when_the_next_batch_loads_it(
    session_in_rollback: RolledBack,
) -> None:
    db, session = session_in_rollback.db, session_in_rollback.session
    state, _, _ = await _write_one_added(session_in_rollback, owner_id=10)
    later = Positioned(1, added(10, "Visa scan", content="other bytes", step=1))

    loaded = await load_state(db, [later], session, keys=TEST_PEOPLE)
    apply_all([later.event], loaded, first_offset=1)
    await write_batch(db, loaded, [applied_record(later, "created")], CHECKPOINT, 1, session)

    (stored,) = await db["document_types"].find({"owner_id": 10}, session=session).to_list(None)
    assert (len(state.stored_type_ids), loaded.stored_type_ids, stored["live_count"]) == (0, {stored["_id"]}, 2)


async def test_write_batch_refuses_a_type_as_new_when_the_store_holds_it_already(
    session_in_rollback: RolledBack,
) -> None:
    db, session = session_in_rollback.db, session_in_rollback.session
    await _write_one_added(session_in_rollback, owner_id=11)
    stale, _ = apply_all([added(11, "Visa scan", content="other bytes", step=1)])  # a state that did not load the type

    with pytest.raises(BulkWriteError, match="duplicate key"):
        await write_batch(db, stale, [], CHECKPOINT, 1, session)


async def test_write_batch_leaves_no_document_when_it_fails_between_its_writes_and_the_retry_loads_afresh(
    client: MongoClient, mongo_settings: MongoSettings
) -> None:
    """Commits (the database is this test's own): a batch that fails after its document writes is aborted whole."""
    db: Database = client[f"{mongo_settings.database}_v1"]
    await _create_collections(db)
    first = added(12, "Passport scan")
    later = Positioned(1, added(12, "Visa scan", content="other bytes", step=1))
    async with transaction_rolled_back(client, db) as session:
        state, effects = apply_all([first])
        await write_batch(db, state, [applied_record(Positioned(0, first), effects[0])], CHECKPOINT, 0, session)
        await session.commit_transaction()
    stale, _ = apply_all([later.event], first_offset=1)  # its document goes in, then its type is refused

    async with transaction_rolled_back(client, db) as session:
        with pytest.raises(BulkWriteError):
            await write_batch(db, stale, [], CHECKPOINT, 1, session)
    async with transaction_rolled_back(client, db) as session:
        loaded = await load_state(db, [later], session, keys=TEST_PEOPLE)
        effects = apply_all([later.event], loaded, first_offset=1)[1]
        await write_batch(db, loaded, [applied_record(later, effects[0])], CHECKPOINT, 1, session)
        await session.commit_transaction()

    documents = await db["documents"].find({"owner_id": 12}).to_list(None)
    (kind,) = await db["document_types"].find({"owner_id": 12}).to_list(None)
    ledger = await db["applied_events"].distinct("_id")
    assert (len(documents), kind["live_count"], sorted(ledger)) == (
        2,
        2,
        sorted([str(first.event_id), str(later.event.event_id)]),
    )
