"""Which read-model version (database) the API serves.

``READ_MODEL_VERSION`` is where the API starts. A rebuild (``python -m stream_processors rebuild``)
writes the version it made current into the control collection; the API re-reads it every
``READ_MODEL_POLL_SECONDS`` and switches over, so a rebuild is served without a restart.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

from pydantic import ValidationError
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from contracts.read_models import ACTIVE_VERSION_ID, CONTROL_COLLECTION, ActiveReadModel, read_model_database
from service_kit.metrics import timed
from service_kit.mongo import MongoClient

log = logging.getLogger(__name__)
# Documents are read as plain dicts of BSON values (Any): the read side validates into API schemas.
Database = AsyncDatabase[dict[str, Any]]


class ServedProjection:
    def __init__(self, client: MongoClient, base_database: str, version: int) -> None:
        self._client = client
        self._base = base_database
        self.version = version

    @property
    def database(self) -> Database:
        return cast(Database, self._client[read_model_database(self._base, self.version)])

    @timed("mongo", "read_active_version")
    async def _active_version(self) -> int | None:
        raw = await self._client[self._base][CONTROL_COLLECTION].find_one({"_id": ACTIVE_VERSION_ID})
        return None if raw is None else ActiveReadModel.model_validate(raw).version

    async def refresh(self) -> None:
        """Switch to the version the control collection names (no document: keep the current one)."""
        active = await self._active_version()
        if active is not None and active >= 1 and active != self.version:
            log.info("serving another read-model version", extra={"from": self.version, "to": active})
            self.version = active

    async def follow(self, every_seconds: float) -> None:
        """Refresh forever; a failed read keeps the current version (serving on beats failing over)."""
        while True:
            await asyncio.sleep(every_seconds)
            try:
                await self.refresh()
            except (PyMongoError, ValidationError) as error:
                log.warning("could not read the active read-model version", extra={"error": repr(error)})
