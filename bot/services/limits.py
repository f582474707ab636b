"""Limits on one person: the flood verdict for their updates and the hourly budget of events they may append.

The counters live in Redis (``bot.clients.person_store``); the decisions are pure functions here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import Enum

from bot.clients.person_store import EVENT_BUDGET_WINDOW_SECONDS, UserStore


class FloodVerdict(str, Enum):
    allow = "allow"
    warn = "warn"  # the first update over the limit: say so once
    drop = "drop"


def flood_verdict(count: int, limit: int) -> FloodVerdict:
    if count <= limit:
        return FloodVerdict.allow
    return FloodVerdict.warn if count == limit + 1 else FloodVerdict.drop


@dataclass(frozen=True)
class BudgetSpent:
    """The person used their hourly event budget; the window ends in ``minutes_left`` (at least 1)."""

    minutes_left: int


def budget_verdict(count: int, limit: int, now: float, window_seconds: int) -> BudgetSpent | None:
    """None while ``count`` (this event included) is within ``limit`` for the fixed window holding ``now``."""
    if count <= limit:
        return None
    seconds_left = window_seconds - int(now) % window_seconds
    return BudgetSpent(minutes_left=max(1, -(-seconds_left // 60)))


class EventBudgetSpent(Exception):
    """The person appended their hourly budget of events; nothing was appended."""

    def __init__(self, minutes_left: int) -> None:
        super().__init__(f"event budget spent for {minutes_left} more minutes")
        self.minutes_left = minutes_left


class EventBudget:
    """How many events one person may append per hour (a fixed window in Redis, like the flood counter)."""

    def __init__(self, store: UserStore, per_hour: int) -> None:
        self._store = store
        self._per_hour = per_hour

    async def spend_one(self, owner_id: int) -> None:
        """Count one attempt; ``EventBudgetSpent`` when it is past the budget (then nothing may be appended)."""
        now = time.time()
        spent = budget_verdict(
            await self._store.count_event(owner_id, now), self._per_hour, now, EVENT_BUDGET_WINDOW_SECONDS
        )
        if spent is not None:
            raise EventBudgetSpent(spent.minutes_left)
