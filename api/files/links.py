"""Short-lived signed links to one document's file, for browsers that have no service token.

A token is ``<document_id>.<owner_id>.<link_generation>.<expires_unix>.<signature>``: the claims in the
clear (they are not secret) and an HMAC-SHA256 over them, keyed with ``LINK_SIGNING_KEY`` and
domain-separated so the key can never be used to sign anything else. Changing any claim (another
document, another owner, another generation, a later expiry) invalidates the signature; the API still
checks that the document belongs to the owner the token names, and that its ``link_generation`` is still
the one signed: renaming, deleting or forgetting a document bumps it, so every link to it stops working
(``revoked``) even before it expires. Tokens of the earlier format (no generation) are not genuine any more.

An export link (``<owner_id>.<expires_unix>.<signature>``, under ``SIGNED_EXPORT_PATH``) names a person's whole
archive; it is signed under its own domain, so neither kind of token can ever pass for the other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid
from dataclasses import dataclass

from contracts.api_schemas import API_PREFIX

_DOMAIN = b"docvault-signed-link-v2\n"
_EXPORT_DOMAIN = b"docvault-signed-export-v1\n"
_TOKEN = re.compile(
    r"^(?P<doc>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
    r"\.(?P<owner>[1-9][0-9]{0,18})\.(?P<gen>0|[1-9][0-9]{0,9})\.(?P<exp>[1-9][0-9]{0,11})"
    r"\.(?P<sig>[A-Za-z0-9_-]{43})$"
)
_EXPORT_TOKEN = re.compile(r"^(?P<owner>[1-9][0-9]{0,18})\.(?P<exp>[1-9][0-9]{0,11})\.(?P<sig>[A-Za-z0-9_-]{43})$")
MAX_TOKEN_LENGTH = 128
SIGNED_PATH = f"{API_PREFIX}/files/signed/"  # what nginx exposes to browsers
SIGNED_EXPORT_PATH = f"{SIGNED_PATH}export/"
# Every answer to a link (the file or an error): kept by no cache, the link never sent on as a Referer, and the
# file, should a browser render it, sandboxed with nothing allowed (no script, no request, no form, no frame).
LINK_RESPONSE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "sandbox; default-src 'none'",
}


class InvalidLink(ValueError):
    """Not a token this API signed (malformed, tampered, or signed with another key)."""


class ExpiredLink(ValueError):
    """A genuine token whose time is up."""


class RevokedLink(ValueError):
    """A genuine token for a document renamed, deleted or forgotten since (its link generation moved on)."""


@dataclass(frozen=True)
class LinkClaims:
    document_id: uuid.UUID
    owner_id: int
    link_generation: int  # DocumentView.link_generation when the link was made
    expires_at: int  # unix seconds


def _claims_text(claims: LinkClaims) -> str:
    return f"{claims.document_id}.{claims.owner_id}.{claims.link_generation}.{claims.expires_at}"


@dataclass(frozen=True)
class ExportClaims:
    owner_id: int
    expires_at: int  # unix seconds


def _signature(key: bytes, claims_text: str, domain: bytes = _DOMAIN) -> str:
    digest = hmac.new(key, domain + claims_text.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def sign_link(key: bytes, claims: LinkClaims) -> str:
    text = _claims_text(claims)
    return f"{text}.{_signature(key, text)}"


def verify_link(key: bytes, token: str, now: float) -> LinkClaims:
    """The claims of a genuine, unexpired token. The signature is checked (in constant time) before the
    expiry, so only genuine tokens are ever reported as expired."""
    match = _TOKEN.fullmatch(token) if len(token) <= MAX_TOKEN_LENGTH else None
    if match is None:
        raise InvalidLink("not a signed link")
    claims = LinkClaims(uuid.UUID(match["doc"]), int(match["owner"]), int(match["gen"]), int(match["exp"]))
    _check(_signature(key, _claims_text(claims)), match["sig"], claims.expires_at, now)
    return claims


def _check(expected: str, signature: str, expires_at: int, now: float) -> None:
    if not hmac.compare_digest(expected, signature):
        raise InvalidLink("not a signed link")
    if now >= expires_at:
        raise ExpiredLink("the link has expired")


def sign_export_link(key: bytes, claims: ExportClaims) -> str:
    text = f"{claims.owner_id}.{claims.expires_at}"
    return f"{text}.{_signature(key, text, _EXPORT_DOMAIN)}"


def verify_export_link(key: bytes, token: str, now: float) -> ExportClaims:
    """The claims of a genuine, unexpired export token (signature checked first, in constant time)."""
    match = _EXPORT_TOKEN.fullmatch(token) if len(token) <= MAX_TOKEN_LENGTH else None
    if match is None:
        raise InvalidLink("not a signed link")
    claims = ExportClaims(int(match["owner"]), int(match["exp"]))
    _check(
        _signature(key, f"{claims.owner_id}.{claims.expires_at}", _EXPORT_DOMAIN), match["sig"], claims.expires_at, now
    )
    return claims


def check_generation(claims: LinkClaims, current: int) -> None:
    """Raise ``RevokedLink`` unless the document is still at the generation the link was signed for."""
    if claims.link_generation != current:
        raise RevokedLink("the document changed since the link was made")
