"""Per-person data keys in MongoDB, wrapped by the master keyring: create, read, destroy ("forget me"), re-wrap.

Keys live in their own database ``<MONGO_DATABASE>_keys`` (collection ``data_keys``), not in a projection
version's database: rebuilding read models must not change anyone's key. One document per person::

    {_id: owner_id, key_id, master_id, wrapped, created_at}            a live key
    {_id: owner_id, key_id: None, forgotten_at, ...}                   after "forget me": only a tombstone

A person who comes back after being forgotten gets a new key (a new ``key_id``); values sealed under the old
one stay unreadable for ever, and ``forgotten_at`` tells exports which of their old events to redact.
Unwrapped keys are cached in the process for ``cache_seconds``: a key destroyed elsewhere may still be usable
here for that long (the read models it could decrypt are deleted first, docs/privacy.md).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bson import Binary
from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from service_kit.crypto import MasterKeyring, PersonKeys, WrappedKey, new_data_key, new_key_id
from service_kit.forgetting import ForgetRecords
from service_kit.metrics import timed
from service_kit.mongo import in_chunks
from service_kit.settings import MongoSettings

KEYS_COLLECTION = "data_keys"
DEFAULT_CACHE_SECONDS = 30.0


def only_duplicate_keys(error: BulkWriteError) -> bool:
    """Whether a bulk write failed only on duplicate keys (creations another caller won), nothing else."""
    details = error.details
    return not details.get("writeConcernErrors") and all(e.get("code") == 11000 for e in details.get("writeErrors", []))


def keys_database_name(settings: MongoSettings) -> str:
    return f"{settings.database}_keys"


@dataclass(frozen=True)
class KeyStatus:
    live: int
    forgotten: int
    by_master: dict[str, int]


class KeyStore:
    def __init__(
        self,
        database: AsyncDatabase[dict[str, Any]],
        keyring: MasterKeyring,
        cache_seconds: float = DEFAULT_CACHE_SECONDS,
    ) -> None:
        self._keys = database[KEYS_COLLECTION]
        self.forgets = ForgetRecords(database)
        self._keyring = keyring
        self._cache_seconds = cache_seconds
        self._cache: dict[int, tuple[float, PersonKeys]] = {}

    def _cached(self, owner_id: int) -> PersonKeys | None:
        hit = self._cache.get(owner_id)
        if hit is None or hit[0] < time.monotonic():
            self._cache.pop(owner_id, None)
            return None
        return hit[1]

    def _remember(self, keys: PersonKeys) -> PersonKeys:
        self._cache[keys.owner_id] = (time.monotonic() + self._cache_seconds, keys)
        return keys

    def _open(self, raw: dict[str, Any]) -> PersonKeys | None:
        if raw.get("key_id") is None:
            return None
        owner_id = int(raw["_id"])
        data_key = self._keyring.unwrap(owner_id, WrappedKey(raw["master_id"], bytes(raw["wrapped"])))
        return self._remember(PersonKeys(owner_id, data_key, raw["key_id"]))

    @timed("mongo", "load_keys")
    async def find(self, owner_ids: Iterable[int]) -> dict[int, PersonKeys]:
        """The live keys of these people (absent: never had one, or forgotten)."""
        found: dict[int, PersonKeys] = {}
        missing = []
        for owner_id in set(owner_ids):
            cached = self._cached(owner_id)
            if cached is not None:
                found[owner_id] = cached
            else:
                missing.append(owner_id)
        for chunk in in_chunks(missing):
            async for raw in self._keys.find({"_id": {"$in": chunk}}):
                opened = self._open(raw)
                if opened is not None:
                    found[opened.owner_id] = opened
        return found

    async def get(self, owner_id: int) -> PersonKeys | None:
        return (await self.find([owner_id])).get(owner_id)

    @timed("mongo", "create_key")
    async def get_or_create(self, owner_id: int) -> PersonKeys:
        """The person's live key, created on first use (two callers at once end with the same key)."""
        existing = await self.get(owner_id)
        if existing is not None:
            return existing
        try:
            await self._keys.update_one(*self._creation(owner_id), upsert=True)
        except DuplicateKeyError:
            pass
        created = await self._keys.find_one({"_id": owner_id})
        opened = self._open(created) if created is not None else None
        if opened is None:
            raise RuntimeError(f"no key for owner {owner_id} after creating one")
        return opened

    @timed("mongo", "create_keys")
    async def get_or_create_many(self, owner_ids: Iterable[int]) -> dict[int, PersonKeys]:
        """``get_or_create`` for many people in three round trips: find, create the missing in one bulk write, find
        them (a processor batch's first events of a thousand people cost one write, not a thousand)."""
        wanted = set(owner_ids)
        found = await self.find(wanted)
        missing = sorted(wanted - set(found))
        if not missing:
            return found
        try:
            await self._keys.bulk_write(
                [UpdateOne(*self._creation(owner_id), upsert=True) for owner_id in missing], ordered=False
            )
        except BulkWriteError as error:
            if not only_duplicate_keys(error):
                raise
        created = await self.find(missing)
        if len(created) != len(missing):
            raise RuntimeError(f"no key for {len(missing) - len(created)} owners after creating them")
        return found | created

    def _creation(self, owner_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
        """Filter and update that insert a new key, or turn a tombstone into one; a live key written meanwhile by
        another caller wins (the upsert then fails on the unique ``_id``)."""
        key_id, data_key = new_key_id(), new_data_key()
        wrapped = self._keyring.wrap(owner_id, data_key)
        record = {
            "key_id": key_id,
            "master_id": wrapped.master_id,
            "wrapped": Binary(wrapped.blob),
            "created_at": datetime.now(UTC),
        }
        return {"_id": owner_id, "key_id": None}, {"$set": record}

    @timed("mongo", "destroy_key")
    async def destroy(self, owner_id: int, created_by: datetime | None = None) -> None:
        """Forget the person's key for ever (idempotent): only a tombstone with the time stays. ``created_by``:
        destroy it only if it was created by then (a forget erases the key it knew, never a later one)."""
        self._cache.pop(owner_id, None)
        created = {} if created_by is None else {"created_at": {"$lte": created_by}}
        await self._keys.update_one(
            {"_id": owner_id, "key_id": {"$ne": None}, **created},
            {"$set": {"key_id": None, "forgotten_at": datetime.now(UTC)}, "$unset": {"wrapped": "", "master_id": ""}},
        )

    async def forgotten_at(self, owner_ids: Iterable[int]) -> dict[int, datetime]:
        """When each of these people was last forgotten (for redacting exports)."""
        cursor = self._keys.find(
            {"_id": {"$in": list(set(owner_ids))}, "forgotten_at": {"$exists": True}}, {"forgotten_at": 1}
        )
        return {int(raw["_id"]): raw["forgotten_at"] async for raw in cursor}

    @timed("mongo", "rotate_keys")
    async def rotate(self) -> int:
        """Re-wrap every live key not wrapped by the current master key; returns how many. Safe to run while
        the services run: a key is replaced in one write, readers unwrap whichever master wrapped it."""
        current = self._keyring.current_id
        count = 0
        async for raw in self._keys.find({"key_id": {"$ne": None}, "master_id": {"$ne": current}}):
            owner_id = int(raw["_id"])
            data_key = self._keyring.unwrap(owner_id, WrappedKey(raw["master_id"], bytes(raw["wrapped"])))
            wrapped = self._keyring.wrap(owner_id, data_key)
            result = await self._keys.update_one(
                {"_id": owner_id, "key_id": raw["key_id"], "master_id": raw["master_id"]},
                {"$set": {"master_id": wrapped.master_id, "wrapped": Binary(wrapped.blob)}},
            )
            count += result.modified_count
        return count

    async def status(self) -> KeyStatus:
        live, forgotten, by_master = 0, 0, dict[str, int]()
        async for raw in self._keys.find({}, {"key_id": 1, "master_id": 1}):
            if raw.get("key_id") is None:
                forgotten += 1
            else:
                live += 1
                by_master[raw["master_id"]] = by_master.get(raw["master_id"], 0) + 1
        return KeyStatus(live, forgotten, by_master)
