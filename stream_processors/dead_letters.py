"""Dead letters as operators see them: parse the entries of the dead-letter stream, list, show, pick for redrive.

Pure: reading the stream and appending to it is in ``commands``. Entries are written by the processor
(``processor.dead_letter_message``): the original record's bytes as the body, and ``x-source-stream``,
``x-source-offset``, ``x-reason``, ``x-detail`` and (since issue 10) ``x-processor`` as application
properties. rstream's decoder is used to read them: it trusts element counts, which is safe for messages
our own processor wrote (the original bytes are one opaque binary inside them), not for arbitrary input.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rstream import amqp_decoder

from contracts.amqp_body import AmqpFormatError, data_body
from contracts.codec import EventDecodeError, decode_event
from contracts.events import EventEnvelope
from service_kit.eventlog import StreamRecord


class NotADeadLetter(ValueError):
    """A record of the dead-letter stream that this processor did not write."""


@dataclass(frozen=True)
class DeadLetterEntry:
    offset: int  # in the dead-letter stream
    source_stream: str
    source_offset: int
    reason: str
    detail: str
    processor: str  # "" for entries written before the processor was named
    original: bytes  # the record as it was in the source stream

    def event(self) -> EventEnvelope | None:
        """The event, if the original bytes decode (an event that could not be applied, not garbage)."""
        try:
            return decode_event(self.original)
        except EventDecodeError:
            return None


def read_entry(record: StreamRecord) -> DeadLetterEntry:
    try:
        message = amqp_decoder(record.data)
        properties = {_text(key): value for key, value in (message.application_properties or {}).items()}
        body = message.body
        original = b"".join(body) if isinstance(body, list) else bytes(body)
        return DeadLetterEntry(
            offset=record.offset,
            source_stream=_text(properties["x-source-stream"]),
            source_offset=int(properties["x-source-offset"]),
            reason=_text(properties["x-reason"]),
            detail=_text(properties.get("x-detail", b"")),
            processor=_text(properties.get("x-processor", b"")),
            original=original,
        )
    except Exception as error:  # any shape that is not ours
        raise NotADeadLetter(f"offset {record.offset}: {type(error).__name__}") from None


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


LIST_HEADER = ("offset", "source_offset", "reason", "event_type", "event_id", "processor", "detail")


def listing(entries: Iterable[DeadLetterEntry], reasons: Sequence[str] = ()) -> str:
    """The table ``dlq list`` prints: a header, then one row per entry (with one of ``reasons``, if given)."""
    return format_table([LIST_HEADER, *(list_row(e) for e in entries if not reasons or e.reason in reasons)])


def list_row(entry: DeadLetterEntry) -> tuple[str, ...]:
    event = entry.event()
    return (
        str(entry.offset),
        str(entry.source_offset),
        entry.reason,
        event.event_type if event else "-",
        str(event.event_id) if event else "-",
        entry.processor or "-",
        entry.detail,
    )


def format_table(rows: Sequence[tuple[str, ...]]) -> str:
    """Columns padded to their widest cell; the last one (the detail) is not padded."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
    lines = ["  ".join([*(cell.ljust(width) for cell, width in zip(row, widths)), row[-1]]) for row in rows]
    return "\n".join(lines) + "\n"


def shown(entry: DeadLetterEntry) -> dict[str, Any]:
    """The whole entry; the original bytes as the event, else as their JSON body, else base64."""
    event = entry.event()
    described: dict[str, Any] = {
        "offset": entry.offset,
        "source_stream": entry.source_stream,
        "source_offset": entry.source_offset,
        "reason": entry.reason,
        "detail": entry.detail,
        "processor": entry.processor or None,
    }
    if event is not None:
        return described | {"event": event.model_dump(mode="json")}
    body = _json_body(entry.original)
    if body is not None:
        return described | {"body": body}
    return described | {"bytes_base64": base64.b64encode(entry.original).decode("ascii")}


def _json_body(original: bytes) -> Any | None:
    try:
        return json.loads(data_body(original).decode("utf-8"))
    except (AmqpFormatError, ValueError, RecursionError):
        return None


def for_redrive(entries: Iterable[DeadLetterEntry], offsets: set[int], reasons: set[str]) -> list[DeadLetterEntry]:
    """The entries at ``offsets`` or with one of ``reasons``, each source record once (a record dead-lettered
    twice, by a crash in between or by a replay into another version, is appended once)."""
    chosen: dict[tuple[str, int], DeadLetterEntry] = {}
    for entry in entries:
        if entry.offset in offsets or entry.reason in reasons:
            chosen.setdefault((entry.source_stream, entry.source_offset), entry)
    return list(chosen.values())
