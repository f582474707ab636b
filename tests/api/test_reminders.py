"""The pure part of the due-reminders route: which dated documents have a reminder due, and the days asked."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from api.core.errors import ApiError
from api.documents.queries import DatedDocument
from api.documents.reminders import due_of, reminder_days
from contracts.api_schemas import DocumentSummary


def _dated(valid_until: date | None, sent: frozenset[int] = frozenset()) -> DatedDocument:
    summary = DocumentSummary(
        document_id="d",
        type_slug="t",
        type_title="T",
        name="N",
        size=1,
        mime_type="application/pdf",
        created_at=datetime(2030, 1, 1, tzinfo=UTC),
        valid_until=valid_until,
    )
    return DatedDocument(1, summary, sent)


def test_due_of_gives_the_week_reminder_when_date_is_a_week_away() -> None:
    due = due_of([_dated(date(2031, 3, 8))], date(2031, 3, 1), (30, 7))

    assert [reminder.days_before for _, reminder in due] == [7]


def test_due_of_gives_nothing_when_that_reminder_was_sent() -> None:
    assert due_of([_dated(date(2031, 3, 8), frozenset({7}))], date(2031, 3, 1), (30, 7)) == []


def test_due_of_gives_nothing_when_document_has_no_date() -> None:
    assert due_of([_dated(None)], date(2031, 3, 1), (30, 7)) == []


def test_reminder_days_reads_the_list_when_well_formed() -> None:
    assert reminder_days("30,7,0") == (30, 7, 0)


def test_reminder_days_refuses_when_a_day_is_over_a_year() -> None:
    with pytest.raises(ApiError):
        reminder_days("367")
