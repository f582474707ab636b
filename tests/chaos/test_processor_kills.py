"""A processor killed with SIGKILL at random points of a 10k-event stream, restarted each time, ends with
exactly the read models of one clean run."""

from __future__ import annotations

import asyncio
import random
import signal
from typing import Any

import pytest

from service_kit.eventlog import stream_end_offset
from service_kit.settings import MongoSettings, RabbitSettings
from tests import factories as f
from tests.chaos.observe import applied_event_ids
from tests.chaos.report import FaultRow, fault_row
from tests.integration.pipeline import (
    checkpoint_of,
    committed_offset,
    copy_keys,
    process_all,
    processor_settings,
    publish,
    snapshot,
    start_processor_process,
    wait_for_checkpoint,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]
MAX_RUN_SECONDS = 5.0  # how long after its first commit a run may live before the kill


async def kill_until_done(rabbit: RabbitSettings, mongo: MongoSettings, end: int, rng: random.Random) -> int:
    """Start the processor, SIGKILL it at a random moment after it made progress, until it committed
    ``end``; returns how many runs were killed before the end."""
    committed, kills = -1, 0
    while committed < end:
        process = start_processor_process(rabbit, mongo, batch_size=100)
        try:
            await wait_for_checkpoint(mongo, committed + 1)  # this run made progress
            await asyncio.sleep(rng.uniform(0.0, MAX_RUN_SECONDS))  # ... and dies somewhere after that
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(10)
        committed = await committed_offset(mongo)
        kills += committed < end
        assert kills < 100, "the processor made too little progress between kills"
    return kills


def differing_rows(left: dict[str, list[dict[str, Any]]], right: dict[str, list[dict[str, Any]]]) -> int:
    """Rows of two read-model snapshots that are not equal, position by position (and any extra rows)."""
    differing = 0
    for name in left.keys() | right.keys():
        ours, theirs = left.get(name, []), right.get(name, [])
        differing += sum(a != b for a, b in zip(ours, theirs)) + abs(len(ours) - len(theirs))
    return differing


async def test_processor_ends_with_the_clean_run_state_when_sigkilled_at_random_points_of_10k_events(
    rabbit_settings: RabbitSettings, mongo_settings: MongoSettings, fault_report: list[FaultRow]
) -> None:
    events = f.story(owners=40, per_owner=250, seed=11)
    await publish(rabbit_settings, events)
    end = await stream_end_offset(rabbit_settings, rabbit_settings.events_stream)

    kills = await kill_until_done(rabbit_settings, mongo_settings, end, random.Random(5))
    reference = mongo_settings.model_copy(update={"database": mongo_settings.database + "ref"})
    await copy_keys(mongo_settings, reference)  # the same people's keys: byte-equal read models expected
    await process_all(processor_settings(rabbit_settings, reference))

    killed_state, clean_state = await snapshot(mongo_settings), await snapshot(reference)
    checkpoint = await checkpoint_of(mongo_settings)
    row = fault_row(
        f"processor SIGKILLed {kills} times at random points",
        "read models equal a clean run",
        [str(e.event_id) for e in events],
        await applied_event_ids(mongo_settings),
        duplicated=differing_rows(killed_state, clean_state),
    )
    assert kills >= 3, "the processor must be killed mid-stream several times"
    assert killed_state == clean_state and row.duplicated == 0 and row.lost == 0
    assert checkpoint is not None and checkpoint["events_applied"] == len(events)
    fault_report.append(row)
