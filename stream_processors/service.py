"""Build a processor from settings: the one place that creates its clients."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from contracts.read_models import READ_MODELS, read_model_database
from service_kit.eventlog import RawPublisher, ensure_streams
from service_kit.mongo import mongo_client, init_read_models
from stream_processors.lease import LeaseTiming
from stream_processors.processor import Processor, ProcessorIdentity, Projection
from stream_processors.projections import apply_event
from stream_processors.projections.naming import NameRules
from stream_processors.settings import ProcessorSettings


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
        processor = Processor(identity, client, database, dead_letters, settings.rabbitmq.events_stream,
                              projection, rules)
        await processor.start(LeaseTiming(settings.lease_ttl_seconds, settings.lease_renew_seconds))
        try:
            yield processor
        finally:
            await processor.close()
    finally:
        await dead_letters.close()
        await client.close()
