"""Removing what a test wrote to the shared MongoDB server."""

from __future__ import annotations

from service_kit.mongo import mongo_client
from service_kit.settings import MongoSettings


async def drop_databases(mongo: MongoSettings) -> None:
    """Drop every database whose name starts with ``mongo.database`` (all projection versions)."""
    client = mongo_client(mongo)
    try:
        for name in await client.list_database_names():
            if name.startswith(mongo.database):
                await client.drop_database(name)
    finally:
        await client.close()
