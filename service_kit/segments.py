"""File bytes encrypted in segments, so that uploads stream with bounded memory and ``Range`` reads decrypt only
the segments they touch.

Why not a library's streaming AEAD: Tink's Python streaming AEAD decrypts only from the start (its decrypting
stream has no seek), so a ``Range`` near the end of a 200 MB file would read and decrypt all of it. This module
keeps the cipher ``cryptography``'s AES-256-GCM and adds only the framing of the STREAM construction (Hoang,
Reyhanitabar, Rogaway, Vizár 2015; the same framing Tink and age use): the nonce of segment *i* is *i* plus a
"last segment" flag, and every segment authenticates the object's header. So segments cannot be reordered,
dropped, truncated at a segment boundary, or moved to another object (docs/adr/0011-crypto-shredding.md).

An object is ``header | segment 0 | segment 1 | ...``; the header is a magic, and a random object id to which
the object's key is bound (``PersonKeys.file_key``); each segment is up to ``SEGMENT_BYTES`` of plaintext and
its 16-byte tag. An empty file is one empty last segment.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from service_kit.crypto import BrokenCiphertext

MAGIC = b"DVS1"
OBJECT_ID_BYTES = 16
HEADER_BYTES = len(MAGIC) + OBJECT_ID_BYTES
SEGMENT_BYTES = 64 * 1024
TAG_BYTES = 16
SEALED_SEGMENT_BYTES = SEGMENT_BYTES + TAG_BYTES

KeyForObject = Callable[[str], bytes]  # object id (hex) -> 32-byte key, e.g. PersonKeys.file_key


def _nonce(index: int, last: bool) -> bytes:
    return index.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def segment_count(size: int) -> int:
    return max(1, -(-size // SEGMENT_BYTES))


def encrypted_size(size: int) -> int:
    """How many bytes an object of ``size`` plaintext bytes takes in S3."""
    return HEADER_BYTES + size + segment_count(size) * TAG_BYTES


@dataclass(frozen=True)
class Header:
    object_id: str

    @classmethod
    def new(cls) -> Header:
        return cls(os.urandom(OBJECT_ID_BYTES).hex())

    @classmethod
    def parse(cls, data: bytes) -> Header:
        if len(data) != HEADER_BYTES or not data.startswith(MAGIC):
            raise BrokenCiphertext("not an encrypted DocVault object")
        return cls(data[len(MAGIC) :].hex())

    def to_bytes(self) -> bytes:
        return MAGIC + bytes.fromhex(self.object_id)


class SegmentSealer:
    """Encrypts a stream: ``feed`` returns the ciphertext ready so far, ``finish`` the rest (the last segment).

    Holds at most one segment of plaintext: the last segment is sealed differently, so a full segment waits
    until more bytes (or the end) show whether it was the last.
    """

    def __init__(self, key_for: KeyForObject) -> None:
        self.header = Header.new()
        self._aead = AESGCM(key_for(self.header.object_id))
        self._aad = self.header.to_bytes()
        self._pending = bytearray()
        self._index = 0
        self._started = False

    def _seal(self, plain: bytes, last: bool) -> bytes:
        sealed = self._aead.encrypt(_nonce(self._index, last), plain, self._aad)
        self._index += 1
        return sealed

    def feed(self, data: bytes) -> bytes:
        out = bytearray()
        if not self._started:
            out += self._aad
            self._started = True
        self._pending += data
        while len(self._pending) > SEGMENT_BYTES:  # strictly more: a full segment may still be the last
            out += self._seal(bytes(self._pending[:SEGMENT_BYTES]), last=False)
            del self._pending[:SEGMENT_BYTES]
        return bytes(out)

    def finish(self) -> bytes:
        head = b"" if self._started else self._aad
        self._started = True
        last = self._seal(bytes(self._pending), last=True)
        self._pending.clear()
        return head + last


@dataclass(frozen=True)
class CipherRange:
    """The stored bytes that hold plaintext bytes ``start``..``end`` (inclusive) of a file of ``size`` bytes."""

    first_segment: int
    last_segment: int
    stored_start: int  # inclusive, in the S3 object
    stored_end: int  # inclusive
    skip: int  # plaintext bytes to drop from the first decrypted segment
    length: int  # plaintext bytes wanted


def cipher_range(start: int, end: int, size: int) -> CipherRange:
    """A ``Range`` (``start`` <= ``end`` < ``size``); ``whole_file`` for all of it (also an empty file)."""
    if not 0 <= start <= end < size:
        raise ValueError("range outside the file")
    first, last = start // SEGMENT_BYTES, end // SEGMENT_BYTES
    stored_start = HEADER_BYTES + first * SEALED_SEGMENT_BYTES
    stored_end = min(HEADER_BYTES + (last + 1) * SEALED_SEGMENT_BYTES, encrypted_size(size)) - 1
    return CipherRange(first, last, stored_start, stored_end, start - first * SEGMENT_BYTES, end - start + 1)


def whole_file(size: int) -> CipherRange:
    return CipherRange(0, segment_count(size) - 1, HEADER_BYTES, encrypted_size(size) - 1, 0, size)


class SegmentOpener:
    """Decrypts the segments of ``wanted`` handed in order, in pieces of any size: ``open`` returns the plaintext
    of the range that the bytes so far complete, ``finish`` checks that nothing is missing or left over.

    Pieces made of whole segments (reads in multiples of ``SEALED_SEGMENT_BYTES`` from a segment boundary) are
    decrypted in place, without copying them first; a piece that ends inside a segment carries that part over.
    A segment that does not authenticate raises ``BrokenCiphertext`` and nothing of its piece is returned."""

    def __init__(self, key_for: KeyForObject, header: Header, wanted: CipherRange, size: int) -> None:
        self._aead = AESGCM(key_for(header.object_id))
        self._aad = header.to_bytes()
        self._object_id = header.object_id
        self._size = size
        self._last_index = segment_count(size) - 1
        self._last_wanted = wanted.last_segment
        self._index, self._skip, self._remaining = wanted.first_segment, wanted.skip, wanted.length
        self._carry = b""

    def _open_one(self, sealed: memoryview, into: memoryview) -> None:
        try:
            self._aead.decrypt_into(_nonce(self._index, self._index == self._last_index), sealed, self._aad, into)
        except InvalidTag:
            raise BrokenCiphertext(f"segment {self._index} of object {self._object_id} does not authenticate") from None

    def open(self, stored: bytes) -> memoryview:
        """The plaintext of the range in the segments ``stored`` completes (with what an earlier piece left over),
        decrypted into one buffer: no bytes object per segment and no joining them after."""
        data = memoryview(self._carry + stored if self._carry else stored)
        lengths = self._complete_lengths(len(data))
        plain = memoryview(bytearray(sum(lengths) - TAG_BYTES * len(lengths)))
        position = written = 0
        for length in lengths:
            self._open_one(data[position : position + length], plain[written : written + length - TAG_BYTES])
            position, written = position + length, written + length - TAG_BYTES
            self._index += 1
        self._carry = bytes(data[position:])
        return self._wanted_part(plain)

    def _complete_lengths(self, available: int) -> list[int]:
        """The stored lengths of the wanted segments that ``available`` bytes (from the next one on) complete."""
        lengths: list[int] = []
        index = self._index
        while index <= self._last_wanted:
            length = _sealed_length(index, self._last_index, self._size)
            if available < length:
                break
            lengths.append(length)
            available -= length
            index += 1
        return lengths

    def _wanted_part(self, plain: memoryview) -> memoryview:
        """``plain`` less what the range leaves out: the start of its first segment, the end of its last."""
        if not plain:  # no segment complete yet: the skip is still to come
            return plain
        if self._skip or len(plain) > self._remaining:
            plain = plain[self._skip : self._skip + self._remaining]
        self._skip, self._remaining = 0, self._remaining - len(plain)
        return plain

    def finish(self) -> None:
        if self._index <= self._last_wanted:
            raise BrokenCiphertext(f"object {self._object_id} ends before segment {self._index}")
        if self._carry and self._last_wanted == self._last_index:
            raise BrokenCiphertext(f"object {self._object_id} runs on past its last segment")


async def open_segments(
    key_for: KeyForObject, header: Header, stored: AsyncIterator[bytes], wanted: CipherRange, size: int
) -> AsyncIterator[memoryview]:
    """Decrypt the segments of ``wanted`` from ``stored`` (the object's bytes from ``stored_start``, past the
    header) and yield the plaintext of the range. Raises ``BrokenCiphertext`` at the first segment that does not
    authenticate, before yielding any of its bytes, and when the object ends early or runs on."""
    opener = SegmentOpener(key_for, header, wanted, size)
    async for chunk in stored:
        plain = opener.open(chunk)
        if plain:
            yield plain
    opener.finish()


def _sealed_length(index: int, last_index: int, size: int) -> int:
    if index < last_index:
        return SEALED_SEGMENT_BYTES
    return size - last_index * SEGMENT_BYTES + TAG_BYTES


async def read_header(stored: AsyncIterator[bytes]) -> tuple[Header, AsyncIterator[bytes]]:
    """The header at the start of a whole object's bytes, and the bytes after it."""
    head = bytearray()
    async for chunk in stored:
        head += chunk
        if len(head) >= HEADER_BYTES:
            break
    header = Header.parse(bytes(head[:HEADER_BYTES]))
    rest = bytes(head[HEADER_BYTES:])

    async def after() -> AsyncIterator[bytes]:
        if rest:
            yield rest
        async for chunk in stored:
            yield chunk

    return header, after()
