"""Every released (event_type, schema_version) has a golden envelope that keeps decoding."""

from __future__ import annotations

import json
import uuid

import pytest

from contracts.codec import decode_envelope_json, decode_event, encode_event, envelope_to_json
from contracts.events import CURRENT_VERSIONS, PAYLOAD_TYPES
from tests.contracts.golden_files import golden_bytes, golden_dict, stored_golden_files

RELEASED = sorted(
    (event_type, version) for event_type in PAYLOAD_TYPES for version in range(1, CURRENT_VERSIONS[event_type] + 1)
)
STORED = stored_golden_files()


def test_golden_files_cover_every_released_version_when_listed() -> None:
    missing = set(RELEASED) - set(STORED)
    assert not missing, f"add a golden file per released version: {sorted(missing)}"


def test_golden_files_name_only_released_versions_when_listed() -> None:
    unreleased = set(STORED) - set(RELEASED)
    assert not unreleased, f"golden files for types or versions the code does not know: {sorted(unreleased)}"


@pytest.mark.parametrize(("event_type", "version"), STORED)
def test_decode_envelope_json_reads_golden_file_when_version_released(event_type: str, version: int) -> None:
    raw = golden_dict(event_type, version)

    event = decode_envelope_json(golden_bytes(event_type, version))

    assert (event.event_type, raw["schema_version"]) == (event_type, version)
    assert event.schema_version == CURRENT_VERSIONS[event_type]
    assert isinstance(event.payload, PAYLOAD_TYPES[event_type])
    assert event.event_id == uuid.UUID(raw["event_id"])
    assert (event.owner_id, event.correlation_id, event.causation_id) == (
        raw["owner_id"],
        raw["correlation_id"],
        raw["causation_id"],
    )


@pytest.mark.parametrize(("event_type", "version"), [key for key in STORED if key[1] == CURRENT_VERSIONS[key[0]]])
def test_envelope_to_json_writes_golden_form_when_version_current(event_type: str, version: int) -> None:
    event = decode_envelope_json(golden_bytes(event_type, version))

    assert json.loads(envelope_to_json(event)) == golden_dict(event_type, version)


@pytest.mark.parametrize(("event_type", "version"), STORED)
def test_decode_event_returns_equal_event_when_golden_event_encoded(event_type: str, version: int) -> None:
    event = decode_envelope_json(golden_bytes(event_type, version))

    assert decode_event(encode_event(event)) == event
