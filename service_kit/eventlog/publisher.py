"""The event log on RabbitMQ Streams: stream creation, confirmed appends, subscriptions.

Facts this module is built around (measured on RabbitMQ 3.10): clients must use
``load_balancer_mode`` because the broker advertises a host name clients may not resolve; consumer
recovery is off unless asked for; an exception in a consumer callback silently drops the rest of
its chunk; ``Producer.send`` waits on a 0.5 s timer, so appends use confirmed batches.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rstream import (
    AMQPMessage,
    ConfirmationStatus,
    Consumer,
    ConsumerOffsetSpecification,
    MessageContext,
    OffsetType,
    OnClosedErrorInfo,
    Producer,
    RawMessage,
)
from rstream.recovery import BackOffRecoveryStrategy

from contracts.codec import encode_event
from contracts.events import EventEnvelope
from contracts.streams import DEAD_LETTER_STREAM_ARGUMENTS, EVENTS_STREAM_ARGUMENTS
from service_kit.metrics import EVENTS_PUBLISHED_TOTAL, PublishOutcome, timed
from service_kit.settings import RabbitSettings

log = logging.getLogger(__name__)


class EventLogUnavailable(Exception):
    """The broker did not confirm an append, sent twice: it is down, refused it or the confirm timed out.

    The events may or may not be stored; the caller tells the user to try again and sends the same events
    (same event ids) again, which makes the retry safe either way.
    """


def _connection_options(settings: RabbitSettings, name: str) -> dict[str, Any]:
    return {
        "host": settings.host,
        "port": settings.stream_port,
        "vhost": settings.vhost,
        "username": settings.username,
        "password": settings.password.get_secret_value(),
        "load_balancer_mode": True,
        "connection_name": name,
    }


def _producer(settings: RabbitSettings, name: str) -> Producer:
    # A failed append resets the whole producer (see RawPublisher), so no background recovery races it.
    return Producer(**_connection_options(settings, name), recovery_strategy=BackOffRecoveryStrategy(False))


def _consumer(
    settings: RabbitSettings, name: str, on_close: Callable[[OnClosedErrorInfo], Awaitable[None]] | None
) -> Consumer:
    return Consumer(
        **_connection_options(settings, name),
        on_close_handler=on_close,
        recovery_strategy=BackOffRecoveryStrategy(True),
    )


@timed("stream", "create_streams")
async def ensure_streams(settings: RabbitSettings) -> None:
    """Create the event and dead-letter streams with their one argument set (idempotent)."""
    producer = _producer(settings, "docvault-stream-admin")
    try:
        await producer.start()
        await producer.create_stream(
            settings.events_stream, arguments=dict(EVENTS_STREAM_ARGUMENTS), exists_ok=True
        )
        await producer.create_stream(
            settings.dead_letter_stream, arguments=dict(DEAD_LETTER_STREAM_ARGUMENTS), exists_ok=True
        )
    finally:
        await producer.close()


async def streams_exist(settings: RabbitSettings, timeout_seconds: float = 2.0) -> bool:
    """Readiness: the broker answers and both streams exist (False on any failure, never raises)."""
    consumer = _consumer(settings, "docvault-readiness", None)
    try:
        async with asyncio.timeout(timeout_seconds):
            await consumer.start()
            return all([await consumer.stream_exists(settings.events_stream),
                        await consumer.stream_exists(settings.dead_letter_stream)])
    except Exception:  # refused, unreachable, timed out, not allowed: not ready
        return False
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(consumer.close(), 2)


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
                producer = _producer(self._settings, self._name)
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
            for event in events:
                EVENTS_PUBLISHED_TOTAL.labels(event.event_type, PublishOutcome.failed).inc()
            raise
        for event in events:
            EVENTS_PUBLISHED_TOTAL.labels(event.event_type, PublishOutcome.confirmed).inc()

    async def close(self) -> None:
        await self._raw.close()


@dataclass(frozen=True)
class StartAt:
    """Where a subscription starts: ``first``, ``next``, ``last``, an ``offset`` or a ``timestamp`` (ms)."""

    kind: str
    value: int | None = None

    @classmethod
    def first(cls) -> StartAt:
        return cls("first")

    @classmethod
    def next(cls) -> StartAt:
        return cls("next")

    @classmethod
    def last(cls) -> StartAt:
        return cls("last")

    @classmethod
    def offset(cls, offset: int) -> StartAt:
        return cls("offset", offset)

    @classmethod
    def timestamp_ms(cls, timestamp_ms: int) -> StartAt:
        return cls("timestamp", timestamp_ms)

    def to_rstream(self) -> ConsumerOffsetSpecification:
        kinds = {
            "first": OffsetType.FIRST,
            "next": OffsetType.NEXT,
            "last": OffsetType.LAST,
            "offset": OffsetType.OFFSET,
            "timestamp": OffsetType.TIMESTAMP,
        }
        return ConsumerOffsetSpecification(kinds[self.kind], self.value)


@dataclass(frozen=True)
class StreamRecord:
    """One message as stored: its offset, the chunk's timestamp (ms) and the raw bytes."""

    offset: int
    timestamp_ms: int
    data: bytes


RecordHandler = Callable[[StreamRecord], Awaitable[None]]


def _raw_bytes(data: bytes) -> bytes:
    return data


class StreamSubscriber:
    """Delivers every record of a stream once, in offset order, to ``handler``; survives connection drops.

    Records are handed over undecoded: decoding (and dead-lettering what does not decode) is the
    caller's, so nothing can raise inside rstream's callback. The handler may block to apply
    backpressure. After a reconnect rstream may deliver a chunk again; records at or below the last
    delivered offset are dropped here.
    """

    def __init__(self, settings: RabbitSettings, stream: str, handler: RecordHandler, name: str) -> None:
        self._settings = settings
        self._stream = stream
        self._handler = handler
        self._name = name
        self._consumer: Consumer | None = None
        self._last_delivered = -1

    async def start(self, start_at: StartAt) -> None:
        if start_at.kind == "offset" and start_at.value is not None:
            self._last_delivered = start_at.value - 1
        consumer = _consumer(self._settings, self._name, self._on_close)
        await consumer.start()
        self._consumer = consumer
        await consumer.subscribe(
            self._stream,
            self._on_message,
            decoder=_raw_bytes,
            offset_specification=start_at.to_rstream(),
            initial_credit=20,
        )

    async def _on_message(self, data: Any, context: MessageContext) -> None:
        if context.offset <= self._last_delivered:
            return
        try:
            await self._handler(StreamRecord(context.offset, context.timestamp, bytes(data)))
            self._last_delivered = context.offset
        except asyncio.CancelledError:
            raise
        except Exception:
            # Raising here would silently drop the rest of the chunk; the handler owns its errors.
            log.exception("stream record handler failed", extra={"offset": context.offset})

    async def _on_close(self, info: OnClosedErrorInfo) -> None:
        log.warning("stream connection closed, recovering", extra={"reason": str(info.reason)})

    async def close(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            try:
                await asyncio.wait_for(consumer.close(), 5)
            except Exception:
                log.debug("closing the consumer raised", exc_info=True)


@timed("stream", "end_offset")
async def stream_end_offset(settings: RabbitSettings, stream: str, quiet_seconds: float = 0.3,
                            max_seconds: float = 2.0) -> int:
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
