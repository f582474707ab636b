"""Segmented file encryption (service_kit.segments): round trips, ranges, and every tampering refused."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service_kit.crypto import BrokenCiphertext, PersonKeys
from service_kit.segments import (
    HEADER_BYTES,
    SEALED_SEGMENT_BYTES,
    SEGMENT_BYTES,
    CipherRange,
    Header,
    SegmentSealer,
    cipher_range,
    encrypted_size,
    open_segments,
    read_header,
    whole_file,
)

KEYS = PersonKeys(7, bytes(range(32)))


def seal(data: bytes, feed_size: int = 10_000) -> bytes:
    sealer = SegmentSealer(KEYS.file_key)
    out = bytearray()
    for start in range(0, len(data), feed_size):
        out += sealer.feed(data[start : start + feed_size])
    out += sealer.finish()
    return bytes(out)


async def chunks(data: bytes, size: int = 7_000) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def read_all(stored: bytes, size: int, wanted: CipherRange | None = None, keys: PersonKeys = KEYS) -> bytes:
    header = Header.parse(stored[:HEADER_BYTES])
    wanted = wanted or whole_file(size)
    body = stored[wanted.stored_start : wanted.stored_end + 1]
    return b"".join([part async for part in open_segments(keys.file_key, header, chunks(body), wanted, size)])


SIZES = [0, 1, SEGMENT_BYTES - 1, SEGMENT_BYTES, SEGMENT_BYTES + 1, 3 * SEGMENT_BYTES, 3 * SEGMENT_BYTES + 17]


@pytest.mark.parametrize("size", SIZES)
async def test_open_segments_returns_the_file_when_the_whole_object_is_read(size: int) -> None:
    data = bytes(i % 251 for i in range(size))
    stored = seal(data)

    assert len(stored) == encrypted_size(size)
    assert await read_all(stored, size) == data


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 4 * SEGMENT_BYTES), st.data())
async def test_open_segments_returns_exactly_the_range_when_a_range_is_asked(size: int, data: st.DataObject) -> None:
    if size == 0:
        return
    plain = bytes(i % 253 for i in range(size))
    start = data.draw(st.integers(0, size - 1))
    end = data.draw(st.integers(start, size - 1))

    assert await read_all(seal(plain, 50_000), size, cipher_range(start, end, size)) == plain[start : end + 1]


def test_cipher_range_reads_only_the_segments_that_hold_the_range() -> None:
    size = 10 * SEGMENT_BYTES
    wanted = cipher_range(5 * SEGMENT_BYTES + 3, 5 * SEGMENT_BYTES + 9, size)

    assert (wanted.first_segment, wanted.last_segment) == (5, 5)
    assert wanted.stored_end - wanted.stored_start + 1 == SEALED_SEGMENT_BYTES


@pytest.mark.parametrize(("start", "end"), [(-1, 3), (5, 4), (0, 100)])
def test_cipher_range_refuses_when_the_range_is_outside_the_file(start: int, end: int) -> None:
    with pytest.raises(ValueError):
        cipher_range(start, end, 100)


def test_segment_sealer_writes_a_new_object_id_each_time_so_equal_files_never_share_a_key() -> None:
    assert seal(b"same")[:HEADER_BYTES] != seal(b"same")[:HEADER_BYTES]


def test_segment_sealer_output_hides_the_bytes_when_read_back_from_storage() -> None:
    assert b"canary-7f3a" not in seal(b"xx canary-7f3a xx" * 1000)


def flip(stored: bytes, at: int) -> bytes:
    return stored[:at] + bytes([stored[at] ^ 1]) + stored[at + 1 :]


@pytest.mark.parametrize(
    "where",
    [
        HEADER_BYTES,  # first segment
        HEADER_BYTES + SEALED_SEGMENT_BYTES + 5,  # second segment
        -1,  # the last segment's tag
        len(b"DVS1") + 2,  # the object id in the header (authenticated by every segment)
    ],
)
async def test_open_segments_refuses_when_any_stored_byte_is_changed(where: int) -> None:
    size = 2 * SEGMENT_BYTES + 10
    stored = seal(bytes(size))

    with pytest.raises(BrokenCiphertext):
        await read_all(flip(stored, where % len(stored)), size)


async def test_open_segments_refuses_when_the_object_is_cut_at_a_segment_boundary() -> None:
    size = 2 * SEGMENT_BYTES + 10
    stored = seal(bytes(size))
    cut = stored[: HEADER_BYTES + 2 * SEALED_SEGMENT_BYTES]  # the last segment dropped: the second was not "last"

    with pytest.raises(BrokenCiphertext):
        await read_all(cut + b"\0" * (len(stored) - len(cut)), size)
    with pytest.raises(BrokenCiphertext):
        await read_all(cut, size)


async def test_open_segments_refuses_when_two_segments_are_swapped() -> None:
    size = 3 * SEGMENT_BYTES
    stored = seal(bytes(range(256)) * (size // 256))
    first = slice(HEADER_BYTES, HEADER_BYTES + SEALED_SEGMENT_BYTES)
    second = slice(first.stop, first.stop + SEALED_SEGMENT_BYTES)
    swapped = stored[: first.start] + stored[second] + stored[first] + stored[second.stop :]

    with pytest.raises(BrokenCiphertext):
        await read_all(swapped, size)


async def test_open_segments_refuses_when_a_segment_is_moved_from_another_object() -> None:
    size = 2 * SEGMENT_BYTES + 1
    ours, other = seal(bytes(size)), seal(bytes(size))
    spliced = ours[:HEADER_BYTES] + other[HEADER_BYTES:]

    with pytest.raises(BrokenCiphertext):
        await read_all(spliced, size)


async def test_open_segments_refuses_when_read_with_another_persons_key() -> None:
    with pytest.raises(BrokenCiphertext):
        await read_all(seal(b"abc"), 3, keys=PersonKeys(8, bytes(range(32))))


async def test_open_segments_refuses_when_the_object_runs_on_past_its_last_segment() -> None:
    stored = seal(b"abc")

    with pytest.raises(BrokenCiphertext, match="runs on"):
        await read_all(stored + b"extra", 3, CipherRange(0, 0, HEADER_BYTES, len(stored) + 4, 0, 3))


def test_header_parse_refuses_when_the_bytes_are_not_an_encrypted_object() -> None:
    with pytest.raises(BrokenCiphertext):
        Header.parse(b"%PDF-1.7 plain file bytes")


async def test_read_header_splits_the_header_from_the_segments_when_chunks_cut_it() -> None:
    stored = seal(b"hello world")
    header, rest = await read_header(chunks(stored, size=3))

    assert header == Header.parse(stored[:HEADER_BYTES])
    assert b"".join([part async for part in rest]) == stored[HEADER_BYTES:]
