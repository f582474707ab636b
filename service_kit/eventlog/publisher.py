"""Confirmed appends: ``append`` returns only once the broker confirmed every message.

``Producer.send`` waits on a 0.5 s flush timer (measured on RabbitMQ 3.10), so appends go out as confirmed
batches (``send_batch``).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Sequence

from rstream import AMQPMessage, ConfirmationStatus, Producer, RawMessage

from contracts.codec import encode_event
from contracts.events import EventEnvelope
from service_kit.eventlog.connections import new_producer
from service_kit.metrics import EVENTS_PUBLISHED_TOTAL, PublishOutcome, timed
from service_kit.settings import RabbitSettings

log = logging.getLogger(__name__)


class EventLogUnavailable(Exception):
    """The broker did not confirm an append, sent twice: it is down, refused it or the confirm timed out.

    The events may or may not be stored; the caller tells the user to try again and sends the same events
    (same event ids) again, which makes the retry safe either way.
    """


APPEND_ATTEMPTS = 2
MIN_RESEND_SECONDS = 0.5


def should_resend(attempt: int, seconds_left: float) -> bool:
    """Whether a failed append gets another attempt: once, and only with time left for a confirm."""
    return attempt < APPEND_ATTEMPTS and seconds_left >= MIN_RESEND_SECONDS


class RawPublisher:
    """Confirmed appends of already encoded messages to one stream; reconnects after any failure."""

    def __init__(self, settings: RabbitSettings, stream: str, name: str) -> None:
        self._settings = settings
        self._stream = stream
        self._name = name
        self._producer: Producer | None = None
        self._lock = asyncio.Lock()

    async def _ready_producer(self) -> Producer:
        async with self._lock:
            if self._producer is None:
                producer = new_producer(self._settings, self._name)
                await producer.start()
                self._producer = producer
            return self._producer

    async def _reset(self) -> None:
        async with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            try:
                await asyncio.wait_for(producer.close(), 2)
            except Exception:  # closing a broken connection may fail in many ways; it is gone either way
                log.debug("closing a failed producer raised", exc_info=True)

    async def append(self, messages: Sequence[bytes | AMQPMessage]) -> None:
        """Append ``messages`` and return only once the broker confirmed every one of them.

        A failed attempt is sent once more on a new connection while the confirm timeout lasts: a dropped
        connection then costs the caller a reconnect, not an error. Sending twice is safe because every
        message carries its event id (consumers apply an id once), and an attempt that failed may have
        been stored anyway (its confirm was lost), which only a resend of the same bytes can settle.
        """
        if not messages:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._settings.confirm_timeout_seconds
        for attempt in range(1, APPEND_ATTEMPTS + 1):
            try:
                await asyncio.wait_for(self._send_confirmed(messages), max(deadline - loop.time(), 0.0))
                return
            except Exception as error:
                await self._reset()
                if not should_resend(attempt, deadline - loop.time()):
                    raise EventLogUnavailable(f"append to {self._stream} failed: {type(error).__name__}") from error
                log.info("append failed, sending again on a new connection", extra={"error": repr(error)})

    async def _send_confirmed(self, messages: Sequence[bytes | AMQPMessage]) -> None:
        producer = await self._ready_producer()
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        pending = len(messages)

        def on_confirm(status: ConfirmationStatus) -> None:
            nonlocal pending
            if done.done():
                return
            if not status.is_confirmed:
                done.set_exception(EventLogUnavailable(f"broker refused the append (code {status.response_code})"))
                return
            pending -= 1
            if pending == 0:
                done.set_result(None)

        batch = [RawMessage(m) if isinstance(m, bytes) else m for m in messages]
        await producer.send_batch(self._stream, batch, on_publish_confirm=on_confirm)
        await done

    async def close(self) -> None:
        await self._reset()


def _count_published(events: Sequence[EventEnvelope], outcome: PublishOutcome) -> None:
    # One increment per event type, not per event: a label lookup costs about as much as a tenth of an
    # event's encoding, and batches repeat a few types (``python -m bench.streaming --only appends``).
    for event_type, count in Counter(event.event_type for event in events).items():
        EVENTS_PUBLISHED_TOTAL.labels(event_type, outcome).inc(count)


class EventPublisher:
    """Appends events to the event stream; counts them by type and outcome."""

    def __init__(self, settings: RabbitSettings, name: str = "docvault-publisher") -> None:
        self._raw = RawPublisher(settings, settings.events_stream, name)

    @timed("stream", "append")
    async def append(self, *events: EventEnvelope) -> None:
        encoded = [encode_event(event) for event in events]
        try:
            await self._raw.append(encoded)
        except EventLogUnavailable:
            _count_published(events, PublishOutcome.failed)
            raise
        _count_published(events, PublishOutcome.confirmed)

    async def close(self) -> None:
        await self._raw.close()
