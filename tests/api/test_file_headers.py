"""File names, media types and Content-Disposition: safe in a header whatever the stored text."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.files.headers import (
    DEFAULT_MEDIA_TYPE,
    InvalidMediaType,
    content_disposition,
    decode_file_name_header,
    download_file_name,
    is_inline,
    response_media_type,
    upload_media_type,
)
from contracts.text import InvalidFileName


@pytest.mark.parametrize(
    ("name", "inline", "expected"),
    [
        ("scan.pdf", True, "inline; filename=\"scan.pdf\"; filename*=UTF-8''scan.pdf"),
        (
            "Паспорт.pdf",
            False,
            "attachment; filename=\"_______.pdf\"; filename*=UTF-8''%D0%9F%D0%B0%D1%81%D0%BF%D0%BE%D1%80%D1%82.pdf",
        ),
        (
            'my "best" scan.pdf',
            False,
            "attachment; filename=\"my _best_ scan.pdf\"; filename*=UTF-8''my%20%22best%22%20scan.pdf",
        ),
        ("Café.pdf", False, "attachment; filename=\"Cafe.pdf\"; filename*=UTF-8''Caf%C3%A9.pdf"),
        ("a;b\\c%.pdf", False, "attachment; filename=\"a_b_c_.pdf\"; filename*=UTF-8''a%3Bb%5Cc%25.pdf"),
    ],
)
def test_content_disposition_encodes_rfc5987_with_ascii_fallback_when_given_any_name(
    name: str, inline: bool, expected: str
) -> None:
    assert content_disposition(name, inline) == expected


def test_content_disposition_drops_line_breaks_when_the_name_holds_cr_lf() -> None:
    header = content_disposition("evil\r\nSet-Cookie: a=b.pdf", inline=False)

    assert "\r" not in header and "\n" not in header
    assert "filename*=UTF-8''evil%20%20Set-Cookie%3A%20a%3Db.pdf" in header


@given(st.text(max_size=300))
def test_content_disposition_is_printable_ascii_when_given_any_text(name: str) -> None:
    header = content_disposition(name, inline=False)

    assert all(0x20 <= ord(ch) < 0x7F for ch in header)
    assert header.count('"') == 2


def test_decode_file_name_header_returns_unicode_when_percent_encoded_utf8() -> None:
    assert decode_file_name_header(quote("Договор №5.pdf")) == "Договор №5.pdf"


def test_decode_file_name_header_raises_when_the_bytes_are_not_utf8() -> None:
    with pytest.raises(InvalidFileName):
        decode_file_name_header("%FF%FE.pdf")


@pytest.mark.parametrize(
    ("content_type", "stored"),
    [
        (None, DEFAULT_MEDIA_TYPE),
        ("", DEFAULT_MEDIA_TYPE),
        ("Application/PDF", "application/pdf"),
        ("text/plain; charset=utf-8", "text/plain"),
        ("image/svg+xml", "image/svg+xml"),
    ],
)
def test_upload_media_type_returns_the_lowercase_essence_when_well_formed(
    content_type: str | None, stored: str
) -> None:
    assert upload_media_type(content_type) == stored


@pytest.mark.parametrize("content_type", ["pdf", "text/", "/plain", "text/plain/x", "a b/c", "текст/plain"])
def test_upload_media_type_raises_when_not_a_media_type(content_type: str) -> None:
    with pytest.raises(InvalidMediaType):
        upload_media_type(content_type)


def test_response_media_type_falls_back_when_the_stored_type_is_malformed() -> None:
    assert response_media_type("text/html\r\nX-Evil: 1") == DEFAULT_MEDIA_TYPE


@pytest.mark.parametrize(
    ("media_type", "inline"),
    [("application/pdf", True), ("text/html", False), ("image/svg+xml", False), ("image/jpeg", True)],
)
def test_is_inline_only_allows_passive_types_when_shown_in_a_browser(media_type: str, inline: bool) -> None:
    assert is_inline(media_type) is inline


@pytest.mark.parametrize(
    ("file_name", "document_name", "expected"),
    [
        ("scan.pdf", "Passport", "scan.pdf"),
        (None, "Passport", "Passport.pdf"),
        ("/", "Passport", "Passport.pdf"),
        (None, "\n", "document.pdf"),
    ],
)
def test_download_file_name_prefers_the_original_name_when_it_is_usable(
    file_name: str | None, document_name: str, expected: str
) -> None:
    assert download_file_name(file_name, document_name, "application/pdf") == expected
