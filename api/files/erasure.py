"""The erasure worker: what "forget me" and trash retention ask of the only holder of S3 credentials (docs/adr/0014).

The processors queue one job per ``user.forgotten`` in the read models' ``erasures`` collection, in the transaction
that deletes the person's read models. This worker, in every API process, takes the jobs without a receipt
(``<db>_keys.erasure_receipts``), deletes the person's objects, destroys their data key and writes the receipt. Every
step is idempotent, so a crash anywhere (the API killed half-way) only means the next poll does the job again.
A ``purge`` job (a document whose time in the trash ended) deletes only its objects that no document of the person
still names (dedup and duplicates share objects) and that nobody stored again after the deletion; no key is touched.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from pymongo.errors import PyMongoError

from api.core.clients import ApiState
from contracts.read_models import ERASURES_COLLECTION, PURGE_JOB, DocumentView, ErasureJob, object_keys_of
from service_kit.s3 import StorageUnavailable

log = logging.getLogger(__name__)


def owner_prefix(owner_id: int) -> str:
    return f"owners/{owner_id}/"


def doomed_objects(job: ErasureJob, stored: list[tuple[str, datetime]]) -> list[str]:
    """The job's objects: those its documents named, and every other object of the person stored by the forget."""
    stored_by = _utc(job.stored_by)
    swept = {key for key, modified in stored if modified <= stored_by}
    listed = {key for key in job.object_keys if key.startswith(owner_prefix(job.owner_id))}
    return sorted(swept | listed)


def purged_objects(job: ErasureJob, stored: list[tuple[str, datetime]], referenced: set[str]) -> list[str]:
    """A purge's objects still stored, named by no other document and not stored again since the deletion."""
    stored_by = _utc(job.stored_by)
    modified = dict(stored)
    return sorted(
        key
        for key in set(job.object_keys)
        if key.startswith(owner_prefix(job.owner_id))
        and key not in referenced
        and key in modified
        and modified[key] <= stored_by
    )


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def pending_jobs(state: ApiState) -> list[ErasureJob]:
    """Jobs of the served read models not yet receipted, oldest first."""
    raws = await state.database[ERASURES_COLLECTION].find({}).to_list(None)
    jobs = sorted((ErasureJob.model_validate(raw) for raw in raws), key=lambda job: job.offset)
    done = await state.keys.forgets.receipted(job.id for job in jobs)
    return [job for job in jobs if job.id not in done]


async def referenced_objects(state: ApiState, owner_id: int) -> set[str]:
    """Every object a document of the person names now, in the served read models."""
    cursor = state.database[DocumentView.Settings.name].find({"owner_id": owner_id})
    return {key async for raw in cursor for key in object_keys_of(raw)}


async def erase(state: ApiState, job: ErasureJob) -> int:
    """Delete the job's objects (a forget also destroys the key it knew) and receipt it; returns how many objects it
    deleted."""
    stored = await state.files.list_stored(owner_prefix(job.owner_id))
    if job.kind == PURGE_JOB:
        doomed = purged_objects(job, stored, await referenced_objects(state, job.owner_id))
    else:
        doomed = doomed_objects(job, stored)
    for key in doomed:
        await state.files.remove(key)  # removing an object that is gone already succeeds
    if job.kind != PURGE_JOB:
        await state.keys.destroy(job.owner_id, created_by=_utc(job.stored_by))
    await state.keys.forgets.receipt(job.id, job.owner_id, len(doomed))
    log.info("erased", extra={"job": job.id, "objects": len(doomed)})
    return len(doomed)


async def erase_pending(state: ApiState) -> int:
    """One pass over the pending jobs; returns how many were done."""
    done = 0
    for job in await pending_jobs(state):
        await erase(state, job)
        done += 1
    return done


async def follow(state: ApiState, every_seconds: float) -> None:
    """Erase forever; a pass that meets a store outage is tried again at the next poll."""
    while True:
        try:
            await erase_pending(state)
        except (PyMongoError, StorageUnavailable) as error:
            log.warning("erasure pass failed", extra={"error": type(error).__name__})
        await asyncio.sleep(every_seconds)
