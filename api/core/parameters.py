"""The path parameters every owner route reads, and the running API's state as a route dependency."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Path

from api.core.clients import ApiState, api_state
from contracts.events import MAX_OWNER_ID

State = Annotated[ApiState, Depends(api_state)]
# Up to BSON's int64, as the events' owner ids: a larger id could not even be looked up.
OwnerId = Annotated[int, Path(ge=1, le=MAX_OWNER_ID, description="Telegram user id of the owner.")]
DocumentId = Annotated[uuid.UUID, Path(description="The document id (a UUID).")]
