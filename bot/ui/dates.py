"""Dates and times as a person reads them: their language's conventions, the bot's time zone, its name shown.

Two languages and two formats do not need a locale library: Russian writes "01.11.2026, 14:05", English (as in
Britain, day first) "1 Nov 2026, 14:05". Telegram tells a bot nobody's time zone, so times are shown in one zone
(``BOT_TIME_ZONE``) and always with its name ("MSK", or "UTC+04:00" where the zone has no abbreviation), so a
person elsewhere can tell. The API's timestamps are UTC; a naive one is taken as UTC too.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from bot.ui.i18n import Language

# Zone abbreviations as Russian writes them; others are international ("UTC", "CET").
_RU_ZONE_NAMES = {"MSK": "МСК"}
_EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@cache
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local(moment: datetime, zone_name: str) -> datetime:
    """``moment`` in the zone ``zone_name`` (naive moments are UTC)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(zone(zone_name))


def date_text(language: Language, moment: datetime, zone_name: str) -> str:
    """The day of ``moment`` in the zone: "01.11.2026" (ru) or "1 Nov 2026" (en)."""
    return day_text(language, local(moment, zone_name).date())


def zone_label(moment: datetime) -> str:
    """The zone's abbreviation at ``moment`` ("MSK", "CET"), or its offset when it has none ("UTC+04:00")."""
    name = moment.tzname() or ""
    if name.isalpha():
        return name
    offset = moment.utcoffset() or timedelta()
    if not offset:
        return "UTC"
    sign = "+" if offset >= timedelta() else "-"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def moment_text(language: Language, moment: datetime, zone_name: str) -> str:
    """Day and time of ``moment`` in the zone, with the zone's name: "01.11.2026, 14:05 MSK"."""
    at = local(moment, zone_name)
    label = zone_label(at)
    if language == "ru":
        label = _RU_ZONE_NAMES.get(label, label)
    return f"{date_text(language, moment, zone_name)}, {at.hour:02d}:{at.minute:02d} {label}"


def day_text(language: Language, day: date) -> str:
    """A calendar day (a valid-until date, no zone): "01.11.2026" (ru) or "1 Nov 2026" (en)."""
    if language == "ru":
        return f"{day.day:02d}.{day.month:02d}.{day.year}"
    return f"{day.day} {_EN_MONTHS[day.month - 1]} {day.year}"
