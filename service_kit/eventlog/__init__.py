"""The event log on RabbitMQ Streams; callers import its public names from here."""

from service_kit.eventlog.publisher import (
    EventLogUnavailable,
    EventPublisher,
    RawPublisher,
    RecordHandler,
    StartAt,
    StreamRecord,
    StreamSubscriber,
    ensure_streams,
    stream_end_offset,
    streams_exist,
)

__all__ = [
    "EventLogUnavailable",
    "EventPublisher",
    "RawPublisher",
    "RecordHandler",
    "StartAt",
    "StreamRecord",
    "StreamSubscriber",
    "ensure_streams",
    "stream_end_offset",
    "streams_exist",
]
