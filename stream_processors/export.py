"""Export of events for analysts: filtering and formatting are pure; reading the stream is in commands."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
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


def export_record(offset: int, event: EventEnvelope) -> dict[str, Any]:
    return {"offset": offset, **event.model_dump(mode="json")}


def jsonl_line(offset: int, event: EventEnvelope) -> str:
    return json.dumps(export_record(offset, event), ensure_ascii=False) + "\n"


def csv_header() -> str:
    return _csv_row(list(CSV_COLUMNS))


def csv_line(offset: int, event: EventEnvelope) -> str:
    record = export_record(offset, event)
    record["payload"] = json.dumps(record["payload"], ensure_ascii=False, sort_keys=True)
    return _csv_row(["" if record.get(column) is None else record[column] for column in CSV_COLUMNS])


def _csv_row(values: list[Any]) -> str:
    buffer = io.StringIO()
    # RFC 4180 line ends; with them the writer also quotes a field holding a lone \r.
    csv.writer(buffer, lineterminator="\r\n").writerow(values)
    return buffer.getvalue()
