"""Locale files: the same keys and placeholders in ru and en; every key the code uses exists."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from bot.ui.commands import COMMANDS
from bot.ui.i18n import LANGUAGES, Texts, load_catalog, pick_language

BOT_DIR = Path(__file__).resolve().parents[3] / "bot"
KEY_LITERAL = re.compile(r'"((?:[a-z]+)\.[a-z_]+)"')
# Keys built at run time: "<prefix>.<reason>" from bot.ui.presentation.check_name.
DYNAMIC_KEYS = {f"{prefix}.{reason}" for prefix in ("name", "type") for reason in ("empty", "too_long")} | {
    f"commands.{name}" for name in COMMANDS
}


def _placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


def _keys_in_code() -> set[str]:
    catalog = load_catalog("en")
    found = set()
    for path in BOT_DIR.rglob("*.py"):
        for literal in KEY_LITERAL.findall(path.read_text(encoding="utf-8")):
            prefix = literal.split(".")[0]
            if any(key.startswith(prefix + ".") for key in catalog):
                found.add(literal)
    return found


def test_locales_have_the_same_keys_when_compared() -> None:
    assert set(load_catalog("en")) == set(load_catalog("ru"))


@pytest.mark.parametrize("key", sorted(load_catalog("en")))
def test_locales_use_the_same_placeholders_when_a_key_is_translated(key: str) -> None:
    assert _placeholders(load_catalog("en")[key]) == _placeholders(load_catalog("ru")[key])


def test_every_key_used_in_code_exists_when_the_bot_package_is_scanned() -> None:
    used = _keys_in_code() | DYNAMIC_KEYS
    missing = used - set(load_catalog("en"))
    assert not missing
    assert len(used) > 50  # the scan really found the keys


def test_every_locale_key_is_used_when_the_bot_package_is_scanned() -> None:
    unused = set(load_catalog("en")) - _keys_in_code() - DYNAMIC_KEYS
    assert not unused


@pytest.mark.parametrize(
    ("stored", "telegram", "expected"),
    [
        (None, "ru", "ru"),
        (None, "ru-RU", "ru"),
        (None, "de", "en"),
        (None, None, "en"),
        ("en", "ru", "en"),
        ("ru", "en", "ru"),
        ("xx", "ru", "ru"),
    ],
)
def test_pick_language_prefers_the_choice_then_telegram_when_both_are_known(
    stored: str | None, telegram: str | None, expected: str
) -> None:
    assert pick_language(stored, telegram) == expected


def test_texts_escape_html_when_values_are_interpolated() -> None:
    tr = Texts("en")
    assert tr("rename.done", name="<b>x</b> & y") == "✅ Renamed to “&lt;b&gt;x&lt;/b&gt; &amp; y”."
    assert tr.plain("search.result_button", name="<b>", type="T") == "<b> · T"


def test_every_language_loads_when_listed() -> None:
    for language in LANGUAGES:
        assert load_catalog(language)["menu.title"]
