"""Pure parts of the runner: where a subscription resumes and how long a retry waits."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service_kit.eventlog import StartAt
from stream_processors.runner import backoff_delay, caught_up, resume_position


@pytest.mark.parametrize(
    ("checkpoint", "requested", "expected"),
    [
        (None, None, StartAt.first()),
        (0, None, StartAt.offset(1)),
        (41, None, StartAt.offset(42)),
        (None, StartAt.offset(7), StartAt.offset(7)),
        (41, StartAt.first(), StartAt.first()),
        (41, StartAt.timestamp_ms(1_767_225_600_000), StartAt.timestamp_ms(1_767_225_600_000)),
    ],
    ids=[
        "fresh",
        "after-offset-0",
        "after-checkpoint",
        "requested-fresh",
        "requested-over-checkpoint",
        "requested-timestamp",
    ],
)
def test_resume_position_starts_after_checkpoint_unless_requested_when_resuming(
    checkpoint: int | None, requested: StartAt | None, expected: StartAt
) -> None:
    assert resume_position(checkpoint, requested) == expected


@pytest.mark.parametrize(
    ("attempt", "low", "high"),
    [(0, 0.05, 0.1), (1, 0.1, 0.2), (3, 0.4, 0.8), (6, 3.2, 6.4), (7, 5.0, 10.0), (50, 5.0, 10.0), (10**9, 5.0, 10.0)],
)
def test_backoff_delay_doubles_with_jitter_up_to_cap_when_attempts_grow(attempt: int, low: float, high: float) -> None:
    delays = [backoff_delay(attempt) for _ in range(200)]

    assert all(low <= delay <= high for delay in delays)
    assert max(delays) - min(delays) > (high - low) / 10  # jittered, not a constant


@settings(max_examples=200, deadline=None)
@given(attempt=st.integers(0, 10**6), cap=st.floats(0.01, 120.0))
def test_backoff_delay_stays_positive_and_under_cap_when_any_attempt(attempt: int, cap: float) -> None:
    delay = backoff_delay(attempt, cap)

    assert min(cap, 0.1) / 2 <= delay <= cap
    assert delay <= 0.1 * 2 ** min(attempt, 100)


@pytest.mark.parametrize(
    ("committed", "stop_after", "expected"),
    [(None, None, False), (5, None, False), (None, 0, False), (0, 0, True), (0, 1, False), (7, 7, True), (8, 7, True)],
    ids=["unbounded-fresh", "unbounded", "nothing-committed", "one-event-stream", "behind", "at-end", "past-end"],
)
def test_caught_up_stops_a_bounded_run_when_it_committed_the_end(
    committed: int | None, stop_after: int | None, expected: bool
) -> None:
    # A stream of one event ends at offset 0: the run that committed it used to wait for ever (found by
    # tests/integration/test_processor_fuzz.py).
    assert caught_up(committed, stop_after) is expected
