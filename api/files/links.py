"""Short-lived signed links to one document's file, for browsers that have no service token.

A token is ``<document_id>.<owner_id>.<expires_unix>.<signature>``: the claims in the clear (they are
not secret) and an HMAC-SHA256 over them, keyed with ``LINK_SIGNING_KEY`` and domain-separated so the
key can never be used to sign anything else. Changing any claim (another document, another owner, a
later expiry) invalidates the signature; the API still checks that the document belongs to the owner
the token names.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid
from dataclasses import dataclass

_DOMAIN = b"docvault-signed-link-v1\n"
_TOKEN = re.compile(
    r"^(?P<doc>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
    r"\.(?P<owner>[1-9][0-9]{0,18})\.(?P<exp>[1-9][0-9]{0,11})\.(?P<sig>[A-Za-z0-9_-]{43})$"
)
MAX_TOKEN_LENGTH = 128


class InvalidLink(ValueError):
    """Not a token this API signed (malformed, tampered, or signed with another key)."""


class ExpiredLink(ValueError):
    """A genuine token whose time is up."""


@dataclass(frozen=True)
class LinkClaims:
    document_id: uuid.UUID
    owner_id: int
    expires_at: int  # unix seconds


def _claims_text(claims: LinkClaims) -> str:
    return f"{claims.document_id}.{claims.owner_id}.{claims.expires_at}"


def _signature(key: bytes, claims_text: str) -> str:
    digest = hmac.new(key, _DOMAIN + claims_text.encode("ascii"), hashlib.sha256).digest()
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
    claims = LinkClaims(uuid.UUID(match["doc"]), int(match["owner"]), int(match["exp"]))
    if not hmac.compare_digest(_signature(key, _claims_text(claims)), match["sig"]):
        raise InvalidLink("not a signed link")
    if now >= claims.expires_at:
        raise ExpiredLink("the link has expired")
    return claims
