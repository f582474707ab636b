"""Page cursors: what the API hands out decodes back; anything else is refused with InvalidCursor."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.documents.cursors import InvalidCursor, PagePosition, decode_cursor, encode_cursor


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _cursor(fields: object) -> str:
    return _b64(json.dumps(fields).encode())


@given(slug=st.from_regex(r"^[\w-]{1,64}$", fullmatch=True), number=st.integers(1, 10**12 - 1))
def test_decode_cursor_returns_the_position_when_the_cursor_was_encoded_by_the_api(slug: str, number: int) -> None:
    position = PagePosition(slug, number)

    assert decode_cursor(encode_cursor(position), slug) == position


@pytest.mark.parametrize(
    "forged",
    [
        "",
        "not base64!",
        "=" * 8,
        _b64(b"\xff\xfe not utf-8"),
        _b64(b"not json"),
        _cursor(["v", 1]),
        _cursor({"v": 2, "t": "passport"}),
        _cursor({"v": 2, "t": "passport", "n": 3, "extra": 1}),
        _cursor({"v": 1, "t": "passport", "k": "a"}),
        _cursor({"v": 1, "t": "passport", "n": 3}),
        _cursor({"v": True, "t": "passport", "n": 3}),
        _cursor({"v": 2, "t": "passport", "n": 0}),
        _cursor({"v": 2, "t": "passport", "n": "3"}),
        _cursor({"v": 2, "t": "passport", "n": True}),
        _cursor({"v": 2, "t": "passport", "n": 3.5}),
        _cursor({"v": 2, "t": "passport", "n": 10**12}),
        "A" * 2000,
    ],
)
def test_decode_cursor_raises_invalid_cursor_when_the_cursor_is_forged(forged: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(forged, "passport")


def test_decode_cursor_raises_invalid_cursor_when_the_cursor_belongs_to_another_type() -> None:
    cursor = encode_cursor(PagePosition("receipts", 7))

    with pytest.raises(InvalidCursor, match="another type"):
        decode_cursor(cursor, "passport")


@given(st.text(max_size=300))
def test_decode_cursor_raises_nothing_but_invalid_cursor_when_given_any_text(text: str) -> None:
    try:
        decode_cursor(text, "passport")
    except InvalidCursor:
        pass
