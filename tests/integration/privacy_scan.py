"""Where a marker can be read: every store DocVault writes, scanned as bytes (for the privacy canary tests).

Each scanner returns the places (store, then key) whose stored bytes hold the marker in the clear, compared
case-insensitively on its UTF-8 bytes: the stream records as read back from the stream, every document of every
collection of every MongoDB database under the deployment's prefix (BSON, the keys database included), every S3
object, every key and value of every Redis database, and log records as the JSON formatter writes them. A forget
test scans the same stores after ``/forget`` and expects ``{}`` from ``readable_everywhere``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import cast

import bson
from redis.asyncio import Redis

from service_kit.eventlog import StreamRecord
from service_kit.logging import JsonFormatter
from service_kit.mongo import mongo_client
from service_kit.s3 import s3_client
from service_kit.settings import MongoSettings, S3Settings

Hits = dict[str, list[str]]  # store -> the keys that hold the marker


def _holds(data: bytes, marker: str) -> bool:
    return marker.lower().encode() in data.lower()


def stream_hits(records: Sequence[StreamRecord], marker: str) -> list[str]:
    return [f"offset {record.offset}" for record in records if _holds(record.data, marker)]


async def mongo_hits(mongo: MongoSettings, marker: str) -> list[str]:
    """Every document of every collection of the databases named ``<MONGO_DATABASE>`` or ``<MONGO_DATABASE>_…``."""
    client = mongo_client(mongo)
    found = []
    try:
        names = [name for name in await client.list_database_names() if _of_deployment(name, mongo.database)]
        assert names, f"no database under {mongo.database}: the scan would prove nothing"
        for name in names:
            database = client[name]
            for collection in await database.list_collection_names():
                async for document in database[collection].find({}):
                    if _holds(bson.encode(document), marker):
                        found.append(f"{name}.{collection} {document.get('_id')}")
    finally:
        await client.close()
    return found


def _of_deployment(database: str, prefix: str) -> bool:
    return database == prefix or database.startswith(prefix + "_")


def s3_hits(s3: S3Settings, marker: str) -> list[str]:
    client = s3_client(s3)
    found = []
    for item in client.list_objects(s3.bucket, recursive=True):
        name = str(item.object_name)
        response = client.get_object(s3.bucket, name)
        try:
            if _holds(response.read(), marker) or _holds(name.encode(), marker):
                found.append(name)
        finally:
            response.close()
            response.release_conn()
    return found


async def redis_hits(url: str, marker: str) -> list[str]:
    """Every key and value (strings, hashes, lists, sets, sorted sets) of every database the server has keys in."""
    found = []
    first = Redis.from_url(url)
    try:
        databases = [int(name.removeprefix("db")) for name in (await first.info("keyspace"))]
    finally:
        await first.aclose()
    for number in databases:
        client = Redis.from_url(url.rsplit("/", 1)[0] + f"/{number}")
        try:
            async for key in client.scan_iter(count=500):
                if _holds(key, marker) or _holds(await _value(client, key), marker):
                    found.append(f"db{number} {key!r}")
        finally:
            await client.aclose()
    return found


def _joined(values: Iterable[bytes | str]) -> bytes:
    return b"\n".join(value if isinstance(value, bytes) else value.encode() for value in values)


async def _value(client: Redis, key: bytes) -> bytes:
    kind = _joined([await client.type(key)]).decode()
    if kind == "string":
        return _joined([await client.get(key) or b""])
    if kind == "hash":
        return _joined(part for pair in (await client.hgetall(key)).items() for part in pair)
    if kind == "list":
        return _joined(await client.lrange(key, 0, -1))
    if kind == "set":
        return _joined(await client.smembers(key))
    if kind == "zset":
        return _joined(cast(list[bytes], await client.zrange(key, 0, -1)))
    return b""  # streams and others: DocVault keeps none in Redis


def log_hits(records: Iterable[logging.LogRecord], marker: str) -> list[str]:
    formatter = JsonFormatter("canary")
    return [f"{record.name}: {record.msg}" for record in records if _holds(formatter.format(record).encode(), marker)]


def readable_everywhere(**stores: list[str]) -> Hits:
    """The stores (keyword: store name, value: its hits) that hold the marker, and where."""
    return {store: hits for store, hits in stores.items() if hits}
