"""MongoDB client construction (pymongo's async client) and beanie initialisation."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

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


# Values per ``$in`` query. The test server (SecantusDB) matches each document it finds against the whole list, so
# one query's cost grows with documents found x values: 1,000 ids finding 700 documents took 944 ms, ten queries of
# 100 took 194 ms (docs/performance.md, "Remaining targets"). On mongod it only adds round trips.
IN_CHUNK = 100


def in_chunks(values: Iterable[Any], size: int = IN_CHUNK) -> list[list[Any]]:
    """``values`` without repeats, sorted, in lists of at most ``size`` (no lists for no values)."""
    unique = sorted(set(values))
    return [unique[start : start + size] for start in range(0, len(unique), size)]
