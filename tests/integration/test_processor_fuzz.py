"""Random decodable events, built through the event models (tests/contracts/strategies.py), against the real
stream and MongoDB: whatever they say, the checkpoint reaches the end and every one of them is applied."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.events import MAX_OWNER_ID, EventEnvelope
from contracts.text import MAX_NAME_LENGTH
from service_kit.settings import MongoSettings
from stream_processors.projections.naming import NameRules
from stream_processors.runner import ProcessorRunner
from stream_processors.service import open_processor
from stream_processors.settings import ProcessorSettings
from tests.contracts.strategies import display_names, envelopes, event_payloads
from tests.integration.pipeline import ledger, processor_settings, publish, wait_for_checkpoint
from tests.mongo_cleanup import drop_databases
from tests.streams import fresh_streams

pytestmark = pytest.mark.integration

# Few documents, owners and names, so that events meet each other: renames and restores of earlier documents
# (or of another owner's), names used up (two copies), names at the length limit, the same content twice.
DOCUMENT_IDS = [uuid.UUID(int=n) for n in range(1, 7)]
NAMES = ["Паспорт", "паспорт", "Паспорт (2)", "x" * MAX_NAME_LENGTH, "x" * (MAX_NAME_LENGTH - 4) + " (2)"]
_events = envelopes(
    event_payloads(
        document_ids=st.sampled_from(DOCUMENT_IDS),
        names=st.sampled_from(NAMES) | display_names(),
        contents=st.sampled_from([b"a", b"b", b"c"]) | st.binary(max_size=8),
    ),
    owners=st.sampled_from([1, 2, MAX_OWNER_ID]),
)


@dataclass
class RunningPipeline:
    settings: ProcessorSettings
    appended: int = 0


@pytest.fixture(scope="module")
async def running_pipeline() -> AsyncIterator[RunningPipeline]:
    """One stream, database and running processor for every example: each appends and waits for the checkpoint."""
    name = f"t{uuid.uuid4().hex[:12]}"
    mongo = MongoSettings(database=name)
    async with fresh_streams(name) as rabbit:
        settings = processor_settings(rabbit, mongo, batch_size=7)
        try:
            async with open_processor(settings, rules=NameRules(max_copy_number=2)) as processor:
                runner = ProcessorRunner(processor, rabbit, batch_size=settings.batch_size)
                running = asyncio.create_task(runner.run())
                yield RunningPipeline(settings)
                runner.stop()
                await running
        finally:
            await drop_databases(mongo)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(_events, min_size=1, max_size=40))
async def test_processor_applies_every_event_and_reaches_the_end_when_events_are_random(
    running_pipeline: RunningPipeline, events: list[EventEnvelope]
) -> None:
    await publish(running_pipeline.settings.rabbitmq, events)
    running_pipeline.appended += len(events)

    await wait_for_checkpoint(running_pipeline.settings.mongo, running_pipeline.appended - 1, timeout=30)

    # An event that could not be applied would be in the dead-letter stream instead of the ledger.
    assert {str(event.event_id) for event in events} <= set(await ledger(running_pipeline.settings.mongo))
