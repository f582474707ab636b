"""Reading, listing and showing entries of the dead-letter stream, and choosing them for redrive."""

from __future__ import annotations

import base64
import json

import pytest
from rstream import AMQPMessage

from contracts.codec import encode_event
from service_kit.eventlog import StreamRecord
from stream_processors.dead_letters import (
    LIST_HEADER,
    DeadLetterEntry,
    NotADeadLetter,
    for_redrive,
    format_table,
    list_row,
    listing,
    read_entry,
    shown,
)
from stream_processors.processor import DeadLetter, dead_letter_message
from tests.factories import added

EVENT = added(412845671, "Паспорт", step=3)


def _entry(offset: int, original: bytes, reason: str = "unapplicable", source_offset: int = 40) -> DeadLetterEntry:
    letter = DeadLetter(StreamRecord(source_offset, 0, original), reason, "OverflowError: date value out of range")
    return read_entry(StreamRecord(offset, 0, bytes(dead_letter_message(letter, "docvault.events", "read-models@v1"))))


def test_read_entry_returns_what_the_processor_wrote_when_record_is_a_dead_letter() -> None:
    entry = _entry(7, encode_event(EVENT))

    assert entry == DeadLetterEntry(
        7,
        "docvault.events",
        40,
        "unapplicable",
        "OverflowError: date value out of range",
        "read-models@v1",
        encode_event(EVENT),
    )
    assert entry.event() == EVENT


def test_read_entry_reads_entries_without_processor_when_written_before_it_was_named() -> None:
    old = AMQPMessage(
        body=b"\x00junk",
        application_properties={
            "x-source-stream": "docvault.events",
            "x-source-offset": 5,
            "x-reason": "malformed",
            "x-detail": "d",
        },
    )

    entry = read_entry(StreamRecord(0, 0, bytes(old)))

    assert (entry.processor, entry.original, entry.event()) == ("", b"\x00junk", None)


@pytest.mark.parametrize(
    "data", [b"", b"\x00garbage", bytes(AMQPMessage(body=b"no properties"))], ids=["empty", "not-amqp", "no-properties"]
)
def test_read_entry_raises_not_a_dead_letter_when_record_was_not_written_by_a_processor(data: bytes) -> None:
    with pytest.raises(NotADeadLetter):
        read_entry(StreamRecord(3, 0, data))


def test_list_row_names_event_when_original_decodes_and_dashes_when_it_does_not() -> None:
    rows = [list_row(_entry(0, encode_event(EVENT))), list_row(_entry(1, b"\x00junk", "malformed"))]

    assert rows == [
        (
            "0",
            "40",
            "unapplicable",
            "document.added",
            str(EVENT.event_id),
            "read-models@v1",
            "OverflowError: date value out of range",
        ),
        ("1", "40", "malformed", "-", "-", "read-models@v1", "OverflowError: date value out of range"),
    ]


def test_listing_shows_header_and_only_entries_of_the_reasons_when_reasons_given() -> None:
    entries = [_entry(0, b"a", "malformed"), _entry(1, encode_event(EVENT)), _entry(2, b"c", "invalid")]

    every, some = listing(entries), listing(entries, ["unapplicable", "invalid"])

    assert [line.split()[:3] for line in some.splitlines()] == [
        ["offset", "source_offset", "reason"],
        ["1", "40", "unapplicable"],
        ["2", "40", "invalid"],
    ]
    assert len(every.splitlines()) == 4


def test_format_table_aligns_columns_when_cells_differ_in_width() -> None:
    table = format_table([("offset", "reason", "detail"), ("12345678", "x", "long detail")])

    assert table == "offset    reason  detail\n12345678  x       long detail\n"
    assert len(LIST_HEADER) == 7


@pytest.mark.parametrize(
    ("original", "key", "expected"),
    [
        (encode_event(EVENT), "event", json.loads(EVENT.model_dump_json())),
        (bytes(AMQPMessage(body=b'{"owner_id": 18446744073709551616}')), "body", {"owner_id": 2**64}),
        (b"\x00\x01", "bytes_base64", base64.b64encode(b"\x00\x01").decode()),
    ],
    ids=["decodable-event", "json-body", "raw-bytes"],
)
def test_shown_gives_the_original_in_its_most_readable_form_when_shown(
    original: bytes, key: str, expected: object
) -> None:
    described = shown(_entry(9, original))

    assert described[key] == expected
    assert (described["offset"], described["source_offset"], described["reason"]) == (9, 40, "unapplicable")


def test_for_redrive_picks_by_offset_or_reason_and_each_source_record_once_when_dead_lettered_twice() -> None:
    entries = [
        _entry(0, b"a", "malformed", source_offset=10),
        _entry(1, b"b", "unapplicable", source_offset=11),
        _entry(2, b"b", "unapplicable", source_offset=11),
        _entry(3, b"c", "invalid", source_offset=12),
        _entry(4, b"d", "unapplicable", source_offset=13),
    ]

    chosen = for_redrive(entries, offsets={3}, reasons={"unapplicable"})

    assert [(e.offset, e.source_offset) for e in chosen] == [(1, 11), (3, 12), (4, 13)]
