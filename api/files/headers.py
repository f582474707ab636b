"""Pure rules for the headers of file transfers: names, media types and ``Content-Disposition``.

Everything that ends up in a response header passes through here, so a hostile file name or media
type (quotes, CR/LF, non-Latin-1 characters) can never split or break a header. The rule for the file
names themselves is shared with the events: ``contracts.text.clean_file_name``.
"""

from __future__ import annotations

import mimetypes
import re
import unicodedata
from urllib.parse import quote, unquote

from contracts.text import MAX_FILE_NAME_LENGTH, InvalidFileName, clean_file_name

DEFAULT_MEDIA_TYPE = "application/octet-stream"
# RFC 6838 type/subtype names (lower-cased); parameters such as charset are dropped.
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,62}/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}$")
# Shown inline in a browser; anything else (HTML, SVG, scripts...) is forced to download.
INLINE_MEDIA_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp", "text/plain"})
_FALLBACK_UNSAFE = re.compile(r'[^\x20-\x7e]|["\\%;]')


class InvalidMediaType(ValueError):
    pass


def _without_controls(text: str) -> str:
    """Control and format characters (CR, LF, NUL, bidi overrides...) become spaces: a header can hold none."""
    return "".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in text)


def decode_file_name_header(value: str) -> str:
    """``X-File-Name`` carries the name percent-encoded as UTF-8 (HTTP headers are Latin-1 only)."""
    try:
        decoded = unquote(value, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise InvalidFileName("X-File-Name must be percent-encoded UTF-8") from None
    return clean_file_name(decoded)


def upload_media_type(content_type: str | None) -> str:
    """The media type to store for an upload: ``type/subtype`` of ``Content-Type``, lower-cased."""
    if content_type is None or not content_type.strip():
        return DEFAULT_MEDIA_TYPE
    essence = content_type.split(";", 1)[0].strip().lower()
    if not _MEDIA_TYPE.match(essence):
        raise InvalidMediaType("Content-Type must be a media type like application/pdf")
    return essence


def response_media_type(stored: str) -> str:
    """The stored media type if it is well-formed, else a neutral one (the read model is not trusted)."""
    try:
        return upload_media_type(stored)
    except InvalidMediaType:
        return DEFAULT_MEDIA_TYPE


def is_inline(media_type: str) -> bool:
    return media_type in INLINE_MEDIA_TYPES


def download_file_name(file_name: str | None, document_name: str, media_type: str) -> str:
    """The original file name when known, else the document's name with an extension for its type."""
    if file_name:
        try:
            return clean_file_name(file_name)
        except InvalidFileName:
            pass
    extension = mimetypes.guess_extension(media_type, strict=False) or ""
    try:
        stem = clean_file_name(document_name)
    except InvalidFileName:
        stem = "document"
    return stem[: MAX_FILE_NAME_LENGTH - len(extension)] + extension


def content_disposition(file_name: str, inline: bool) -> str:
    """RFC 6266 with an RFC 5987 ``filename*`` for any Unicode name and a plain ASCII fallback."""
    name = _without_controls(file_name)
    unaccented = "".join(ch for ch in unicodedata.normalize("NFKD", name) if not unicodedata.combining(ch))
    fallback = _FALLBACK_UNSAFE.sub("_", unaccented) or "document"
    encoded = quote(name, safe="!#$&+-.^_`|~")
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
