"""User-visible text: JSON locale files (ru, en), HTML-escaped interpolation, language choice."""

from __future__ import annotations

import html
import json
from functools import cache
from pathlib import Path
from typing import Literal, cast

Language = Literal["en", "ru"]
LANGUAGES: tuple[Language, ...] = ("en", "ru")
DEFAULT_LANGUAGE: Language = "en"
LOCALES_DIR = Path(__file__).parent.parent / "locales"  # bot/locales: the texts stay where translators find them


@cache
def load_catalog(language: Language) -> dict[str, str]:
    with (LOCALES_DIR / f"{language}.json").open(encoding="utf-8") as file:
        return cast(dict[str, str], json.load(file))


def pick_language(stored: str | None, telegram_code: str | None) -> Language:
    """The person's explicit choice first, then Telegram's interface language, then English."""
    for candidate in (stored, (telegram_code or "").split("-")[0].lower()):
        if candidate in LANGUAGES:
            return candidate
    return DEFAULT_LANGUAGE


class Texts:
    """Texts of one language. ``tr(key, **values)`` is HTML (values escaped); ``tr.plain`` is for buttons/alerts."""

    def __init__(self, language: Language) -> None:
        self.language = language
        self._catalog = load_catalog(language)

    def __call__(self, key: str, **values: object) -> str:
        return self._catalog[key].format(**{name: html.escape(str(value)) for name, value in values.items()})

    def plain(self, key: str, **values: object) -> str:
        return self._catalog[key].format(**values)
