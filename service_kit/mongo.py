"""MongoDB client construction (pymongo's async client) and beanie initialisation."""

from __future__ import annotations

from collections.abc import Sequence

from beanie import Document, init_beanie
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from service_kit.metrics import timed
from service_kit.settings import MongoSettings

MongoClient = AsyncMongoClient[dict[str, object]]


def mongo_client(settings: MongoSettings) -> MongoClient:
    """A client that connects lazily; ``retryWrites`` is off because transactions carry the retries."""
    return AsyncMongoClient(
        settings.url.get_secret_value(),
        username=settings.username,
        password=settings.password.get_secret_value() if settings.password else None,
        serverSelectionTimeoutMS=settings.timeout_ms,
        connectTimeoutMS=settings.timeout_ms,
        retryWrites=False,
        tz_aware=True,
    )


@timed("mongo", "init_read_models")
async def init_read_models(database: AsyncDatabase[dict[str, object]], models: Sequence[type[Document]]) -> None:
    """Bind the beanie models to ``database`` and create their indexes."""
    await init_beanie(database=database, document_models=list(models))
