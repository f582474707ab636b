"""What "forget me" keeps outside the read models, in the keys database ``<MONGO_DATABASE>_keys`` (which a rebuild of
the read models never touches; docs/adr/0014-forget-me-and-trash-retention.md):

* ``forget_markers``: ``{_id: owner_id, through_offset}``, the stream offset of the person's last ``user.forgotten``.
  The processors write it (``$max``: idempotent, never moves back) before they commit the batch holding the event, and
  ignore every event of that person at a lower offset, so a replay or rebuild from the first offset applies nothing of
  a forgotten life (and creates no key for it), while a person who comes back afterwards starts again normally.
* ``erasure_receipts``: ``{_id: forget event id, owner_id, objects_deleted, done_at}``, written by the API's erasure
  worker once a forget's files are deleted and its key destroyed: a job already receipted is never run again (a
  rebuild queues the same forget again; running it would erase the person's new life).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from service_kit.metrics import timed

MARKERS_COLLECTION = "forget_markers"
RECEIPTS_COLLECTION = "erasure_receipts"


class ForgetRecords:
    def __init__(self, keys_database: AsyncDatabase[dict[str, Any]]) -> None:
        self._markers = keys_database[MARKERS_COLLECTION]
        self._receipts = keys_database[RECEIPTS_COLLECTION]

    @timed("mongo", "mark_forgotten")
    async def mark(self, owner_id: int, offset: int) -> None:
        """Note that ``owner_id`` was forgotten at ``offset`` (idempotent; a lower offset changes nothing)."""
        try:
            await self._markers.update_one({"_id": owner_id}, {"$max": {"through_offset": offset}}, upsert=True)
        except DuplicateKeyError:  # two writers upserting at once: the other one inserted, apply ours on top
            await self._markers.update_one({"_id": owner_id}, {"$max": {"through_offset": offset}})

    @timed("mongo", "load_forget_markers")
    async def through(self, owner_ids: Iterable[int]) -> dict[int, int]:
        """The offset of the last ``user.forgotten`` of each of these people who was ever forgotten."""
        wanted = sorted(set(owner_ids))
        if not wanted:
            return {}
        cursor = self._markers.find({"_id": {"$in": wanted}})
        return {int(raw["_id"]): int(raw["through_offset"]) async for raw in cursor}

    async def all(self) -> dict[int, int]:
        """Every forget marker (for redacting exports: forgets are rare, the map is small)."""
        return {int(raw["_id"]): int(raw["through_offset"]) async for raw in self._markers.find({})}

    async def receipted(self, job_ids: Iterable[str]) -> set[str]:
        wanted = sorted(set(job_ids))
        if not wanted:
            return set()
        cursor = self._receipts.find({"_id": {"$in": wanted}}, {"_id": 1})
        return {str(raw["_id"]) async for raw in cursor}

    @timed("mongo", "record_erasure")
    async def receipt(self, job_id: str, owner_id: int, objects_deleted: int) -> None:
        await self._receipts.update_one(
            {"_id": job_id},
            {"$setOnInsert": {"owner_id": owner_id, "objects_deleted": objects_deleted, "done_at": datetime.now(UTC)}},
            upsert=True,
        )
