"""The event log on RabbitMQ Streams: stream creation, confirmed appends, subscriptions, probes.

Callers import the public names from here. Inside: ``connections`` (how every client connects),
``admin`` (creating the streams), ``publisher`` (confirmed appends), ``subscriber`` (subscriptions) and
``probe`` (readiness, a stream's end offset). Each module names the measured broker facts it is built around.
"""

from service_kit.eventlog.admin import ensure_events_stream, ensure_streams
from service_kit.eventlog.probe import stream_end_offset, streams_exist
from service_kit.eventlog.publisher import EventLogUnavailable, EventPublisher, RawPublisher
from service_kit.eventlog.subscriber import RecordHandler, StartAt, StreamRecord, StreamSubscriber

__all__ = [
    "EventLogUnavailable",
    "EventPublisher",
    "RawPublisher",
    "RecordHandler",
    "StartAt",
    "StreamRecord",
    "StreamSubscriber",
    "ensure_events_stream",
    "ensure_streams",
    "stream_end_offset",
    "streams_exist",
]
