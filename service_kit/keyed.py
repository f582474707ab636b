"""What the read models keep instead of a person's text: keyed hashes under their ``lookup`` key, computed the same
way by the processors (when they store a name) and the API (when it looks one up or searches).

A keyed hash tells a database reader only whether two values of one person are equal (docs/privacy.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts.events import KEYED_PATTERN
from contracts.read_models import copies_key
from contracts.text import base_name_key, name_key, search_prefixes
from service_kit.crypto import PersonKeys

# Purposes of PersonKeys.keyed: one per kind of value, so equal texts of two kinds never share a hash.
NAME = "name"
SEARCH = "search"
TYPE = "type"
# The content id a v1 file gets when seal-history replaces its plain sha256 (keyed from the sha256: the bytes are
# not read again, and a v1 document stays a duplicate of exactly what it was before).
V1_CONTENT = "v1-content"


@dataclass(frozen=True)
class NameKeys:
    """The keyed forms of one display name: its key, its key without copy suffix, and its copies key."""

    name_key: str
    base_key: str
    copies_key: str


def name_keys(keys: PersonKeys, name: str) -> NameKeys:
    plain = name_key(name)
    base = keys.keyed(NAME, base_name_key(plain))
    return NameKeys(keys.keyed(NAME, plain), base, copies_key(keys.owner_id, base))


def search_keys(keys: PersonKeys, name: str) -> list[str]:
    """Every indexed word prefix of a name, keyed (what a prefix search matches)."""
    return [keys.keyed(SEARCH, prefix) for prefix in search_prefixes(name_key(name))]


def keyed_terms(keys: PersonKeys, terms: list[str]) -> list[str]:
    """Search terms (already folded like name keys) as the index holds them."""
    return [keys.keyed(SEARCH, term) for term in terms]


def type_key(keys: PersonKeys, slug: str) -> str:
    """The keyed slug of a type. A slug already in keyed form is kept: a v1 event written by a bot that picked an
    existing type echoes the slug the API listed, which is the keyed one (a typed title whose slug is 32 hex
    digits is kept as it is too, and still names one type)."""
    return slug if KEYED_PATTERN.match(slug) else keys.keyed(TYPE, slug)
