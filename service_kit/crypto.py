"""The cryptography of crypto-shredding, without I/O: master keys, per-person data keys and what derives from them.

Every primitive is ``cryptography``'s (docs/adr/0011-crypto-shredding.md):

* a person's **data key** (32 random bytes) is stored only wrapped: AES-256-GCM under a master key, with the
  owner id as associated data, so a wrapped key cannot be moved to another person;
* from it, HKDF-SHA256 derives one sub-key per purpose, so no key serves two purposes:
  ``fields`` seals what a person typed (AES-SIV, RFC 5297: deterministic, so replaying the stream rebuilds
  byte-equal read models, and nonce-misuse resistant), ``lookup`` makes keyed hashes for names, search words and
  type slugs (HMAC-SHA256, so equal names still collide in unique indexes without being readable),
  ``content`` makes the keyed content hash used for per-person deduplication, and ``files`` is the root of the
  per-object keys of ``service_kit.segments``.

Destroying the data key makes all of it unreadable at once: sealed fields in the stream and the read models,
encrypted file bytes; keyed hashes cannot be reversed or recomputed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

DATA_KEY_BYTES = 32
MASTER_KEY_BYTES = 32
WRAP_NONCE_BYTES = 12
SEALED_PREFIX = "s1."
KEYED_HASH_HEX = 32  # 128 bits: collisions are out of reach for one person's names
KEY_ID_BYTES = 8
KEY_ID = re.compile(r"^[0-9a-f]{16}$")
_MASTER_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class KeyringError(ValueError):
    """The master keyring setting is malformed (the message names what is wrong, never a key)."""


class BrokenCiphertext(ValueError):
    """Ciphertext that does not open under the key it claims: tampered, truncated or another person's."""


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise BrokenCiphertext("not base64url") from None


def new_data_key() -> bytes:
    return os.urandom(DATA_KEY_BYTES)


def new_master_key_entry(key_id: str) -> str:
    """One ``id:base64url`` line of the master keyring (what secrets-init writes and rotation adds)."""
    if not _MASTER_ID.match(key_id):
        raise KeyringError("a master key id is 1-32 letters, digits, _ or -")
    return f"{key_id}:{_b64encode(os.urandom(MASTER_KEY_BYTES))}"


@dataclass(frozen=True)
class WrappedKey:
    """A data key as stored: which master key wrapped it, and nonce + ciphertext + tag."""

    master_id: str
    blob: bytes


def _wrap_context(owner_id: int) -> bytes:
    return b"docvault:data-key:" + str(owner_id).encode()


class MasterKeyring:
    """Master keys by id; the first is current (new data keys and re-wraps use it), the others still unwrap.

    The setting is one ``id:base64url-of-32-bytes`` entry per line (or comma-separated). Rotation: put a new
    entry first, run ``keys rotate`` (every data key re-wrapped under it), then drop the old entry.
    """

    def __init__(self, keys: dict[str, bytes], current_id: str) -> None:
        if current_id not in keys:
            raise KeyringError("the current master key is not in the keyring")
        self._keys = keys
        self.current_id = current_id

    @classmethod
    def parse(cls, text: str) -> MasterKeyring:
        keys: dict[str, bytes] = {}
        order: list[str] = []
        for number, entry in enumerate(part.strip() for part in re.split(r"[,\n]", text)):
            if not entry:
                continue
            key_id, _, encoded = entry.partition(":")
            if not _MASTER_ID.match(key_id) or not encoded:
                raise KeyringError(f"master key entry {number + 1} is not id:base64url")
            try:
                key = _b64decode(encoded)
            except BrokenCiphertext:
                raise KeyringError(f"master key {key_id!r} is not base64url") from None
            if len(key) != MASTER_KEY_BYTES:
                raise KeyringError(f"master key {key_id!r} is {len(key)} bytes, not {MASTER_KEY_BYTES}")
            if key_id in keys:
                raise KeyringError(f"master key id {key_id!r} appears twice")
            keys[key_id] = key
            order.append(key_id)
        if not order:
            raise KeyringError("the master keyring is empty")
        return cls(keys, order[0])

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self._keys)

    def wrap(self, owner_id: int, data_key: bytes) -> WrappedKey:
        nonce = os.urandom(WRAP_NONCE_BYTES)
        sealed = AESGCM(self._keys[self.current_id]).encrypt(nonce, data_key, _wrap_context(owner_id))
        return WrappedKey(self.current_id, nonce + sealed)

    def unwrap(self, owner_id: int, wrapped: WrappedKey) -> bytes:
        key = self._keys.get(wrapped.master_id)
        if key is None:
            raise KeyringError(f"master key {wrapped.master_id!r} is not in the keyring (rotated away too early?)")
        nonce, sealed = wrapped.blob[:WRAP_NONCE_BYTES], wrapped.blob[WRAP_NONCE_BYTES:]
        try:
            return AESGCM(key).decrypt(nonce, sealed, _wrap_context(owner_id))
        except InvalidTag:
            raise BrokenCiphertext(f"the data key of owner {owner_id} does not unwrap") from None


def _derive(data_key: bytes, owner_id: int, purpose: str, length: int) -> bytes:
    info = b"docvault:" + purpose.encode() + b":" + str(owner_id).encode()
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(data_key)


def sealed_key_id(sealed: str) -> str | None:
    """Which data key sealed a value (``s1.<key id>.<ciphertext>``), or None when it is not a sealed value.

    A value whose key id is not the person's current key was sealed under a key destroyed by "forget me": it
    is unreadable by design. A value of the current key that does not open was tampered with."""
    if not sealed.startswith(SEALED_PREFIX):
        return None
    key_id, dot, _ = sealed[len(SEALED_PREFIX) :].partition(".")
    return key_id if dot and KEY_ID.match(key_id) else None


def new_key_id() -> str:
    return os.urandom(KEY_ID_BYTES).hex()


class PersonKeys:
    """Everything one person's data key is used for. Pure: no I/O, safe to share between tasks."""

    def __init__(self, owner_id: int, data_key: bytes, key_id: str = "0" * 2 * KEY_ID_BYTES) -> None:
        if len(data_key) != DATA_KEY_BYTES:
            raise ValueError("a data key is 32 bytes")
        if not KEY_ID.match(key_id):
            raise ValueError("a key id is 16 hex digits")
        self.owner_id = owner_id
        self.key_id = key_id
        self._fields = AESSIV(_derive(data_key, owner_id, "fields", 64))
        self._lookup = _derive(data_key, owner_id, "lookup", 32)
        self._content = _derive(data_key, owner_id, "content", 32)
        self._files = _derive(data_key, owner_id, "files", 32)

    def _context(self, field: str) -> list[bytes]:
        return [b"docvault:field", str(self.owner_id).encode(), self.key_id.encode(), field.encode()]

    def seal(self, field: str, text: str) -> str:
        """``text`` (a name, a type title, a file name) sealed for this person and this field."""
        sealed = self._fields.encrypt(text.encode("utf-8"), self._context(field))
        return f"{SEALED_PREFIX}{self.key_id}.{_b64encode(sealed)}"

    def open(self, field: str, sealed: str) -> str:
        """The text sealed by ``seal`` for the same person and field; ``BrokenCiphertext`` otherwise."""
        if sealed_key_id(sealed) != self.key_id:
            raise BrokenCiphertext("not a value sealed under this key")
        try:
            ciphertext = _b64decode(sealed[len(SEALED_PREFIX) + len(self.key_id) + 1 :])
            plain = self._fields.decrypt(ciphertext, self._context(field))
            return plain.decode("utf-8")
        except (InvalidTag, UnicodeDecodeError):
            raise BrokenCiphertext(f"a sealed {field} of owner {self.owner_id} does not open") from None

    def keyed(self, purpose: str, text: str) -> str:
        """A keyed hash of ``text`` for ``purpose`` ("name", "search", "type"): equal inputs give equal
        outputs for this person only, and the output tells nothing about the input."""
        message = purpose.encode() + b"\0" + text.encode("utf-8")
        return hmac.new(self._lookup, message, hashlib.sha256).hexdigest()[:KEYED_HASH_HEX]

    def content_hasher(self) -> hmac.HMAC:
        """A running keyed hash of file bytes: the person's content id, used for deduplication and object keys."""
        return hmac.new(self._content, b"docvault:content\0", hashlib.sha256)

    def file_key(self, object_id: str) -> bytes:
        """The key of one stored object (``service_kit.segments``), bound to its id."""
        return hmac.new(self._files, b"docvault:object\0" + object_id.encode(), hashlib.sha256).digest()
