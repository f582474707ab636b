"""How an export reaches the person: decided from the API's summary alone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.services.exporting import Delivery, archive_file_name, delivery
from contracts.api_schemas import ExportSummary

LIMIT = 50 * 1024 * 1024


def _summary(documents: int, archive_bytes_max: int) -> ExportSummary:
    return ExportSummary(documents=documents, bytes=archive_bytes_max // 2, archive_bytes_max=archive_bytes_max)


@pytest.mark.parametrize(
    ("summary", "links", "expected"),
    [
        (_summary(0, 0), True, Delivery.NOTHING),
        (_summary(0, 0), False, Delivery.NOTHING),
        (_summary(3, LIMIT), True, Delivery.DOCUMENT),
        (_summary(3, LIMIT), False, Delivery.DOCUMENT),
        (_summary(3, LIMIT + 1), True, Delivery.LINK),
        (_summary(3, LIMIT + 1), False, Delivery.TOO_LARGE),
    ],
    ids=["empty", "empty, links off", "at the limit", "at the limit, links off", "past it", "past it, links off"],
)
def test_delivery_chooses_how_the_archive_goes_when_given_its_bound_and_whether_links_are_on(
    summary: ExportSummary, links: bool, expected: Delivery
) -> None:
    assert delivery(summary, LIMIT, links) is expected


def test_archive_file_name_carries_the_day_when_made() -> None:
    assert archive_file_name(datetime(2026, 3, 14, 23, 59, tzinfo=UTC)) == "docvault-2026-03-14.zip"
