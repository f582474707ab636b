"""A document's valid-until date as the bot handles it: reading what a person typed, recording the date (or its
removal) as ``document.valid_until_set``, and the person's "expiring soon" list from the API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from bot.clients.api_client import DocumentsApi
from bot.services.event_recorder import EventRecorder
from bot.settings import BotConfig
from contracts.api_schemas import DocumentSummary
from contracts.events import DocumentValidUntilSet
from contracts.expiry import NotADate, parse_valid_until

# Documents listed in "Expiring soon" (one button each): a screen, not an archive.
EXPIRING_LIMIT = 20


def local_day(zone_name: str, now: datetime | None = None) -> date:
    """The day it is in the bot's zone (``BOT_TIME_ZONE``): a person's "today" for what expires."""
    return (now or datetime.now(UTC)).astimezone(ZoneInfo(zone_name)).date()


def typed_date(raw: str) -> date | None:
    """The date a person typed, or None when it is not one (``contracts.expiry.parse_valid_until``)."""
    try:
        return parse_valid_until(raw)
    except NotADate:
        return None


@dataclass(frozen=True)
class Expiring:
    """The person's documents expiring from ``first`` within ``days`` days, soonest first."""

    first: date
    days: int
    documents: list[DocumentSummary]


class ValidUntil:
    def __init__(self, api: DocumentsApi, recorder: EventRecorder, config: BotConfig) -> None:
        self._api = api
        self._recorder = recorder
        self._config = config

    def today(self) -> date:
        return local_day(self._config.time_zone)

    async def record(self, owner_id: int, document_id: str, day: date | None) -> None:
        """Append the date (None: removed); the broker confirmed it when this returns."""
        await self._recorder.record(
            owner_id, DocumentValidUntilSet(document_id=uuid.UUID(document_id), valid_until=day)
        )

    async def expiring(self, owner_id: int, after_event: str | None) -> Expiring:
        first, days = self.today(), self._config.expiring_within_days
        found = await self._api.expiring(owner_id, first, days, EXPIRING_LIMIT, after_event)
        return Expiring(first, days, found.items)
