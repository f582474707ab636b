"""Questions asked of the broker without consuming a stream for good: do the streams exist, where does one end."""

from __future__ import annotations

import asyncio
import contextlib

from service_kit.eventlog.connections import new_consumer
from service_kit.eventlog.subscriber import StartAt, StreamRecord, StreamSubscriber
from service_kit.metrics import timed
from service_kit.settings import RabbitSettings


async def streams_exist(settings: RabbitSettings, timeout_seconds: float = 2.0) -> bool:
    """Readiness: the broker answers and both streams exist (False on any failure, never raises)."""
    consumer = new_consumer(settings, "docvault-readiness", None)
    try:
        async with asyncio.timeout(timeout_seconds):
            await consumer.start()
            return all(
                [
                    await consumer.stream_exists(settings.events_stream),
                    await consumer.stream_exists(settings.dead_letter_stream),
                ]
            )
    except Exception:  # refused, unreachable, timed out, not allowed: not ready
        return False
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(consumer.close(), 2)


@timed("stream", "end_offset")
async def stream_end_offset(
    settings: RabbitSettings, stream: str, quiet_seconds: float = 0.3, max_seconds: float = 2.0
) -> int:
    """The offset of the newest record in ``stream`` (-1 when empty).

    RabbitMQ 3.10 has no stream-stats command, so this subscribes at ``last`` (the newest chunk) and
    takes the highest offset delivered before the subscription goes quiet, or after ``max_seconds`` of
    watching: a stream that is appended to all the time never goes quiet, and its end is a moving target
    anyway (the lag gauge and ``lag`` command must answer under traffic, bench/lag.py found they did not).
    """
    highest = -1
    arrived = asyncio.Event()

    async def note(record: StreamRecord) -> None:
        nonlocal highest
        highest = max(highest, record.offset)
        arrived.set()

    probe = StreamSubscriber(settings, stream, note, "docvault-end-probe")
    try:
        await probe.start(StartAt.last())
        try:
            await asyncio.wait_for(arrived.wait(), 1.0)
        except TimeoutError:
            return -1
        deadline = asyncio.get_running_loop().time() + max_seconds
        seen = -2
        while seen != highest and asyncio.get_running_loop().time() < deadline:
            seen = highest
            await asyncio.sleep(quiet_seconds)
        return highest
    finally:
        await probe.close()
