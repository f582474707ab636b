"""Streaming core benchmark: appends, raw stream rates, processor throughput, raw MongoDB writes.

Run: ``make bench`` (or, with the test services up, ``python -m bench.streaming [--events N]``).
Everything runs on loopback against the local RabbitMQ, SecantusDB and a fresh stream and database,
which are deleted afterwards. Prints Markdown tables; ratios compare numbers from this same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
import uuid
from dataclasses import dataclass

from pymongo import ReplaceOne
from rstream import Consumer, ConsumerOffsetSpecification, MessageContext, OffsetType, Producer, RawMessage

from bench.common import RssSampler, percentile, table
from contracts.codec import encode_event
from contracts.events import EventEnvelope
from contracts.read_models import READ_MODELS, DocumentView, ProcessorCheckpoint, read_model_database
from service_kit.eventlog import EventPublisher, ensure_streams
from service_kit.mongo import init_read_models, mongo_client
from service_kit.settings import MongoSettings, RabbitSettings
from tests import factories as f
from tests.mongo_cleanup import drop_databases
from tests.streams import delete_streams


def event_mix(count: int, owners: int = 1000, seed: int = 1) -> list[EventEnvelope]:
    """~80% adds, 10% renames, 7% deletes, 3% restores, over ``owners`` people."""
    rng = random.Random(seed)
    events: list[EventEnvelope] = []
    documents: dict[int, list[uuid.UUID]] = {}
    for step in range(count):
        owner = rng.randrange(1, owners + 1)
        mine = documents.setdefault(owner, [])
        roll = rng.random()
        if roll < 0.8 or not mine:
            event = f.added(owner, f"Document {step}", rng.choice(["Passport", "Receipts", "Contracts"]), step=step)
            mine.append(f.document_id_of(event))
        elif roll < 0.9:
            event = f.renamed(owner, rng.choice(mine), f"Renamed {step}", step)
        elif roll < 0.97:
            event = f.deleted(owner, rng.choice(mine), step)
        else:
            event = f.restored(owner, rng.choice(mine), step)
        events.append(event)
    return events


def _admin_producer(rabbit: RabbitSettings) -> Producer:
    return Producer(
        host=rabbit.host,
        port=rabbit.stream_port,
        username=rabbit.username,
        password=rabbit.password.get_secret_value(),
        load_balancer_mode=True,
    )


async def raw_publish_rate(rabbit: RabbitSettings, payloads: list[bytes], stream: str, one_at_a_time: bool) -> float:
    """rstream alone: send_batch(1000) of the same encoded messages with confirms, no envelope work (as
    ``RawMessage``: wrapping them in an ``AMQPMessage`` would add rstream's own encoding to the baseline); every
    batch in flight at once, or (as sequential ``EventPublisher.append`` calls do) each confirmed before the next."""
    producer = _admin_producer(rabbit)
    await producer.start()
    confirmed = 0
    done = asyncio.Event()

    def on_confirm(_: object) -> None:
        nonlocal confirmed
        confirmed += 1
        if confirmed == sent:
            done.set()

    started = time.perf_counter()
    sent = 0 if one_at_a_time else len(payloads)
    for start in range(0, len(payloads), 1000):
        batch = [RawMessage(p) for p in payloads[start : start + 1000]]
        if one_at_a_time:
            sent += len(batch)
            done.clear()
        await producer.send_batch(stream, batch, on_publish_confirm=on_confirm)
        if one_at_a_time:
            await done.wait()
    await done.wait()
    elapsed = time.perf_counter() - started
    await producer.close()
    return len(payloads) / elapsed


async def raw_consume_rate(rabbit: RabbitSettings, stream: str, count: int) -> float:
    consumer = Consumer(
        host=rabbit.host,
        port=rabbit.stream_port,
        username=rabbit.username,
        password=rabbit.password.get_secret_value(),
        load_balancer_mode=True,
    )
    await consumer.start()
    received = 0
    done = asyncio.Event()

    async def on_message(_: bytes, __: MessageContext) -> None:
        nonlocal received
        received += 1
        if received == count:
            done.set()

    started = time.perf_counter()
    await consumer.subscribe(
        stream,
        on_message,
        decoder=lambda b: b,
        offset_specification=ConsumerOffsetSpecification(OffsetType.FIRST, None),
    )
    await done.wait()
    elapsed = time.perf_counter() - started
    await consumer.close()
    return count / elapsed


@dataclass
class RawPublishRates:
    one_at_a_time: float
    all_at_once: float


@dataclass
class AppendResult:
    batch_rate: float
    concurrent_batch_rate: float
    single_p50_ms: float
    single_p99_ms: float
    single_rate: float


async def append_rates(
    rabbit: RabbitSettings, events: list[EventEnvelope], singles: int, spare_stream: str
) -> AppendResult:
    """EventPublisher: batches of 1000 one after another and all at once (to ``spare_stream``: the replay reads
    the events stream), for throughput; one event per append (as the bot does) for latency."""
    publisher = EventPublisher(rabbit, "bench-publisher")
    spare = EventPublisher(rabbit.model_copy(update={"events_stream": spare_stream}), "bench-publisher-all")
    batches = [events[start : start + 1000] for start in range(0, len(events), 1000)]
    started = time.perf_counter()
    for batch in batches:
        await publisher.append(*batch)
    batch_rate = len(events) / (time.perf_counter() - started)
    started = time.perf_counter()
    await asyncio.gather(*(spare.append(*batch) for batch in batches))
    concurrent_batch_rate = len(events) / (time.perf_counter() - started)
    await spare.close()
    latencies = []
    single_events = [f.started(i + 1, step=i) for i in range(singles)]
    started = time.perf_counter()
    for event in single_events:
        began = time.perf_counter()
        await publisher.append(event)
        latencies.append((time.perf_counter() - began) * 1000)
    single_rate = singles / (time.perf_counter() - started)
    await publisher.close()
    return AppendResult(
        batch_rate, concurrent_batch_rate, percentile(latencies, 50), percentile(latencies, 99), single_rate
    )


@dataclass
class ProcessorResult:
    rate: float
    seconds: float
    rss_at_10k_mb: float
    rss_at_end_mb: float
    peak_rss_mb: float
    rss_by_quarter_mb: tuple[float, ...]


async def processor_run(
    rabbit: RabbitSettings, mongo: MongoSettings, total: int, batch_size: int = 1000
) -> ProcessorResult:
    """``python -m stream_processors replay`` in its own process, sampled for RSS and progress (RSS at the first
    commit past each quarter of the events: flat memory shows as four equal figures)."""
    env = {
        **os.environ,
        "RABBITMQ_EVENTS_STREAM": rabbit.events_stream,
        "RABBITMQ_DEAD_LETTER_STREAM": rabbit.dead_letter_stream,
        "MONGO_DATABASE": mongo.database,
        "LOG_LEVEL": "WARNING",
        "BATCH_SIZE": str(batch_size),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "stream_processors",
        "replay",
        "--version",
        "1",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    sampler = RssSampler(process.pid)
    sampler.start()
    client = mongo_client(mongo)
    checkpoints = client[read_model_database(mongo.database, 1)][ProcessorCheckpoint.Settings.name]
    first_commit: float | None = None
    rss_at_10k = rss_at_end = 0.0
    quarters: list[float] = []
    while process.returncode is None:
        checkpoint = await checkpoints.find_one({})
        now = time.perf_counter()
        if checkpoint is not None:
            first_commit = first_commit or now
            offset = int(str(checkpoint["offset"]))
            if not rss_at_10k and offset >= 10_000:
                rss_at_10k = sampler.latest_mb
            while len(quarters) < 4 and offset >= (len(quarters) + 1) * (total - 1) // 4:
                quarters.append(sampler.latest_mb)
            if offset >= total - 1:
                rss_at_end = rss_at_end or sampler.latest_mb  # before exit: a finished process has no RSS
        try:
            await asyncio.wait_for(process.wait(), 0.1)
        except TimeoutError:
            pass
    finished = time.perf_counter()
    await sampler.stop()
    await client.close()
    seconds = finished - (first_commit or finished)
    return ProcessorResult(
        total / seconds if seconds else 0.0, seconds, rss_at_10k, rss_at_end, sampler.peak_mb, tuple(quarters)
    )


async def raw_mongo_upsert_rate(mongo: MongoSettings) -> tuple[float, int, float]:
    """The documents the processor produced, written again as plain bulk upserts (batches of 1000)."""
    client = mongo_client(mongo)
    source = client[read_model_database(mongo.database, 1)][DocumentView.Settings.name]
    documents = await source.find({}).to_list(None)
    target = client[read_model_database(mongo.database, 2)]
    await init_read_models(target, READ_MODELS)
    started = time.perf_counter()
    for start in range(0, len(documents), 1000):
        batch = documents[start : start + 1000]
        await target[DocumentView.Settings.name].bulk_write(
            [ReplaceOne({"_id": d["_id"]}, d, upsert=True) for d in batch], ordered=False
        )
    seconds = time.perf_counter() - started
    await client.close()
    return len(documents) / seconds, len(documents), seconds


async def cleanup(rabbit: RabbitSettings, mongo: MongoSettings, *bench_streams: str) -> None:
    await delete_streams(rabbit, rabbit.events_stream, rabbit.dead_letter_stream, *bench_streams)
    await drop_databases(mongo)


async def measure_appends(
    rabbit: RabbitSettings,
    events: list[EventEnvelope],
    payloads: list[bytes],
    singles: int,
    streams: tuple[str, str],
) -> tuple[RawPublishRates, AppendResult]:
    """The raw baselines into ``streams[0]``, then ``EventPublisher``'s appends (batches all at once into
    ``streams[1]``)."""
    raw_stream, spare_stream = streams
    raw_pub = RawPublishRates(
        one_at_a_time=await raw_publish_rate(rabbit, payloads, raw_stream, one_at_a_time=True),
        all_at_once=await raw_publish_rate(rabbit, payloads, raw_stream, one_at_a_time=False),
    )
    return raw_pub, await append_rates(rabbit, events, singles, spare_stream)


async def main(total: int, singles: int, batch_size: int, appends_only: bool) -> None:
    """Every row; with ``appends_only`` (``--only appends``) the append rows alone, a minute instead of many."""
    tag = f"bench{uuid.uuid4().hex[:8]}"
    rabbit = RabbitSettings(events_stream=f"{tag}.events", dead_letter_stream=f"{tag}.dlq", confirm_timeout_seconds=30)
    mongo = MongoSettings(database=tag)
    raw_stream, spare_stream = f"{tag}.raw", f"{tag}.spare"
    events = event_mix(total)
    payloads = [encode_event(e) for e in events]
    await ensure_streams(rabbit)
    await _admin_producer_create(rabbit, raw_stream, spare_stream)
    try:
        raw_pub, appended = await measure_appends(rabbit, events, payloads, singles, (raw_stream, spare_stream))
        if appends_only:
            print(f"\n{total:,} events, load average {_load_average()}\n")
            print(table(["measure", "value", "baseline in this run", "ratio"], append_rows(raw_pub, appended)))
            return
        raw_consume = await raw_consume_rate(rabbit, raw_stream, len(payloads))
        processed = await processor_run(rabbit, mongo, total + singles, batch_size)
        raw_mongo, documents, raw_seconds = await raw_mongo_upsert_rate(mongo)
    finally:
        await cleanup(rabbit, mongo, raw_stream, spare_stream)
    print(f"\nprocessor batch size {batch_size}; load average {_load_average()}")
    print_report(
        total, singles, len(payloads[0]), raw_pub, appended, raw_consume, processed, (raw_mongo, documents, raw_seconds)
    )


def _load_average() -> str:
    return " ".join(f"{n:.1f}" for n in os.getloadavg())


async def _admin_producer_create(rabbit: RabbitSettings, *streams: str) -> None:
    producer = _admin_producer(rabbit)
    await producer.start()
    for stream in streams:
        await producer.create_stream(stream, exists_ok=True)
    await producer.close()


def append_rows(raw_pub: RawPublishRates, appended: AppendResult) -> list[list[object]]:
    return [
        [
            "append, batches of 1000 one at a time (events/s)",
            appended.batch_rate,
            f"raw rstream send_batch, each confirmed before the next, {raw_pub.one_at_a_time:,.0f}/s",
            f"{appended.batch_rate / raw_pub.one_at_a_time:.0%}",
        ],
        [
            "append, batches of 1000 all at once (events/s)",
            appended.concurrent_batch_rate,
            f"raw rstream send_batch, all in flight, {raw_pub.all_at_once:,.0f}/s",
            f"{appended.concurrent_batch_rate / raw_pub.all_at_once:.0%}",
        ],
        ["append, one event per call (events/s)", appended.single_rate, "", ""],
        [
            "append latency p50 / p99 (ms)",
            f"{appended.single_p50_ms:.2f} / {appended.single_p99_ms:.2f}",
            "",
            "",
        ],
    ]


def print_report(
    total: int,
    singles: int,
    event_bytes: int,
    raw_pub: RawPublishRates,
    appended: AppendResult,
    raw_consume: float,
    processed: ProcessorResult,
    raw_upsert: tuple[float, int, float],
) -> None:
    raw_mongo, documents, raw_seconds = raw_upsert
    baseline = min(raw_consume, raw_mongo)
    print(
        f"\n{total:,} events (~{event_bytes} bytes each, 80% adds), {singles:,} single appends, "
        f"{os.cpu_count()} cores\n"
    )
    print(
        table(
            ["measure", "value", "baseline in this run", "ratio"],
            [
                *append_rows(raw_pub, appended),
                [
                    "processor, transactional checkpoint (events/s)",
                    processed.rate,
                    f"slower of raw consume {raw_consume:,.0f}/s and raw Mongo upsert {raw_mongo:,.0f} docs/s",
                    f"{processed.rate / baseline:.0%}",
                ],
                [
                    f"replay of {total + singles:,} events (s)",
                    processed.seconds,
                    f"raw upsert of its {documents:,} documents {raw_seconds:,.1f} s (target: within 2x)",
                    f"{processed.seconds / raw_seconds:.2f}x",
                ],
                [
                    "processor RSS at 10k / at end / peak (MB)",
                    f"{processed.rss_at_10k_mb:.0f} / {processed.rss_at_end_mb:.0f} / {processed.peak_rss_mb:.0f}",
                    "",
                    "",
                ],
                [
                    "processor RSS at each quarter of the replay (MB)",
                    " / ".join(f"{mb:.0f}" for mb in processed.rss_by_quarter_mb),
                    "",
                    "",
                ],
            ],
        )
    )
    print(f"\nraw Mongo upsert rate measured over the {documents:,} documents the processor produced")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--singles", type=int, default=2_000)
    parser.add_argument("--batch-size", type=int, default=1000, help="the processor's BATCH_SIZE for the replay")
    parser.add_argument("--only", choices=["appends"], help="run only the append rows")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.events, arguments.singles, arguments.batch_size, arguments.only == "appends"))
