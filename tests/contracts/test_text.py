"""Text rules shared by every service: cleaning, comparison keys, copy suffixes, search tokens, type slugs, file
names."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from contracts.events import Slug
from contracts.text import (
    MAX_FILE_NAME_LENGTH,
    MAX_NAME_LENGTH,
    MAX_PREFIX_LENGTH,
    MAX_TYPE_TITLE_LENGTH,
    InvalidFileName,
    InvalidName,
    base_name_key,
    clean_display_name,
    clean_file_name,
    name_key,
    search_prefixes,
    search_tokens,
    type_slug,
    with_copy_suffix,
)
from tests.contracts.strategies import LATIN_CYRILLIC, display_names

_SLUG = TypeAdapter(Slug)


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("  Паспорт   РФ  ", "Паспорт РФ"),
        ("Pass\tport\nscan", "Pass port scan"),
        ("Дого\u0000вор", "Дого вор"),
        ("Полис\u200bОСАГО", "Полис ОСАГО"),
        ("Invoice\u00a0№\u30007", "Invoice № 7"),
        ("\r\nЁлка\x7f", "Ёлка"),
        ("Café Crème", "Café Crème"),
        ("a" * MAX_NAME_LENGTH, "a" * MAX_NAME_LENGTH),
        ("  " + "я" * MAX_NAME_LENGTH + "\t", "я" * MAX_NAME_LENGTH),
    ],
)
def test_clean_display_name_folds_whitespace_and_controls_when_name_usable(raw: str, cleaned: str) -> None:
    assert clean_display_name(raw) == cleaned


@pytest.mark.parametrize(
    ("raw", "max_length", "reason"),
    [
        ("", MAX_NAME_LENGTH, "empty"),
        ("   \t\n", MAX_NAME_LENGTH, "empty"),
        ("\x00\x01\u200b\u200e", MAX_NAME_LENGTH, "empty"),
        ("я" * (MAX_NAME_LENGTH + 1), MAX_NAME_LENGTH, "too_long"),
        ("a " * MAX_NAME_LENGTH, MAX_NAME_LENGTH, "too_long"),
        ("Т" * (MAX_TYPE_TITLE_LENGTH + 1), MAX_TYPE_TITLE_LENGTH, "too_long"),
    ],
)
def test_clean_display_name_raises_invalid_name_when_nothing_usable_or_too_long(
    raw: str, max_length: int, reason: str
) -> None:
    with pytest.raises(InvalidName) as caught:
        clean_display_name(raw, max_length)

    assert caught.value.reason == reason


@settings(max_examples=300, deadline=None)
@given(name=display_names())
def test_clean_display_name_keeps_name_when_already_clean(name: str) -> None:
    assert clean_display_name(name) == name
    assert name == name.strip() and "  " not in name and len(name) <= MAX_NAME_LENGTH
    assert not any(unicodedata.category(ch).startswith("C") for ch in name)
    assert not re.search(r"\s\s|[^\S ]", name)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Ёлка", "елка"),
        ("ЁЖИК", "ежик"),
        ("Crème Brûlée", "creme brulee"),
        ("Cafe\u0301", "CAFÉ"),
        ("Straße", "STRASSE"),
        ("Паспорт  РФ", "паспорт рф"),
        ("Ｐａｓｓｐｏｒｔ", "passport"),
        ("Полис\u00a0ОСАГО", "полис осаго"),
    ],
)
def test_name_key_equal_when_names_differ_only_in_case_accents_or_spacing(first: str, second: str) -> None:
    assert name_key(first) == name_key(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Паспорт", "Pаспорт"),  # Latin P in the second
        ("Паспорт", "Паспорта"),
        ("Полис 1", "Полис 2"),
        ("Passport", "Passport (2)"),
    ],
)
def test_name_key_differs_when_names_differ_in_letters(first: str, second: str) -> None:
    assert name_key(first) != name_key(second)


@settings(max_examples=300, deadline=None)
@given(name=st.text(alphabet=LATIN_CYRILLIC, max_size=40))
def test_name_key_idempotent_when_latin_or_cyrillic(name: str) -> None:
    key = name_key(name)

    assert name_key(key) == key
    assert key == key.casefold()
    assert not any(unicodedata.combining(ch) for ch in key) and "ё" not in key


@pytest.mark.parametrize(
    ("name", "copy_number", "expected"),
    [
        ("Паспорт", 0, "Паспорт"),
        ("Паспорт", 1, "Паспорт"),
        ("Паспорт", 2, "Паспорт (2)"),
        ("Passport (2)", 2, "Passport (2) (2)"),
        ("Passport", 11, "Passport (11)"),
    ],
)
def test_with_copy_suffix_appends_number_when_copy_number_at_least_two(
    name: str, copy_number: int, expected: str
) -> None:
    assert with_copy_suffix(name, copy_number) == expected


@pytest.mark.parametrize(
    ("key", "base"),
    [
        ("passport (2)", "passport"),
        ("паспорт (137)", "паспорт"),
        ("passport (2) (3)", "passport (2)"),
        ("passport(2)", "passport(2)"),
        ("passport (2) copy", "passport (2) copy"),
        ("passport (x)", "passport (x)"),
        ("passport ()", "passport ()"),
        ("passport", "passport"),
    ],
)
def test_base_name_key_strips_one_trailing_copy_suffix_when_present(key: str, base: str) -> None:
    assert base_name_key(key) == base


@settings(max_examples=300, deadline=None)
@given(name=display_names(MAX_NAME_LENGTH - 8), copy_number=st.integers(2, 999))
def test_base_name_key_recovers_name_key_when_copy_suffix_added(name: str, copy_number: int) -> None:
    assume(name_key(name))  # a name of accents only has an empty key (reported); its copies are "(2)"...
    suffixed = with_copy_suffix(name, copy_number)

    assert clean_display_name(suffixed) == suffixed
    assert base_name_key(name_key(suffixed)) == name_key(name)


@pytest.mark.parametrize(
    ("key", "tokens"),
    [
        ("паспорт рф паспорт", ["паспорт", "рф"]),
        ("полис-осаго, 2026/03", ["полис", "осаго", "2026", "03"]),
        ("snake_case word", ["snake_case", "word"]),
        ("  ", []),
        ("!!! ...", []),
    ],
)
def test_search_tokens_lists_words_once_in_order_when_key_given(key: str, tokens: list[str]) -> None:
    assert search_tokens(key) == tokens


@pytest.mark.parametrize(
    ("key", "prefixes"),
    [
        ("рф", ["р", "рф"]),
        ("pas pass", ["p", "pa", "pas", "pass"]),
        ("ab ac", ["a", "ab", "ac"]),
        ("x" * 30, ["x" * n for n in range(1, MAX_PREFIX_LENGTH + 1)]),
        ("", []),
    ],
)
def test_search_prefixes_lists_capped_word_prefixes_once_when_key_given(key: str, prefixes: list[str]) -> None:
    assert search_prefixes(key) == prefixes


@settings(max_examples=300, deadline=None)
@given(name=display_names())
def test_search_prefixes_cover_each_word_start_up_to_cap_when_any_name(name: str) -> None:
    key = name_key(name)
    prefixes = search_prefixes(key)
    tokens = search_tokens(key)

    assert len(prefixes) == len(set(prefixes))
    assert all(1 <= len(prefix) <= MAX_PREFIX_LENGTH for prefix in prefixes)
    assert all(any(token.startswith(prefix) for token in tokens) for prefix in prefixes)
    assert {token[:MAX_PREFIX_LENGTH] for token in tokens} <= set(prefixes)


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Tax  Returns", "tax-returns"),
        ("Паспорта", "паспорта"),
        ("Ёлки и палки!", "елки-и-палки"),
        ("Полис ОСАГО / КАСКО", "полис-осаго-каско"),
        ("Crème brûlée", "creme-brulee"),
        ("!!!", "untitled"),
    ],
)
def test_type_slug_joins_words_of_key_when_title_given(title: str, slug: str) -> None:
    made = type_slug(title)

    assert made == slug
    assert _SLUG.validate_python(made) == made  # what DocumentAdded accepts


@settings(max_examples=300, deadline=None)
@given(title=display_names(MAX_TYPE_TITLE_LENGTH, LATIN_CYRILLIC))
def test_type_slug_is_valid_slug_when_title_latin_or_cyrillic(title: str) -> None:
    slug = type_slug(title)

    assert _SLUG.validate_python(slug) == slug
    assert type_slug(slug.replace("-", " ")) == slug


# Hostile input: anything a person can type, not only the scripts the product is made for.


@settings(max_examples=1000, deadline=None)
@given(raw=st.text(max_size=300))
def test_clean_display_name_returns_clean_text_or_raises_invalid_name_when_given_any_text(raw: str) -> None:
    try:
        cleaned = clean_display_name(raw)
    except InvalidName as error:
        assert error.reason in {"empty", "too_long"}
        return
    assert cleaned == cleaned.strip() and len(cleaned) <= MAX_NAME_LENGTH and name_key(cleaned)
    assert not any(unicodedata.category(ch).startswith("C") for ch in cleaned)
    assert clean_display_name(cleaned) == cleaned


@settings(max_examples=1000, deadline=None)
@given(name=st.text(max_size=100))
def test_name_key_idempotent_when_given_any_text(name: str) -> None:
    key = name_key(name)

    assert name_key(key) == key


@settings(max_examples=1000, deadline=None)
@given(title=st.text(max_size=100))
def test_type_slug_is_a_valid_slug_of_itself_when_given_any_text(title: str) -> None:
    slug = type_slug(title)

    assert _SLUG.validate_python(slug) == slug
    assert type_slug(slug) == slug


def test_type_slug_keeps_each_word_once_when_a_repeat_appears_only_after_cleaning() -> None:
    assert type_slug("0:_0") == type_slug("0") == "0"  # "_0" cleans to "0", the word already there


# File names: the rule for names entering events (the API cleans X-File-Name with it).

BIDI_CONTROLS = [chr(cp) for cp in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]]
ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\ufeff"]


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("scan.pdf", "scan.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\Паспорт.pdf", "Паспорт.pdf"),
        ("a/b\\c/d.pdf", "d.pdf"),
        ("  two\t\tspaces\n.pdf ", "two spaces .pdf"),
        ("nul\x00byte\u202e.pdf", "nul byte.pdf"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),  # shown as "invoiceexe.pdf" with the override kept
        ("\ufeffДоговор\u200b №5.pdf", "Договор №5.pdf"),
        ("x" * MAX_FILE_NAME_LENGTH, "x" * MAX_FILE_NAME_LENGTH),
    ],
)
def test_clean_file_name_keeps_only_the_visible_base_name_when_given_paths_or_controls(raw: str, cleaned: str) -> None:
    assert clean_file_name(raw) == cleaned


@pytest.mark.parametrize("invisible", BIDI_CONTROLS + ZERO_WIDTH, ids=lambda ch: f"U+{ord(ch):04X}")
def test_clean_file_name_removes_the_character_when_it_is_a_bidi_control_or_zero_width(invisible: str) -> None:
    assert clean_file_name(f"{invisible}in{invisible}voice.pdf{invisible}") == "invoice.pdf"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "../",
        "..",
        "dir/.",
        "\r\n",
        "\u200b\u202e\ufeff",
        "..\u200b",
        "a/.\u2066",
        "x" * 257,
        " " + "x" * 256 + "\u200b/" + "y" * 257,
    ],
)
def test_clean_file_name_raises_when_nothing_usable_is_left_or_it_is_too_long(raw: str) -> None:
    with pytest.raises(InvalidFileName):
        clean_file_name(raw)


HOSTILE_FILE_NAME_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(),
        st.sampled_from(
            [*BIDI_CONTROLS, *ZERO_WIDTH, "/", "\\", ".", " ", "\t", "\r", "\n", "\x00", "\u2028", "\u00a0"]
        ),
    ),
    max_size=300,
)


@settings(max_examples=1000, deadline=None)
@given(raw=HOSTILE_FILE_NAME_TEXT)
def test_clean_file_name_returns_a_clean_idempotent_name_or_raises_when_given_any_text(raw: str) -> None:
    try:
        cleaned = clean_file_name(raw)
    except InvalidFileName:
        return
    assert 1 <= len(cleaned) <= MAX_FILE_NAME_LENGTH and cleaned not in (".", "..")
    assert "/" not in cleaned and "\\" not in cleaned
    assert not any(unicodedata.category(ch).startswith("C") for ch in cleaned)  # controls, bidi, zero-width
    assert cleaned == cleaned.strip() and "  " not in cleaned
    assert all(ch == " " or not ch.isspace() for ch in cleaned)
    assert clean_file_name(cleaned) == cleaned


@settings(max_examples=500, deadline=None)
@given(
    directories=st.lists(HOSTILE_FILE_NAME_TEXT, max_size=4),
    separator=st.sampled_from(["/", "\\"]),
    name=HOSTILE_FILE_NAME_TEXT,
)
def test_clean_file_name_ignores_every_directory_when_the_name_has_path_parts(
    directories: list[str], separator: str, name: str
) -> None:
    base = re.split(r"[/\\]", name)[-1]

    def outcome(raw: str) -> str | None:
        try:
            return clean_file_name(raw)
        except InvalidFileName:
            return None

    assert outcome(separator.join([*directories, name])) == outcome(base)
