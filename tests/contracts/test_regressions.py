"""Regressions found in review, one test per finding; each failed before its fix."""

from __future__ import annotations

import argparse
import csv
import io
import json
import struct
import uuid

import pytest
from pydantic import TypeAdapter
from rstream import AMQPMessage

from contracts.amqp_body import data_body
from contracts.codec import EventDecodeError, decode_envelope_json, decode_event
from contracts.events import Slug
from contracts.text import MAX_TYPE_TITLE_LENGTH, clean_display_name, name_key, type_slug
from service_kit.correlation import accept_correlation_id
from service_kit.eventlog import StreamRecord
from stream_processors.cli import parse_start
from stream_processors.export import csv_header, csv_line
from stream_processors.processor import split_records
from tests.contracts.golden_files import golden_bytes
from tests.factories import started

HUGE_INT_BODY = b'{"event_type": "user.started", "schema_version": 1, "owner_id": 1' + b"0" * 4300 + b"}"


def test_decode_envelope_json_raises_decode_error_when_integer_has_more_than_4300_digits() -> None:
    with pytest.raises(EventDecodeError):
        decode_envelope_json(HUGE_INT_BODY)


def test_split_records_dead_letters_record_when_integer_has_more_than_4300_digits() -> None:
    events, dead = split_records([StreamRecord(5, 0, bytes(AMQPMessage(body=HUGE_INT_BODY)))])
    assert (events, [d.reason for d in dead]) == ([], ["malformed"])


@pytest.mark.parametrize("count", [1 << 22, (1 << 32) - 1])
def test_decode_event_rejects_record_when_array32_count_exceeds_input(count: int) -> None:
    # 13 bytes that made rstream's decoder allocate for ``count`` elements (about 32 GB for 2**32 - 1).
    poison = b"\x00\x53\x75\xf0" + struct.pack(">I", 0) + struct.pack(">I", count) + b"\x40"
    with pytest.raises(EventDecodeError):
        decode_event(poison)


def test_data_body_returns_body_when_message_has_properties_and_application_properties() -> None:
    message = AMQPMessage(body=b"payload", application_properties={"x-reason": "malformed", "x-offset": 7})
    assert data_body(bytes(message)) == b"payload"


def test_name_key_keeps_short_i_when_names_differ_only_by_it() -> None:
    assert name_key("Мой полис") != name_key("Мои полис")
    assert name_key("Ёлка") == name_key("елка")  # today ~0.8 s; 2**24 -> ~4.5 s; 2**32-1 -> ~32 GB / minutes


@pytest.mark.parametrize("name", ["ℌ", "㎒", "ϒ"])
def test_name_key_idempotent_when_compatibility_characters(name: str) -> None:
    assert name_key(name_key(name)) == name_key(name)


@pytest.mark.parametrize("title", ["𐄇", "ﬃ" * 30])
def test_type_slug_is_valid_slug_when_title_is_a_valid_type_title(title: str) -> None:
    cleaned = clean_display_name(title, MAX_TYPE_TITLE_LENGTH)
    TypeAdapter(Slug).validate_python(type_slug(cleaned))


def test_csv_line_keeps_row_whole_when_correlation_id_holds_lone_cr() -> None:
    event = started(1).model_copy(update={"correlation_id": "a\rb"})
    rows = list(csv.reader(io.StringIO(csv_header() + csv_line(0, event), newline="")))
    assert len(rows) == 2 and rows[1][6] == "a\rb"


@pytest.mark.parametrize("candidate", ["abc\n", "a" * 64 + "\n"])
def test_accept_correlation_id_makes_new_id_when_candidate_ends_with_newline(candidate: str) -> None:
    assert accept_correlation_id(candidate) != candidate


def test_parse_start_raises_argument_type_error_when_offset_is_superscript_digit() -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_start("offset:²")


def test_decode_envelope_json_raises_decode_error_when_upcaster_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    from contracts.events import CURRENT_VERSIONS

    monkeypatch.setitem(CURRENT_VERSIONS, "document.renamed", 2)
    raw = {
        "event_id": str(uuid.uuid4()),
        "event_type": "document.renamed",
        "schema_version": 1,
        "occurred_at": "2026-01-01T00:00:00Z",
        "owner_id": 1,
        "correlation_id": "c",
        "payload": {},
    }
    with pytest.raises(EventDecodeError):
        decode_envelope_json(json.dumps(raw).encode(), {("document.renamed", 1): lambda p: {"name": p["title"]}})


@pytest.mark.parametrize(("field", "value"), [("owner_id", True), ("owner_id", "123"), ("occurred_at", 1767225600)])
def test_decode_envelope_json_rejects_value_when_json_type_wrong(field: str, value: object) -> None:
    raw = json.loads(started(1).model_dump_json())
    with pytest.raises(EventDecodeError):
        decode_envelope_json(json.dumps({**raw, field: value}).encode())


@pytest.mark.parametrize(
    ("field", "value"),
    [("owner_id", 2**64), ("occurred_at", "9999-12-31T23:59:59-23:59")],
    ids=["owner-2^64", "year-9999-at-minus-23:59"],
)
def test_split_records_dead_letters_added_event_when_no_store_can_hold_it(field: str, value: object) -> None:
    # Issue 10: these decoded, then every commit of their batch raised OverflowError in the BSON encoder, and the
    # processor retried that batch for ever: no later event of anyone was applied.
    raw = json.loads(golden_bytes("document.added"))
    record = StreamRecord(3, 0, bytes(AMQPMessage(body=json.dumps({**raw, field: value}).encode())))

    events, dead = split_records([record])

    assert (events, [d.reason for d in dead]) == ([], ["invalid"])
