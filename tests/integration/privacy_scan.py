"""Where a marker can be read: every store DocVault writes, scanned as bytes (for the privacy canary tests).

Each scanner returns the places (store, then key) whose stored bytes hold the marker in the clear, compared
case-insensitively on its UTF-8 bytes: the stream records as read back from the stream, every document of every
collection of every MongoDB database under the deployment's prefix (BSON, the keys database included), every S3
object, every key and value of every Redis database, and log records as the JSON formatter writes them.

Sealed values (``s1.<key id>.<AES-SIV>``) hold the marker unreadably; whether they stay so is the other half of a
forget test: ``sealed_in`` finds every sealed value in the same bytes and ``opened_to_marker`` tries every live
data key on each (``live_keys``). After ``/forget`` no live key opens any of them to the marker: the person's key
is destroyed, and no other key opens a value bound to another person.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from pathlib import Path
from typing import cast

import bson
from redis.asyncio import Redis

from service_kit.crypto import BrokenCiphertext, PersonKeys
from service_kit.eventlog import StreamRecord
from service_kit.keystore import KEYS_COLLECTION, KeyStore, keys_database_name
from service_kit.logging import JsonFormatter
from service_kit.mongo import mongo_client
from service_kit.s3 import s3_client
from service_kit.settings import MongoSettings, S3Settings
from tests.keyrings import TEST_KEYRING

Hits = dict[str, list[str]]  # store -> the keys that hold the marker
SEALED = re.compile(rb"s1\.[0-9a-f]{16}\.[A-Za-z0-9_-]+")
SEALED_FIELDS = ("name", "type_title", "file_name")


def _holds(data: bytes, marker: str) -> bool:
    return marker.lower().encode() in data.lower()


def stream_hits(records: Sequence[StreamRecord], marker: str) -> list[str]:
    return [f"offset {record.offset}" for record in records if _holds(record.data, marker)]


async def mongo_documents(mongo: MongoSettings) -> AsyncIterator[tuple[str, bytes]]:
    """Every document (as BSON, with its place) of every collection of the databases named ``<MONGO_DATABASE>``
    or ``<MONGO_DATABASE>_…``."""
    client = mongo_client(mongo)
    try:
        names = [name for name in await client.list_database_names() if _of_deployment(name, mongo.database)]
        assert names, f"no database under {mongo.database}: the scan would prove nothing"
        for name in names:
            database = client[name]
            for collection in await database.list_collection_names():
                async for document in database[collection].find({}):
                    yield f"{name}.{collection} {document.get('_id')}", bson.encode(document)
    finally:
        await client.close()


async def mongo_hits(mongo: MongoSettings, marker: str) -> list[str]:
    return [place async for place, data in mongo_documents(mongo) if _holds(data, marker)]


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


def stored_objects(s3: S3Settings, owner_id: int) -> list[str]:
    """The S3 objects under the person's prefix (``owners/<id>/``)."""
    return [str(item.object_name) for item in s3_client(s3).list_objects(s3.bucket, f"owners/{owner_id}/", True)]


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


def sealed_in(blobs: Iterable[bytes]) -> set[str]:
    """Every sealed value (``s1.<key id>.<base64url>``) in the bytes given (stream records, BSON documents)."""
    return {found.decode() for blob in blobs for found in SEALED.findall(blob)}


async def mongo_sealed(mongo: MongoSettings) -> set[str]:
    return sealed_in([data async for _, data in mongo_documents(mongo)])


async def live_keys(mongo: MongoSettings) -> list[PersonKeys]:
    """Every person's live data key in the key store (tombstones of forgotten people have none)."""
    client = mongo_client(mongo)
    try:
        database = client[keys_database_name(mongo)]
        owners: list[int] = await database[KEYS_COLLECTION].distinct("_id")
        return list((await KeyStore(database, TEST_KEYRING, cache_seconds=0).find(owners)).values())
    finally:
        await client.close()


def _opened(keys: PersonKeys, field: str, sealed: str) -> str | None:
    try:
        return keys.open(field, sealed)
    except BrokenCiphertext:
        return None


def opened_to_marker(sealed: Iterable[str], keys: Sequence[PersonKeys], marker: str) -> list[str]:
    """The sealed values some live key opens (as any field) to a text holding ``marker``, each with the owner of
    that key: ``[]`` means no key that still exists can read the marker out of them."""
    found = []
    for value in sorted(sealed):
        for person in keys:
            texts = [_opened(person, field, value) for field in SEALED_FIELDS]
            if any(text is not None and _holds(text.encode(), marker) for text in texts):
                found.append(f"owner {person.owner_id}: {value[:24]}…")
    return found


def file_hits(paths: Iterable[Path], marker: str) -> list[str]:
    """The files (a service's log, as its process wrote it) whose bytes hold the marker."""
    return [path.name for path in paths if _holds(path.read_bytes(), marker)]
