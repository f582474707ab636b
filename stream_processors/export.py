"""Export of events for analysts: filtering and formatting are pure; reading the stream is in commands."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from contracts.events import EventEnvelope

CSV_COLUMNS = (
    "offset",
    "event_id",
    "event_type",
    "schema_version",
    "occurred_at",
    "owner_id",
    "correlation_id",
    "causation_id",
    "payload",
)


@dataclass(frozen=True)
class ExportFilter:
    """Which events to export; an empty tuple means "any"."""

    event_types: tuple[str, ...] = ()
    owners: tuple[int, ...] = ()
    since: datetime | None = None
    until: datetime | None = None

    def accepts(self, event: EventEnvelope) -> bool:
        return (
            (not self.event_types or event.event_type in self.event_types)
            and (not self.owners or event.owner_id in self.owners)
            and (self.since is None or event.occurred_at >= self.since)
            and (self.until is None or event.occurred_at < self.until)
        )


@dataclass(frozen=True)
class Forgotten:
    """The forget markers (owner -> offset of their last ``user.forgotten``, ``service_kit.forgetting``): an event of
    a person before it belongs to an erased life and is exported redacted."""

    through: Mapping[int, int] = field(default_factory=dict)

    def redacts(self, offset: int, event: EventEnvelope) -> bool:
        return offset < self.through.get(event.owner_id, -1)


NOTHING_FORGOTTEN = Forgotten()


def export_record(offset: int, event: EventEnvelope, forgotten: Forgotten = NOTHING_FORGOTTEN) -> dict[str, Any]:
    """The event as exported; one of a forgotten life keeps its ids, type, version and time (counts stay right) and
    loses its payload and correlation ids (v1 events carried names in the clear)."""
    record = {"offset": offset, **event.model_dump(mode="json")}
    if forgotten.redacts(offset, event):
        record.update(payload=None, correlation_id=None, causation_id=None, redacted=True)
    return record


def jsonl_line(offset: int, event: EventEnvelope, forgotten: Forgotten = NOTHING_FORGOTTEN) -> str:
    return json.dumps(export_record(offset, event, forgotten), ensure_ascii=False) + "\n"


def csv_header() -> str:
    return _csv_row(list(CSV_COLUMNS))


def csv_line(offset: int, event: EventEnvelope, forgotten: Forgotten = NOTHING_FORGOTTEN) -> str:
    record = export_record(offset, event, forgotten)
    if record["payload"] is not None:
        record["payload"] = json.dumps(record["payload"], ensure_ascii=False, sort_keys=True)
    return _csv_row(["" if record.get(column) is None else record[column] for column in CSV_COLUMNS])


def _csv_row(values: list[Any]) -> str:
    buffer = io.StringIO()
    # RFC 4180 line ends; with them the writer also quotes a field holding a lone \r.
    csv.writer(buffer, lineterminator="\r\n").writerow(values)
    return buffer.getvalue()
