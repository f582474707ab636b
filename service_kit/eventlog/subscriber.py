"""Subscriptions: every record of a stream delivered once, in offset order, undecoded.

An exception in an rstream consumer callback silently drops the rest of its chunk (measured on RabbitMQ
3.10), so nothing may raise inside it: records are handed over as bytes and the handler owns its errors.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from rstream import Consumer, ConsumerOffsetSpecification, MessageContext, OffsetType, OnClosedErrorInfo

from service_kit.eventlog.connections import new_consumer
from service_kit.settings import RabbitSettings

log = logging.getLogger(__name__)


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
        consumer = new_consumer(self._settings, self._name, self._on_close)
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
