"""The privacy canary through the whole system as processes: a person talks to ``python -m bot`` through the fake
Telegram server, adds a document whose type title, name, file name and bytes carry a marker, browses and searches
it, then says /forget and types the word. Every store is scanned as bytes (``tests/integration/privacy_scan.py``):
the stream, every MongoDB collection, every S3 object, every Redis key of the bot, and the three services' logs.

docs/privacy.md says where the marker may be read while the person uses the bot: nowhere in the clear but the bot's
Redis, in the person's open dialog (what they are typing) and in their navigation and search keys (type titles, the
query). After /forget (the bot appends ``user.forgotten``, the processor applies it, the API's erasure worker runs)
it is readable nowhere: in no store in the clear, and no live key opens any sealed value to it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.ui.i18n import Texts
from service_kit.eventlog import StartAt, StreamRecord, stream_end_offset
from service_kit.forgetting import RECEIPTS_COLLECTION
from service_kit.keystore import keys_database_name
from service_kit.mongo import mongo_client
from service_kit.settings import S3Settings
from tests.e2e.processes import Chat, redis_url, text_of
from tests.e2e.system import RunningSystem, running_system
from tests.integration.pipeline import read_stream
from tests.integration.privacy_scan import (
    Hits,
    file_hits,
    live_keys,
    mongo_hits,
    mongo_sealed,
    opened_to_marker,
    readable_everywhere,
    redis_hits,
    s3_hits,
    sealed_in,
    stored_objects,
    stream_hits,
)

pytestmark = pytest.mark.integration
EN = Texts("en")
BOT_REDIS = redis_url(database=11)  # the bot's Redis database in tests/e2e/system.py
DEBUG = {"LOG_LEVEL": "DEBUG"}  # the most the services ever log


@pytest.fixture
async def system(tmp_path: Path) -> AsyncIterator[RunningSystem]:
    overrides = DEBUG | {"ERASURE_POLL_SECONDS": "0.2"}
    async with running_system("polling", tmp_path, overrides=overrides, bot_overrides=DEBUG) as running:
        yield running


async def _records(system: RunningSystem) -> list[StreamRecord]:
    stream = system.rabbit.events_stream
    end = await stream_end_offset(system.rabbit, stream)
    return await read_stream(system.rabbit, stream, StartAt.first(), end + 1)


async def _scan(system: RunningSystem, marker: str) -> tuple[Hits, list[str]]:
    """Where the marker is in the clear, and the sealed values a live key opens to it."""
    records = await _records(system)
    sealed = sealed_in(record.data for record in records) | await mongo_sealed(system.mongo)
    hits = readable_everywhere(
        stream=stream_hits(records, marker),
        mongo=await mongo_hits(system.mongo, marker),
        s3=s3_hits(S3Settings(bucket=system.envs["api"]["S3_BUCKET"]), marker),
        redis=await redis_hits(BOT_REDIS, marker),
        logs=file_hits([service.log_path for service in system.services.values()], marker),
    )
    return hits, opened_to_marker(sealed, await live_keys(system.mongo), marker)


def _person_keys(system: RunningSystem, ann: Chat, *kinds: str) -> list[str]:
    """The bot's Redis keys of ``ann`` of these kinds, as ``redis_hits`` names them (a prefix of each)."""
    prefix = system.envs["bot"]["REDIS_PREFIX"]
    return [f"db11 b'{prefix}:{kind}:{ann.user_id}" for kind in kinds]


def _only_in(hits: Hits, allowed: list[str]) -> bool:
    return set(hits) == {"redis"} and all(any(hit.startswith(a) for a in allowed) for hit in hits["redis"])


async def _redis_keys_naming(system: RunningSystem, owner_id: int) -> list[str]:
    """The bot's keys with the person's id as one of their parts (update claims name an update, not a person)."""
    redis = Redis.from_url(BOT_REDIS)
    try:
        keys = [key.decode() async for key in redis.scan_iter(match=f"{system.envs['bot']['REDIS_PREFIX']}:*")]
    finally:
        await redis.aclose()
    return [key for key in keys if str(owner_id) in key.split(":")[2:] and key.split(":")[1] != "update"]


async def _wait_erased(system: RunningSystem, owner_id: int, timeout: float = 60.0) -> None:
    """Until the API's erasure worker receipted the person's forget (it polls every 0.2 s here)."""
    client = mongo_client(system.mongo)
    receipts = client[keys_database_name(system.mongo)][RECEIPTS_COLLECTION]
    try:
        for _ in range(int(timeout / 0.2)):
            if await receipts.find_one({"owner_id": owner_id}):
                return
            await asyncio.sleep(0.2)
    finally:
        await client.close()
    raise AssertionError(f"the forget of {owner_id} was not erased within {timeout} s")


async def test_marker_is_only_in_the_persons_redis_keys_then_nowhere_when_the_person_says_forget(
    system: RunningSystem,
) -> None:
    marker = f"canary{uuid.uuid4().hex[:12]}"
    ann = system.person(861)
    await ann.says("/start")
    await ann.presses("Add document")
    await ann.says(f"Visas {marker}")
    await ann.says(f"Visa {marker}")
    typing, _ = await _scan(system, marker)  # the dialog waits for the file, holding what was typed
    saved = await ann.sends_document(f"%PDF-1.7 {marker} ".encode() * 500, f"visa-{marker}.pdf")
    await ann.says("/documents")
    await ann.presses("Visas")
    card = await ann.presses("Visa")
    found, results = await ann.says(f"/search {marker}"), ann.buttons()
    browsing, opened_while_kept = await _scan(system, marker)
    kept_in_redis = await _redis_keys_naming(system, ann.user_id)
    objects_kept = stored_objects(S3Settings(bucket=system.envs["api"]["S3_BUCKET"]), ann.user_id)

    await ann.says("/forget")
    done = await ann.says(EN.plain("forget.word"))
    await _wait_erased(system, ann.user_id)
    after, opened_after = await _scan(system, marker)
    left_in_redis = await _redis_keys_naming(system, ann.user_id)
    objects_left = stored_objects(S3Settings(bucket=system.envs["api"]["S3_BUCKET"]), ann.user_id)

    # The flow carried the marker to the person and back.
    assert text_of(saved) == EN("add.saved", name=f"Visa {marker}", type=f"Visas {marker}")
    assert f"File: visa-{marker}.pdf" in text_of(card) and results[0][0] == f"Visa {marker} · Visas {marker}"
    assert text_of(found) == EN("search.results", query=marker) and opened_while_kept  # the person's key opened it
    # While the person uses the bot, only their own dialog and navigation keys in Redis hold it in the clear.
    assert _only_in(typing, _person_keys(system, ann, "fsm")), typing
    assert _only_in(browsing, _person_keys(system, ann, "nav", "search")), browsing
    assert any(hit.startswith(_person_keys(system, ann, "search")[0]) for hit in browsing["redis"])  # the query
    # After /forget: readable nowhere, and no key of the bot names the person.
    assert kept_in_redis and len(objects_kept) == 1, "nothing kept of the person: the checks would prove nothing"
    assert text_of(done) == EN("forget.done")
    assert (after, opened_after, left_in_redis, objects_left) == ({}, [], [], [])
