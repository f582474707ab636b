"""Export me: the person's live documents in one zip, which the API builds (it alone opens names and files).

The API says first how many documents there are and at most how large their archive is (``GET /export/summary``);
``delivery`` decides from that alone how the archive reaches the person: as a Telegram document while it fits the
bot's upload limit (``EXPORT_UPLOAD_LIMIT_BYTES``, 50 MB on the cloud Bot API), streamed from the API to Telegram
without being held, else as a signed link (when links are on), else not at all (and the person is told why).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from bot.clients.api_client import DocumentsApi
from bot.settings import BotConfig
from contracts.api_schemas import ExportSummary, SignedLink


class Delivery(Enum):
    NOTHING = "nothing"  # no live document
    DOCUMENT = "document"  # the zip as a Telegram document
    LINK = "link"  # too large for Telegram: a signed link
    TOO_LARGE = "too_large"  # too large for Telegram, and links are off


def delivery(summary: ExportSummary, upload_limit: int, links_enabled: bool) -> Delivery:
    """Pure: how an archive of ``summary`` reaches the person."""
    if summary.documents == 0:
        return Delivery.NOTHING
    if summary.archive_bytes_max <= upload_limit:
        return Delivery.DOCUMENT
    return Delivery.LINK if links_enabled else Delivery.TOO_LARGE


def archive_file_name(now: datetime) -> str:
    return f"docvault-{now:%Y-%m-%d}.zip"


@dataclass(frozen=True)
class ExportPlan:
    delivery: Delivery
    summary: ExportSummary


class Exporter:
    def __init__(self, api: DocumentsApi, config: BotConfig) -> None:
        self._api = api
        self._config = config

    async def plan(self, owner_id: int, after_event: str | None) -> ExportPlan:
        """What the person's export holds now (their last write included) and how it is delivered."""
        summary = await self._api.export_summary(owner_id, after_event=after_event)
        config = self._config
        return ExportPlan(delivery(summary, config.export_upload_limit_bytes, config.links_enabled), summary)

    def archive(self, owner_id: int, after_event: str | None) -> AsyncIterator[bytes]:
        """The zip as it arrives from the API (``ExportLimited`` on the first chunk when an export is under way)."""
        return self._api.export_chunks(owner_id, after_event=after_event)

    async def link(self, owner_id: int) -> SignedLink:
        return await self._api.create_export_link(owner_id)
