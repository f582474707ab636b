"""Commit a batch; when it cannot be applied, find the events that cannot and commit all the others.

A batch that fails with an error that is not infrastructure (see ``failures``) is split in two and each
half committed on its own, the first half first, until the failing part is one event. That event is
dead-lettered (reason ``unapplicable``) and the checkpoint moves past it only once the dead-letter stream
confirmed it. The good events are applied in stream order either way, so the read models equal those of
a run in which the unapplicable events never were, whatever the batch sizes.

Before dead-lettering, one commit without the event must succeed (an empty one: lease and checkpoint):
if even that fails, the cause is not the event, and the batch is retried instead (``BatchNotCommitted``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from stream_processors.failures import BatchNotCommitted, Failure, classify
from stream_processors.store import Positioned

# Apply ``events`` and move the checkpoint to ``last_offset``, all in one transaction; returns effects by offset.
Commit = Callable[[Sequence[Positioned], int], Awaitable[dict[int, str]]]
# Append an unapplicable event to the dead-letter stream; returns once the broker confirmed it.
DeadLetterOne = Callable[[Positioned, Exception], Awaitable[None]]


@dataclass
class Isolated:
    """What committing a batch did: effects of the applied events, and the events dead-lettered instead."""

    effects: dict[int, str] = field(default_factory=dict)
    unapplicable: list[tuple[Positioned, Exception]] = field(default_factory=list)

    def add(self, other: Isolated) -> Isolated:
        self.effects.update(other.effects)
        self.unapplicable.extend(other.unapplicable)
        return self


async def commit_isolating(
    events: Sequence[Positioned], last_offset: int, commit: Commit, dead_letter: DeadLetterOne
) -> Isolated:
    """Commit ``events`` (in offset order) with the checkpoint at ``last_offset``, isolating unapplicable ones.

    Raises what ``classify`` does not call unapplicable (infrastructure, a lost lease), and
    ``BatchNotCommitted`` when nothing can be committed at all; the caller retries or stops.
    """
    try:
        return Isolated(effects=await commit(events, last_offset))
    except Exception as error:
        if classify(error) is not Failure.unapplicable:
            raise
        if not events:
            raise BatchNotCommitted(f"a commit of no event failed ({type(error).__name__})") from error
        failure = error
    if len(events) == 1:
        return await _dead_letter_alone(events[0], failure, last_offset, commit, dead_letter)
    middle = len(events) // 2
    first = await commit_isolating(events[:middle], events[middle].offset - 1, commit, dead_letter)
    return first.add(await commit_isolating(events[middle:], last_offset, commit, dead_letter))


async def _dead_letter_alone(
    culprit: Positioned, failure: Exception, last_offset: int, commit: Commit, dead_letter: DeadLetterOne
) -> Isolated:
    await _commit_nothing(commit, culprit.offset - 1)  # the pipeline commits without the culprit
    await dead_letter(culprit, failure)
    await _commit_nothing(commit, last_offset)  # only now past the culprit
    return Isolated(unapplicable=[(culprit, failure)])


async def _commit_nothing(commit: Commit, checkpoint: int) -> None:
    try:
        await commit([], checkpoint)
    except Exception as error:
        if classify(error) is not Failure.unapplicable:
            raise
        raise BatchNotCommitted(f"a commit of no event failed ({type(error).__name__})") from error
