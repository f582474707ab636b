"""Master keyring, data-key wrapping and the per-person derived keys (service_kit.crypto)."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service_kit.crypto import (
    BrokenCiphertext,
    KeyringError,
    MasterKeyring,
    PersonKeys,
    WrappedKey,
    new_data_key,
    new_master_key_entry,
    sealed_key_id,
)

OWNER = 4242


def _keys(owner_id: int = OWNER) -> PersonKeys:
    return PersonKeys(owner_id, bytes(range(32)))


def test_master_keyring_parse_takes_the_first_entry_as_current_when_several_are_given() -> None:
    keyring = MasterKeyring.parse(f"{new_master_key_entry('k2')}\n{new_master_key_entry('k1')}\n")

    assert keyring.current_id == "k2"
    assert keyring.ids == ("k2", "k1")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty"),
        ("k1", "not id:base64url"),
        ("k1:AAAA", "bytes, not 32"),
        ("bad id!:AAAA", "not id:base64url"),
        ("k1:***", "not base64url"),
    ],
)
def test_master_keyring_parse_names_the_problem_when_the_setting_is_malformed(text: str, problem: str) -> None:
    with pytest.raises(KeyringError, match=problem):
        MasterKeyring.parse(text)


def test_master_keyring_parse_refuses_an_id_given_twice() -> None:
    entry = new_master_key_entry("k1")
    with pytest.raises(KeyringError, match="twice"):
        MasterKeyring.parse(f"{entry},{entry}")


def test_master_keyring_error_never_contains_the_key_when_it_has_the_wrong_length() -> None:
    with pytest.raises(KeyringError) as raised:
        MasterKeyring.parse("k1:c2VjcmV0LXNlY3JldA")
    assert "c2VjcmV0" not in str(raised.value)


def test_master_keyring_unwrap_returns_the_data_key_when_wrapped_for_the_same_owner() -> None:
    keyring = MasterKeyring.parse(new_master_key_entry("k1"))
    data_key = new_data_key()

    assert keyring.unwrap(OWNER, keyring.wrap(OWNER, data_key)) == data_key


def test_master_keyring_unwrap_refuses_when_a_wrapped_key_is_moved_to_another_owner() -> None:
    keyring = MasterKeyring.parse(new_master_key_entry("k1"))
    wrapped = keyring.wrap(OWNER, new_data_key())

    with pytest.raises(BrokenCiphertext):
        keyring.unwrap(OWNER + 1, wrapped)


def test_master_keyring_unwrap_refuses_when_the_wrapped_key_is_tampered() -> None:
    keyring = MasterKeyring.parse(new_master_key_entry("k1"))
    wrapped = keyring.wrap(OWNER, new_data_key())
    flipped = bytes([wrapped.blob[0] ^ 1]) + wrapped.blob[1:]

    with pytest.raises(BrokenCiphertext):
        keyring.unwrap(OWNER, WrappedKey(wrapped.master_id, flipped))


def test_master_keyring_unwraps_keys_of_an_older_master_after_a_new_one_is_put_first() -> None:
    old = new_master_key_entry("old")
    wrapped = MasterKeyring.parse(old).wrap(OWNER, b"k" * 32)
    rotated = MasterKeyring.parse(f"{new_master_key_entry('new')}\n{old}")

    assert rotated.unwrap(OWNER, wrapped) == b"k" * 32
    assert rotated.wrap(OWNER, b"k" * 32).master_id == "new"


def test_master_keyring_unwrap_says_the_key_is_missing_when_its_master_was_dropped() -> None:
    wrapped = MasterKeyring.parse(new_master_key_entry("old")).wrap(OWNER, new_data_key())

    with pytest.raises(KeyringError, match="'old' is not in the keyring"):
        MasterKeyring.parse(new_master_key_entry("new")).unwrap(OWNER, wrapped)


@given(st.text(max_size=300))
def test_person_keys_open_returns_the_text_when_sealed_for_the_same_field(text: str) -> None:
    keys = _keys()
    assert keys.open("name", keys.seal("name", text)) == text


def test_person_keys_seal_is_deterministic_so_replays_rebuild_equal_read_models() -> None:
    assert _keys().seal("name", "Passport") == _keys().seal("name", "Passport")


def test_person_keys_seal_hides_the_text_when_it_is_read_as_bytes() -> None:
    sealed = _keys().seal("name", "Паспорт canary-7f3a")

    assert "canary" not in sealed and "Паспорт" not in sealed


@pytest.mark.parametrize(
    "other",
    [
        PersonKeys(OWNER + 1, bytes(range(32))),  # another person (same key bytes: the owner id binds too)
        PersonKeys(OWNER, bytes(range(1, 33))),  # another key
    ],
)
def test_person_keys_open_refuses_when_the_value_was_sealed_for_someone_else(other: PersonKeys) -> None:
    with pytest.raises(BrokenCiphertext):
        other.open("name", _keys().seal("name", "Passport"))


def test_person_keys_open_refuses_when_a_value_is_moved_to_another_field() -> None:
    keys = _keys()
    with pytest.raises(BrokenCiphertext):
        keys.open("file_name", keys.seal("name", "Passport"))


@pytest.mark.parametrize("sealed", ["", "plain text", "s1.", "s1.!!!", "s1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"])
def test_person_keys_open_refuses_when_the_value_is_malformed(sealed: str) -> None:
    with pytest.raises(BrokenCiphertext):
        _keys().open("name", sealed)


def test_person_keys_open_refuses_when_one_character_of_the_ciphertext_is_changed() -> None:
    sealed = _keys().seal("name", "Passport")
    changed = sealed[:-1] + ("A" if sealed[-1] != "A" else "B")

    with pytest.raises(BrokenCiphertext):
        _keys().open("name", changed)


def test_person_keys_keyed_is_equal_for_equal_inputs_and_differs_by_purpose_and_person() -> None:
    keys = _keys()

    assert keys.keyed("name", "passport") == _keys().keyed("name", "passport")
    assert keys.keyed("name", "passport") != keys.keyed("search", "passport")
    assert keys.keyed("name", "passport") != _keys(OWNER + 1).keyed("name", "passport")
    assert len(keys.keyed("name", "passport")) == 32


def test_person_keys_content_hasher_differs_from_a_plain_sha256_and_between_people() -> None:
    ours, theirs = _keys().content_hasher(), _keys(OWNER + 1).content_hasher()
    ours.update(b"bytes")
    theirs.update(b"bytes")

    assert ours.hexdigest() != theirs.hexdigest()
    assert ours.hexdigest() != hashlib.sha256(b"bytes").hexdigest()


def test_person_keys_file_key_is_bound_to_the_object_id() -> None:
    keys = _keys()

    assert keys.file_key("a" * 32) == keys.file_key("a" * 32)
    assert keys.file_key("a" * 32) != keys.file_key("b" * 32)
    assert len(keys.file_key("a" * 32)) == 32


def test_person_keys_refuses_a_data_key_of_the_wrong_length() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        PersonKeys(OWNER, b"short")


def test_sealed_key_id_names_the_key_when_the_value_is_sealed_and_none_otherwise() -> None:
    keys = PersonKeys(OWNER, bytes(range(32)), "0123456789abcdef")

    assert sealed_key_id(keys.seal("name", "x")) == "0123456789abcdef"
    assert sealed_key_id("Passport") is None
    assert sealed_key_id("s1.nothex.AAAA") is None


def test_person_keys_open_refuses_a_value_sealed_under_an_earlier_key_of_the_same_person() -> None:
    before = PersonKeys(OWNER, bytes(range(32)), "0" * 16)
    after = PersonKeys(OWNER, bytes(range(32)), "1" * 16)  # same bytes on purpose: the key id binds too

    with pytest.raises(BrokenCiphertext):
        after.open("name", before.seal("name", "x"))
