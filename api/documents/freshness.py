"""Read-your-writes: a read that names ``after_event`` is answered only once that event is applied.

The processors record every applied event in ``applied_events`` in the same transaction as its
effects, so "the ledger has it" means "the read models show it". The API polls the ledger (by
``_id``) with a growing pause until a deadline, then gives up with 409 and ``Retry-After``: never an
answer that silently misses the caller's own write.
"""

from __future__ import annotations

import asyncio
import enum
import time

from api.core.served_projection import Database
from api.documents.queries import AppliedRecord, find_applied_event

FIRST_PAUSE_SECONDS = 0.01
MAX_PAUSE_SECONDS = 0.2


class Freshness(enum.Enum):
    APPLIED = "applied"
    PENDING = "pending"
    FOREIGN = "foreign"  # applied, but it is another owner's event


def classify(record: AppliedRecord | None, owner_id: int) -> Freshness:
    if record is None:
        return Freshness.PENDING
    return Freshness.APPLIED if record.owner_id == owner_id else Freshness.FOREIGN


def next_pause(previous: float, remaining: float) -> float:
    """Double the pause up to a ceiling, never sleeping past the deadline."""
    return max(0.0, min(previous * 2, MAX_PAUSE_SECONDS, remaining))


async def wait_until_applied(db: Database, event_id: str, owner_id: int, timeout_seconds: float) -> Freshness:
    deadline = time.monotonic() + timeout_seconds
    pause = FIRST_PAUSE_SECONDS / 2
    while True:
        state = classify(await find_applied_event(db, event_id), owner_id)
        remaining = deadline - time.monotonic()
        if state is not Freshness.PENDING or remaining <= 0:
            return state
        pause = next_pause(pause, remaining)
        await asyncio.sleep(pause)
