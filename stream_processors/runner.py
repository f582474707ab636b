"""The processor loop: subscribe at checkpoint + 1, batch records, commit with retries, report lag."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable

from service_kit.eventlog import StartAt, StreamRecord, StreamSubscriber, stream_end_offset
from service_kit.metrics import PROCESSOR_CHECKPOINT, PROCESSOR_LAG
from service_kit.settings import RabbitSettings
from stream_processors.failures import Failure, classify, describe_failure
from stream_processors.processor import Processor
from stream_processors.store import load_checkpoint

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 10.0


def resume_position(checkpoint: int | None, requested: StartAt | None) -> StartAt:
    """An explicit start wins (replays); otherwise checkpoint + 1, or the first record."""
    if requested is not None:
        return requested
    return StartAt.first() if checkpoint is None else StartAt.offset(checkpoint + 1)


def caught_up(committed: int | None, stop_after: int | None) -> bool:
    """Whether a bounded run is done: it committed ``stop_after`` (offset 0 counts: it is falsy, not absent)."""
    return stop_after is not None and committed is not None and committed >= stop_after


def backoff_delay(attempt: int, cap: float = MAX_BACKOFF_SECONDS) -> float:
    """Exponential backoff with jitter: 0.1 s, 0.2 s, 0.4 s ... up to ``cap``."""
    base: float = min(cap, 0.1 * 2 ** min(attempt, 16))
    return base * random.uniform(0.5, 1.0)


async def stopped_within(stop: asyncio.Event, seconds: float) -> bool:
    """Wait up to ``seconds``; True as soon as ``stop`` is set, False when the time ran out."""
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        return False
    return True


class ProcessorRunner:
    """Feeds a ``Processor`` from the event stream until stopped (or until ``stop_after`` is committed)."""

    def __init__(
        self,
        processor: Processor,
        rabbit: RabbitSettings,
        *,
        batch_size: int = 500,
        fill_wait_seconds: float = 0.02,
        lag_probe_seconds: float = 10.0,
        stop_after: int | None = None,
        idle_exit_seconds: float | None = None,
        on_commit: Callable[[int, int], None] | None = None,
    ) -> None:
        self._processor = processor
        self._rabbit = rabbit
        self._batch_size = batch_size
        self._fill_wait = fill_wait_seconds
        self._lag_probe_seconds = lag_probe_seconds
        self._stop_after = stop_after
        self._idle_exit = idle_exit_seconds
        self._on_commit = on_commit
        self._queue: asyncio.Queue[StreamRecord] = asyncio.Queue(maxsize=batch_size * 4)
        self._stopping = asyncio.Event()
        self.committed_offset: int | None = None

    def stop(self) -> None:
        self._stopping.set()

    async def run(self, start_at: StartAt | None = None) -> None:
        self.committed_offset = await load_checkpoint(self._processor.database, self._processor.identity.checkpoint_id)
        if self._caught_up():
            return
        name = f"docvault-{self._processor.identity.checkpoint_id}"
        subscriber = StreamSubscriber(self._rabbit, self._rabbit.events_stream, self._queue.put, name)
        await subscriber.start(resume_position(self.committed_offset, start_at))
        lag_task = asyncio.create_task(self._report_lag())
        try:
            await self._consume()
        finally:
            lag_task.cancel()
            await subscriber.close()

    def _caught_up(self) -> bool:
        return caught_up(self.committed_offset, self._stop_after)

    async def _consume(self) -> None:
        while not self._stopping.is_set() and not self._caught_up():
            batch = await self._next_batch()
            if batch and not await self._commit_until_done(batch):
                return

    async def _next_batch(self) -> list[StreamRecord]:
        """Wait for one record (or a stop), then take what else arrives within ``fill_wait``."""
        getter = asyncio.ensure_future(self._queue.get())
        stopper = asyncio.ensure_future(self._stopping.wait())
        await asyncio.wait({getter, stopper}, timeout=self._idle_exit, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if not getter.done():
            getter.cancel()
            if self._idle_exit is not None:
                self.stop()  # a bounded run that receives nothing more is done (e.g. replay from past the end)
            return []
        batch = [getter.result()]
        deadline = asyncio.get_running_loop().time() + self._fill_wait
        while len(batch) < self._batch_size:
            if self._queue.empty():
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(self._queue.get(), remaining))
                except TimeoutError:
                    break
            else:
                batch.append(self._queue.get_nowait())
        return batch

    async def _commit_until_done(self, batch: list[StreamRecord]) -> bool:
        """Retry the same batch until it commits (True) or the runner is stopped (False); an
        uncommitted batch is simply read again from the checkpoint on the next start.

        Only infrastructure failures reach here to be retried (the processor dead-letters events it cannot
        apply); anything else, such as a lost lease, ends the run."""
        attempt = 0
        while True:
            try:
                await self._processor.process(batch)
                break
            except Exception as error:
                if classify(error) is not Failure.retry:
                    raise
                delay = backoff_delay(attempt)
                log.warning(
                    "batch not committed, retrying", extra={"error": describe_failure(error), "retry_in": delay}
                )
                attempt += 1
                if await stopped_within(self._stopping, delay):
                    return False
        self.committed_offset = batch[-1].offset
        PROCESSOR_CHECKPOINT.labels(self._processor.identity.checkpoint_id).set(self.committed_offset)
        if self._on_commit is not None:
            self._on_commit(self.committed_offset, len(batch))
        return True

    async def _report_lag(self) -> None:
        while True:
            try:
                end = await stream_end_offset(self._rabbit, self._rabbit.events_stream)
                committed = -1 if self.committed_offset is None else self.committed_offset
                PROCESSOR_LAG.labels(self._processor.identity.checkpoint_id).set(max(0, end - committed))
            except Exception:
                log.warning("lag probe failed", exc_info=True)
            await asyncio.sleep(self._lag_probe_seconds)
