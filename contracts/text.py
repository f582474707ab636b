"""Pure text rules shared by every service: how names are cleaned, compared and searched."""

from __future__ import annotations

import re
import unicodedata

MAX_NAME_LENGTH = 128
MAX_TYPE_TITLE_LENGTH = 64
MAX_PREFIX_LENGTH = 24

_WHITESPACE = re.compile(r"\s+")
_COPY_SUFFIX = re.compile(r" \((\d+)\)$")
_WORD = re.compile(r"\w+")


class InvalidName(ValueError):
    """A name a person typed cannot be stored; ``reason`` is a stable machine code."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def clean_display_name(raw: str, max_length: int = MAX_NAME_LENGTH) -> str:
    """Return the name as it will be shown: single spaces, no control characters.

    Raises ``InvalidName`` ("empty", "too_long") when nothing usable is left or it is too long.
    """
    visible = "".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in raw)
    cleaned = _WHITESPACE.sub(" ", visible).strip()
    if not cleaned:
        raise InvalidName("empty")
    if len(cleaned) > max_length:
        raise InvalidName("too_long")
    return cleaned


def name_key(name: str) -> str:
    """Comparison form of a name: case-folded, accents dropped (ё == е), spaces folded."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    without_marks = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _WHITESPACE.sub(" ", without_marks).strip()


def base_name_key(key: str) -> str:
    """The key without a copy suffix: "passport (2)" -> "passport"."""
    return _COPY_SUFFIX.sub("", key)


def with_copy_suffix(name: str, copy_number: int) -> str:
    """The display name a conflicting copy gets: "Passport" -> "Passport (2)"."""
    return name if copy_number < 2 else f"{name} ({copy_number})"


def search_tokens(key: str) -> list[str]:
    """Words of a name key, in order, without repeats."""
    return list(dict.fromkeys(_WORD.findall(key)))


def search_prefixes(key: str) -> list[str]:
    """Every prefix of every word (up to ``MAX_PREFIX_LENGTH``): what a prefix search can match."""
    prefixes: dict[str, None] = {}
    for token in search_tokens(key):
        for end in range(1, min(len(token), MAX_PREFIX_LENGTH) + 1):
            prefixes[token[:end]] = None
    return list(prefixes)


def type_slug(title: str) -> str:
    """Stable identifier of a document type from its title: "Tax  Returns" -> "tax-returns"."""
    return "-".join(search_tokens(name_key(title))) or "untitled"
