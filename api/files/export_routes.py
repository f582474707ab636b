"""Export routes: what an export would hold, the archive itself, and a signed link to it for browsers."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from starlette.responses import Response

from api.core.clients import ApiState
from api.core.errors import ApiError
from api.core.openapi_errors import OWNER_READ_ERRORS, described_error, error_responses
from api.core.parameters import OwnerId, State
from api.core.security import require_service_token
from api.documents.dependencies import PersonKeysOrNone, require_fresh
from api.files.downloads import ClosingStreamResponse
from api.files.exports import Vault, archive_chunks, archive_headers, claim_export, load_vault, required_vault, summary
from api.files.links import MAX_TOKEN_LENGTH, SIGNED_EXPORT_PATH, ExportClaims, sign_export_link, verify_export_link
from api.files.routes import verified
from contracts.api_schemas import API_PREFIX, OWNER_SCOPE, ExportSummary, SignedLink

router = APIRouter(prefix=OWNER_SCOPE, tags=["export"], dependencies=[Depends(require_service_token)])
signed_router = APIRouter(prefix=API_PREFIX, tags=["export"])

ARCHIVE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The zip: a folder per type with its documents (one of several pages: a folder of numbered "
        "pages), index.json and index.csv.",
        "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
    },
    404: described_error("nothing_to_export: the person has no live documents (or was forgotten)."),
    429: described_error("export_limited: an export of the person is under way, or too many in a minute."),
}


async def _stream(state: ApiState, owner_id: int, vault_of: Callable[[], Awaitable[Vault]]) -> Response:
    """The archive of ``owner_id``, while holding the person's export slot (released however the transfer ends)."""
    gate = state.export_gate
    claim_export(gate, owner_id)
    try:
        vault = await vault_of()
    except BaseException:
        gate.release(owner_id)
        raise

    async def release() -> None:
        gate.release(owner_id)

    now = datetime.now(UTC)
    return ClosingStreamResponse(archive_chunks(state.files, vault, now), 200, archive_headers(now), release)


@router.get(
    "/export/summary",
    dependencies=[Depends(require_fresh)],
    responses=OWNER_READ_ERRORS,
    summary="How many live documents an export holds and the most bytes its archive takes",
)
async def export_summary(owner_id: OwnerId, state: State, keys: PersonKeysOrNone) -> ExportSummary:
    return summary(await load_vault(state.database, keys, owner_id))


@router.get(
    "/export",
    dependencies=[Depends(require_fresh)],
    response_class=Response,
    summary="Every live document of the owner in one zip, with an index (streamed)",
    responses=ARCHIVE_RESPONSES | error_responses(401, 409, 422, 503),
)
async def export_archive(owner_id: OwnerId, state: State, keys: PersonKeysOrNone) -> Response:
    return await _stream(state, owner_id, lambda: required_vault(state.database, keys, owner_id))


@router.post(
    "/export/link",
    summary="A short-lived link to the owner's archive that works without the token",
    responses=error_responses(401, 422, 503) | {404: ARCHIVE_RESPONSES[404]},
)
async def create_export_link(owner_id: OwnerId, state: State, keys: PersonKeysOrNone) -> SignedLink:
    settings = state.settings
    if settings.link_signing_key is None or settings.public_base_url is None:
        raise ApiError(503, "links_disabled", "signed links need LINK_SIGNING_KEY and PUBLIC_BASE_URL")
    await required_vault(state.database, keys, owner_id)
    claims = ExportClaims(owner_id, int(time.time()) + settings.link_ttl_seconds)
    token = sign_export_link(settings.link_signing_key.get_secret_value().encode(), claims)
    return SignedLink(
        url=f"{settings.public_base_url}{SIGNED_EXPORT_PATH}{token}",
        expires_at=datetime.fromtimestamp(claims.expires_at, UTC),
    )


@signed_router.get(
    "/files/signed/export/{token}",
    response_class=Response,
    summary="The archive behind a signed export link (no token needed)",
    responses=ARCHIVE_RESPONSES | error_responses(422, 503) | {403: described_error("Tampered or expired link.")},
)
async def signed_export(token: Annotated[str, Path(max_length=MAX_TOKEN_LENGTH)], state: State) -> Response:
    owner_id = verified(state, token, verify_export_link).owner_id

    async def vault_of() -> Vault:
        return await required_vault(state.database, await state.keys.get(owner_id), owner_id)

    return await _stream(state, owner_id, vault_of)
