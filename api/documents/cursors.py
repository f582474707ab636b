"""Opaque page cursors for the documents of a type.

Documents of a type are ordered by creation: each has a number in its type (``type_seq``, unique), so
"everything after this number" is an exact keyset position: no offsets, no skipped or repeated documents
while paging a stable list. (Names are sealed: they cannot order a page.)

A cursor is base64url JSON ``{"v": 2, "t": <type slug>, "n": <number>}`` (v1 cursors named a name key and
are refused). It is not secret (the
query is scoped to the owner anyway) but it is validated strictly, so a forged or truncated cursor is
a clear 422 instead of a surprising page, and a cursor of another type is refused.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass

CURSOR_VERSION = 2
MAX_CURSOR_LENGTH = 1024
_BASE64URL = re.compile(r"^[A-Za-z0-9_-]+$")
_MAX_NUMBER = 10**12 - 1  # the page key's 12 digits


class InvalidCursor(ValueError):
    """The cursor was not produced by this API for this listing."""


@dataclass(frozen=True)
class PagePosition:
    """Where the next page starts: after the document numbered ``after_seq`` in the list of type ``type_slug``."""

    type_slug: str
    after_seq: int


def encode_cursor(position: PagePosition) -> str:
    raw = json.dumps(
        {"v": CURSOR_VERSION, "t": position.type_slug, "n": position.after_seq},
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _json_object(cursor: str) -> dict[str, object]:
    if not cursor or len(cursor) > MAX_CURSOR_LENGTH or not _BASE64URL.match(cursor):
        raise InvalidCursor("cursor is not a page cursor of this API")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        decoded = json.loads(raw.decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidCursor("cursor is not a page cursor of this API") from None
    if not isinstance(decoded, dict):
        raise InvalidCursor("cursor is not a page cursor of this API")
    return decoded


def decode_cursor(cursor: str, type_slug: str) -> PagePosition:
    """The position a cursor names; raises ``InvalidCursor`` for anything else, or another type's cursor."""
    fields = _json_object(cursor)
    version = fields.get("v")
    if set(fields) != {"v", "t", "n"} or isinstance(version, bool) or version != CURSOR_VERSION:
        raise InvalidCursor("cursor is not a page cursor of this API")
    slug, number = fields["t"], fields["n"]
    if (
        not isinstance(slug, str)
        or not isinstance(number, int)
        or isinstance(number, bool)
        or not 1 <= number <= _MAX_NUMBER
    ):
        raise InvalidCursor("cursor is not a page cursor of this API")
    if slug != type_slug:
        raise InvalidCursor("cursor belongs to another type's listing")
    return PagePosition(slug, number)
