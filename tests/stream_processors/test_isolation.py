"""Isolating the events of a batch that cannot be applied, with an in-memory stand-in for the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymongo.errors import AutoReconnect, DuplicateKeyError

from stream_processors.failures import BatchNotCommitted
from stream_processors.isolation import commit_isolating
from stream_processors.lease import LeaseLost
from stream_processors.store import Positioned
from tests.factories import started


@dataclass
class FakePipeline:
    """Commits like the processor: all or nothing, one checkpoint; events in ``poison`` make a commit raise."""

    poison: set[int] = field(default_factory=set)
    error: Exception = field(default_factory=lambda: OverflowError("MongoDB can only handle up to 8-byte ints"))
    fail_empty_commits: Exception | None = None
    checkpoint: int = -1
    applied: list[int] = field(default_factory=list)
    dead_letters: list[int] = field(default_factory=list)
    log: list[tuple[str, int]] = field(default_factory=list)

    async def commit(self, events: Sequence[Positioned], last_offset: int) -> dict[int, str]:
        offsets = [p.offset for p in events]
        if self.poison & set(offsets):
            raise self.error
        if not events and self.fail_empty_commits is not None:
            raise self.fail_empty_commits
        assert last_offset >= self.checkpoint, "the checkpoint never moves back"
        assert all(offset <= last_offset for offset in offsets)
        self.applied += offsets
        self.checkpoint = last_offset
        self.log.append(("checkpoint", last_offset))
        return {offset: "created" for offset in offsets}

    async def dead_letter(self, culprit: Positioned, error: Exception) -> None:
        assert error is self.error
        self.dead_letters.append(culprit.offset)
        self.log.append(("dead_letter", culprit.offset))


def _events(offsets: Sequence[int]) -> list[Positioned]:
    return [Positioned(offset, started(7, step=offset)) for offset in offsets]


async def test_commit_isolating_commits_once_when_nothing_fails() -> None:
    pipeline = FakePipeline()

    isolated = await commit_isolating(_events(range(10, 20)), 21, pipeline.commit, pipeline.dead_letter)

    assert (pipeline.applied, pipeline.log, isolated.unapplicable) == (list(range(10, 20)), [("checkpoint", 21)], [])
    assert sorted(isolated.effects) == list(range(10, 20))


@settings(max_examples=200, deadline=None)
@given(size=st.integers(1, 60), data=st.data())
async def test_commit_isolating_dead_letters_exactly_the_failing_events_when_anywhere_in_the_batch(
    size: int, data: st.DataObject
) -> None:
    offsets = sorted(data.draw(st.sets(st.integers(0, 200), min_size=size, max_size=size)))
    poison = data.draw(st.sets(st.sampled_from(offsets), max_size=4))
    last_offset = offsets[-1] + data.draw(st.integers(0, 3))  # undecodable records may follow
    pipeline = FakePipeline(poison=set(poison))

    isolated = await commit_isolating(_events(offsets), last_offset, pipeline.commit, pipeline.dead_letter)

    assert pipeline.applied == [offset for offset in offsets if offset not in poison]
    assert pipeline.dead_letters == sorted(poison)
    assert [p.offset for p, _ in isolated.unapplicable] == sorted(poison)
    assert sorted(isolated.effects) == pipeline.applied
    assert pipeline.checkpoint == last_offset
    for culprit in poison:  # the checkpoint passed each culprit only after its dead letter
        dead_at = pipeline.log.index(("dead_letter", culprit))
        assert all(offset < culprit for kind, offset in pipeline.log[:dead_at] if kind == "checkpoint")


@pytest.mark.parametrize(
    "error",
    [AutoReconnect("connection reset"), LeaseLost("taken over")],
    ids=["infrastructure", "lease-lost"],
)
async def test_commit_isolating_raises_without_dead_lettering_when_failure_is_not_the_events(error: Exception) -> None:
    pipeline = FakePipeline(poison={12}, error=error)

    with pytest.raises(type(error)):
        await commit_isolating(_events(range(10, 20)), 19, pipeline.commit, pipeline.dead_letter)

    assert pipeline.dead_letters == []


async def test_commit_isolating_retries_instead_of_dead_lettering_when_a_commit_without_the_event_fails() -> None:
    refused = DuplicateKeyError("E11000", code=11000)
    pipeline = FakePipeline(poison={10, 11, 12}, error=refused, fail_empty_commits=refused)

    with pytest.raises(BatchNotCommitted):
        await commit_isolating(_events([10, 11, 12]), 12, pipeline.commit, pipeline.dead_letter)

    assert (pipeline.dead_letters, pipeline.checkpoint) == ([], -1)


async def test_commit_isolating_retries_when_a_commit_of_no_event_fails() -> None:
    pipeline = FakePipeline(fail_empty_commits=ValueError("broken"))

    with pytest.raises(BatchNotCommitted):
        await commit_isolating([], 5, pipeline.commit, pipeline.dead_letter)
