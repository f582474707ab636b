"""Range parsing: one range served, others ignored, outside the file refused (RFC 9110 section 14)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.files.ranges import ByteRange, RangeNotSatisfiable, parse_range, unsatisfied_range

SIZE = 1000


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-99", ByteRange(0, 99)),
        ("bytes=100-", ByteRange(100, 999)),
        ("bytes=-100", ByteRange(900, 999)),
        ("bytes=-5000", ByteRange(0, 999)),
        ("bytes=990-5000", ByteRange(990, 999)),
        ("bytes=999-999", ByteRange(999, 999)),
        ("BYTES=0-0", ByteRange(0, 0)),
        (" bytes=1-2 ", ByteRange(1, 2)),
    ],
)
def test_parse_range_returns_the_range_when_one_satisfiable_range_is_asked(header: str, expected: ByteRange) -> None:
    assert parse_range(header, SIZE) == expected


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "bytes=",
        "bytes=-",
        "items=0-10",
        "bytes=0-10,20-30",
        "bytes=a-b",
        "bytes=10-5",
        "bytes=+1-2",
        "bytes = 0-1",
        "bytes=0-1\r\nX: y",
    ],
)
def test_parse_range_returns_none_when_the_header_is_absent_or_not_understood(header: str | None) -> None:
    assert parse_range(header, SIZE) is None


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=5000-6000", "bytes=-0"])
def test_parse_range_raises_not_satisfiable_when_the_range_lies_outside_the_file(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable) as raised:
        parse_range(header, SIZE)
    assert unsatisfied_range(raised.value.size) == "bytes */1000"


def test_byte_range_describes_itself_when_used_in_a_206_answer() -> None:
    assert (ByteRange(10, 19).length, ByteRange(10, 19).content_range(SIZE)) == (10, "bytes 10-19/1000")


@given(header=st.text(max_size=60), size=st.integers(min_value=0, max_value=10**12))
def test_parse_range_returns_a_range_inside_the_file_when_it_returns_one(header: str, size: int) -> None:
    try:
        found = parse_range(header, size)
    except RangeNotSatisfiable:
        return
    if found is not None:
        assert 0 <= found.start <= found.end < size
