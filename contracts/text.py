"""Pure text rules shared by every service: how names and file names are cleaned, compared and searched."""

from __future__ import annotations

import re
import unicodedata

MAX_NAME_LENGTH = 128
MAX_TYPE_TITLE_LENGTH = 64
MAX_PREFIX_LENGTH = 24
MAX_FILE_NAME_LENGTH = 256  # what contracts.events.StoredFile.file_name holds

_WHITESPACE = re.compile(r"\s+")
_COPY_SUFFIX = re.compile(r" \((\d+)\)$")
_WORD = re.compile(r"\w+")
_PATH_SEPARATOR = re.compile(r"[/\\]")


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
    if not cleaned or not name_key(cleaned):
        raise InvalidName("empty")
    if len(cleaned) > max_length:
        raise InvalidName("too_long")
    return cleaned


class InvalidFileName(ValueError):
    """Nothing usable is left of a file name once cleaned, or it is too long."""


def _visible_file_name_text(raw: str) -> str:
    """Invisible format characters (bidirectional embeddings, overrides and isolates, zero-width spaces and
    joiners, the byte order mark, soft hyphens: Unicode category Cf) are removed, so that what is stored is
    what a person sees; other control characters (CR, LF, TAB, NUL...) become spaces, keeping words apart."""
    return "".join(_visible_char(ch) for ch in raw)


def _visible_char(ch: str) -> str:
    category = unicodedata.category(ch)
    if category == "Cf":
        return ""
    return " " if category.startswith("C") else ch


def clean_file_name(raw: str) -> str:
    """The file name to store in an event and show: the last path part only (``/`` and ``\\`` both
    separate), no control or invisible format characters, single spaces, at most ``MAX_FILE_NAME_LENGTH``.

    Idempotent: ``clean_file_name(clean_file_name(x)) == clean_file_name(x)``, so a consumer can check that a
    name was cleaned by cleaning it again. Raises ``InvalidFileName`` when nothing usable is left (empty,
    ``.`` or ``..``) or the result is too long."""
    base = _PATH_SEPARATOR.split(raw)[-1]
    cleaned = _WHITESPACE.sub(" ", _visible_file_name_text(base)).strip()
    if cleaned in ("", ".", ".."):
        raise InvalidFileName("the file name is empty once directories and control characters are removed")
    if len(cleaned) > MAX_FILE_NAME_LENGTH:
        raise InvalidFileName(f"the file name is longer than {MAX_FILE_NAME_LENGTH} characters")
    return cleaned


# Letters whose diacritic makes them another letter, not an accented one: "мой" and "мои" differ.
_KEPT_LETTERS = frozenset("йЙ")


def name_key(name: str) -> str:
    """Comparison form of a name: compatibility-folded, case-folded, accents dropped (ё == е, é == e,
    but й stays й), spaces folded. Idempotent: ``name_key(name_key(x)) == name_key(x)``."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold()).casefold()
    letters = (ch if ch in _KEPT_LETTERS else _without_marks(ch) for ch in unicodedata.normalize("NFC", folded))
    return _WHITESPACE.sub(" ", "".join(letters)).strip()


def _without_marks(ch: str) -> str:
    return "".join(part for part in unicodedata.normalize("NFD", ch) if not unicodedata.combining(part))


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


_SLUG_CATEGORIES = frozenset({"Ll", "Lu", "Lo", "Lt", "Lm", "Nd"})


def type_slug(title: str) -> str:
    """Stable identifier of a document type from its title: "Tax  Returns" -> "tax-returns".

    Only letters and decimal digits survive (the set every regex engine agrees is ``\\w``), and the
    slug is cut to ``MAX_TYPE_TITLE_LENGTH``."""
    words = ("".join(ch for ch in token if _is_slug_char(ch)) for token in search_tokens(name_key(title)))
    # Words repeat once the characters between them are gone ("0 _0"): keep each once, as for any title,
    # so that the slug of a slug is the slug itself.
    slug = "-".join(dict.fromkeys(word for word in words if word))[:MAX_TYPE_TITLE_LENGTH].strip("-")
    return slug or "untitled"


def _is_slug_char(ch: str) -> bool:
    return unicodedata.category(ch) in _SLUG_CATEGORIES
