"""What a running API holds: settings and clients, built in the lifespan (nothing connects at import)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI, Request
from pymongo.errors import PyMongoError

from api.core.rate_limit import PersonGate, RateLimiter
from api.core.served_projection import Database, ServedProjection
from api.settings import ApiSettings
from service_kit.keystore import KeyStore, keys_database_name
from service_kit.mongo import MongoClient, mongo_client
from service_kit.s3 import ObjectStore, StorageUnavailable, s3_client
from service_kit.settings import master_keyring

log = logging.getLogger(__name__)
STARTUP_PROBE_SECONDS = 2.0


@dataclass
class ApiState:
    settings: ApiSettings
    mongo: MongoClient
    projection: ServedProjection
    files: ObjectStore
    # Per-person data keys (the API is the key service: it seals typed text and encrypts files).
    keys: KeyStore
    seal_limiter: RateLimiter
    export_gate: PersonGate

    @property
    def database(self) -> Database:
        return self.projection.database


def build_state(settings: ApiSettings) -> ApiState:
    client = mongo_client(settings.mongo)
    return ApiState(
        settings=settings,
        mongo=client,
        projection=ServedProjection(client, settings.mongo.database, settings.read_model_version),
        files=ObjectStore(s3_client(settings.s3, settings.s3_tuning), settings.s3.bucket),
        keys=KeyStore(client[keys_database_name(settings.mongo)], master_keyring(settings.master_keys)),
        seal_limiter=RateLimiter(settings.seal_rate_per_minute),
        export_gate=PersonGate(settings.export_rate_per_minute),
    )


async def _prepare(state: ApiState) -> None:
    """Best effort: the API starts even while MongoDB or S3 are down (``/readyz`` says which)."""
    try:
        await asyncio.wait_for(state.projection.refresh(), STARTUP_PROBE_SECONDS)
    except (PyMongoError, TimeoutError) as error:
        log.warning("read-model version not read at startup", extra={"error": repr(error)})
    try:
        await asyncio.wait_for(state.files.ensure_bucket(), STARTUP_PROBE_SECONDS)
    except (StorageUnavailable, TimeoutError) as error:
        log.warning("bucket not ensured at startup", extra={"error": str(error)})


@asynccontextmanager
async def api_lifespan(app: FastAPI) -> AsyncIterator[None]:
    state = build_state(app.state.settings)
    app.state.api = state
    await _prepare(state)
    poll_seconds = state.settings.read_model_poll_seconds
    follower = asyncio.create_task(state.projection.follow(poll_seconds)) if poll_seconds > 0 else None
    try:
        yield
    finally:
        if follower is not None:
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follower
        await state.mongo.close()


def state_of(request: Request) -> ApiState:
    """The state built by the lifespan. Dependencies that take the ``Request`` call this rather than depend on
    ``api_state``: FastAPI solves every sub-dependency anew on each request (its parameters validated again),
    cached or not, and the type list went through four of them for this one attribute read."""
    state: ApiState = request.app.state.api
    return state


async def api_state(request: Request) -> ApiState:
    """FastAPI dependency: the state built by the lifespan (``async``: FastAPI runs a plain ``def`` dependency in
    its thread pool, a hand-off between threads on every request for one attribute read)."""
    return state_of(request)
