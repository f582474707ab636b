"""A per-person call limit over a sliding window, in one process (each API replica counts its own calls)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

WINDOW_SECONDS = 60.0
_MAX_TRACKED = 10_000


class RateLimiter:
    """At most ``limit`` calls per person in any ``WINDOW_SECONDS``; the clock is injectable for tests."""

    def __init__(self, limit: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = limit
        self._clock = clock
        self._calls: dict[int, deque[float]] = {}

    def allow(self, owner_id: int) -> bool:
        now = self._clock()
        calls = self._calls.setdefault(owner_id, deque())
        while calls and calls[0] <= now - WINDOW_SECONDS:
            calls.popleft()
        if len(calls) >= self._limit:
            return False
        calls.append(now)
        if len(self._calls) > _MAX_TRACKED:
            self._forget_idle(now)
        return True

    def _forget_idle(self, now: float) -> None:
        """Keep memory bounded by the people active in the last window."""
        since = now - WINDOW_SECONDS
        self._calls = {owner: calls for owner, calls in self._calls.items() if calls and calls[-1] > since}
