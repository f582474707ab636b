"""A document's "valid until" date: read from what a person types, and the reminders it is due.

Pure (no I/O, no clock): the caller passes ``today``. People write dates the way their documents print them, so
``parse_valid_until`` reads the forms seen on Russian and English papers:

* day, month and year: ``01.03.2031``, ``1.3.2031``, ``01/03/2031`` (day first, as both countries' documents
  print it), ``2031-03-01`` (ISO), ``1 March 2031``, ``March 1, 2031``, ``1 марта 2031``, ``1 марта 2031 г.``;
* month and year only: ``03.2031``, ``March 2031``, ``март 2031``, ``марта 2031``: valid through the **last day**
  of that month (a card "valid until 03/2031" can be used in March).

Two-digit years are refused rather than guessed (``01.03.31``: 1931 or 2031?). A date already past is accepted
(the person may be recording an expired passport); what to say about it is the caller's decision.
"""

from __future__ import annotations

import calendar
import re
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

MIN_YEAR = 1970
MAX_YEAR = 2099  # the envelope's own bound on dates (contracts/events.py)
MAX_INPUT_LENGTH = 40
# Days before the date on which the person is reminded, latest first (issue 12: 30 and 7 days before).
DEFAULT_REMINDER_DAYS = (30, 7)

# Month names as people type them, lower case: English full and short, Russian nominative, genitive and short.
_MONTH_WORDS: dict[str, int] = {}
for _number, _words in enumerate(
    (
        ("january", "jan", "январь", "января", "янв"),
        ("february", "feb", "февраль", "февраля", "фев", "февр"),
        ("march", "mar", "март", "марта", "мар"),
        ("april", "apr", "апрель", "апреля", "апр"),
        ("may", "май", "мая"),
        ("june", "jun", "июнь", "июня", "июн"),
        ("july", "jul", "июль", "июля", "июл"),
        ("august", "aug", "август", "августа", "авг"),
        ("september", "sep", "sept", "сентябрь", "сентября", "сен", "сент"),
        ("october", "oct", "октябрь", "октября", "окт"),
        ("november", "nov", "ноябрь", "ноября", "ноя", "нояб"),
        ("december", "dec", "декабрь", "декабря", "дек"),
    ),
    start=1,
):
    for _word in _words:
        _MONTH_WORDS[_word] = _number

_YEAR = r"(?P<year>[0-9]{4})"
_MONTH_WORD = r"(?P<word>[^\W\d_]+)\.?"
_NUMERIC_DAY = re.compile(rf"^(?P<day>[0-9]{{1,2}})[./-](?P<month>[0-9]{{1,2}})[./-]{_YEAR}$")
_ISO = re.compile(rf"^{_YEAR}-(?P<month>[0-9]{{1,2}})-(?P<day>[0-9]{{1,2}})$")
_NUMERIC_MONTH = re.compile(rf"^(?P<month>[0-9]{{1,2}})[./-]{_YEAR}$")
_DAY_WORD_YEAR = re.compile(rf"^(?P<day>[0-9]{{1,2}})\s+{_MONTH_WORD}\s+{_YEAR}$")
_WORD_DAY_YEAR = re.compile(rf"^{_MONTH_WORD}\s+(?P<day>[0-9]{{1,2}}),?\s+{_YEAR}$")
_WORD_YEAR = re.compile(rf"^{_MONTH_WORD}\s+{_YEAR}$")
# "г." / "года" after a Russian year, and trailing full stops, say nothing about the date.
_YEAR_SUFFIX = re.compile(r"\s*(г\.?|года?)?\.?$")


class NotADate(ValueError):
    """The text is not a date in any form ``parse_valid_until`` reads (the message says why, for logs)."""


def _normalized(text: str) -> str:
    cleaned = " ".join(text.strip().lower().split())
    if not cleaned or len(cleaned) > MAX_INPUT_LENGTH:
        raise NotADate("empty or too long")
    return _YEAR_SUFFIX.sub("", cleaned)


def _month_of(word: str) -> int:
    number = _MONTH_WORDS.get(word)
    if number is None:
        raise NotADate(f"unknown month word ({len(word)} letters)")
    return number


def _checked(year: int, month: int, day: int | None) -> date:
    """The date, or the last day of the month when ``day`` is None; NotADate when it does not exist."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise NotADate(f"year outside {MIN_YEAR}-{MAX_YEAR}")
    if not 1 <= month <= 12:
        raise NotADate("month outside 1-12")
    last = calendar.monthrange(year, month)[1]
    if day is None:
        return date(year, month, last)
    if not 1 <= day <= last:
        raise NotADate("no such day in that month")
    return date(year, month, day)


def parse_valid_until(text: str) -> date:
    """The last day a document is valid, from what a person typed; ``NotADate`` when it is not a date."""
    cleaned = _normalized(text)
    for pattern in (_NUMERIC_DAY, _ISO):
        found = pattern.match(cleaned)
        if found:
            return _checked(int(found["year"]), int(found["month"]), int(found["day"]))
    found = _NUMERIC_MONTH.match(cleaned)
    if found:
        return _checked(int(found["year"]), int(found["month"]), None)
    for pattern in (_DAY_WORD_YEAR, _WORD_DAY_YEAR):
        found = pattern.match(cleaned)
        if found:
            return _checked(int(found["year"]), _month_of(found["word"]), int(found["day"]))
    found = _WORD_YEAR.match(cleaned)
    if found:
        return _checked(int(found["year"]), _month_of(found["word"]), None)
    raise NotADate("no date form matches")


@dataclass(frozen=True)
class Reminder:
    """One reminder of one document: ``days_before`` its date, due from ``due_on``."""

    days_before: int
    due_on: date


def reminders_of(valid_until: date, days_before: tuple[int, ...] = DEFAULT_REMINDER_DAYS) -> list[Reminder]:
    """Every reminder a date has, earliest first."""
    return sorted(
        (Reminder(days, valid_until - timedelta(days=days)) for days in set(days_before)),
        key=lambda reminder: reminder.due_on,
    )


def reminder_due(
    valid_until: date, today: date, already_sent: frozenset[int], days_before: tuple[int, ...] = DEFAULT_REMINDER_DAYS
) -> Reminder | None:
    """The one reminder to send today, if any: the latest one whose day has come, unless it was sent.

    Only the latest: a person who sets a date 5 days ahead gets the 7-day reminder, not the 30-day one as well
    (both would say the same thing), and a bot that was down for a week does not send a stale one. Nothing once
    the date itself has passed. ``already_sent`` holds the ``days_before`` of the reminders sent for this date
    (derived from events, so a reminder is never sent twice)."""
    if today > valid_until:
        return None
    come = [reminder for reminder in reminders_of(valid_until, days_before) if reminder.due_on <= today]
    if not come or come[-1].days_before in already_sent:
        return None
    return come[-1]


# The namespace of reminder event ids (uuid5): fixed forever, or a replayed reminder would get a new id.
REMINDER_NAMESPACE = uuid.UUID("6f1d8f2a-3c4b-5d6e-8f90-a1b2c3d4e5f6")


def reminder_event_id(document_id: uuid.UUID, valid_until: date, days_before: int) -> uuid.UUID:
    """The event id of one reminder of one date of one document: the same on every replica and after a restart,
    so the processor's ledger applies a reminder once however often it is appended."""
    return uuid.uuid5(REMINDER_NAMESPACE, f"{document_id}|{valid_until.isoformat()}|{days_before}")
