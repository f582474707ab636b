"""Processor lag benchmark: sustained appends at fixed rates against one running processor.

    python -m bench.lag [--rates 50,100,200,300,400,800] [--seconds 20]

For each rate: a fresh stream and a fresh database, ``python -m stream_processors run`` as its own process
(production settings: the default BATCH_SIZE, 500), then ``EventPublisher`` appends the realistic event mix of
``bench.streaming`` (80% adds) at that rate for ``--seconds``, every 50 ms the events due by then in one
append. A fresh stream and database per rate keep the rates independent: each starts at lag 0 with empty
read models, and a slow rate's backlog cannot spill into the next one.

Every 0.5 s: lag = stream end offset - the processor's committed checkpoint. The stream end is the offset of
the last event the broker confirmed (this benchmark is the stream's only writer, and a fresh stream starts at
offset 0), exact at every sample; ``service_kit.eventlog.stream_end_offset`` (which the processor's gauge
uses) watches the stream for up to 2 s, so it is used once the appends stop, as a check. (Before that bound
existed it never returned under traffic, and this benchmark showed the gauge "never set".)

Per rate: achieved append rate, events the processor committed per second meanwhile, lag at the end of the
appends, max lag, lag slope (least squares over the second half of the appends), bounded = slope under 5% of
the rate, time to drain after the appends stop and the drain rate (backlog / drain time: the processor's
catch-up rate in this same run, the baseline for the other columns), the processor's CPU and peak RSS, the
database server's CPU (shared with other work), and the processor's own ``docvault_processor_lag_events``
gauge at the end of the appends. Loopback only; streams and databases are removed after each rate.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bench.common import ProcessWatch, shared_server_pids, start_serving, table
from bench.streaming import event_mix
from contracts.events import EventEnvelope
from service_kit.eventlog import EventPublisher, stream_end_offset
from service_kit.settings import MongoSettings, RabbitSettings
from stream_processors.settings import ProcessorSettings
from tests.e2e.processes import Service, rabbit_env
from tests.integration.pipeline import committed_offset, wait_for_checkpoint
from tests.mongo_cleanup import drop_databases
from tests.streams import fresh_streams

APPEND_TICK_SECONDS = 0.05
SAMPLE_SECONDS = 0.5
BOUNDED_SLOPE_SHARE = 0.05  # a lag growing by less than 5% of the append rate counts as bounded (batching noise)
DRAIN_TIMEOUT_SECONDS = 300.0
LAG_GAUGE = "docvault_processor_lag_events"
BATCH_SIZE: int = ProcessorSettings.model_fields["batch_size"].default  # the production default, set explicitly


@dataclass
class Appends:
    """What the publisher has had confirmed so far."""

    confirmed: int = 0
    seconds: float = 0.0

    @property
    def end_offset(self) -> int:
        return self.confirmed - 1


@dataclass
class RateResult:
    target: int
    appends: Appends
    samples: list[tuple[float, int]] = field(default_factory=list)  # (seconds since the start, lag)
    drain_seconds: float | None = None
    probed_end: int = -1
    gauge: float | None = None
    cpu_share: float = 0.0
    peak_rss_mb: float = 0.0
    database_cpu_share: float = 0.0

    @property
    def achieved(self) -> float:
        return self.appends.confirmed / self.appends.seconds if self.appends.seconds else 0.0

    @property
    def processed_rate(self) -> float:
        """Events the processor committed per second while the appends ran."""
        if not self.samples or not self.appends.seconds:
            return float("nan")
        return (self.appends.confirmed - self.samples[-1][1]) / self.appends.seconds

    @property
    def drain_rate(self) -> float:
        """The processor's catch-up rate: the backlog left at the end of the appends over the time to drain it."""
        if not self.drain_seconds or not self.samples or not self.samples[-1][1]:
            return float("nan")  # nothing to drain
        return self.samples[-1][1] / self.drain_seconds

    @property
    def slope(self) -> float:
        """Lag growth in events/s over the second half of the appends."""
        half = [(t, lag) for t, lag in self.samples if t >= self.appends.seconds / 2]
        if len(half) < 2:
            return float("nan")
        return statistics.linear_regression([t for t, _ in half], [lag for _, lag in half]).slope

    @property
    def bounded(self) -> bool:
        return self.slope < BOUNDED_SLOPE_SHARE * self.target


async def append_at_rate(
    rabbit: RabbitSettings, events: Sequence[EventEnvelope], rate: int, seconds: float, appends: Appends
) -> None:
    """Every tick, append the events due by then (one append, confirmed by the broker) until ``seconds``."""
    publisher = EventPublisher(rabbit, "bench-lag")
    started = time.perf_counter()
    try:
        while (elapsed := time.perf_counter() - started) < seconds:
            due = min(len(events), int(elapsed * rate))
            if due > appends.confirmed:
                await publisher.append(*events[appends.confirmed : due])
                appends.confirmed = due
            await asyncio.sleep(APPEND_TICK_SECONDS)
        appends.seconds = time.perf_counter() - started
    finally:
        await publisher.close()


async def lag_now(mongo: MongoSettings, appends: Appends) -> int:
    end = appends.end_offset  # read before the checkpoint, so a commit in between cannot make the lag negative
    return max(0, end - await committed_offset(mongo))


async def sample_lag(mongo: MongoSettings, appends: Appends, samples: list[tuple[float, int]]) -> None:
    """Until cancelled: every 0.5 s, (seconds since the start, lag)."""
    started = time.perf_counter()
    while True:
        samples.append((time.perf_counter() - started, await lag_now(mongo, appends)))
        await asyncio.sleep(SAMPLE_SECONDS)


async def lag_gauge(metrics_url: str) -> float | None:
    """The processor's own lag gauge from its /metrics page."""
    async with httpx.AsyncClient(timeout=5) as http:
        page = (await http.get(metrics_url)).text
    values = [
        sample.value
        for family in text_string_to_metric_families(page)
        for sample in family.samples
        if sample.name == LAG_GAUGE
    ]
    return values[0] if values else None


async def time_to_drain(mongo: MongoSettings, end_offset: int) -> float | None:
    started = time.perf_counter()
    try:
        await wait_for_checkpoint(mongo, end_offset, timeout=DRAIN_TIMEOUT_SECONDS)
    except AssertionError:
        return None
    return time.perf_counter() - started


async def load_processor(
    result: RateResult,
    rabbit: RabbitSettings,
    mongo: MongoSettings,
    events: Sequence[EventEnvelope],
    seconds: float,
    processor_url: str,
) -> None:
    """Append at the rate while sampling the lag; then read the gauge, wait for the drain, check the end."""
    sampler = asyncio.create_task(sample_lag(mongo, result.appends, result.samples))
    try:
        await append_at_rate(rabbit, events, result.target, seconds, result.appends)
    finally:
        sampler.cancel()
    result.samples.append((result.appends.seconds, await lag_now(mongo, result.appends)))  # the lag at the end
    result.gauge = await lag_gauge(processor_url + "/metrics")
    result.drain_seconds = await time_to_drain(mongo, result.appends.end_offset)
    result.probed_end = await stream_end_offset(rabbit, rabbit.events_stream)


async def measure_rate(rate: int, seconds: float, events: Sequence[EventEnvelope], log_dir: Path) -> RateResult:
    tag = uuid.uuid4().hex[:8]
    mongo = MongoSettings(database=f"benchlag{tag}")
    result = RateResult(rate, Appends())
    try:
        async with fresh_streams(f"bench-lag-{tag}") as rabbit:
            env = {
                **rabbit_env(rabbit),
                "MONGO_DATABASE": mongo.database,
                "LOG_LEVEL": "WARNING",
                "BATCH_SIZE": str(BATCH_SIZE),
            }
            processor, url = await start_serving(f"processor-{rate}", "stream_processors", env, log_dir, "run")
            watch, database = watches(processor)
            try:
                await load_processor(result, rabbit, mongo, events, seconds, url)
            finally:
                await watch.stop()
                await database.stop()
                await stop_checked(processor)
            result.cpu_share, result.peak_rss_mb = watch.cpu_share, watch.peak_mb
            result.database_cpu_share = database.cpu_share
    finally:
        await drop_databases(mongo)
    return result


def watches(processor: Service) -> tuple[ProcessWatch, ProcessWatch]:
    """The processor and the database server (shared: its CPU includes other work's queries), started."""
    pair = ProcessWatch(processor.process.pid), ProcessWatch(shared_server_pids()["SecantusDB"])
    for watch in pair:
        watch.start()
    return pair


async def stop_checked(processor: Service) -> None:
    if await processor.stop() != 0:
        raise RuntimeError(f"{processor.name} did not stop cleanly:\n{processor.output()}")


def row(result: RateResult) -> list[object]:
    lags = [lag for _, lag in result.samples]
    drain = f"{result.drain_seconds:.1f}" if result.drain_seconds is not None else f"> {DRAIN_TIMEOUT_SECONDS:.0f}"
    checked = "" if result.probed_end == result.appends.end_offset else f" (probe says {result.probed_end})"
    return [
        result.target,
        f"{result.achieved:.0f}",
        f"{result.appends.confirmed}{checked}",
        _whole(result.processed_rate),
        lags[-1] if lags else "-",
        max(lags, default=0),
        f"{result.slope:.1f}",
        "yes" if result.bounded else "no",
        drain,
        _whole(result.drain_rate),
        f"{result.cpu_share:.0%}",
        f"{result.peak_rss_mb:.0f}",
        f"{result.database_cpu_share:.0%}",
        "never set" if result.gauge is None else f"{result.gauge:.0f}",
    ]


def _whole(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:,.0f}"


def report(results: Sequence[RateResult], seconds: float) -> None:
    print(
        f"\n{seconds:.0f} s of appends per rate, lag sampled every {SAMPLE_SECONDS} s, "
        f"fresh stream and database per rate, BATCH_SIZE {BATCH_SIZE}\n"
    )
    print(
        table(
            [
                "target ev/s",
                "achieved ev/s",
                "events",
                "processed ev/s",
                "lag at end",
                "max lag",
                "slope ev/s",
                "bounded",
                "drain s",
                "drain ev/s",
                "processor CPU",
                "processor RSS MB",
                "SecantusDB CPU",
                "gauge at end",
            ],
            [row(r) for r in results],
        )
    )
    bounded = [r.target for r in results if r.bounded]
    print(f"\nhighest rate with bounded lag: {max(bounded) if bounded else 'none'} ev/s")


async def main(rates: Sequence[int], seconds: float) -> None:
    events = event_mix(int(max(rates) * seconds) + 1)
    with tempfile.TemporaryDirectory(prefix="bench-lag-") as folder:
        results = [await measure_rate(rate, seconds, events, Path(folder)) for rate in rates]
    report(results, seconds)


def _rates(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.lag", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rates", type=_rates, default=[50, 100, 200, 300, 400, 800], help="events/s, e.g. 50,100")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the appends at each rate")
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse()
    asyncio.run(main(arguments.rates, arguments.seconds))
