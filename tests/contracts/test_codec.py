"""Decoding gives a validated envelope or a typed ``EventDecodeError`` with a stable reason, never anything else."""

from __future__ import annotations

import json
import string
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rstream import AMQPMessage, Properties, amqp_decoder

from contracts.amqp_body import data_body, encode_message
from contracts.codec import (
    CONTENT_TYPE,
    MAX_ENCODED_EVENT_BYTES,
    EventDecodeError,
    InvalidEvent,
    MalformedEvent,
    OversizedEvent,
    UnknownEventType,
    UnsupportedSchemaVersion,
    decode_envelope_json,
    decode_event,
    encode_event,
)
from tests.contracts.golden_files import golden_dict

DELETE = object()
REASONS = {"malformed", "oversized", "unknown_type", "future_version", "invalid"}
ENVELOPE_KEYS = [
    "event_id",
    "event_type",
    "schema_version",
    "occurred_at",
    "owner_id",
    "correlation_id",
    "causation_id",
    "payload",
]


def mutated(event_type: str, path: tuple[str, ...], value: object) -> bytes:
    """A golden envelope with the field at ``path`` replaced by ``value`` (or removed with ``DELETE``)."""
    raw = golden_dict(event_type)
    parent: dict[str, Any] = raw
    for key in path[:-1]:
        parent = parent[key]
    if value is DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return json.dumps(raw, ensure_ascii=False).encode()


def amqp_data(body: bytes) -> bytes:
    return bytes(AMQPMessage(body=body))


def assert_only_typed_errors(decode: Any, data: bytes) -> None:
    """Decoding either succeeds or raises an ``EventDecodeError`` with a known reason; anything else escapes."""
    try:
        decode(data)
    except EventDecodeError as error:
        assert error.reason in REASONS
        assert str(error).startswith(f"{error.reason}: ")


@pytest.mark.parametrize(
    ("error_type", "reason"),
    [
        (MalformedEvent, "malformed"),
        (OversizedEvent, "oversized"),
        (UnknownEventType, "unknown_type"),
        (UnsupportedSchemaVersion, "future_version"),
        (InvalidEvent, "invalid"),
    ],
)
def test_event_decode_error_carries_stable_reason_when_raised(error_type: type[EventDecodeError], reason: str) -> None:
    error = error_type("some detail")

    assert isinstance(error, EventDecodeError)
    assert (error.reason, error.detail, str(error)) == (reason, "some detail", f"{reason}: some detail")


@pytest.mark.parametrize(
    ("event_type", "path", "value"),
    [
        pytest.param("document.added", ("event_id",), DELETE, id="missing-event_id"),
        pytest.param("document.added", ("occurred_at",), DELETE, id="missing-occurred_at"),
        pytest.param("document.added", ("owner_id",), DELETE, id="missing-owner_id"),
        pytest.param("document.added", ("correlation_id",), DELETE, id="missing-correlation_id"),
        pytest.param("document.added", ("schema_version",), DELETE, id="missing-schema_version"),
        pytest.param("document.added", ("payload",), DELETE, id="missing-payload"),
        pytest.param("document.added", ("payload", "document_id"), DELETE, id="missing-payload-document_id"),
        pytest.param("document.added", ("payload", "file"), DELETE, id="missing-payload-file"),
        pytest.param("document.added", ("payload", "file", "sha256"), DELETE, id="missing-file-sha256"),
        pytest.param("user.started", ("payload", "language"), DELETE, id="missing-language"),
        pytest.param("document.added", ("event_id",), 42, id="event_id-number"),
        pytest.param("document.added", ("event_id",), "not-a-uuid", id="event_id-garbage"),
        pytest.param("document.added", ("owner_id",), "abc", id="owner_id-text"),
        pytest.param("document.added", ("owner_id",), [412845671], id="owner_id-list"),
        pytest.param("document.added", ("owner_id",), 1.5, id="owner_id-fraction"),
        pytest.param("document.added", ("owner_id",), 0, id="owner_id-zero"),
        pytest.param("document.added", ("owner_id",), -7, id="owner_id-negative"),
        pytest.param("document.added", ("occurred_at",), "yesterday", id="occurred_at-garbage"),
        pytest.param("document.added", ("occurred_at",), "2026-03-14T09:26:53", id="occurred_at-naive"),
        pytest.param("document.added", ("schema_version",), "1", id="schema_version-text"),
        pytest.param("document.added", ("schema_version",), 1.0, id="schema_version-float"),
        pytest.param("document.added", ("schema_version",), True, id="schema_version-bool"),
        pytest.param("document.added", ("schema_version",), 0, id="schema_version-zero"),
        pytest.param("document.added", ("schema_version",), -1, id="schema_version-negative"),
        pytest.param("document.added", ("correlation_id",), 12345, id="correlation_id-number"),
        pytest.param("document.added", ("correlation_id",), "", id="correlation_id-empty"),
        pytest.param("document.added", ("correlation_id",), "c" * 65, id="correlation_id-too-long"),
        pytest.param("document.added", ("causation_id",), "c" * 65, id="causation_id-too-long"),
        pytest.param("document.added", ("payload",), "Паспорт", id="payload-text"),
        pytest.param("document.added", ("payload",), [], id="payload-list"),
        pytest.param("document.added", ("payload", "file", "size"), -1, id="file-size-negative"),
        pytest.param("document.added", ("payload", "file", "size"), "big", id="file-size-text"),
        pytest.param("document.added", ("payload", "file", "sha256"), "A" * 64, id="sha256-uppercase"),
        pytest.param("document.added", ("payload", "file", "object_key"), "owners/1/a b", id="object_key-space"),
        pytest.param("document.added", ("payload", "type_slug"), "два слова", id="type_slug-space"),
        pytest.param("document.added", ("payload", "name"), 42, id="name-number"),
        pytest.param("document.added", ("payload", "name"), "", id="name-empty"),
        pytest.param("document.added", ("payload", "name"), "  Паспорт", id="name-not-cleaned"),
        pytest.param("document.added", ("payload", "name"), "Пас\u0000порт", id="name-control-char"),
        pytest.param("document.added", ("payload", "name"), "ы" * 129, id="name-too-long"),
        pytest.param("user.started", ("payload", "language"), "de", id="language-unknown"),
        pytest.param("document.added", ("extra",), 1, id="extra-envelope-field"),
        pytest.param("document.added", ("payload", "extra"), 1, id="extra-payload-field"),
        pytest.param("document.added", ("payload", "file", "extra"), 1, id="extra-file-field"),
        pytest.param("document.added", ("event_type",), "document.deleted", id="added-payload-under-deleted"),
        pytest.param("document.renamed", ("event_type",), "user.started", id="renamed-payload-under-started"),
        pytest.param("document.deleted", ("event_type",), "document.added", id="deleted-payload-under-added"),
        pytest.param("user.started", ("event_type",), "document.restored", id="started-payload-under-restored"),
    ],
)
def test_decode_envelope_json_raises_invalid_event_when_field_missing_or_wrong(
    event_type: str, path: tuple[str, ...], value: object
) -> None:
    with pytest.raises(InvalidEvent) as caught:
        decode_envelope_json(mutated(event_type, path, value))

    assert caught.value.reason == "invalid"


@pytest.mark.parametrize("event_type", ["document.archived", "", "Document.Added", None, 5, ["document.added"]])
def test_decode_envelope_json_raises_unknown_event_type_when_type_not_released(event_type: object) -> None:
    with pytest.raises(UnknownEventType):
        decode_envelope_json(mutated("document.added", ("event_type",), event_type))


def test_decode_envelope_json_raises_unknown_event_type_when_type_missing() -> None:
    with pytest.raises(UnknownEventType):
        decode_envelope_json(mutated("document.added", ("event_type",), DELETE))


@pytest.mark.parametrize("version", [3, 99, 2**40])
def test_decode_envelope_json_raises_unsupported_version_when_version_from_future(version: int) -> None:
    with pytest.raises(UnsupportedSchemaVersion) as caught:
        decode_envelope_json(mutated("document.renamed", ("schema_version",), version))

    assert caught.value.reason == "future_version"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"not json", id="text"),
        pytest.param(b'{"event_type": ', id="truncated"),
        pytest.param(b"\xff\xfe\xfd{}", id="not-utf8"),
        pytest.param(b"[]", id="json-array"),
        pytest.param(b'[{"event_type": "user.started"}]', id="json-array-of-object"),
        pytest.param(b'"document.added"', id="json-string"),
        pytest.param(b"42", id="json-number"),
        pytest.param(b"null", id="json-null"),
        pytest.param(b"[" * 200_000 + b"]" * 200_000, id="nested-too-deep"),
    ],
)
def test_decode_envelope_json_raises_malformed_when_body_not_json_object(body: bytes) -> None:
    with pytest.raises(MalformedEvent) as caught:
        decode_envelope_json(body)

    assert caught.value.reason == "malformed"


@pytest.mark.parametrize(
    ("data", "error_type"),
    [
        pytest.param(b"", MalformedEvent, id="no-bytes"),
        pytest.param(b"junk", MalformedEvent, id="not-amqp"),
        pytest.param(b"\x00Su", MalformedEvent, id="truncated-amqp"),
        pytest.param(bytes(AMQPMessage(value="hello")), MalformedEvent, id="amqp-value-not-data"),
        pytest.param(amqp_data(b"not json"), MalformedEvent, id="amqp-data-not-json"),
        pytest.param(amqp_data(b"[1, 2]"), MalformedEvent, id="amqp-data-json-array"),
        pytest.param(
            amqp_data(mutated("user.started", ("event_type",), "user.left")),
            UnknownEventType,
            id="amqp-data-unknown-type",
        ),
        pytest.param(
            amqp_data(mutated("user.started", ("schema_version",), 2)),
            UnsupportedSchemaVersion,
            id="amqp-data-future-version",
        ),
        pytest.param(
            amqp_data(mutated("user.started", ("owner_id",), DELETE)), InvalidEvent, id="amqp-data-missing-owner"
        ),
        pytest.param(b"\x00" * (MAX_ENCODED_EVENT_BYTES + 1025), OversizedEvent, id="oversized-raw"),
        pytest.param(amqp_data(b" " * (MAX_ENCODED_EVENT_BYTES + 1024)), OversizedEvent, id="oversized-amqp"),
    ],
)
def test_decode_event_raises_typed_error_when_bytes_not_an_event(
    data: bytes, error_type: type[EventDecodeError]
) -> None:
    with pytest.raises(EventDecodeError) as caught:
        decode_event(data)

    assert type(caught.value) is error_type


def test_encode_event_mirrors_ids_in_amqp_properties_when_encoded() -> None:
    event = decode_envelope_json(json.dumps(golden_dict("document.renamed")).encode())

    properties = amqp_decoder(encode_event(event)).properties

    assert (properties.message_id, properties.correlation_id, properties.subject, properties.content_type) == (
        str(event.event_id).encode(),
        event.correlation_id.encode(),
        b"document.renamed",
        CONTENT_TYPE.encode(),
    )


def test_encode_event_raises_oversized_when_body_over_limit() -> None:
    event = decode_envelope_json(json.dumps(golden_dict("document.renamed")).encode())
    huge_name = event.payload.model_copy(update={"name": "я" * MAX_ENCODED_EVENT_BYTES})  # past the validators
    huge = event.model_copy(update={"payload": huge_name})

    with pytest.raises(OversizedEvent):
        encode_event(huge)


# 0xd0 (list32) and 0xf0 (array32) make rstream's AMQP decoder loop / allocate by a 32-bit count in the input;
# that amplification is a reported bug, so this property keeps to inputs without them.
_BOUNDED_AMQP_BYTES = st.binary(max_size=400).map(lambda data: data.replace(b"\xd0", b"\xc0").replace(b"\xf0", b"\xe0"))


@settings(max_examples=400, deadline=None)
@given(data=_BOUNDED_AMQP_BYTES)
def test_decode_event_raises_only_decode_errors_when_bytes_arbitrary(data: bytes) -> None:
    assert_only_typed_errors(decode_event, data)


@settings(max_examples=300, deadline=None)
@given(data=_BOUNDED_AMQP_BYTES)
def test_decode_event_raises_only_decode_errors_when_bytes_follow_data_section_header(data: bytes) -> None:
    assert_only_typed_errors(decode_event, b"\x00Su" + data)


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=400))
def test_decode_event_raises_only_decode_errors_when_amqp_body_arbitrary(body: bytes) -> None:
    assert_only_typed_errors(decode_event, amqp_data(body))


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=16,
)


@settings(max_examples=300, deadline=None)
@given(raw=st.dictionaries(st.sampled_from(ENVELOPE_KEYS) | st.text(max_size=12), _JSON_VALUES, max_size=10))
def test_decode_envelope_json_raises_only_decode_errors_when_dict_arbitrary(raw: dict[str, Any]) -> None:
    assert_only_typed_errors(decode_envelope_json, json.dumps(raw).encode())


def _field_paths(value: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    if not isinstance(value, dict):
        return [prefix]
    return [prefix] * bool(prefix) + [p for key, child in value.items() for p in _field_paths(child, (*prefix, key))]


_GOLDEN_FIELDS = [
    (event_type, path)
    for event_type in ("document.added", "document.renamed", "user.started")
    for path in _field_paths(golden_dict(event_type))
]


@settings(max_examples=400, deadline=None)
@given(field=st.sampled_from(_GOLDEN_FIELDS), value=_JSON_VALUES | st.just(DELETE))
def test_decode_envelope_json_raises_only_decode_errors_when_one_golden_field_arbitrary(
    field: tuple[str, tuple[str, ...]], value: object
) -> None:
    event_type, path = field
    assert_only_typed_errors(decode_envelope_json, mutated(event_type, path, value))


def _golden_text(event_type: str = "document.added") -> str:
    return json.dumps(golden_dict(event_type), ensure_ascii=False)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            _golden_text().replace('"owner_id": 412845671', '"owner_id": 412845671, "owner_id": 1'), id="owner_id-twice"
        ),
        pytest.param(_golden_text().replace('"name": ', '"name": "Первое имя", "name": '), id="payload-name-twice"),
        pytest.param(
            _golden_text().replace('"sha256": ', '"sha256": "' + "0" * 64 + '", "sha256": '), id="file-sha256-twice"
        ),
        pytest.param(
            _golden_text().replace(
                '"event_type": "document.added"', '"event_type": "document.added", "event_type": "document.added"'
            ),
            id="same-value-twice",
        ),
    ],
)
def test_decode_envelope_json_raises_malformed_when_a_key_appears_twice(body: str) -> None:
    with pytest.raises(MalformedEvent, match="twice"):
        decode_envelope_json(body.encode())


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(_golden_text().encode("utf-16-le"), id="utf-16-le"),
        pytest.param(_golden_text().encode("utf-16"), id="utf-16-with-bom"),
        pytest.param(_golden_text().encode("utf-32"), id="utf-32"),
        pytest.param(b"\xef\xbb\xbf" + _golden_text().encode(), id="utf-8-bom"),
        pytest.param(_golden_text().encode().replace("Паспорт".encode(), b"\xd0\x9f\xd0"), id="cut-multibyte"),
        pytest.param(_golden_text().encode().replace(b"image/jpeg", b"image/\xed\xa0\x80"), id="encoded-surrogate"),
        pytest.param(
            json.dumps({**golden_dict("user.started"), "correlation_id": "café"}, ensure_ascii=False).encode("latin-1"),
            id="latin-1",
        ),
    ],
)
def test_decode_envelope_json_raises_malformed_when_body_not_strict_utf8(body: bytes) -> None:
    with pytest.raises(MalformedEvent):
        decode_envelope_json(body)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        pytest.param('"image/jpeg"', r'"image/\ud800"', id="lone-high-surrogate-in-mime-type"),
        pytest.param('"IMG_20260314_092611.jpg"', r'"IMG\udfff.jpg"', id="lone-low-surrogate-in-file-name"),
        pytest.param('"9b1d5c0e4f2a4e6b8c7d3a1f0e9b2c4d"', r'"\udc00"', id="lone-surrogate-in-correlation-id"),
        pytest.param('"size"', r'"siz\ud800"', id="lone-surrogate-in-key"),
    ],
)
def test_decode_envelope_json_raises_decode_error_when_an_escape_names_a_lone_surrogate(old: str, new: str) -> None:
    # BSON cannot encode such a string (UnicodeEncodeError at the processor's write); pydantic refuses it.
    body = _golden_text().replace(old, new, 1)
    assert body != _golden_text()

    with pytest.raises(EventDecodeError):
        decode_envelope_json(body.encode())


def test_decode_envelope_json_reads_escaped_surrogate_pair_when_it_makes_one_character() -> None:
    body = _golden_text().replace('"image/jpeg"', r'"image/\ud83d\ude00"')

    assert decode_envelope_json(body.encode()).payload.file.mime_type == "image/\U0001f600"  # type: ignore[union-attr]


@settings(max_examples=200, deadline=None)
@given(text=st.text(st.characters() | st.characters(categories=["Cs"]), max_size=60))
def test_decode_envelope_json_stores_only_utf8_encodable_text_when_any_mime_type_escaped(text: str) -> None:
    """Whatever a JSON escape can say, a decoded event holds only text that BSON (UTF-8) can store."""
    raw = golden_dict("document.added")
    raw["payload"]["file"]["mime_type"] = text
    try:
        event = decode_envelope_json(json.dumps(raw, ensure_ascii=True).encode())
    except EventDecodeError:
        return
    event.model_dump_json().encode("utf-8", errors="strict")


_short_text = st.text(max_size=300)


@settings(max_examples=300)
@given(
    body=st.binary(min_size=1, max_size=70_000),
    message_id=_short_text,
    correlation_id=_short_text,
    subject=_short_text,
    content_type=st.text(alphabet=string.ascii_letters + "/.-+", max_size=300),
)
def test_encode_message_writes_the_bytes_rstream_writes_when_given_the_same_properties(
    body: bytes, message_id: str, correlation_id: str, subject: str, content_type: str
) -> None:
    expected = bytes(
        AMQPMessage(
            body=body,
            properties=Properties(
                message_id=message_id, correlation_id=correlation_id, content_type=content_type, subject=subject
            ),
        )
    )

    assert (
        encode_message(
            body, message_id=message_id, correlation_id=correlation_id, content_type=content_type, subject=subject
        )
        == expected
    )


def test_encode_message_keeps_a_data_section_when_the_body_is_empty() -> None:
    assert data_body(encode_message(b"", message_id="m", correlation_id="c", content_type="t", subject="s")) == b""


def test_encode_event_writes_content_id_and_encrypted_when_the_upload_was_encrypted() -> None:
    raw = golden_dict("document.added", 2)
    raw["payload"]["file"] |= {"content_id": "0123456789abcdef" * 2, "encrypted": True}
    event = decode_envelope_json(json.dumps(raw).encode())

    written = json.loads(data_body(encode_event(event)))

    assert written["payload"]["file"]["content_id"] == "0123456789abcdef" * 2
    assert written["payload"]["file"]["encrypted"] is True
    assert decode_event(encode_event(event)) == event


def test_encode_event_leaves_out_content_id_and_encrypted_when_they_hold_their_defaults() -> None:
    event = decode_envelope_json(json.dumps(golden_dict("document.added")).encode())

    written = json.loads(data_body(encode_event(event)))

    assert {"content_id", "encrypted"}.isdisjoint(written["payload"]["file"])
