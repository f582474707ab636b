"""Stream names and the one argument set they are created with."""

from __future__ import annotations

from typing import Final

EVENTS_STREAM: Final = "docvault.events"
DEAD_LETTER_STREAM: Final = "docvault.events.dlq"

# The event log is the source of truth: no time retention, only a (large) size cap per segment.
# Re-declaring a stream with other arguments fails with PreconditionFailed, so these live in one place.
EVENTS_STREAM_ARGUMENTS: Final[dict[str, int | str]] = {
    "stream-max-segment-size-bytes": 500_000_000,
}
DEAD_LETTER_STREAM_ARGUMENTS: Final[dict[str, int | str]] = {
    "stream-max-segment-size-bytes": 100_000_000,
    "max-age": "30D",
}
