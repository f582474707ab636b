"""Events as AMQP 1.0 messages: one JSON envelope in the body, ids mirrored in the properties.

Decoding never raises anything but ``EventDecodeError``: a consumer routes those to the dead-letter
stream with ``error.reason`` and goes on.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import TypeAdapter, ValidationError

from contracts.amqp_body import AmqpFormatError, data_body, encode_message
from contracts.events import CURRENT_VERSIONS, PAYLOAD_TYPES, EventEnvelope, StoredFile
from contracts.upcasting import UPCASTERS, MissingUpcaster, Upcaster, upcast

MAX_ENCODED_EVENT_BYTES = 64 * 1024
CONTENT_TYPE = "application/json"


class EventDecodeError(ValueError):
    """Base of every decoding failure; ``reason`` is a short stable code for metrics and the DLQ."""

    reason = "invalid"

    def __init__(self, detail: str) -> None:
        super().__init__(f"{self.reason}: {detail}")
        self.detail = detail


class MalformedEvent(EventDecodeError):
    reason = "malformed"


class OversizedEvent(EventDecodeError):
    reason = "oversized"


class UnknownEventType(EventDecodeError):
    reason = "unknown_type"


class UnsupportedSchemaVersion(EventDecodeError):
    reason = "future_version"


class InvalidEvent(EventDecodeError):
    reason = "invalid"


# Optional StoredFile fields added after v1 was released: left out while they hold their defaults, so an event
# without them is written exactly as before (the golden v1 form), and only uploads that have them carry them.
_LATER_FILE_DEFAULTS = tuple((name, StoredFile.model_fields[name].default) for name in ("content_id", "encrypted"))
# The envelope's serializer straight to bytes: ``model_dump_json`` would return a str to encode again (every
# append pays for this; ``python -m bench.streaming``).
_ENVELOPE_JSON: TypeAdapter[EventEnvelope] = TypeAdapter(EventEnvelope)


def _defaults_of_later_fields(event: EventEnvelope) -> dict[str, Any] | None:
    file = getattr(event.payload, "file", None)
    if not isinstance(file, StoredFile):
        return None
    at_default = {name for name, default in _LATER_FILE_DEFAULTS if getattr(file, name) == default}
    return {"payload": {"file": at_default}} if at_default else None


def envelope_to_json(event: EventEnvelope) -> bytes:
    return _ENVELOPE_JSON.dump_json(event, exclude=_defaults_of_later_fields(event))


def encode_event(event: EventEnvelope) -> bytes:
    """The bytes appended to the stream for one event."""
    body = envelope_to_json(event)
    if len(body) > MAX_ENCODED_EVENT_BYTES:
        raise OversizedEvent(f"{len(body)} bytes > {MAX_ENCODED_EVENT_BYTES}")
    return encode_message(
        body,
        message_id=str(event.event_id),
        correlation_id=event.correlation_id,
        content_type=CONTENT_TYPE,
        subject=event.event_type,
    )


def decode_event(data: bytes, upcasters: dict[tuple[str, int], Upcaster] = UPCASTERS) -> EventEnvelope:
    """Bytes from the stream -> a validated envelope at the current schema version."""
    if len(data) > MAX_ENCODED_EVENT_BYTES + 1024:
        raise OversizedEvent(f"{len(data)} bytes")
    return decode_envelope_json(_amqp_body(data), upcasters)


def decode_envelope_json(body: bytes, upcasters: dict[tuple[str, int], Upcaster] = UPCASTERS) -> EventEnvelope:
    """A JSON envelope (as in golden files or exports) -> a validated envelope at the current version."""
    raw = _json_object(body)
    event_type = raw.get("event_type")
    if not isinstance(event_type, str) or event_type not in PAYLOAD_TYPES:
        raise UnknownEventType(repr(event_type)[:80])
    raw["schema_version"] = _upcast_in_place(raw, event_type, upcasters)
    try:
        return EventEnvelope.model_validate(raw)
    except ValidationError as error:
        raise InvalidEvent(_summary(error)) from None


def _amqp_body(data: bytes) -> bytes:
    try:
        return data_body(data)
    except AmqpFormatError as error:
        raise MalformedEvent(str(error)) from None


def _json_object(body: bytes) -> dict[str, Any]:
    """The body as one JSON object: strict UTF-8 (``json.loads`` of bytes would also take UTF-16, UTF-32 and
    encoded surrogates) and no key twice (``json.loads`` keeps the last one, another reader the first)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedEvent("body is not UTF-8") from None
    try:
        raw = json.loads(text, object_pairs_hook=_object_without_repeated_keys)
    except _RepeatedKey as error:
        raise MalformedEvent(str(error)) from None
    except (ValueError, RecursionError) as error:  # also integers past Python's 4300-digit limit
        raise MalformedEvent(f"body is not JSON ({type(error).__name__})") from None
    if not isinstance(raw, dict):
        raise MalformedEvent("body is not a JSON object")
    return raw


class _RepeatedKey(Exception):
    """Not a ValueError, so that it passes ``json.loads`` unchanged."""


def _object_without_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _RepeatedKey(f"a key appears twice in one object ({key[:40]!r})")
        result[key] = value
    return result


def _upcast_in_place(raw: dict[str, Any], event_type: str, upcasters: dict[tuple[str, int], Upcaster]) -> int:
    version = raw.get("schema_version")
    current = CURRENT_VERSIONS[event_type]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise InvalidEvent(f"schema_version {version!r}")
    if version > current:
        raise UnsupportedSchemaVersion(f"{event_type} v{version} > v{current}")
    if version < current:
        if not isinstance(raw.get("payload"), dict):
            raise InvalidEvent("payload is not an object")
        try:
            raw["payload"] = upcast(event_type, version, raw["payload"], current, upcasters)
        except MissingUpcaster as error:
            raise InvalidEvent(str(error)) from None
        except Exception as error:  # an upcaster meeting a payload it does not expect
            raise InvalidEvent(f"upcasting {event_type} v{version} failed: {type(error).__name__}") from None
    return current


def _summary(error: ValidationError) -> str:
    problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()[:5]]
    return "; ".join(problems)[:500]
