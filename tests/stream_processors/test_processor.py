"""Pure parts of the processor: decoding a batch, skipping what was applied, dead-letter messages."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymongo.errors import DuplicateKeyError
from rstream import AMQPMessage, amqp_decoder

from contracts.codec import MAX_ENCODED_EVENT_BYTES, EventDecodeError, InvalidEvent, encode_event
from service_kit.eventlog import StreamRecord
from stream_processors.processor import DeadLetter, dead_letter_message, first_occurrences, split_records
from stream_processors.store import Positioned
from tests.factories import added, started

OWNER = 412845671


def _envelope_bytes(**changes: Any) -> bytes:
    raw = json.loads(started(OWNER).model_dump_json())
    return bytes(AMQPMessage(body=json.dumps({**raw, **changes}).encode()))


POISON = {
    "malformed": b"\x00\x01garbage",
    "unknown_type": _envelope_bytes(event_type="user.left"),
    "future_version": _envelope_bytes(schema_version=2),
    "invalid": _envelope_bytes(owner_id=-1),
    "oversized": b" " * (MAX_ENCODED_EVENT_BYTES + 2048),
}


@pytest.mark.parametrize(("reason", "poison"), POISON.items(), ids=list(POISON))
def test_split_records_dead_letters_poison_and_keeps_the_rest_when_batch_mixed(reason: str, poison: bytes) -> None:
    good = [started(OWNER, step=1), added(OWNER, "Паспорт", step=2)]
    records = [
        StreamRecord(10, 0, encode_event(good[0])),
        StreamRecord(11, 0, poison),
        StreamRecord(12, 0, encode_event(good[1])),
    ]

    events, dead = split_records(records)

    assert events == [Positioned(10, good[0]), Positioned(12, good[1])]
    assert [(letter.record, letter.reason) for letter in dead] == [(records[1], reason)]


def test_split_records_returns_only_dead_letters_when_every_record_poison() -> None:
    records = [StreamRecord(offset, 0, poison) for offset, poison in enumerate(POISON.values())]

    events, dead = split_records(records)

    assert events == []
    assert [letter.record.offset for letter in dead] == list(range(len(POISON)))
    assert [letter.reason for letter in dead] == list(POISON)


def _positioned(*offsets_and_events: tuple[int, int]) -> tuple[list[Positioned], list[str]]:
    """Positioned events for (offset, which) pairs; the same ``which`` gives the same event."""
    events = [started(OWNER, step=which) for which in range(10)]
    positioned = [Positioned(offset, events[which]) for offset, which in offsets_and_events]
    return positioned, [str(event.event_id) for event in events]


@pytest.mark.parametrize(
    ("batch", "applied", "expected_offsets"),
    [
        ([(0, 0), (1, 1), (2, 2)], [], [0, 1, 2]),
        ([(0, 0), (1, 1), (2, 2)], [1], [0, 2]),
        ([(0, 0), (1, 1), (2, 0), (3, 1)], [], [0, 1]),
        ([(5, 3), (6, 4), (7, 3)], [4], [5]),
        ([(0, 0), (1, 1)], [0, 1], []),
        ([], [0], []),
    ],
    ids=["all-fresh", "applied-before", "repeat-in-batch", "applied-and-repeated", "all-applied", "empty"],
)
def test_first_occurrences_keeps_first_offset_of_unapplied_ids_when_batch_given(
    batch: list[tuple[int, int]], applied: list[int], expected_offsets: list[int]
) -> None:
    events, ids = _positioned(*batch)
    applied_ids = {ids[which] for which in applied}
    applied_before = set(applied_ids)

    fresh = first_occurrences(events, applied_ids)

    assert [positioned.offset for positioned in fresh] == expected_offsets
    assert applied_ids == applied_before


def _properties(message: AMQPMessage) -> dict[str, Any]:
    decoded = amqp_decoder(bytes(message))
    return {
        key.decode(): value.decode() if isinstance(value, bytes) else value
        for key, value in decoded.application_properties.items()
    }


@settings(max_examples=100, deadline=None)
@given(
    data=st.binary(min_size=1, max_size=2000),
    offset=st.integers(0, 2**62),
    detail=st.text(max_size=700),
    stream=st.text(alphabet="abcdefghijklmnopqrstuvwxyz.", min_size=1, max_size=40),
    error_type=st.sampled_from(EventDecodeError.__subclasses__()),
)
def test_dead_letter_message_carries_bytes_origin_and_reason_when_record_poison(
    data: bytes, offset: int, detail: str, stream: str, error_type: type[EventDecodeError]
) -> None:
    letter = DeadLetter.undecodable(StreamRecord(offset, 0, data), error_type(detail))

    message = dead_letter_message(letter, stream, "read-models@v2")

    assert amqp_decoder(bytes(message)).body == data
    assert _properties(message) == {
        "x-source-stream": stream,
        "x-source-offset": offset,
        "x-reason": error_type.reason,
        "x-detail": detail[:500],
        "x-processor": "read-models@v2",
    }


def test_dead_letter_message_caps_detail_when_detail_long() -> None:
    letter = DeadLetter.undecodable(StreamRecord(3, 0, b"x"), InvalidEvent("ы" * 900))

    message = dead_letter_message(letter, "docvault.events", "read-models@v1")

    assert _properties(message)["x-detail"] == "ы" * 500


def test_dead_letter_unapplicable_names_error_type_and_no_values_when_a_duplicate_key_was_refused() -> None:
    error = DuplicateKeyError(
        "E11000 duplicate key error collection: docvault_v1.documents index: "
        'unique_live_name_per_type dup key: { owner_id: 412845671, type_slug: "passport", '
        'name_key: "паспорт рф" }',
        code=11000,
    )

    letter = DeadLetter.unapplicable(StreamRecord(9, 0, b"bytes"), error)

    assert (letter.reason, letter.record.offset) == ("unapplicable", 9)
    assert letter.detail.startswith("DuplicateKeyError (code 11000): E11000 duplicate key error")
    assert "паспорт" not in letter.detail and "412845671" not in letter.detail
