"""Helpers for integration tests: publish events, run a processor until caught up, read the state."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from contracts.events import EventEnvelope
from contracts.read_models import DocumentTypeView, DocumentView, UserView, read_model_database
from service_kit.eventlog import EventPublisher, RawPublisher, stream_end_offset
from service_kit.mongo import mongo_client
from service_kit.settings import MongoSettings, RabbitSettings
from stream_processors.runner import ProcessorRunner
from stream_processors.settings import ProcessorSettings
from stream_processors.wiring import open_processor


async def publish(rabbit: RabbitSettings, events: Sequence[EventEnvelope], batch: int = 500) -> None:
    publisher = EventPublisher(rabbit)
    try:
        for start in range(0, len(events), batch):
            await publisher.append(*events[start:start + batch])
    finally:
        await publisher.close()


async def publish_raw(rabbit: RabbitSettings, messages: Sequence[bytes]) -> None:
    raw = RawPublisher(rabbit, rabbit.events_stream, "test-raw")
    try:
        await raw.append(list(messages))
    finally:
        await raw.close()


def processor_settings(rabbit: RabbitSettings, mongo: MongoSettings, **overrides: Any) -> ProcessorSettings:
    return ProcessorSettings(rabbitmq=rabbit, mongo=mongo, lag_probe_seconds=60, **overrides)


async def process_all(settings: ProcessorSettings, version: int | None = None) -> int:
    """Run the processor until it committed the stream's current end; returns that offset."""
    end = await stream_end_offset(settings.rabbitmq, settings.rabbitmq.events_stream)
    async with open_processor(settings, version) as processor:
        runner = ProcessorRunner(processor, settings.rabbitmq, batch_size=settings.batch_size, stop_after=end)
        await runner.run()
    return end


async def snapshot(
    mongo: MongoSettings, version: int = 1, without: tuple[str, ...] = ()
) -> dict[str, list[dict[str, Any]]]:
    """Every read model's documents (less the fields ``without``), sorted by id: equal snapshots, equal state."""
    client = mongo_client(mongo)
    try:
        db = client[read_model_database(mongo.database, version)]
        result: dict[str, list[dict[str, Any]]] = {}
        for model in (DocumentView, DocumentTypeView, UserView):
            name = model.Settings.name
            rows = await db[name].find({}).sort("_id", 1).to_list(None)
            result[name] = [{k: v for k, v in row.items() if k not in without} for row in rows]
        return result
    finally:
        await client.close()
