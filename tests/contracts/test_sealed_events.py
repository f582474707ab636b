"""v2 of the events that carry personal text: sealed fields, keyed slug and content id, and the v1 upcaster."""

from __future__ import annotations

import json
from typing import Any

import pytest

from contracts.codec import InvalidEvent, decode_envelope_json
from contracts.events import DocumentAddedV2, DocumentRenamedV2, sealed_length
from contracts.text import MAX_FILE_NAME_LENGTH, MAX_NAME_LENGTH, MAX_TYPE_TITLE_LENGTH
from service_kit.crypto import PersonKeys
from tests.contracts.golden_files import GOLDEN_DATA_KEY, GOLDEN_KEY_ID, GOLDEN_OWNER_ID, golden_dict

GOLDEN_KEYS = PersonKeys(GOLDEN_OWNER_ID, GOLDEN_DATA_KEY, GOLDEN_KEY_ID)


def _decoded(raw: dict[str, Any]) -> Any:
    return decode_envelope_json(json.dumps(raw, ensure_ascii=False).encode())


def test_decode_envelope_json_reads_sealed_fields_when_golden_v2_added() -> None:
    payload = _decoded(golden_dict("document.added", 2)).payload

    assert isinstance(payload, DocumentAddedV2) and not payload.plaintext
    assert GOLDEN_KEYS.open("name", payload.name) == "Паспорт РФ, разворот с пропиской"
    assert GOLDEN_KEYS.open("type_title", payload.type_title) == "Паспорта"
    assert payload.file.file_name is not None
    assert GOLDEN_KEYS.open("file_name", payload.file.file_name) == "IMG_20260314_092611.jpg"
    assert payload.type_slug == GOLDEN_KEYS.keyed("type", "паспорта")
    assert payload.file.sha256 is None and payload.file.content_id is not None


def test_decode_envelope_json_marks_plaintext_when_v1_upcast() -> None:
    added = _decoded(golden_dict("document.added", 1)).payload
    renamed = _decoded(golden_dict("document.renamed", 1)).payload

    assert isinstance(added, DocumentAddedV2) and added.plaintext and added.name == "Паспорт РФ, разворот с пропиской"
    assert isinstance(renamed, DocumentRenamedV2) and renamed.plaintext and renamed.name == "Паспорт (ёлки, стр. 5)"


@pytest.mark.parametrize(
    "file",
    [{"sha256": None}, {"encrypted": True}, {"content_id": "0123456789abcdef" * 2}],
    ids=["no-sha256", "encrypted", "content-id"],
)
def test_decode_envelope_json_refuses_v1_added_when_the_file_is_not_as_a_v1_writer_stored_it(
    file: dict[str, object],
) -> None:
    raw = golden_dict("document.added", 1)
    raw["payload"]["file"] |= file

    with pytest.raises(InvalidEvent, match="a v1 file has a sha256, is not encrypted and has no content_id"):
        _decoded(raw)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("payload", "name"), "Паспорт"),
        (("payload", "type_title"), "Паспорта"),
        (("payload", "type_slug"), "паспорта"),
        (("payload", "file", "file_name"), "IMG.jpg"),
        (("payload", "file", "sha256"), "0" * 64),
        (("payload", "file", "content_id"), None),
        (("payload", "name"), "s1.5a3c9e7b1d2f4a60.not base64!"),
    ],
    ids=["plain-name", "plain-title", "plain-slug", "plain-file-name", "plain-sha256", "no-content-id", "bad-b64"],
)
def test_decode_envelope_json_refuses_v2_added_when_a_field_is_not_sealed_or_keyed(
    path: tuple[str, ...], value: object
) -> None:
    raw = golden_dict("document.added", 2)
    target = raw
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value

    with pytest.raises(InvalidEvent):
        _decoded(raw)


def test_decode_envelope_json_refuses_v2_renamed_when_name_plain() -> None:
    raw = golden_dict("document.renamed", 2)
    raw["payload"]["name"] = "Полис"

    with pytest.raises(InvalidEvent):
        _decoded(raw)


def test_decode_envelope_json_refuses_v1_when_payload_claims_plaintext() -> None:
    raw = golden_dict("document.renamed", 1)
    raw["payload"]["plaintext"] = False

    with pytest.raises(InvalidEvent):
        _decoded(raw)


def test_decode_envelope_json_refuses_v1_added_when_file_has_no_sha256() -> None:
    raw = golden_dict("document.added", 1)
    del raw["payload"]["file"]["sha256"]

    with pytest.raises(InvalidEvent):
        _decoded(raw)


@pytest.mark.parametrize(
    ("field", "limit"),
    [("name", MAX_NAME_LENGTH), ("type_title", MAX_TYPE_TITLE_LENGTH), ("file_name", MAX_FILE_NAME_LENGTH)],
)
def test_sealed_length_holds_longest_text_when_every_character_takes_four_bytes(field: str, limit: int) -> None:
    longest = GOLDEN_KEYS.seal(field, "𝔸" * limit)

    assert len(longest) == sealed_length(limit)


def test_decode_envelope_json_reads_v2_added_when_every_text_is_longest() -> None:
    raw = golden_dict("document.added", 2)
    raw["payload"]["name"] = GOLDEN_KEYS.seal("name", "𝔸" * MAX_NAME_LENGTH)
    raw["payload"]["type_title"] = GOLDEN_KEYS.seal("type_title", "𝔸" * MAX_TYPE_TITLE_LENGTH)
    raw["payload"]["file"]["file_name"] = GOLDEN_KEYS.seal("file_name", "𝔸" * MAX_FILE_NAME_LENGTH)

    payload = _decoded(raw).payload

    assert isinstance(payload, DocumentAddedV2)
    assert GOLDEN_KEYS.open("name", payload.name) == "𝔸" * MAX_NAME_LENGTH
