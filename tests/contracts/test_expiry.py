from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.expiry import (
    MAX_YEAR,
    MIN_YEAR,
    NotADate,
    Reminder,
    parse_valid_until,
    reminder_due,
    reminder_event_id,
    reminders_of,
)

VALID = st.dates(min_value=date(MIN_YEAR, 1, 1), max_value=date(MAX_YEAR, 12, 31))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("01.03.2031", date(2031, 3, 1)),
        ("1.3.2031", date(2031, 3, 1)),
        ("01/03/2031", date(2031, 3, 1)),
        ("01-03-2031", date(2031, 3, 1)),
        ("2031-03-01", date(2031, 3, 1)),
        ("  2031-3-1 ", date(2031, 3, 1)),
        ("1 March 2031", date(2031, 3, 1)),
        ("March 1, 2031", date(2031, 3, 1)),
        ("mar. 1 2031", date(2031, 3, 1)),
        ("1 марта 2031", date(2031, 3, 1)),
        ("1 марта 2031 г.", date(2031, 3, 1)),
        ("1 марта 2031 года", date(2031, 3, 1)),
        ("29.02.2032", date(2032, 2, 29)),
    ],
)
def test_parse_valid_until_reads_the_day_when_typed_in_a_form_documents_print(text: str, expected: date) -> None:
    assert parse_valid_until(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("March 2031", date(2031, 3, 31)),
        ("МАРТ 2031", date(2031, 3, 31)),
        ("марта 2031", date(2031, 3, 31)),
        ("февраль 2032", date(2032, 2, 29)),
        ("02.2031", date(2031, 2, 28)),
        ("11/2030", date(2030, 11, 30)),
        ("сент. 2030 г.", date(2030, 9, 30)),
    ],
)
def test_parse_valid_until_takes_the_last_day_of_the_month_when_only_month_and_year_are_typed(
    text: str, expected: date
) -> None:
    assert parse_valid_until(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "tomorrow",
        "01.03.31",
        "31.02.2031",
        "00.01.2031",
        "01.13.2031",
        "2031-02-30",
        "13 2031",
        "1 Smarch 2031",
        "01.03.1969",
        "01.01.2100",
        "01.03.2031 12:00",
        "1" * 41,
        "01.03.２０３１",
        "2031",
        "-01.03.2031",
        "01..03.2031",
    ],
)
def test_parse_valid_until_refuses_the_text_when_it_is_not_a_date_it_can_be_sure_of(text: str) -> None:
    with pytest.raises(NotADate):
        parse_valid_until(text)


@given(VALID)
def test_parse_valid_until_reads_back_the_date_when_written_as_russian_and_iso_documents_print_it(day: date) -> None:
    assert parse_valid_until(day.strftime("%d.%m.%Y")) == day
    assert parse_valid_until(day.isoformat()) == day


@given(st.text(max_size=60))
def test_parse_valid_until_answers_a_date_or_not_a_date_when_given_any_text(text: str) -> None:
    try:
        parsed = parse_valid_until(text)
    except NotADate:
        return
    assert date(MIN_YEAR, 1, 1) <= parsed <= date(MAX_YEAR, 12, 31)


def test_reminders_of_lists_30_and_7_days_before_earliest_first_when_defaults_apply() -> None:
    assert reminders_of(date(2031, 3, 31)) == [Reminder(30, date(2031, 3, 1)), Reminder(7, date(2031, 3, 24))]


@pytest.mark.parametrize(
    ("today", "sent", "expected"),
    [
        (date(2031, 2, 28), frozenset(), None),  # before the first reminder
        (date(2031, 3, 1), frozenset(), 30),  # the 30-day reminder's day
        (date(2031, 3, 10), frozenset({30}), None),  # sent already, the 7-day one not yet due
        (date(2031, 3, 24), frozenset({30}), 7),  # the 7-day reminder's day
        (date(2031, 3, 24), frozenset(), 7),  # down since before the 30-day one: only the latest
        (date(2031, 3, 25), frozenset({7}), None),  # both done
        (date(2031, 3, 25), frozenset({30, 7}), None),
        (date(2031, 3, 31), frozenset(), 7),  # the last valid day
        (date(2031, 4, 1), frozenset(), None),  # expired: no reminder
    ],
)
def test_reminder_due_names_the_one_reminder_to_send_when_asked_on_a_day(
    today: date, sent: frozenset[int], expected: int | None
) -> None:
    due = reminder_due(date(2031, 3, 31), today, sent)

    assert (due.days_before if due else None) == expected


@given(VALID, st.integers(0, 60))
def test_reminder_due_sends_each_reminder_at_most_once_when_asked_every_day(valid_until: date, start: int) -> None:
    sent: set[int] = set()
    today = valid_until - timedelta(days=start)
    while today <= valid_until + timedelta(days=2):
        due = reminder_due(valid_until, today, frozenset(sent))
        if due is not None:
            assert due.days_before not in sent and due.due_on <= today <= valid_until
            sent.add(due.days_before)
        today += timedelta(days=1)
    # Set 7 days ahead or less: only the 7-day reminder (the 30-day one would say the same thing).
    assert sent == ({30, 7} if start > 7 else {7})


def test_reminder_event_id_is_the_same_when_the_same_reminder_is_named_again() -> None:
    document_id = uuid.UUID("c0a8012e-5b3f-4d7a-8e21-6f4b9d2a7c15")

    first = reminder_event_id(document_id, date(2031, 3, 31), 30)

    assert first == reminder_event_id(document_id, date(2031, 3, 31), 30)
    assert first == uuid.UUID("34a56aad-5ba5-5f63-bbb7-f13fcf4e665b")  # the golden file's: fixed forever
    assert len({first, reminder_event_id(document_id, date(2031, 3, 31), 7)}) == 2
    assert len({first, reminder_event_id(document_id, date(2031, 4, 1), 30)}) == 2
