"""A per-person call limit over a sliding window, in one process (each API replica counts its own calls)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from enum import Enum

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


class Refusal(Enum):
    BUSY = "busy"  # one of the person's calls is still under way
    RATE = "rate"  # the person made ``limit`` calls in the window


class PersonGate:
    """At most one call per person at a time, and ``limit`` per ``WINDOW_SECONDS``: for calls that hold a stream
    open (an export reads a person's whole vault). ``claim`` says why not, or holds the person until ``release``."""

    def __init__(self, limit: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._limiter = RateLimiter(limit, clock)
        self._running: set[int] = set()

    def claim(self, owner_id: int) -> Refusal | None:
        if owner_id in self._running:
            return Refusal.BUSY
        if not self._limiter.allow(owner_id):
            return Refusal.RATE
        self._running.add(owner_id)
        return None

    def release(self, owner_id: int) -> None:
        self._running.discard(owner_id)
