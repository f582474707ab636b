"""The key service: ``POST /owners/{owner_id}/seal`` cleans and seals what a person typed, for the v2 event the bot
writes, and gives the keyed type slug of a type title. The person's key is created on first use.

The bot holds no key material: it sends the text it would have put in a v1 event and puts the answers in the v2
event instead (``contracts.events.DocumentAddedV2``, ``DocumentRenamedV2``). Cleaning here uses the rules the
processors check after opening, so a sealed value from this route always applies. Calls are limited per person
(``SEAL_RATE_PER_MINUTE``, per API process): sealing is cheap, but an endless loop of a broken client is not.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.core.errors import ApiError
from api.core.openapi_errors import OWNER_READ_ERRORS
from api.core.parameters import OwnerId, State
from api.core.rate_limit import WINDOW_SECONDS
from api.core.security import require_service_token
from contracts.api_schemas import OWNER_SCOPE, SealedText, SealedTexts, SealRequest
from contracts.text import (
    MAX_NAME_LENGTH,
    MAX_TYPE_TITLE_LENGTH,
    InvalidFileName,
    InvalidName,
    clean_display_name,
    clean_file_name,
    type_slug,
)
from service_kit.crypto import PersonKeys
from service_kit.keyed import TYPE

router = APIRouter(
    prefix=OWNER_SCOPE, tags=["keys"], dependencies=[Depends(require_service_token)], responses=OWNER_READ_ERRORS
)


def _cleaned_name(raw: str, field: str, max_length: int) -> str:
    try:
        return clean_display_name(raw, max_length)
    except InvalidName as error:
        raise ApiError(
            422, f"invalid_{field}", f"the {field.replace('_', ' ')} is {error.reason.replace('_', ' ')}"
        ) from None


def _cleaned_file_name(raw: str) -> str:
    try:
        return clean_file_name(raw)
    except InvalidFileName as error:
        raise ApiError(422, "invalid_file_name", str(error)) from None


def _sealed(keys: PersonKeys, field: str, cleaned: str | None) -> SealedText | None:
    return None if cleaned is None else SealedText(cleaned=cleaned, sealed=keys.seal(field, cleaned))


def sealed_texts(keys: PersonKeys, request: SealRequest) -> SealedTexts:
    """Pure: the request's texts cleaned (422 when nothing usable is left) and sealed under ``keys``."""
    name = _cleaned_name(request.name, "name", MAX_NAME_LENGTH) if request.name is not None else None
    title = (
        _cleaned_name(request.type_title, "type_title", MAX_TYPE_TITLE_LENGTH)
        if request.type_title is not None
        else None
    )
    file_name = _cleaned_file_name(request.file_name) if request.file_name is not None else None
    return SealedTexts(
        key_id=keys.key_id,
        name=_sealed(keys, "name", name),
        type_title=_sealed(keys, "type_title", title),
        type_slug=keys.keyed(TYPE, type_slug(title)) if title is not None else None,
        file_name=_sealed(keys, "file_name", file_name),
    )


@router.post("/seal", summary="Seal what a person typed for a v2 event (creates their key on first use)")
async def seal(owner_id: OwnerId, request: SealRequest, state: State) -> SealedTexts:
    if not state.seal_limiter.allow(owner_id):
        raise ApiError(
            429,
            "too_many_requests",
            "too many seal requests for this person, retry in a minute",
            {"Retry-After": str(int(WINDOW_SECONDS))},
        )
    return sealed_texts(await state.keys.get_or_create(owner_id), request)
