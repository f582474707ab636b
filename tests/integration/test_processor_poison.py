"""Poison in the middle of 1,000 valid events from many people (issue 10): every valid event is applied once,
each poison record is in the dead-letter stream with its reason, the checkpoint reaches the end, and a replay
(other batch size) rebuilds the same read models and dead-letters the same records."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from prometheus_client import REGISTRY
from rstream import AMQPMessage

from contracts.codec import encode_event
from contracts.events import EventEnvelope
from contracts.read_models import UserView
from contracts.text import MAX_NAME_LENGTH
from service_kit.settings import MongoSettings, RabbitSettings
from stream_processors.commands import dead_letter_entries
from stream_processors.dead_letters import DeadLetterEntry
from stream_processors.processor import Projection
from stream_processors.projections import apply_event
from stream_processors.projections.naming import NameRules
from stream_processors.projections.state import BatchState
from stream_processors.settings import ProcessorSettings
from tests import factories as f
from tests.integration.pipeline import (
    checkpoint_of,
    ledger,
    process_all,
    processor_settings,
    publish_raw,
    readable_snapshot,
    snapshot,
)
from tests.mongo_cleanup import drop_databases
from tests.streams import fresh_streams

pytestmark = pytest.mark.integration

FEW_COPIES = NameRules(max_copy_number=3)
LONG = "Договор " + "д" * (MAX_NAME_LENGTH - 8)


def _amqp_json(event: EventEnvelope, **changes: Any) -> bytes:
    return bytes(AMQPMessage(body=json.dumps({**json.loads(event.model_dump_json()), **changes}).encode()))


def _poison() -> dict[str, tuple[bytes, str]]:
    """Records that decoded (or half-decoded) before and stopped the processor or the store: name -> (bytes, reason)."""
    event = f.added(9100, "Яд", step=500)
    text = event.model_dump_json()
    return {
        "owner-2^64": (_amqp_json(event, owner_id=2**64), "invalid"),
        "year-9999-at-minus-23:59": (_amqp_json(event, occurred_at="9999-12-31T23:59:59-23:59"), "invalid"),
        "key-twice": (
            bytes(AMQPMessage(body=text.replace('"owner_id":', '"owner_id":1,"owner_id":', 1).encode())),
            "malformed",
        ),
        "utf-16": (bytes(AMQPMessage(body=text.encode("utf-16-le"))), "malformed"),
        "lone-surrogate": (bytes(AMQPMessage(body=text.replace('"application/pdf"', r'"\ud800"').encode())), "invalid"),
    }


@dataclass
class Story:
    """The stream as appended, and what the test expects of it."""

    records: list[bytes]
    valid_ids: set[str]
    dead: list[tuple[int, str]]  # (source offset, reason), in offset order
    special: dict[str, EventEnvelope]
    refused_in_apply: set[uuid.UUID]
    refused_in_write: set[uuid.UUID]


def crowded_names_early() -> dict[str, EventEnvelope]:
    """Copy suffixes used up (limit 3), an id name taken, a name at the length limit: the setup, early on."""
    x1, y1, squatter, long1, long2 = (
        f.added(9001, "x", step=1),
        f.added(9002, "y", step=1),
        f.added(9002, "z", step=2),
        f.added(9003, LONG, step=1),
        f.added(9003, "tmp", step=2),
    )
    return {
        "x1": x1,
        "x2": f.added(9001, "x (2)", step=2),
        "x3": f.added(9001, "x (3)", step=3),
        "x1-deleted": f.deleted(9001, f.document_id_of(x1), step=4),
        "x4": f.added(9001, "x", step=5),
        "y1": y1,
        "y2": f.added(9002, "y (2)", step=3),
        "y3": f.added(9002, "y (3)", step=4),
        "squatter": squatter,
        "squat": f.renamed(9002, f.document_id_of(squatter), f"y ({f.document_id_of(y1).hex})", step=5),
        "y1-deleted": f.deleted(9002, f.document_id_of(y1), step=6),
        "y4": f.added(9002, "y", step=7),
        "long1": long1,
        "long2": long2,
        "long2-renamed": f.renamed(9003, f.document_id_of(long2), LONG[: MAX_NAME_LENGTH - 4] + " (2)", step=3),
    }


def crowded_names_late(early: dict[str, EventEnvelope]) -> dict[str, EventEnvelope]:
    """Each needs documents of the store that the batch's own names do not point at."""
    return {
        "x1-restored": f.restored(9001, f.document_id_of(early["x1"]), step=900),
        "y1-restored": f.restored(9002, f.document_id_of(early["y1"]), step=900),
        "long3": f.added(9003, LONG, step=900),
    }


def build_story() -> Story:
    early = crowded_names_early()
    late = crowded_names_late(early)
    valid = f.story(owners=25, per_owner=39, seed=11)  # 1,000 events of 25 people
    refused_in_apply, refused_in_write = f.added(9004, "Ломает проекцию", step=600), f.started(9005, step=600)
    reasons = dict(_poison().values())
    middle: list[EventEnvelope | bytes] = [refused_in_apply, *reasons, refused_in_write]
    items: list[EventEnvelope | bytes] = [
        *early.values(),
        *valid[:420],
        *middle[:3],
        *valid[420:700],
        *middle[3:],
        *valid[700:],
        *late.values(),
    ]
    records = [item if isinstance(item, bytes) else encode_event(item) for item in items]
    dead = [(offset, reasons[item]) for offset, item in enumerate(items) if isinstance(item, bytes)]
    dead += [(items.index(event), "unapplicable") for event in (refused_in_apply, refused_in_write)]
    return Story(
        records=records,
        valid_ids={
            str(item.event_id)
            for item in items
            if isinstance(item, EventEnvelope) and item not in (refused_in_apply, refused_in_write)
        },
        dead=sorted(dead),
        special=early | late,
        refused_in_apply={refused_in_apply.event_id},
        refused_in_write={refused_in_write.event_id},
    )


def refusing(in_apply: set[uuid.UUID], in_write: set[uuid.UUID]) -> Projection:
    """``apply_event``, except that it raises for ``in_apply`` and leaves an unstorable user for ``in_write``."""

    def project(state: BatchState, event: EventEnvelope, offset: int) -> str:
        if event.event_id in in_apply:
            raise ValueError("this projection refuses the event")
        effect = apply_event(state, event, offset)
        if event.event_id in in_write:
            user: UserView = state.users[event.owner_id].model_copy(update={"owner_id": 2**64})
            state.put_user(user)  # BSON refuses it when the batch is written
        return effect

    return project


@dataclass
class Processed:
    story: Story
    rabbit: RabbitSettings
    mongo: MongoSettings
    settings: ProcessorSettings
    projection: Projection
    end: int
    unapplicable_counted: float


def _dead_lettered_total(stream: str, reason: str) -> float:
    return REGISTRY.get_sample_value("docvault_dead_lettered_total", {"stream": stream, "reason": reason}) or 0.0


@pytest.fixture(scope="module")
async def processed() -> AsyncIterator[Processed]:
    name = f"t{uuid.uuid4().hex[:12]}"
    mongo = MongoSettings(database=name)
    async with fresh_streams(name) as rabbit:
        story = build_story()
        await publish_raw(rabbit, story.records)
        settings = processor_settings(rabbit, mongo, batch_size=500)
        projection = refusing(story.refused_in_apply, story.refused_in_write)
        end = await process_all(settings, 1, projection, FEW_COPIES)
        counted = _dead_lettered_total(rabbit.events_stream, "unapplicable")
        try:
            yield Processed(story, rabbit, mongo, settings, projection, end, counted)
        finally:
            await drop_databases(mongo)


def _dead_letters_of(entries: list[DeadLetterEntry], version: int) -> list[tuple[int, str]]:
    return sorted((e.source_offset, e.reason) for e in entries if e.processor == f"read-models@v{version}")


async def test_processor_applies_every_valid_event_once_when_poison_is_among_them(processed: Processed) -> None:
    applied = await ledger(processed.mongo)
    checkpoint = await checkpoint_of(processed.mongo)

    assert set(applied) == processed.story.valid_ids
    assert len(processed.story.valid_ids) >= 1000
    assert checkpoint is not None
    assert (checkpoint["offset"], checkpoint["events_applied"]) == (processed.end, len(processed.story.valid_ids))
    assert processed.end == len(processed.story.records) - 1  # lag 0


async def test_processor_dead_letters_each_poison_record_with_its_reason_when_applying(processed: Processed) -> None:
    entries = await dead_letter_entries(processed.settings)
    details = {e.source_offset: e.detail for e in entries if e.reason == "unapplicable"}

    assert _dead_letters_of(entries, 1) == processed.story.dead
    assert sorted(details.values()) == [
        "OverflowError: MongoDB can only handle up to 8-byte ints",
        "ValueError: this projection refuses the event",
    ]
    assert processed.unapplicable_counted == 2


async def test_processor_resolves_crowded_names_against_the_store_when_they_arrive_in_a_later_batch(
    processed: Processed,
) -> None:
    special = processed.story.special
    applied = await ledger(processed.mongo)
    documents = {d["_id"]: d for d in (await readable_snapshot(processed.mongo))["documents"]}

    def effect_and_document(key: str, added_key: str) -> tuple[str, dict[str, Any]]:
        return (applied[str(special[key].event_id)]["effect"], documents[str(f.document_id_of(special[added_key]))])

    x1_effect, x1 = effect_and_document("x1-restored", "x1")
    y1_effect, y1 = effect_and_document("y1-restored", "y1")
    long_effect, long3 = effect_and_document("long3", "long3")
    assert (x1_effect, x1["status"], x1["name"]) == (
        "restored_renamed",
        "live",
        f"x ({f.document_id_of(special['x1']).hex})",
    )
    assert (y1_effect, y1["status"]) == ("restore_conflict", "deleted")
    assert (long_effect, long3["name"]) == ("created_renamed", LONG[: MAX_NAME_LENGTH - 4] + " (3)")


async def test_processor_rebuilds_same_state_and_dead_letters_when_replayed_with_other_batches(
    processed: Processed,
) -> None:
    replay = processed.settings.model_copy(update={"batch_size": 97})

    await process_all(replay, 2, processed.projection, FEW_COPIES)

    entries = await dead_letter_entries(processed.settings)
    assert await snapshot(processed.mongo, 2) == await snapshot(processed.mongo, 1)
    assert _effects(await ledger(processed.mongo, 2)) == _effects(await ledger(processed.mongo, 1))
    assert _dead_letters_of(entries, 2) == _dead_letters_of(entries, 1) == processed.story.dead


def _effects(rows: dict[str, dict[str, Any]]) -> dict[str, tuple[int, str]]:
    return {event_id: (row["offset"], row["effect"]) for event_id, row in rows.items()}
