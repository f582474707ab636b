"""The upcaster mechanism, exercised with a test-local registry (every released type is at v1 today)."""

from __future__ import annotations

import json

import pytest

from contracts.codec import InvalidEvent, decode_envelope_json
from contracts.events import CURRENT_VERSIONS, PAYLOAD_TYPES, DocumentRenamed
from contracts.upcasting import UPCASTERS, JsonObject, MissingUpcaster, Upcaster, upcast
from tests.contracts.golden_files import golden_dict

RENAMED = "document.renamed"


def renamed_v1_to_v2(payload: JsonObject) -> JsonObject:
    """v2 called the field ``title``; marks the name so the test sees that (and when) it ran."""
    return {"document_id": payload["document_id"], "title": f"{payload['name']} v2"}


def renamed_v2_to_v3(payload: JsonObject) -> JsonObject:
    """v3 is back to ``name``; reads ``title``, so it only works after the v1 -> v2 step."""
    return {"document_id": payload["document_id"], "name": f"{payload['title']} v3"}


CHAIN: dict[tuple[str, int], Upcaster] = {(RENAMED, 1): renamed_v1_to_v2, (RENAMED, 2): renamed_v2_to_v3}


@pytest.mark.parametrize(
    ("version", "payload", "expected"),
    [
        (1, {"document_id": "d", "name": "Паспорт"}, {"document_id": "d", "name": "Паспорт v2 v3"}),
        (2, {"document_id": "d", "title": "Полис"}, {"document_id": "d", "name": "Полис v3"}),
        (3, {"document_id": "d", "name": "as is"}, {"document_id": "d", "name": "as is"}),
    ],
)
def test_upcast_applies_each_step_once_in_order_when_chain_registered(
    version: int, payload: JsonObject, expected: JsonObject
) -> None:
    assert upcast(RENAMED, version, payload, 3, CHAIN) == expected


@pytest.mark.parametrize(
    ("registry", "missing"),
    [
        ({(RENAMED, 1): renamed_v1_to_v2}, "v2"),
        ({(RENAMED, 2): renamed_v2_to_v3}, "v1"),
        ({("document.deleted", 1): renamed_v1_to_v2, ("document.deleted", 2): renamed_v2_to_v3}, "v1"),
    ],
    ids=["last-step-missing", "first-step-missing", "steps-of-another-type"],
)
def test_upcast_raises_missing_upcaster_when_step_absent(
    registry: dict[tuple[str, int], Upcaster], missing: str
) -> None:
    with pytest.raises(MissingUpcaster, match=f"{RENAMED} {missing}"):
        upcast(RENAMED, 1, {"document_id": "d", "name": "Паспорт"}, 3, registry)


def test_decode_envelope_json_upcasts_old_payload_when_current_version_newer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(CURRENT_VERSIONS, RENAMED, 3)
    raw = golden_dict(RENAMED)
    raw["payload"] = {"document_id": raw["payload"]["document_id"], "name": "Паспорт ёлки"}

    event = decode_envelope_json(json.dumps(raw).encode(), CHAIN)

    assert event.schema_version == 3
    assert isinstance(event.payload, DocumentRenamed)
    assert event.payload.name == "Паспорт ёлки v2 v3"


@pytest.mark.parametrize(
    ("registry", "payload"),
    [
        ({(RENAMED, 1): renamed_v1_to_v2}, {"document_id": "c0a8012e-5b3f-4d7a-8e21-6f4b9d2a7c15", "name": "Полис"}),
        (CHAIN, ["not", "an", "object"]),
        (CHAIN, None),
    ],
    ids=["missing-step", "payload-list", "payload-null"],
)
def test_decode_envelope_json_raises_invalid_event_when_old_version_cannot_upcast(
    monkeypatch: pytest.MonkeyPatch, registry: dict[tuple[str, int], Upcaster], payload: object
) -> None:
    monkeypatch.setitem(CURRENT_VERSIONS, RENAMED, 3)
    raw = {**golden_dict(RENAMED), "payload": payload}

    with pytest.raises(InvalidEvent):
        decode_envelope_json(json.dumps(raw).encode(), registry)


def test_upcasters_registry_holds_exactly_the_path_to_current_versions_when_shipped() -> None:
    needed = {
        (event_type, version) for event_type in PAYLOAD_TYPES for version in range(1, CURRENT_VERSIONS[event_type])
    }

    assert set(UPCASTERS) == needed
