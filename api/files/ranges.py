"""``Range`` requests (RFC 9110 section 14) for one representation of known size.

Only a single byte range is served as 206. A header this API does not understand (another unit, bad
syntax, several ranges) is ignored and the whole file is sent, which RFC 9110 allows; a well-formed
range that lies outside the file is a 416.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SINGLE_RANGE = re.compile(r"^bytes=(?P<first>\d{0,19})-(?P<last>\d{0,19})$", re.IGNORECASE)


class RangeNotSatisfiable(ValueError):
    def __init__(self, size: int) -> None:
        super().__init__(f"the requested range is outside the file of {size} bytes")
        self.size = size


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive, as in Content-Range

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The range to serve, ``None`` for the whole file; raises ``RangeNotSatisfiable``."""
    match = _SINGLE_RANGE.match(header.strip()) if header else None
    if match is None:
        return None
    first, last = match["first"], match["last"]
    if not first and not last:
        return None
    if not first:
        return _suffix(int(last), size)
    start = int(first)
    end = size - 1 if not last else min(int(last), size - 1)
    if last and int(last) < start:
        return None  # invalid (last before first): ignored like any other malformed range
    if start >= size:
        raise RangeNotSatisfiable(size)
    return ByteRange(start, end)


def _suffix(length: int, size: int) -> ByteRange:
    """``bytes=-N``: the last N bytes."""
    if length == 0 or size == 0:
        raise RangeNotSatisfiable(size)
    return ByteRange(max(0, size - length), size - 1)


def unsatisfied_range(size: int) -> str:
    """The ``Content-Range`` of a 416 answer."""
    return f"bytes */{size}"
