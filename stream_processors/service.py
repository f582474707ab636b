"""The processor as a service: opened from settings (the one place that creates its clients), and ``run``, the
long-running command with its ops server, standby and restarts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from contracts.read_models import READ_MODELS, read_model_database
from service_kit.eventlog import RawPublisher, ensure_streams, streams_exist
from service_kit.http import start_ops_server
from service_kit.keystore import KeyStore, keys_database_name
from service_kit.mongo import init_read_models, mongo_client
from service_kit.settings import master_keyring
from stream_processors.failures import describe_failure
from stream_processors.lease import LeaseTiming
from stream_processors.processor import Processor, ProcessorIdentity, Projection
from stream_processors.projections import apply_event
from stream_processors.projections.naming import NameRules
from stream_processors.runner import ProcessorRunner, backoff_delay, stopped_within
from stream_processors.settings import ProcessorSettings

log = logging.getLogger(__name__)
MONGO_PROBE_SECONDS = 2.0


@asynccontextmanager
async def open_processor(
    settings: ProcessorSettings,
    version: int | None = None,
    projection: Projection = apply_event,
    rules: NameRules | None = None,
) -> AsyncIterator[Processor]:
    """A ready processor for ``version`` (default: the configured one); closes its clients on exit.
    ``projection`` and ``rules`` are for tests (an event that fails to apply, a small copy limit)."""
    identity = ProcessorIdentity(settings.processor_name, version or settings.processor_version)
    client = mongo_client(settings.mongo)
    dead_letters = RawPublisher(settings.rabbitmq, settings.rabbitmq.dead_letter_stream, "docvault-dlq")
    try:
        await ensure_streams(settings.rabbitmq)
        database = client[read_model_database(settings.mongo.database, identity.version)]
        await init_read_models(database, READ_MODELS)
        keys = KeyStore(client[keys_database_name(settings.mongo)], master_keyring(settings.master_keys))
        processor = Processor(
            identity,
            client,
            database,
            dead_letters,
            settings.rabbitmq.events_stream,
            projection,
            rules,
            keys=keys,
            retention=timedelta(days=settings.retention_days),
        )
        await processor.start(LeaseTiming(settings.lease_ttl_seconds, settings.lease_renew_seconds))
        try:
            yield processor
        finally:
            await processor.close()
    finally:
        await dead_letters.close()
        await client.close()


async def run_service(settings: ProcessorSettings, stop: asyncio.Event) -> int:
    """The long-running processor with its health and metrics server; stops cleanly on ``stop``.

    Services start in any order: while RabbitMQ or MongoDB is not reachable it retries with backoff,
    and after any failure it starts again from the committed checkpoint. While another instance holds the
    lease this one is a standby (``stream_processors.lease``): ready, waiting to take over.
    """
    probe = mongo_client(settings.mongo)

    async def readiness() -> dict[str, bool]:
        mongo, stream = await asyncio.gather(
            mongo_answers(probe[settings.mongo.database]), streams_exist(settings.rabbitmq)
        )
        return {"mongo": mongo, "stream": stream}

    ops = await start_ops_server(settings.http_host, settings.http_port, readiness)
    attempt = 0
    try:
        while not stop.is_set():
            try:
                await _serve_once(settings, stop)
                attempt = 0
            except Exception as error:
                delay = backoff_delay(attempt)
                log.warning(
                    "processor not running, retrying", extra={"error": describe_failure(error), "retry_in": delay}
                )
                attempt += 1
                await stopped_within(stop, delay)
    finally:
        await ops.cleanup()
        await probe.close()
    return 0


async def _serve_once(settings: ProcessorSettings, stop: asyncio.Event) -> None:
    """Wait for the lease (a standby can be stopped while waiting), then run until ``stop`` or a failure."""
    active = asyncio.Event()

    async def serve() -> None:
        async with open_processor(settings) as processor:
            active.set()
            await _run_until_stopped(processor, settings, stop)

    task = asyncio.create_task(serve())
    stopper = asyncio.create_task(stop.wait())
    await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    if not task.done() and not active.is_set():
        task.cancel()  # a standby holds nothing yet
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return
    await task


async def mongo_answers(database: AsyncDatabase[dict[str, object]]) -> bool:
    """MongoDB answers a ping within ``MONGO_PROBE_SECONDS``."""
    try:
        await asyncio.wait_for(database.command("ping"), MONGO_PROBE_SECONDS)
    except (PyMongoError, TimeoutError):
        return False
    return True


async def _run_until_stopped(processor: Processor, settings: ProcessorSettings, stop: asyncio.Event) -> None:
    """Run until ``stop`` (returns) or until the loop fails (raises, so the caller restarts it)."""
    runner = ProcessorRunner(
        processor, settings.rabbitmq, batch_size=settings.batch_size, lag_probe_seconds=settings.lag_probe_seconds
    )
    task = asyncio.create_task(runner.run())
    stopper = asyncio.create_task(stop.wait())
    await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    runner.stop()
    await asyncio.wait_for(task, 30)
