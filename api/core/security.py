"""The service token every bot call carries (``Authorization: Bearer <API_SERVICE_TOKEN>``)."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.core.clients import state_of
from api.core.errors import ApiError

# auto_error=False: a missing header is answered by ``require_service_token`` as an ErrorBody 401.
bearer = HTTPBearer(auto_error=False, description="The service token (API_SERVICE_TOKEN).")
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def token_matches(presented: str, expected: str) -> bool:
    """Constant-time comparison (of UTF-8 bytes: ``compare_digest`` refuses non-ASCII ``str``)."""
    return hmac.compare_digest(presented.encode("utf-8"), expected.encode("utf-8"))


async def require_service_token(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> None:
    if credentials is None:
        raise ApiError(401, "unauthorized", "a bearer service token is required", _CHALLENGE)
    if not token_matches(credentials.credentials, state_of(request).settings.api_service_token.get_secret_value()):
        raise ApiError(401, "unauthorized", "the service token is not valid", _CHALLENGE)
