"""Pure rules of the event log client (the I/O is tested in tests/integration/test_eventlog.py)."""

from __future__ import annotations

import pytest

from service_kit.eventlog.publisher import APPEND_ATTEMPTS, MIN_RESEND_SECONDS, should_resend


@pytest.mark.parametrize(
    ("attempt", "seconds_left", "expected"),
    [
        (1, 5.0, True),
        (1, MIN_RESEND_SECONDS, True),
        (1, MIN_RESEND_SECONDS - 0.01, False),
        (1, -1.0, False),
        (APPEND_ATTEMPTS, 5.0, False),
    ],
)
def test_should_resend_allows_one_more_attempt_only_when_time_is_left(
    attempt: int, seconds_left: float, expected: bool
) -> None:
    assert should_resend(attempt, seconds_left) is expected
