"""Dates and times in the person's conventions, in the bot's time zone, with the zone named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.ui.dates import date_text, moment_text, zone_label
from bot.ui.i18n import Language

NOV_1 = datetime(2026, 11, 1, 11, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("language", "zone", "expected"),
    [
        ("ru", "Europe/Moscow", "01.11.2026, 14:05 МСК"),
        ("en", "Europe/Moscow", "1 Nov 2026, 14:05 MSK"),
        ("en", "UTC", "1 Nov 2026, 11:05 UTC"),
        ("ru", "Asia/Dubai", "01.11.2026, 15:05 UTC+04:00"),  # no abbreviation in the database: the offset
        ("en", "Asia/Kolkata", "1 Nov 2026, 16:35 IST"),
        ("en", "America/St_Johns", "1 Nov 2026, 07:35 NST"),  # summer time ended that night
        ("ru", "Pacific/Kiritimati", "02.11.2026, 01:05 UTC+14:00"),  # the next day there
    ],
)
def test_moment_text_follows_the_language_and_names_the_zone_when_shown(
    language: Language, zone: str, expected: str
) -> None:
    assert moment_text(language, NOV_1, zone) == expected


def test_date_text_takes_a_naive_moment_as_utc_when_the_zone_is_elsewhere() -> None:
    assert date_text("ru", datetime(2026, 12, 31, 22, 30), "Europe/Moscow") == "01.01.2027"
    assert date_text("en", datetime(2026, 12, 31, 22, 30), "UTC") == "31 Dec 2026"


@pytest.mark.parametrize(
    ("offset", "label"),
    [
        (timedelta(0), "UTC"),
        (timedelta(hours=-3, minutes=-30), "UTC-03:30"),
        (timedelta(hours=5, minutes=45), "UTC+05:45"),
    ],
)
def test_zone_label_falls_back_to_the_offset_when_the_zone_has_no_name(offset: timedelta, label: str) -> None:
    assert zone_label(NOV_1.astimezone(timezone(offset, name="+x"))) == label


@given(
    st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)),
    st.sampled_from(["Europe/Moscow", "UTC", "America/Los_Angeles", "Asia/Tokyo"]),
)
def test_date_text_agrees_between_languages_when_any_moment_is_shown(moment: datetime, zone: str) -> None:
    day, month, year = map(int, date_text("ru", moment, zone).split("."))
    english = date_text("en", moment, zone)
    assert english.startswith(f"{day} ") and english.endswith(f" {year}")
    assert datetime(year, month, day).strftime("%b") == english.split()[1]
