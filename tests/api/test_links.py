"""Signed links: genuine tokens verify; tampered, foreign-key, malformed and expired ones do not."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.files.links import (
    ExpiredLink,
    InvalidLink,
    LinkClaims,
    RevokedLink,
    check_generation,
    sign_link,
    verify_link,
)

KEY = b"k" * 32
NOW = 1_800_000_000
CLAIMS = LinkClaims(uuid.UUID("8f5e6a4c-1d2b-4c3a-9e8f-7a6b5c4d3e2f"), 412845671, 3, NOW + 600)


def _with_part(token: str, index: int, value: str) -> str:
    parts = token.split(".")
    parts[index] = value
    return ".".join(parts)


def test_verify_link_returns_the_claims_when_the_token_is_genuine_and_unexpired() -> None:
    assert verify_link(KEY, sign_link(KEY, CLAIMS), NOW) == CLAIMS


@pytest.mark.parametrize(
    ("index", "value"),
    [
        (0, str(uuid.UUID("00000000-0000-4000-8000-000000000001"))),  # re-targeted at another document
        (1, "412845672"),  # another owner
        (2, "4"),  # the document's generation after a rename
        (3, str(NOW + 86400)),  # a later expiry
        (4, "A" * 43),  # a made-up signature
    ],
    ids=["document", "owner", "generation", "expiry", "signature"],
)
def test_verify_link_raises_invalid_link_when_any_part_is_tampered_with(index: int, value: str) -> None:
    tampered = _with_part(sign_link(KEY, CLAIMS), index, value)

    with pytest.raises(InvalidLink):
        verify_link(KEY, tampered, NOW)


def test_verify_link_raises_invalid_link_when_signed_with_another_key() -> None:
    with pytest.raises(InvalidLink):
        verify_link(KEY, sign_link(b"x" * 32, CLAIMS), NOW)


@pytest.mark.parametrize("now", [NOW + 600, NOW + 601, NOW + 10**6])
def test_verify_link_raises_expired_link_when_the_expiry_has_passed(now: int) -> None:
    with pytest.raises(ExpiredLink):
        verify_link(KEY, sign_link(KEY, CLAIMS), now)


def test_verify_link_raises_invalid_link_not_expired_when_a_forged_token_is_also_expired() -> None:
    forged = _with_part(sign_link(KEY, CLAIMS), 4, "B" * 43)

    with pytest.raises(InvalidLink):
        verify_link(KEY, forged, NOW + 10**6)


@pytest.mark.parametrize(
    "malformed",
    [
        "",
        sign_link(KEY, CLAIMS).upper(),
        _with_part(sign_link(KEY, CLAIMS), 1, "0412845671"),
        _with_part(sign_link(KEY, CLAIMS), 2, "03"),
        _with_part(sign_link(KEY, CLAIMS), 2, "-1"),
        sign_link(KEY, CLAIMS).replace(".3.", ".", 1),  # the earlier format, without a generation
        sign_link(KEY, CLAIMS) + ".extra",
        sign_link(KEY, CLAIMS) + "=",
        "../../etc/passwd",
        "a" * 5000,
    ],
)
def test_verify_link_raises_invalid_link_when_the_token_is_malformed(malformed: str) -> None:
    with pytest.raises(InvalidLink):
        verify_link(KEY, malformed, NOW)


@given(st.text(max_size=200))
def test_verify_link_raises_only_link_errors_when_given_any_text(text: str) -> None:
    try:
        verify_link(KEY, text, NOW)
    except (InvalidLink, ExpiredLink):
        pass


def test_check_generation_passes_when_the_document_is_still_at_the_signed_generation() -> None:
    check_generation(CLAIMS, 3)


@pytest.mark.parametrize("current", [4, 2, 0])
def test_check_generation_raises_revoked_link_when_the_document_moved_to_another_generation(current: int) -> None:
    with pytest.raises(RevokedLink):
        check_generation(CLAIMS, current)
