"""Operations: ``/healthz`` (the process answers), ``/readyz`` (MongoDB and S3 answer), ``/metrics``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pymongo.errors import PyMongoError
from starlette.responses import Response

from api.core.parameters import State
from api.core.served_projection import Database
from contracts.api_schemas import Health, Readiness
from service_kit.metrics import timed
from service_kit.s3 import StorageUnavailable

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])
CHECK_TIMEOUT_SECONDS = 2.0


@timed("mongo", "ping")
async def ping(db: Database) -> None:
    await db.command("ping")


@router.get("/healthz", summary="The process answers")
async def healthz() -> Health:
    return Health(status="ok")


async def _answers(name: str, probe: Awaitable[object]) -> bool:
    try:
        await asyncio.wait_for(probe, CHECK_TIMEOUT_SECONDS)
    except (PyMongoError, StorageUnavailable, TimeoutError) as error:
        log.warning("readiness check failed", extra={"dependency": name, "error": repr(error)})
        return False
    return True


@router.get("/readyz", summary="MongoDB and S3 answer", responses={503: {"model": Readiness}})
async def readyz(state: State) -> JSONResponse:
    # ensure_bucket, not a bare existence check: a bucket missing after a storage reset is created here.
    mongo, s3 = await asyncio.gather(
        _answers("mongo", ping(state.database)), _answers("s3", state.files.ensure_bucket())
    )
    report = Readiness(ready=mongo and s3, checks={"mongo": mongo, "s3": s3})
    return JSONResponse(report.model_dump(), status_code=200 if report.ready else 503)


@router.get(
    "/metrics", summary="Prometheus metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}}
)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
